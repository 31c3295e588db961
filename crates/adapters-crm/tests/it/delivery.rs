//! `HttpCrmNotifier` against a real fake CRM (wiremock): what it posts, what it reports back, and
//! where it refuses to post.

use std::net::TcpListener;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use adapters_crm::{DestinationPolicy, HttpCrmNotifier};
use domain::ports::{CrmAttemptError, CrmNotifier, CrmRequest, CrmResponse};
use domain::{RequestId, Timestamp, WebhookUrl};
use ring::hmac;
use secrecy::SecretString;
use wiremock::matchers::{any, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::{body, decode_hex, event_id, standard_webhook};

/// Not ASCII, so signing must use the secret's UTF-8 bytes.
const SECRET: &str = "crm-secret-🔑-for-tests";

fn notifier(destinations: DestinationPolicy) -> HttpCrmNotifier {
    HttpCrmNotifier::new(Duration::from_secs(5), destinations).unwrap()
}

/// Now, in whole seconds: an HTTP-date built from it is exact, and the Standard Webhooks
/// verifier's five-minute window accepts it.
fn now() -> Timestamp {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    Timestamp::from_millis(i64::try_from(secs).unwrap() * 1000)
}

fn request(url: &str, payload: &str) -> CrmRequest {
    CrmRequest {
        url: WebhookUrl::parse("crm_webhook_url", url).unwrap(),
        secret: SecretString::from(SECRET),
        event_id: event_id(),
        payload: payload.to_owned(),
        sent_at: now(),
        request_id: None,
    }
}

/// A CRM that answers every request on `/hook` with `answer`.
async fn crm_answering(answer: ResponseTemplate) -> MockServer {
    let crm = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hook"))
        .respond_with(answer)
        .mount(&crm)
        .await;
    crm
}

async fn deliver(url: &str) -> Result<CrmResponse, CrmAttemptError> {
    notifier(DestinationPolicy::AnyAddress)
        .deliver(&request(url, "{}"))
        .await
}

/// A port on which nothing listens: bound, then released.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn posts_the_stored_bytes_signed_for_this_attempt() {
    let crm = crm_answering(ResponseTemplate::new(200).set_body_string("ok")).await;
    let body = body();
    let request = request(&format!("{}/hook", crm.uri()), &body);

    let response = notifier(DestinationPolicy::AnyAddress)
        .deliver(&request)
        .await
        .unwrap();

    assert_eq!(
        response,
        CrmResponse {
            status: 200,
            excerpt: "ok".to_owned(),
            retry_after: None,
        }
    );
    let received = crm.received_requests().await.unwrap();
    assert_eq!(received.len(), 1);
    let posted = &received[0];
    assert_eq!(posted.body, body.as_bytes());
    let header = |name: &str| posted.headers.get(name).unwrap().to_str().unwrap();
    assert_eq!(header("content-type"), "application/json");
    assert_eq!(
        header("user-agent"),
        concat!("igrouter/", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(header("webhook-id"), "evt_9f2c4e1a7b3d");
    assert_eq!(
        header("webhook-timestamp"),
        request.sent_at.as_secs().to_string()
    );

    standard_webhook(SECRET.as_bytes())
        .verify(&posted.body, &posted.headers)
        .unwrap();
    let hex = header("x-hub-signature-256")
        .strip_prefix("sha256=")
        .unwrap();
    let key = hmac::Key::new(hmac::HMAC_SHA256, SECRET.as_bytes());
    hmac::verify(&key, &posted.body, &decode_hex(hex)).unwrap();
    assert!(
        posted.headers.get("x-request-id").is_none(),
        "no request id, no header"
    );
}

#[tokio::test]
async fn the_request_id_of_the_delivery_goes_along() {
    let crm = crm_answering(ResponseTemplate::new(204)).await;
    let mut request = request(&format!("{}/hook", crm.uri()), "{}");
    request.request_id = Some(RequestId::parse("req-from-meta-1").unwrap());

    notifier(DestinationPolicy::AnyAddress)
        .deliver(&request)
        .await
        .unwrap();

    let received = crm.received_requests().await.unwrap();
    assert_eq!(
        received[0].headers.get("x-request-id").unwrap(),
        "req-from-meta-1"
    );
}

#[tokio::test]
async fn any_status_is_an_answer() {
    let crm = crm_answering(ResponseTemplate::new(500).set_body_string("database down")).await;

    let response = deliver(&format!("{}/hook", crm.uri())).await.unwrap();

    assert_eq!(response.status, 500);
    assert_eq!(response.excerpt, "database down");
    assert_eq!(response.retry_after, None);
}

#[tokio::test]
async fn a_redirect_is_an_answer_and_is_not_followed() {
    let elsewhere = MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200))
        .mount(&elsewhere)
        .await;
    let crm = crm_answering(
        ResponseTemplate::new(302).insert_header("Location", format!("{}/stolen", elsewhere.uri())),
    )
    .await;

    let response = deliver(&format!("{}/hook", crm.uri())).await.unwrap();

    assert_eq!(response.status, 302);
    assert_eq!(crm.received_requests().await.unwrap().len(), 1);
    assert!(elsewhere.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn retry_after_in_seconds() {
    let crm = crm_answering(ResponseTemplate::new(503).insert_header("Retry-After", "7")).await;

    let response = deliver(&format!("{}/hook", crm.uri())).await.unwrap();

    assert_eq!(response.status, 503);
    assert_eq!(response.retry_after, Some(Duration::from_secs(7)));
}

#[tokio::test]
async fn retry_after_as_a_date_counts_from_the_attempt() {
    let request_at = now();
    let sent = UNIX_EPOCH + Duration::from_millis(u64::try_from(request_at.as_millis()).unwrap());
    let date = httpdate::fmt_http_date(sent + Duration::from_secs(90));
    let crm = crm_answering(ResponseTemplate::new(429).insert_header("Retry-After", date)).await;
    let mut request = request(&format!("{}/hook", crm.uri()), "{}");
    request.sent_at = request_at;

    let response = notifier(DestinationPolicy::AnyAddress)
        .deliver(&request)
        .await
        .unwrap();

    assert_eq!(response.status, 429);
    assert_eq!(response.retry_after, Some(Duration::from_secs(90)));
}

#[tokio::test]
async fn a_malformed_retry_after_is_ignored() {
    let crm = crm_answering(ResponseTemplate::new(503).insert_header("Retry-After", "-3")).await;

    let response = deliver(&format!("{}/hook", crm.uri())).await.unwrap();

    assert_eq!(response.retry_after, None);
}

#[tokio::test]
async fn a_big_body_leaves_a_short_excerpt_cut_between_characters() {
    // 2 + 1 + 4 + 1 bytes a round, so the 512-byte limit falls inside a 4-byte emoji.
    let big = "é 👋 ".repeat(100_000);
    let crm = crm_answering(ResponseTemplate::new(400).set_body_string(big.clone())).await;

    let response = deliver(&format!("{}/hook", crm.uri())).await.unwrap();

    assert_eq!(response.status, 400);
    assert!(response.excerpt.len() <= 512, "{}", response.excerpt.len());
    assert!(
        response.excerpt.len() > 512 - 4,
        "{}",
        response.excerpt.len()
    );
    assert!(big.starts_with(&response.excerpt));
    assert!(!response.excerpt.contains('\u{fffd}'));
}

#[tokio::test]
async fn a_body_that_is_not_utf8_is_kept_lossily() {
    let crm =
        crm_answering(ResponseTemplate::new(502).set_body_bytes(b"bad \xff gateway".to_vec()))
            .await;

    let response = deliver(&format!("{}/hook", crm.uri())).await.unwrap();

    assert_eq!(response.excerpt, "bad \u{fffd} gateway");
}

#[tokio::test]
async fn no_answer_within_the_timeout_is_a_timeout() {
    let crm = crm_answering(ResponseTemplate::new(200).set_delay(Duration::from_secs(5))).await;
    let notifier =
        HttpCrmNotifier::new(Duration::from_millis(200), DestinationPolicy::AnyAddress).unwrap();
    let started = Instant::now();

    let error = notifier
        .deliver(&request(&format!("{}/hook", crm.uri()), "{}"))
        .await
        .unwrap_err();

    assert!(matches!(error, CrmAttemptError::Timeout), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_refused_connection_is_a_connection_error_that_names_no_url() {
    let url = format!(
        "http://127.0.0.1:{}/hook?token=query-credential",
        closed_port()
    );

    let error = deliver(&url).await.unwrap_err();

    let CrmAttemptError::Connection(message) = &error else {
        panic!("{error:?}");
    };
    assert!(!message.is_empty());
    for leak in ["query-credential", "/hook", SECRET] {
        assert!(!message.contains(leak), "{message}");
    }
}

#[tokio::test]
async fn public_only_refuses_loopback_before_anything_is_sent() {
    let crm = crm_answering(ResponseTemplate::new(200)).await;
    let port = crm.address().port();
    let public_only = notifier(DestinationPolicy::PublicOnly);

    for url in [
        format!("http://127.0.0.1:{port}/hook"),
        format!("http://localhost:{port}/hook"),
        format!("http://[::1]:{port}/hook"),
        // The URL parser reads this as 127.0.0.1.
        format!("http://2130706433:{port}/hook"),
    ] {
        let error = public_only.deliver(&request(&url, "{}")).await.unwrap_err();
        let CrmAttemptError::RefusedDestination(message) = &error else {
            panic!("{url}: {error:?}");
        };
        // `localhost` resolves to these; the message says why, never what it resolved to.
        assert!(!message.contains("127.0.0.1"), "{message}");
        assert!(!message.contains("::1"), "{message}");
    }
    assert!(crm.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn public_only_reports_a_name_that_does_not_resolve_as_a_connection_error() {
    // `.invalid` never resolves (RFC 6761); the lookup is bounded by RESOLVE_TIMEOUT (2 s).
    let error = notifier(DestinationPolicy::PublicOnly)
        .deliver(&request("http://crm.igrouter.invalid/hook", "{}"))
        .await
        .unwrap_err();

    assert!(matches!(error, CrmAttemptError::Connection(_)), "{error:?}");
}

#[tokio::test]
async fn any_address_posts_to_loopback() {
    let crm = crm_answering(ResponseTemplate::new(204)).await;
    let port = crm.address().port();

    for url in [
        format!("http://127.0.0.1:{port}/hook"),
        format!("http://localhost:{port}/hook"),
    ] {
        let response = deliver(&url).await.unwrap();
        assert_eq!(response.status, 204, "{url}");
    }
    assert_eq!(crm.received_requests().await.unwrap().len(), 2);
}
