//! `verify_signature` over fixture bytes: either secret, wrong secret, missing and malformed
//! headers, and the raw-bytes rule.

use adapters_instagram::{SignatureError, signature_header_value, verify_signature};

use crate::helpers::fixture;

const INSTAGRAM_SECRET: &[u8] = b"instagram-app-secret";
const FACEBOOK_SECRET: &[u8] = b"facebook-app-secret";
const SECRETS: [&[u8]; 2] = [INSTAGRAM_SECRET, FACEBOOK_SECRET];

#[test]
fn a_signature_with_either_secret_is_valid() {
    let body = fixture("001-text-hello.json");
    for secret in SECRETS {
        let header = signature_header_value(secret, &body);
        assert_eq!(verify_signature(&body, Some(&header), &SECRETS), Ok(()));
    }
}

#[test]
fn a_signature_with_another_secret_is_a_mismatch() {
    let body = fixture("001-text-hello.json");
    let header = signature_header_value(b"someone-else", &body);
    assert_eq!(
        verify_signature(&body, Some(&header), &SECRETS),
        Err(SignatureError::Mismatch)
    );
    // Only the secrets passed count.
    let header = signature_header_value(FACEBOOK_SECRET, &body);
    assert_eq!(
        verify_signature(&body, Some(&header), &[INSTAGRAM_SECRET]),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn a_missing_header_is_missing() {
    let body = fixture("001-text-hello.json");
    assert_eq!(
        verify_signature(&body, None, &SECRETS),
        Err(SignatureError::Missing)
    );
}

#[test]
fn malformed_headers_are_malformed() {
    let body = fixture("001-text-hello.json");
    let valid = signature_header_value(INSTAGRAM_SECRET, &body);
    let hex = valid.strip_prefix("sha256=").unwrap();
    for header in [
        String::new(),
        hex.to_owned(),
        format!("sha1={hex}"),
        format!("sha256={}", &hex[..62]),
        format!("sha256={hex}00"),
        format!("sha256={}zz", &hex[..62]),
        "sha256=".to_owned(),
    ] {
        assert_eq!(
            verify_signature(&body, Some(&header), &SECRETS),
            Err(SignatureError::Malformed),
            "{header:?}"
        );
    }
}

#[test]
fn uppercase_hex_and_surrounding_whitespace_are_accepted() {
    let body = fixture("002-image-attachment.json");
    let valid = signature_header_value(FACEBOOK_SECRET, &body);
    let hex = valid.strip_prefix("sha256=").unwrap();
    let upper = format!("sha256={}", hex.to_ascii_uppercase());
    assert_eq!(verify_signature(&body, Some(&upper), &SECRETS), Ok(()));
    assert_eq!(
        verify_signature(&body, Some(&format!(" {valid} ")), &SECRETS),
        Ok(())
    );
}

#[test]
fn the_signature_covers_the_exact_raw_bytes() {
    // 034 has non-ASCII and odd spacing; Meta also escapes `/` as `\/`. Re-serializing the same
    // JSON changes the bytes, so it must not verify.
    for name in [
        "034-reaction-react-instagram-postman.json",
        "002-image-attachment.json",
    ] {
        let body = fixture(name);
        let header = signature_header_value(INSTAGRAM_SECRET, &body);
        assert_eq!(verify_signature(&body, Some(&header), &SECRETS), Ok(()));

        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let reserialized = serde_json::to_vec(&value).unwrap();
        assert_ne!(reserialized, body);
        assert_eq!(
            verify_signature(&reserialized, Some(&header), &SECRETS),
            Err(SignatureError::Mismatch)
        );

        let mut flipped = body.clone();
        *flipped.last_mut().unwrap() ^= 1;
        assert_eq!(
            verify_signature(&flipped, Some(&header), &SECRETS),
            Err(SignatureError::Mismatch)
        );
    }
}

#[test]
fn meta_escaped_slashes_are_signed_as_sent() {
    let body = br#"{"object":"instagram","entry":[{"id":"1","messaging":[{"sender":{"id":"2"},"recipient":{"id":"1"},"message":{"mid":"m","attachments":[{"type":"image","payload":{"url":"https:\/\/cdn\/a.png"}}]}}]}]}"#;
    let header = signature_header_value(INSTAGRAM_SECRET, body);
    assert_eq!(verify_signature(body, Some(&header), &SECRETS), Ok(()));
    let unescaped = String::from_utf8(body.to_vec())
        .unwrap()
        .replace("\\/", "/");
    assert_eq!(
        verify_signature(unescaped.as_bytes(), Some(&header), &SECRETS),
        Err(SignatureError::Mismatch)
    );
}
