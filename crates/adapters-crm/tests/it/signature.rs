//! Both signatures: the Standard Webhooks one checked by the `standardwebhooks` crate (a library
//! we did not write), the hex one recomputed with ring, and both pinned by vectors computed with
//! Python's `hmac` module.

use std::time::{SystemTime, UNIX_EPOCH};

use adapters_crm::{SignatureHeaders, sign};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use domain::EventId;
use ring::hmac;

use crate::helpers::{body, decode_hex, event_id, standard_webhook};

/// Secrets of the shapes a CRM may hold: ASCII, 32 random-looking bytes that are not UTF-8, and
/// the 24 bytes behind a typical `whsec_` secret.
fn secrets() -> Vec<Vec<u8>> {
    vec![
        b"secret".to_vec(),
        (0_u8..32).map(|b| b.wrapping_mul(37) ^ 0xa5).collect(),
        STANDARD.decode("C2FVsBQIhrscChlQIMV+b5sSYspob7oD").unwrap(),
    ]
}

fn now_secs() -> i64 {
    let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    i64::try_from(since_epoch.as_secs()).unwrap()
}

/// The headers as an HTTP client would send them, built from [`SignatureHeaders::pairs`].
fn header_map(headers: &SignatureHeaders) -> http::HeaderMap {
    let mut map = http::HeaderMap::new();
    for (name, value) in headers.pairs() {
        map.insert(
            http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
            http::HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

#[test]
fn known_answers_computed_with_python() {
    // python3 -c "import hmac,hashlib;print(hmac.new(b'secret', b'body', hashlib.sha256).hexdigest())"
    // python3 -c "import hmac,hashlib,base64;print(base64.b64encode(hmac.new(b'secret',
    //   b'evt_9f2c4e1a7b3d.1763202600.body', hashlib.sha256).digest()).decode())"
    let headers = sign(b"secret", &event_id(), 1_763_202_600, b"body");

    assert_eq!(
        headers.x_hub_signature_256,
        "sha256=dc46983557fea127b43af721467eb9b3fde2338fe3e14f51952aa8478c13d355"
    );
    assert_eq!(headers.webhook_id, "evt_9f2c4e1a7b3d");
    assert_eq!(headers.webhook_timestamp, "1763202600");
    assert_eq!(
        headers.webhook_signature,
        "v1,kCXA4r9OV5Z6GWAo0E24Qyzek0YQwTLLJyFZ2Ks7Iw8="
    );
}

#[test]
fn header_names_are_the_contracts() {
    let headers = sign(b"secret", &event_id(), 1, b"{}");
    let names: Vec<_> = headers.pairs().iter().map(|(name, _)| *name).collect();
    assert_eq!(
        names,
        [
            "X-Hub-Signature-256",
            "webhook-id",
            "webhook-timestamp",
            "webhook-signature"
        ]
    );
}

#[test]
fn the_standardwebhooks_crate_verifies_our_signature() {
    let body = body();
    for secret in secrets() {
        let headers = sign(&secret, &event_id(), now_secs(), body.as_bytes());
        standard_webhook(&secret)
            .verify(body.as_bytes(), &header_map(&headers))
            .unwrap_or_else(|error| panic!("secret {secret:?}: {error}"));
    }
}

#[test]
fn the_standardwebhooks_crate_signs_exactly_as_we_do() {
    let body = body();
    for secret in secrets() {
        for timestamp in [0, 1_763_202_600, now_secs()] {
            let ours = sign(&secret, &event_id(), timestamp, body.as_bytes());
            let theirs = standard_webhook(&secret)
                .sign(event_id().as_str(), timestamp, body.as_bytes())
                .unwrap();
            assert_eq!(ours.webhook_signature, theirs);
        }
    }
}

#[test]
fn the_standardwebhooks_crate_rejects_what_does_not_match() {
    let body = body();
    let secret = b"secret";
    let headers = sign(secret, &event_id(), now_secs(), body.as_bytes());
    let webhook = standard_webhook(secret);

    let tampered = body.replace("Привет", "Пока");
    assert!(
        webhook
            .verify(tampered.as_bytes(), &header_map(&headers))
            .is_err()
    );
    assert!(
        standard_webhook(b"other secret")
            .verify(body.as_bytes(), &header_map(&headers))
            .is_err()
    );
    let mut other_id = headers.clone();
    other_id.webhook_id = "evt_000000000000".to_owned();
    assert!(
        webhook
            .verify(body.as_bytes(), &header_map(&other_id))
            .is_err()
    );
    // Signed an hour ago: the library's five-minute tolerance refuses it, as a CRM should.
    let stale = sign(secret, &event_id(), now_secs() - 3_600, body.as_bytes());
    assert!(
        webhook
            .verify(body.as_bytes(), &header_map(&stale))
            .is_err()
    );
}

#[test]
fn the_hex_signature_is_hmac_sha256_of_the_body_alone() {
    let body = body();
    for secret in secrets() {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &secret);
        let headers = sign(&secret, &event_id(), now_secs(), body.as_bytes());

        let hex = headers.x_hub_signature_256.strip_prefix("sha256=").unwrap();
        assert_eq!(hex.len(), 64);
        assert!(
            hex.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        hmac::verify(&key, body.as_bytes(), &decode_hex(hex)).unwrap();

        let expected: String = hmac::sign(&key, body.as_bytes())
            .as_ref()
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert_eq!(hex, expected);
    }
}

#[test]
fn a_retry_keeps_the_id_and_body_signature_and_changes_the_timestamped_one() {
    let body = body();
    let first = sign(b"secret", &event_id(), 1_763_202_600, body.as_bytes());
    let retry = sign(b"secret", &event_id(), 1_763_202_605, body.as_bytes());

    assert_eq!(first.webhook_id, retry.webhook_id);
    assert_eq!(first.x_hub_signature_256, retry.x_hub_signature_256);
    assert_eq!(retry.webhook_timestamp, "1763202605");
    assert_ne!(first.webhook_signature, retry.webhook_signature);
}

#[test]
fn the_timestamped_signature_binds_the_event_id() {
    let other = EventId::parse("evt_000000000000").unwrap();
    let ours = sign(b"secret", &event_id(), 1, b"{}");
    let theirs = sign(b"secret", &other, 1, b"{}");
    assert_eq!(ours.x_hub_signature_256, theirs.x_hub_signature_256);
    assert_ne!(ours.webhook_signature, theirs.webhook_signature);
}
