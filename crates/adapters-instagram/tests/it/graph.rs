//! The Graph API client against a real fake Graph server (wiremock): what Meta receives for each
//! call, and how every kind of failure is classified (contract §2, docs/graph-api.md).

use std::time::Duration;

use adapters_instagram::GraphClient;
use adapters_instagram::graph::MAX_ERROR_MESSAGE_CHARS;
use domain::ports::{InstagramClient, InstagramError, Profile};
use domain::request_id::REQUEST_ID_HEADER;
use domain::{AttachmentType, InstagramId, OutboundContent, RequestId};
use secrecy::SecretString;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

/// A token distinctive enough that finding it anywhere is a leak.
const TOKEN: &str = "IGQVJtoken-sekret-4815162342";
const VERSION: &str = "v21.0";
const MESSAGES_PATH: &str = "/v21.0/me/messages";

fn token() -> SecretString {
    SecretString::from(TOKEN)
}

fn customer() -> InstagramId {
    InstagramId::parse("recipient_id", "1234567890").unwrap()
}

fn hello() -> OutboundContent {
    OutboundContent::text("Hello!").unwrap()
}

/// A client for `server` with a timeout that is short for tests and long for a local fake.
fn client(server: &MockServer) -> GraphClient {
    client_with_timeout(&server.uri(), Duration::from_secs(5))
}

fn client_with_timeout(base: &str, timeout: Duration) -> GraphClient {
    GraphClient::new(base, VERSION, timeout).unwrap()
}

/// A fake Graph server answering every request with `response`.
async fn graph_answering(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

/// The only request `server` received.
async fn single_request(server: &MockServer) -> Request {
    let mut requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 1, "requests: {requests:?}");
    requests.remove(0)
}

fn header<'r>(request: &'r Request, name: &str) -> &'r str {
    request
        .headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
}

/// Meta's error envelope.
fn graph_error(code: i64, subcode: Option<i64>, message: &str) -> Value {
    let mut error = json!({
        "message": message,
        "type": "OAuthException",
        "code": code,
        "fbtrace_id": "AbCdEf123",
    });
    if let Some(subcode) = subcode {
        error["error_subcode"] = json!(subcode);
    }
    json!({ "error": error })
}

/// The error a send gets when Meta answers `response`.
async fn send_error(response: ResponseTemplate) -> InstagramError {
    let server = graph_answering(response).await;
    let error = client(&server)
        .send_message(&token(), &customer(), &hello(), None)
        .await
        .unwrap_err();
    assert_no_token(&error);
    error
}

/// The error a profile read gets when Meta answers `response`.
async fn profile_error(response: ResponseTemplate) -> InstagramError {
    let server = graph_answering(response).await;
    let error = client(&server)
        .profile(&token(), &customer(), None)
        .await
        .unwrap_err();
    assert_no_token(&error);
    error
}

fn assert_no_token(error: &InstagramError) {
    let shown = format!("{error} {error:?}");
    assert!(!shown.contains(TOKEN), "token leaked: {shown}");
}

// ---------------------------------------------------------------------------------------------
// Success.

#[tokio::test]
async fn a_text_send_posts_the_contract_body_with_the_bearer_token() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(MESSAGES_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "recipient_id": "1234567890",
            "message_id": "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE",
        })))
        .expect(1)
        .mount(&server)
        .await;

    let sent = client(&server)
        .send_message(&token(), &customer(), &hello(), None)
        .await
        .unwrap();

    assert_eq!(
        sent.instagram_message_id.as_str(),
        "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlE"
    );
    let request = single_request(&server).await;
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(request.url.path(), MESSAGES_PATH);
    assert_eq!(request.url.query(), None);
    assert_eq!(header(&request, "authorization"), format!("Bearer {TOKEN}"));
    assert_eq!(header(&request, "content-type"), "application/json");
    assert_eq!(
        request.body_json::<Value>().unwrap(),
        json!({"recipient": {"id": "1234567890"}, "message": {"text": "Hello!"}})
    );
    assert!(request.headers.get("x-request-id").is_none());
}

#[tokio::test]
async fn a_send_carries_the_request_id_that_queued_it() {
    let server = graph_answering(
        ResponseTemplate::new(200)
            .set_body_json(json!({"recipient_id": "1234567890", "message_id": "mid.1"})),
    )
    .await;
    let id = RequestId::parse("req_0123456789abcdef").unwrap();

    client(&server)
        .send_message(&token(), &customer(), &hello(), Some(&id))
        .await
        .unwrap();

    let request = single_request(&server).await;
    assert_eq!(header(&request, "x-request-id"), "req_0123456789abcdef");
}

#[tokio::test]
async fn each_attachment_type_is_sent_by_url() {
    for kind in AttachmentType::ALL {
        let server = graph_answering(
            ResponseTemplate::new(200)
                .set_body_json(json!({"recipient_id": "1234567890", "message_id": "mid.1"})),
        )
        .await;
        let url = format!("https://cdn.example.com/media.{}", kind.as_str());
        let content = OutboundContent::Attachment {
            kind,
            url: url.clone(),
        };

        let sent = client(&server)
            .send_message(&token(), &customer(), &content, None)
            .await
            .unwrap();

        assert_eq!(sent.instagram_message_id.as_str(), "mid.1");
        let request = single_request(&server).await;
        assert_eq!(request.method.as_str(), "POST");
        assert_eq!(request.url.path(), MESSAGES_PATH);
        assert_eq!(header(&request, "authorization"), format!("Bearer {TOKEN}"));
        assert_eq!(
            request.body_json::<Value>().unwrap(),
            json!({
                "recipient": {"id": "1234567890"},
                "message": {"attachment": {"type": kind.as_str(), "payload": {"url": url}}},
            }),
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn a_profile_read_asks_for_username_and_name() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v21.0/1234567890"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "username": "jane.doe",
            "name": "Jane Doe",
            "id": "1234567890",
        })))
        .expect(1)
        .mount(&server)
        .await;

    let profile = client(&server)
        .profile(&token(), &customer(), None)
        .await
        .unwrap();

    assert_eq!(
        profile,
        Profile {
            username: Some("jane.doe".into()),
            name: Some("Jane Doe".into()),
        }
    );
    let request = single_request(&server).await;
    assert_eq!(request.url.query(), Some("fields=username,name"));
    assert_eq!(header(&request, "authorization"), format!("Bearer {TOKEN}"));
    assert!(request.headers.get("x-request-id").is_none());
}

#[tokio::test]
async fn a_profile_read_carries_the_request_id_of_the_send_it_fills() {
    let server = graph_answering(
        ResponseTemplate::new(200)
            .set_body_json(json!({"username": "jane.doe", "id": "1234567890"})),
    )
    .await;
    let id = RequestId::parse("meta-trace-99").unwrap();

    client(&server)
        .profile(&token(), &customer(), Some(&id))
        .await
        .unwrap();

    let request = single_request(&server).await;
    assert_eq!(request.url.path(), "/v21.0/1234567890");
    assert_eq!(header(&request, REQUEST_ID_HEADER), "meta-trace-99");
}

#[tokio::test]
async fn a_profile_without_shared_fields_is_empty() {
    let server =
        graph_answering(ResponseTemplate::new(200).set_body_json(json!({"id": "1234567890"})))
            .await;
    let profile = client(&server)
        .profile(&token(), &customer(), None)
        .await
        .unwrap();
    assert_eq!(
        profile,
        Profile {
            username: None,
            name: None
        }
    );
}

#[tokio::test]
async fn a_base_url_with_a_path_prefix_keeps_it() {
    let server =
        graph_answering(ResponseTemplate::new(200).set_body_json(json!({"message_id": "mid.1"})))
            .await;
    let client = client_with_timeout(&format!("{}/graph/", server.uri()), Duration::from_secs(5));
    client
        .send_message(&token(), &customer(), &hello(), None)
        .await
        .unwrap();
    assert_eq!(
        single_request(&server).await.url.path(),
        "/graph/v21.0/me/messages"
    );
}

// ---------------------------------------------------------------------------------------------
// Errors Meta reports.

#[tokio::test]
async fn a_5xx_is_retryable() {
    let error = send_error(ResponseTemplate::new(500).set_body_json(graph_error(
        2,
        None,
        "Service unavailable",
    )))
    .await;
    assert!(
        matches!(
            error,
            InstagramError::Retryable {
                code: Some(2),
                retry_after: None,
                ..
            }
        ),
        "{error:?}"
    );
    let error = profile_error(ResponseTemplate::new(503)).await;
    assert!(
        matches!(error, InstagramError::Retryable { code: None, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn code_613_is_retryable_after_the_retry_after_header() {
    let error = send_error(
        ResponseTemplate::new(400)
            .insert_header("Retry-After", "120")
            .set_body_json(graph_error(
                613,
                None,
                "Calls to this api have exceeded the rate limit.",
            )),
    )
    .await;
    match error {
        InstagramError::Retryable {
            code,
            retry_after,
            message,
        } => {
            assert_eq!(code, Some(613));
            assert_eq!(retry_after, Some(Duration::from_secs(120)));
            assert_eq!(
                message,
                "Calls to this api have exceeded the rate limit. (fbtrace_id AbCdEf123)"
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn code_4_is_retryable_after_metas_estimated_time_to_regain_access() {
    let usage = json!({"17841400000000000": [{
        "type": "instagram",
        "call_count": 100,
        "total_cputime": 12,
        "total_time": 14,
        "estimated_time_to_regain_access": 3,
    }]});
    let error = send_error(
        ResponseTemplate::new(403)
            .insert_header("X-Business-Use-Case-Usage", usage.to_string().as_str())
            .set_body_json(graph_error(4, None, "Application request limit reached")),
    )
    .await;
    assert!(
        matches!(
            error,
            InstagramError::Retryable { code: Some(4), retry_after: Some(d), .. }
                if d == Duration::from_secs(180)
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn business_use_case_throttling_codes_are_retryable() {
    for code in [17, 32, 80_002, 80_006] {
        let error = send_error(ResponseTemplate::new(400).set_body_json(graph_error(
            code,
            None,
            "slow down",
        )))
        .await;
        assert!(
            matches!(error, InstagramError::Retryable { code: Some(c), .. } if c == code),
            "{code}: {error:?}"
        );
    }
}

#[tokio::test]
async fn code_190_is_an_invalid_token() {
    let error = send_error(ResponseTemplate::new(401).set_body_json(graph_error(
        190,
        Some(463),
        "Error validating access token: Session has expired.",
    )))
    .await;
    assert!(
        matches!(error, InstagramError::TokenInvalid { ref message } if message.starts_with("Error validating access token")),
        "{error:?}"
    );
    let error = profile_error(ResponseTemplate::new(400).set_body_json(graph_error(
        190,
        None,
        "Invalid OAuth access token.",
    )))
    .await;
    assert!(
        matches!(error, InstagramError::TokenInvalid { .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn permanent_codes_keep_code_and_subcode() {
    for (code, subcode, message) in [
        (
            10,
            Some(2_018_278),
            "This message is sent outside of allowed window.",
        ),
        (100, None, "Invalid parameter"),
        (200, None, "Permissions error"),
        (551, None, "This person isn't available right now."),
    ] {
        let error = send_error(
            ResponseTemplate::new(400).set_body_json(graph_error(code, subcode, message)),
        )
        .await;
        match error {
            InstagramError::Permanent {
                code: c,
                subcode: s,
                message: m,
            } => {
                assert_eq!((c, s), (code, subcode));
                assert_eq!(m, format!("{message} (fbtrace_id AbCdEf123)"));
            }
            other => panic!("{code}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_non_json_error_body_is_classified_by_status() {
    let error = send_error(
        ResponseTemplate::new(502).set_body_raw("<html>Bad Gateway</html>", "text/html"),
    )
    .await;
    assert!(
        matches!(error, InstagramError::Retryable { code: None, .. }),
        "{error:?}"
    );
    let error = send_error(ResponseTemplate::new(429).insert_header("Retry-After", "7")).await;
    assert!(
        matches!(error, InstagramError::Retryable { code: None, retry_after: Some(d), .. } if d == Duration::from_secs(7)),
        "{error:?}"
    );
    let error =
        send_error(ResponseTemplate::new(403).set_body_raw("forbidden", "text/plain")).await;
    assert!(
        matches!(
            error,
            InstagramError::Permanent {
                code: 403,
                subcode: None,
                ..
            }
        ),
        "{error:?}"
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let error = send_error(
        ResponseTemplate::new(307).insert_header("Location", "http://elsewhere.invalid/steal"),
    )
    .await;
    assert!(
        matches!(error, InstagramError::Permanent { code: 307, .. }),
        "{error:?}"
    );
}

#[tokio::test]
async fn long_messages_are_capped_and_an_echoed_token_is_redacted() {
    let long = format!("Invalid token {TOKEN}: {}", "x".repeat(5_000));
    let error =
        send_error(ResponseTemplate::new(400).set_body_json(graph_error(100, None, &long))).await;
    match error {
        InstagramError::Permanent { message, .. } => {
            assert_eq!(message.chars().count(), MAX_ERROR_MESSAGE_CHARS);
            assert!(
                message.starts_with("Invalid token [redacted]: xxx"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// A 2xx that does not say what was sent.

#[tokio::test]
async fn a_2xx_without_a_usable_message_id_is_an_unknown_outcome() {
    for response in [
        ResponseTemplate::new(200).set_body_json(json!({"recipient_id": "1234567890"})),
        ResponseTemplate::new(200).set_body_json(json!({"message_id": ""})),
        ResponseTemplate::new(200).set_body_json(json!({"message_id": "has space"})),
        ResponseTemplate::new(200).set_body_raw("OK", "text/plain"),
        ResponseTemplate::new(204),
    ] {
        let error = send_error(response).await;
        assert!(
            matches!(error, InstagramError::OutcomeUnknown { .. }),
            "{error:?}"
        );
    }
}

#[tokio::test]
async fn a_2xx_carrying_a_graph_error_is_that_error() {
    let error =
        send_error(ResponseTemplate::new(200).set_body_json(graph_error(551, None, "unavailable")))
            .await;
    assert!(
        matches!(error, InstagramError::Permanent { code: 551, .. }),
        "{error:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// No answer.

#[tokio::test]
async fn a_send_timeout_is_an_unknown_outcome_not_a_retry() {
    let server = graph_answering(
        ResponseTemplate::new(200)
            .set_body_json(json!({"message_id": "mid.late"}))
            .set_delay(Duration::from_secs(3)),
    )
    .await;
    let client = client_with_timeout(&server.uri(), Duration::from_millis(300));

    let error = client
        .send_message(&token(), &customer(), &hello(), None)
        .await
        .unwrap_err();

    assert!(
        matches!(error, InstagramError::OutcomeUnknown { .. }),
        "{error:?}"
    );
    assert_no_token(&error);
    // The request did reach the fake: exactly why resending could duplicate the DM.
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_profile_timeout_is_retryable() {
    let server = graph_answering(
        ResponseTemplate::new(200)
            .set_body_json(json!({"username": "late"}))
            .set_delay(Duration::from_secs(3)),
    )
    .await;
    let client = client_with_timeout(&server.uri(), Duration::from_millis(300));

    let error = client
        .profile(&token(), &customer(), None)
        .await
        .unwrap_err();

    assert!(
        matches!(
            error,
            InstagramError::Retryable {
                code: None,
                retry_after: None,
                ..
            }
        ),
        "{error:?}"
    );
    assert_no_token(&error);
}

#[tokio::test]
async fn a_refused_connection_is_retryable_for_sends_and_reads() {
    // A port that was free a moment ago: nothing listens on it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let client = client_with_timeout(&format!("http://127.0.0.1:{port}"), Duration::from_secs(5));

    let error = client
        .send_message(&token(), &customer(), &hello(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, InstagramError::Retryable { code: None, .. }),
        "{error:?}"
    );
    assert_no_token(&error);

    let error = client
        .profile(&token(), &customer(), None)
        .await
        .unwrap_err();
    assert!(
        matches!(error, InstagramError::Retryable { code: None, .. }),
        "{error:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Construction.

#[tokio::test]
async fn the_client_debug_shows_no_token_and_its_configuration() {
    let server =
        graph_answering(ResponseTemplate::new(200).set_body_json(json!({"message_id": "m"}))).await;
    let client = client(&server);
    client
        .send_message(&token(), &customer(), &hello(), None)
        .await
        .unwrap();
    let shown = format!("{client:?}");
    assert!(!shown.contains(TOKEN), "{shown}");
    assert!(shown.contains("/v21.0"), "{shown}");
}

#[test]
fn building_twice_installs_the_crypto_provider_once_without_panicking() {
    for _ in 0..2 {
        GraphClient::new(
            "https://graph.instagram.com",
            VERSION,
            Duration::from_secs(15),
        )
        .unwrap();
    }
}
