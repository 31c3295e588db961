//! What every operation of a kind shares, added in one place instead of on each handler: the
//! bearer key, the error answers any `/api/v1` request may get, the rate-limit headers on
//! every `/api/v1` answer, and `X-Request-Id` on every answer of every operation. Handlers' annotations list only what is their own (their success,
//! their `404`, `409` and `422`).

use utoipa::openapi::path::{Operation, ParameterBuilder, ParameterIn, PathItem};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Components, ContentBuilder, OpenApi, Ref, RefOr, Required};

use super::headers;

/// The name of the bearer security scheme.
pub(crate) const BEARER: &str = "bearer";

/// The name of the `/metrics` security scheme.
pub(crate) const METRICS_TOKEN: &str = "metrics_token";

/// The errors any `/api/v1` operation may answer: authentication, the rate limit, a query or
/// path that does not parse, the database.
const API_ERRORS: [(&str, &str); 4] = [
    ("400", "Malformed JSON, query or path (`bad_request`)."),
    (
        "401",
        "No API key, or an unknown or revoked one (`unauthorized`).",
    ),
    (
        "429",
        "The key is over `API_RATE_LIMIT` (`rate_limited`); come back after `Retry-After` seconds.",
    ),
    (
        "503",
        "The database does not answer (`service_unavailable`); retry later.",
    ),
];

/// The errors of any `/api/v1` operation that takes a body.
const BODY_ERRORS: [(&str, &str); 3] = [
    ("413", "The body is over 64 KiB (`payload_too_large`)."),
    (
        "415",
        "The body is not `application/json` (`unsupported_media_type`).",
    ),
    (
        "422",
        "The body breaks a rule (`validation_failed`); `details.field` names the member.",
    ),
];

/// Adds the security scheme, the shared error answers and the shared headers to `document`.
pub(crate) fn apply(document: &mut OpenApi) {
    let components = document.components.get_or_insert_with(Components::new);
    components.security_schemes.insert(
        BEARER.to_owned(),
        RefOr::T(SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "An API key (`igrouter api-keys create --name NAME`), as \
                     `Authorization: Bearer <key>`.",
                ))
                .build(),
        )),
    );
    components.security_schemes.insert(
        METRICS_TOKEN.to_owned(),
        RefOr::T(SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some(
                    "`METRICS_TOKEN`, when it is set, as `Authorization: Bearer <token>`.",
                ))
                .build(),
        )),
    );
    headers::register(components);
    for (path, item) in &mut document.paths.paths {
        let api = path.starts_with("/api/v1/");
        for operation in operations(item) {
            if api {
                api_operation(operation);
            }
            request_id(operation);
        }
    }
}

/// The answer with the shared error body.
fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Error")))
                .build(),
        )
        .build()
}

fn api_operation(operation: &mut Operation) {
    operation.security = Some(vec![SecurityRequirement::new(BEARER, Vec::<String>::new())]);
    let has_body = operation.request_body.is_some();
    let shared = API_ERRORS
        .iter()
        .chain(BODY_ERRORS.iter().filter(|_| has_body));
    for (status, description) in shared {
        operation
            .responses
            .responses
            .entry((*status).to_owned())
            .or_insert_with(|| RefOr::T(error_response(description)));
    }
    for (status, response) in &mut operation.responses.responses {
        let RefOr::T(response) = response else {
            continue;
        };
        for name in [headers::RATE_LIMIT_POLICY, headers::RATE_LIMIT] {
            response
                .headers
                .insert(name.to_owned(), headers::reference(name));
        }
        let own = match status.as_str() {
            "401" => Some(headers::WWW_AUTHENTICATE),
            "429" => Some(headers::RETRY_AFTER),
            _ => None,
        };
        if let Some(name) = own {
            response
                .headers
                .insert(name.to_owned(), headers::reference(name));
        }
    }
}

/// `X-Request-Id`: taken from the request when it is sane, and on every answer.
fn request_id(operation: &mut Operation) {
    operation
        .parameters
        .get_or_insert_with(Vec::new)
        .push(RefOr::T(
            ParameterBuilder::new()
                .name(headers::REQUEST_ID)
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "An id for this request (1 to 128 visible ASCII characters), answered back \
                     and carried by the work it causes; igrouter makes one when it is absent or \
                     not sane.",
                ))
                .schema(Some(ObjectBuilder::new().schema_type(Type::String).build()))
                .build(),
        ));
    for response in operation.responses.responses.values_mut() {
        if let RefOr::T(response) = response {
            response.headers.insert(
                headers::REQUEST_ID.to_owned(),
                headers::reference(headers::REQUEST_ID),
            );
        }
    }
}

/// Every operation of `item`, whatever its method.
fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.options,
        &mut item.head,
        &mut item.patch,
        &mut item.trace,
    ]
    .into_iter()
    .flatten()
}
