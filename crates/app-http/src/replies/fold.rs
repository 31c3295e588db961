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
    fn words_are_letters_and_digits_of_any_script() {
        assert!(is_word('ж') && is_word('7') && is_word('_') && is_word('价'));
        assert!(!is_word(' ') && !is_word('!') && !is_word('👋') && !is_word('-'));
    }
}
