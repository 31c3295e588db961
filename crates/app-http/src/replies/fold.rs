//! Text folding for the `exact`, `contains` and `keyword` rules: the form in which "Café",
//! "CAFE" and "cafe\u{301}" are one word.
//!
//! Folding is Unicode compatibility decomposition (NFKD, from `unicode-normalization`, the crate
//! `url` and `idna` rely on) with the combining marks dropped, which takes the accents off
//! ("é" → "e", "ё" → "е", full-width "Ａ" → "A", "ﬁ" → "fi"), then lowercasing, with the two
//! lowercase letters whose case folding differs from their lowercase mapped as folding does
//! ("ß" → "ss", final "ς" → "σ"). Runs of whitespace become one space and the ends are trimmed,
//! so line breaks and double spaces never stop a match. Plain ASCII, most messages, skips the
//! decomposition.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// `text` folded (see the module docs).
pub(crate) fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    let mut space = false;
    if text.is_ascii() {
        for byte in text.bytes() {
            push(&mut folded, &mut space, char::from(byte));
        }
        return folded;
    }
    for c in text.nfkd().filter(|c| !is_combining_mark(*c)) {
        push(&mut folded, &mut space, c);
    }
    folded
}

/// What [`fold`] makes of `c` wherever it stands, or `None` when that contains whitespace
/// (whose runs `fold` collapses, so it is not the same everywhere). Folding works char by char
/// (decomposition and lowercasing of one char never look at its neighbours; canonical reordering
/// only moves combining marks, which are dropped), so for a text `t` without whitespace,
/// `fold` of any text containing `t` contains the `fold_char`s of `t`'s chars, in order: what
/// the regex prefilter (`literals.rs`) relies on.
pub(crate) fn fold_char(c: char) -> Option<String> {
    let mut folded = String::new();
    let mut space = false;
    for d in std::iter::once(c).nfkd().filter(|d| !is_combining_mark(*d)) {
        if d.is_whitespace() {
            return None;
        }
        push(&mut folded, &mut space, d);
    }
    Some(folded)
}

/// Whether `c` is part of a word for `keyword` rules: letters and digits of any script, and `_`.
pub(crate) fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Appends `c` lowercased; whitespace is remembered in `space` and written as one space before
/// the next other character (so none leads or trails).
fn push(folded: &mut String, space: &mut bool, c: char) {
    if c.is_whitespace() {
        *space = !folded.is_empty();
        return;
    }
    if std::mem::take(space) {
        folded.push(' ');
    }
    if c.is_ascii() {
        folded.push(c.to_ascii_lowercase());
        return;
    }
    for lower in c.to_lowercase() {
        match lower {
            'ß' => folded.push_str("ss"),
            'ς' => folded.push('σ'),
            other => folded.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_accents_and_spacing_fold_away() {
        assert_eq!(fold("  Café\u{a0}CRÈME\n\n brûlée "), "cafe creme brulee");
        assert_eq!(fold("cafe\u{301}"), fold("CAFÉ"));
        assert_eq!(fold("ÑANDÚ"), "nandu");
        assert_eq!(fold("Ёлка"), "елка");
        assert_eq!(fold("STRASSE"), fold("Straße"));
        assert_eq!(fold("ΟΔΟΣ"), fold("οδος"));
        assert_eq!(fold("Ｐｒｉｃｅ ﬁne"), "price fine");
        assert_eq!(fold("İstanbul"), "istanbul");
        assert_eq!(fold("价格？👋"), "价格?👋");
        assert_eq!(fold(" \t "), "");
    }

    #[test]
    fn folding_a_text_folds_each_char_in_place() {
        for text in [
            "Café ÉCLAIR",
            "ΣΟΦΟΣ σοφος",
            "Straße ﬁne Ｋ\u{212a}",
            "ёлка е\u{308}",
        ] {
            let by_char: Vec<String> = text
                .split_whitespace()
                .map(|word| word.chars().map(|c| fold_char(c).unwrap()).collect())
                .collect();
            assert_eq!(fold(text), by_char.join(" "), "{text}");
        }
        assert_eq!(fold_char('\u{a0}'), None);
        assert_eq!(
            fold_char('\u{a8}'),
            None,
            "decomposes to a space and a mark"
        );
        assert_eq!(fold_char('\u{301}').as_deref(), Some(""));
        assert_eq!(fold_char('ſ').as_deref(), Some("s"));
    }

    #[test]
    fn only_combining_marks_are_reordered() {
        // Canonical reordering moves chars of a non-zero combining class; were any of them not a
        // mark (which folding drops), folding would not be char by char.
        use unicode_normalization::char::canonical_combining_class;
        let reordered_kept = (0..=u32::from(char::MAX))
            .filter_map(char::from_u32)
            .filter(|c| canonical_combining_class(*c) != 0 && !is_combining_mark(*c))
            .count();
        assert_eq!(reordered_kept, 0);
    }

    #[test]
    fn words_are_letters_and_digits_of_any_script() {
        assert!(is_word('ж') && is_word('7') && is_word('_') && is_word('价'));
        assert!(!is_word(' ') && !is_word('!') && !is_word('👋') && !is_word('-'));
    }
}
