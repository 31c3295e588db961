//! Decoding of JSON string tokens into text every database accepts.
//!
//! PostgreSQL `TEXT` rejects the NUL character, so a `\u0000` in a DM would make the whole
//! ingest transaction fail and Meta would retry the body for hours. JSON also allows escaped
//! lone surrogates (`\ud83d` without its pair), which are not Unicode scalar values and make
//! `serde_json` refuse the string. Both become U+FFFD REPLACEMENT CHARACTER here, so the rest
//! of the text is kept.

/// What replaces characters that cannot be stored.
pub(crate) const REPLACEMENT: char = '\u{fffd}';

/// Decodes a JSON string token (with its quotes) into a `String` in which NUL and lone
/// surrogates are U+FFFD. `None` when `token` is not a well-formed JSON string token (never the
/// case for a token `serde_json` has already scanned, but this never trusts that).
pub(crate) fn decode_json_string_lossy(token: &str) -> Option<String> {
    let inner = token.strip_prefix('"')?.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    // A high surrogate waiting for its low half.
    let mut pending_high: Option<u16> = None;
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            flush_pending(&mut pending_high, &mut out);
            out.push(storable(c));
            continue;
        }
        let escaped = match chars.next()? {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let unit = hex4(&mut chars)?;
                match unit {
                    0xd800..=0xdbff => {
                        flush_pending(&mut pending_high, &mut out);
                        pending_high = Some(unit);
                        continue;
                    }
                    0xdc00..=0xdfff => {
                        let Some(high) = pending_high.take() else {
                            out.push(REPLACEMENT);
                            continue;
                        };
                        let scalar = 0x1_0000
                            + ((u32::from(high) - 0xd800) << 10)
                            + (u32::from(unit) - 0xdc00);
                        char::from_u32(scalar).unwrap_or(REPLACEMENT)
                    }
                    _ => char::from_u32(u32::from(unit)).unwrap_or(REPLACEMENT),
                }
            }
            _ => return None,
        };
        flush_pending(&mut pending_high, &mut out);
        out.push(storable(escaped));
    }
    flush_pending(&mut pending_high, &mut out);
    Some(out)
}

fn storable(c: char) -> char {
    if c == '\0' { REPLACEMENT } else { c }
}

fn flush_pending(pending_high: &mut Option<u16>, out: &mut String) {
    if pending_high.take().is_some() {
        out.push(REPLACEMENT);
    }
}

fn hex4(chars: &mut std::str::Chars<'_>) -> Option<u16> {
    let mut unit: u16 = 0;
    for _ in 0..4 {
        let digit = chars.next()?.to_digit(16)?;
        unit = (unit << 4) | u16::try_from(digit).ok()?;
    }
    Some(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(token: &str) -> Option<String> {
        decode_json_string_lossy(token)
    }

    #[test]
    fn decodes_like_serde_json_for_valid_strings() {
        for token in [
            r#""""#,
            r#""Hello World""#,
            r#""https:\/\/example.com\/a.png""#,
            r#""caf\u00e9 \ud83d\ude00 \"q\" \\ \b\f\n\r\t""#,
            "\"raw é 😀\"",
        ] {
            let expected: String = serde_json::from_str(token).unwrap();
            assert_eq!(decode(token), Some(expected), "{token}");
        }
    }

    #[test]
    fn nul_and_lone_surrogates_become_replacement_characters() {
        assert_eq!(decode(r#""a\u0000b""#).unwrap(), "a\u{fffd}b");
        assert_eq!(decode(r#""\ud83d""#).unwrap(), "\u{fffd}");
        assert_eq!(decode(r#""\ud83dx""#).unwrap(), "\u{fffd}x");
        assert_eq!(decode(r#""\ude00\ud83d""#).unwrap(), "\u{fffd}\u{fffd}");
        assert_eq!(decode(r#""\ud83d\ud83d\ude00""#).unwrap(), "\u{fffd}😀");
        assert_eq!(decode(r#""\ud83d\n""#).unwrap(), "\u{fffd}\n");
    }

    #[test]
    fn malformed_tokens_are_refused_not_panicked_on() {
        for token in [
            "",
            "\"",
            "abc",
            r#""\"#,
            r#""\x""#,
            r#""\u12""#,
            r#""\u12g4""#,
            r#""\u""#,
        ] {
            assert_eq!(decode(token), None, "{token}");
        }
    }
}
