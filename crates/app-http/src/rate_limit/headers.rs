//! The `RateLimit-Policy` and `RateLimit` headers of every `/api/v1` answer, in the syntax of
//! draft-ietf-httpapi-ratelimit-headers-11 (structured-field lists):
//!
//! ```text
//! RateLimit-Policy: "default";q=200;w=4
//! RateLimit: "default";r=150;t=1
//! ```
//!
//! `q` is the bucket (the burst) and `w` the seconds it takes to fill, so `q/w` is the sustained
//! rate. `r` is what the key may still send at once; `t` the seconds until the whole quota is
//! back, or, on a `429`, until a request is let through again (the same as `Retry-After`, which
//! the draft asks not to point before the end of that window). An answer the limiter did not
//! charge (a `401` before any key is known, a path or method no route takes) shows the full
//! quota: nothing was taken from any bucket.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};

use super::{Outcome, POLICY_NAME, Policy};
use crate::state::AppState;

/// `RateLimit-Policy`.
const POLICY_HEADER: HeaderName = HeaderName::from_static("ratelimit-policy");
/// `RateLimit`.
const LIMIT_HEADER: HeaderName = HeaderName::from_static("ratelimit");

/// Adds both headers to the answers of `/api/v1` paths, whatever their status.
pub(crate) async fn add_headers(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let limited_path = is_api_path(request.path());
    let mut response = next.call(request).await?;
    if !limited_path {
        return Ok(response);
    }
    let Some(state) = response
        .request()
        .app_data::<web::Data<AppState>>()
        .cloned()
    else {
        return Ok(response);
    };
    let policy = state.rate_limits.policy();
    let outcome = response.request().extensions().get::<Outcome>().copied();
    let headers = response.headers_mut();
    headers.insert(POLICY_HEADER, policy_value(policy));
    headers.insert(LIMIT_HEADER, limit_value(policy, outcome));
    Ok(response)
}

/// Whether `path` is under `/api/v1`, the only part of the service that is rate limited.
fn is_api_path(path: &str) -> bool {
    path.strip_prefix("/api/v1")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn policy_value(policy: Policy) -> HeaderValue {
    header_value(format!(
        "\"{POLICY_NAME}\";q={};w={}",
        policy.quota, policy.window_secs
    ))
}

fn limit_value(policy: Policy, outcome: Option<Outcome>) -> HeaderValue {
    let (remaining, window) = match outcome {
        Some(Outcome::Allowed {
            remaining,
            reset_secs,
        }) => (remaining, reset_secs),
        Some(Outcome::Limited { retry_after_secs }) => (0, retry_after_secs),
        None => (policy.quota, 0),
    };
    header_value(format!("\"{POLICY_NAME}\";r={remaining};t={window}"))
}

/// The values above are ASCII digits, letters and punctuation by construction.
fn header_value(text: String) -> HeaderValue {
    HeaderValue::try_from(text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_api_paths_are_limited() {
        for path in ["/api/v1", "/api/v1/", "/api/v1/accounts", "/api/v1/x/y"] {
            assert!(is_api_path(path), "{path}");
        }
        for path in [
            "/",
            "/health",
            "/metrics",
            "/webhooks/instagram",
            "/api/v10",
            "/api",
        ] {
            assert!(!is_api_path(path), "{path}");
        }
    }

    #[test]
    fn headers_follow_the_draft_syntax() {
        let policy = Policy {
            quota: 200,
            window_secs: 4,
        };
        assert_eq!(policy_value(policy), "\"default\";q=200;w=4");
        let allowed = Outcome::Allowed {
            remaining: 150,
            reset_secs: 1,
        };
        assert_eq!(limit_value(policy, Some(allowed)), "\"default\";r=150;t=1");
        let limited = Outcome::Limited {
            retry_after_secs: 3,
        };
        assert_eq!(limit_value(policy, Some(limited)), "\"default\";r=0;t=3");
        assert_eq!(limit_value(policy, None), "\"default\";r=200;t=0");
    }
}
