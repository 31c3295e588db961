//! Identifiers: igrouter's own prefixed ids and Instagram's string ids.
//!
//! Our ids are a prefix plus 12 characters from a lowercase 32-letter alphabet (`acc_3k9x2m7q1z8w`).
//! They carry 60 random bits, are safe in URLs, and say what they name when they turn up in a log.
//! Instagram ids are opaque strings: Meta sends them as JSON strings or numbers, sometimes not
//! numeric at all, and 64-bit integers would lose precision in JavaScript clients.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ValidationError;

/// Length of the random part of every prefixed id.
pub const ID_SUFFIX_LEN: usize = 12;

/// Crockford's base-32 alphabet in lowercase: no `i`, `l`, `o`, `u`, so ids read back unambiguously.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// The prefix every id of this kind starts with.
            pub const PREFIX: &'static str = $prefix;

            /// Checks `value` is this prefix plus 12 lowercase letters or digits.
            ///
            /// # Errors
            /// A [`ValidationError`] naming the field when the value has another shape.
            pub fn parse(value: &str) -> Result<Self, ValidationError> {
                let valid = value
                    .strip_prefix(Self::PREFIX)
                    .is_some_and(|suffix| {
                        suffix.len() == ID_SUFFIX_LEN
                            && suffix.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                    });
                if valid {
                    Ok(Self(value.to_owned()))
                } else {
                    Err(ValidationError::new(
                        $field,
                        concat!("must be '", $prefix, "' followed by 12 lowercase letters or digits"),
                    ))
                }
            }

            /// A new id whose suffix is drawn from `entropy` (one byte per character).
            ///
            /// The caller supplies the randomness (the domain does no I/O); each byte's low five
            /// bits pick a character, so uniform bytes give uniform ids.
            pub fn from_entropy(entropy: [u8; ID_SUFFIX_LEN]) -> Self {
                let mut id = String::with_capacity(Self::PREFIX.len() + ID_SUFFIX_LEN);
                id.push_str(Self::PREFIX);
                id.extend(entropy.iter().map(|byte| char::from(ALPHABET[usize::from(byte & 31)])));
                Self(id)
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

prefixed_id!(
    /// An account's id (`acc_…`).
    AccountId, "acc_", "account_id"
);
prefixed_id!(
    /// A stored message's id (`msg_…`), inbound or outbound.
    MessageId, "msg_", "message_id"
);
prefixed_id!(
    /// A CRM event's id (`evt_…`): names the delivery and is its Standard Webhooks `webhook-id`,
    /// the same on every attempt.
    EventId, "evt_", "event_id"
);
prefixed_id!(
    /// An auto-reply rule's id (`rul_…`).
    RuleId, "rul_", "rule_id"
);
prefixed_id!(
    /// An API key's public id (`key_…`); the secret key itself is never stored.
    ApiKeyId, "key_", "api_key_id"
);

macro_rules! instagram_id {
    ($(#[$doc:meta])* $name:ident, $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Longest value accepted, in bytes.
            pub const MAX_LEN: usize = $max;

            /// Checks `value` is 1 to `MAX_LEN` bytes of printable ASCII without spaces.
            ///
            /// # Errors
            /// A [`ValidationError`] naming `field` for an empty, over-long or non-printable value.
            pub fn parse(field: &'static str, value: &str) -> Result<Self, ValidationError> {
                if value.is_empty() {
                    return Err(ValidationError::new(field, "must not be empty"));
                }
                if value.len() > Self::MAX_LEN {
                    return Err(ValidationError::new(
                        field,
                        format!("must be at most {} bytes", Self::MAX_LEN),
                    ));
                }
                if !value.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(ValidationError::new(
                        field,
                        "must be printable ASCII without spaces",
                    ));
                }
                Ok(Self(value.to_owned()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                Self::parse(stringify!($name), &text).map_err(serde::de::Error::custom)
            }
        }
    };
}

instagram_id!(
    /// An Instagram-scoped user or business account id (IGSID / IG user id), kept as a string.
    InstagramId, 64
);
instagram_id!(
    /// An Instagram message id (`mid`), kept as Meta sends it.
    InstagramMessageId, 255
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixed_ids_round_trip_and_reject_other_shapes() {
        let id = AccountId::from_entropy([0, 1, 2, 3, 31, 32, 33, 200, 255, 10, 11, 12]);
        assert_eq!(id.as_str(), "acc_0123z018zabc");
        assert_eq!(AccountId::parse(id.as_str()), Ok(id));
        for bad in [
            "",
            "acc_",
            "acc_3k9x2m7q1z8",
            "acc_3k9x2m7q1z8wx",
            "msg_3k9x2m7q1z8w",
            "acc_3K9X2M7Q1Z8W",
            "acc_3k9x2m7q1z-w",
        ] {
            let error = AccountId::parse(bad).expect_err(bad);
            assert_eq!(error.field, "account_id");
        }
        assert!(MessageId::parse("msg_3k9x2m7q1z8w").is_ok());
    }

    #[test]
    fn instagram_ids_are_strings_with_limits() {
        assert_eq!(
            InstagramId::parse("sender_id", "17841400000000000")
                .unwrap()
                .as_str(),
            "17841400000000000"
        );
        assert!(InstagramId::parse("sender_id", "external_id").is_ok());
        assert_eq!(
            InstagramId::parse("sender_id", "").unwrap_err().field,
            "sender_id"
        );
        assert!(InstagramId::parse("sender_id", "12 34").is_err());
        assert!(InstagramId::parse("sender_id", "ид").is_err());
        assert!(InstagramId::parse("sender_id", &"9".repeat(65)).is_err());
        assert!(InstagramMessageId::parse("mid", &"a".repeat(255)).is_ok());
    }

    #[test]
    fn ids_serialize_as_plain_strings() {
        let id = EventId::parse("evt_9f2c4e1a7b3d").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"evt_9f2c4e1a7b3d\"");
        let back: EventId = serde_json::from_str("\"evt_9f2c4e1a7b3d\"").unwrap();
        assert_eq!(back, id);
        assert!(serde_json::from_str::<EventId>("\"evt_nope\"").is_err());
    }
}
