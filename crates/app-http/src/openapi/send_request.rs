//! The one rule of the send body that its `ToSchema` derive cannot state: exactly one of
//! `message` and `attachment` (a `null` one counts as absent), as a `oneOf` beside the derived
//! object, so clients and schemathesis see the same rule the handler applies.

use utoipa::openapi::schema::{AllOfBuilder, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{OpenApi, RefOr};

/// The component the send body is.
const SEND_REQUEST: &str = "SendRequest";

/// Makes `SendRequest` the derived object and "exactly one of `message` (a string) and
/// `attachment` (an object)".
pub(crate) fn exactly_one_content(document: &mut OpenApi) {
    let Some(components) = document.components.as_mut() else {
        return;
    };
    let Some(RefOr::T(derived)) = components.schemas.remove(SEND_REQUEST) else {
        return;
    };
    let description = match &derived {
        Schema::Object(object) => object.description.clone(),
        _ => None,
    };
    let content = OneOfBuilder::new()
        .item(present("message", Type::String))
        .item(present("attachment", Type::Object));
    let combined = AllOfBuilder::new()
        .description(description)
        .item(derived)
        .item(content);
    components.schemas.insert(
        SEND_REQUEST.to_owned(),
        RefOr::T(Schema::AllOf(combined.build())),
    );
}

/// An object in which `member` is there, with a value of `kind` (so not `null`).
fn present(member: &str, kind: Type) -> ObjectBuilder {
    ObjectBuilder::new()
        .property(member, ObjectBuilder::new().schema_type(kind))
        .required(member)
}
