//! Reading a JSON request body member by member, so that a value of the wrong type is a `422`
//! naming its field (serde's own type errors say where in the text, not which field), and so that
//! an absent member and `null` can mean different things (`PATCH` clears a nullable field with
//! `null` and leaves an absent one alone).
//!
//! A request body declares each member as `Option<Value>` with
//! `#[serde(default, deserialize_with = "json_fields::present")]`, and the struct
//! `#[serde(deny_unknown_fields)]`; the handler takes it as `ApiJson<JsonObject<Body>>` and
//! reads the members with the functions below.

use std::fmt;
use std::marker::PhantomData;

use domain::ValidationError;
use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// A body that must be a JSON object. A derived struct also accepts an array (its fields by
/// position, every one defaulted when the array is empty), which no client means: `[]` as a
/// `PATCH` body would otherwise be a successful empty update.
pub(crate) struct JsonObject<T>(pub(crate) T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for JsonObject<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_map(ObjectVisitor(PhantomData))
            .map(Self)
    }
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = T;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map))
    }
}

/// Deserializes a member that is there, `null` included, as `Some`; with `#[serde(default)]` an
/// absent member stays `None`.
///
/// # Errors
/// Never for well-formed JSON.
pub(crate) fn present<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// A member that must be there, as a string.
///
/// # Errors
/// A [`ValidationError`] for `field` when it is absent, `null` or not a string.
pub(crate) fn required_string(
    field: &'static str,
    value: Option<Value>,
) -> Result<String, ValidationError> {
    match value {
        None => Err(ValidationError::new(field, "is required")),
        Some(value) => string(field, value),
    }
}

/// A member that may be left out; when there, a string.
///
/// # Errors
/// A [`ValidationError`] for `field` when it is `null` or not a string.
pub(crate) fn optional_string(
    field: &'static str,
    value: Option<Value>,
) -> Result<Option<String>, ValidationError> {
    value.map(|value| string(field, value)).transpose()
}

/// A member that may be left out (`None`), `null` (`Some(None)`) or a string.
///
/// # Errors
/// A [`ValidationError`] for `field` when it is neither `null` nor a string.
pub(crate) fn nullable_string(
    field: &'static str,
    value: Option<Value>,
) -> Result<Option<Option<String>>, ValidationError> {
    match value {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(value) => string(field, value).map(|text| Some(Some(text))),
    }
}

fn string(field: &'static str, value: Value) -> Result<String, ValidationError> {
    match value {
        Value::String(text) => Ok(text),
        Value::Null => Err(ValidationError::new(field, "must not be null")),
        _ => Err(ValidationError::new(field, "must be a string")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[serde(default, deserialize_with = "present")]
        name: Option<Value>,
    }

    fn name(body: &str) -> Option<Value> {
        serde_json::from_str::<Body>(body).unwrap().name
    }

    #[test]
    fn only_objects_are_bodies() {
        let parse =
            |text: &str| serde_json::from_str::<JsonObject<Body>>(text).map(|body| body.0.name);
        assert_eq!(parse(r#"{"name":"x"}"#).unwrap(), Some(json!("x")));
        assert_eq!(parse("{}").unwrap(), None);
        for bad in ["[]", r#"["x"]"#, "5", r#""x""#, "null", r#"{"other":1}"#] {
            let error = parse(bad).err().unwrap();
            assert!(error.is_data(), "{bad}: {error}");
        }
    }

    #[test]
    fn absent_and_null_are_told_apart() {
        assert_eq!(name("{}"), None);
        assert_eq!(name(r#"{"name":null}"#), Some(Value::Null));
        assert_eq!(name(r#"{"name":"x"}"#), Some(json!("x")));
        assert!(serde_json::from_str::<Body>(r#"{"other":1}"#).is_err());
    }

    #[test]
    fn each_reader_names_the_field() {
        assert_eq!(required_string("name", Some(json!("x"))).unwrap(), "x");
        for value in [None, Some(Value::Null), Some(json!(5)), Some(json!(["x"]))] {
            assert_eq!(required_string("name", value).unwrap_err().field, "name");
        }
        assert_eq!(optional_string("name", None).unwrap(), None);
        assert_eq!(
            optional_string("name", Some(Value::Null))
                .unwrap_err()
                .field,
            "name"
        );
        assert_eq!(nullable_string("name", None).unwrap(), None);
        assert_eq!(
            nullable_string("name", Some(Value::Null)).unwrap(),
            Some(None)
        );
        assert_eq!(
            nullable_string("name", Some(json!("x"))).unwrap(),
            Some(Some("x".to_owned()))
        );
        assert_eq!(
            nullable_string("name", Some(json!(true)))
                .unwrap_err()
                .field,
            "name"
        );
    }
}
