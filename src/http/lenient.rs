//! JSON request bodies read into their real types without stopping at the first wrong
//! member.
//!
//! **Why.** The APIs' request types are both what the handlers deserialize and what the
//! OpenAPI document describes (`crate::app::openapi`); but serde stops at the first
//! member of the wrong type, while a citizen's integrator should learn every field at
//! fault in one `422`. A member declared as [`Field<T>`] takes any JSON value: `null`
//! and absence are [`Field::Absent`], a value of type `T` is [`Field::Valid`], anything
//! else is [`Field::Invalid`] — and the handler reports each invalid member by its path
//! with [`Field::take`]. The document states the member's type with
//! `#[schema(value_type = Option<T>)]`.

use serde::de::{Deserialize, DeserializeOwned, Deserializer};
use serde_json::Value;

use crate::field_error::FieldError;

/// One member of a JSON object, read leniently (see the module doc).
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) enum Field<T> {
    /// Absent or `null`.
    #[default]
    Absent,
    Valid(T),
    /// Present, but not a `T`; the value is not kept (it may be personal data).
    Invalid,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        if value.is_null() {
            return Ok(Field::Absent);
        }
        Ok(T::deserialize(value).map_or(Field::Invalid, Field::Valid))
    }
}

impl<T> Field<T> {
    /// The value, if valid; an invalid member is pushed as `invalid_value` at `path`.
    pub(crate) fn take(self, path: &str, errors: &mut Vec<FieldError>) -> Option<T> {
        self.take_as(path, "invalid_value", errors)
    }

    /// [`Field::take`] with the error code of the member's kind (`invalid_phone`, …).
    pub(crate) fn take_as(
        self,
        path: &str,
        code: &'static str,
        errors: &mut Vec<FieldError>,
    ) -> Option<T> {
        match self {
            Field::Absent => None,
            Field::Valid(value) => Some(value),
            Field::Invalid => {
                errors.push(FieldError::new(path, code));
                None
            }
        }
    }

    /// A member that must be given: absence is `required` at `path`.
    pub(crate) fn require(self, path: &str, errors: &mut Vec<FieldError>) -> Option<T> {
        if matches!(self, Field::Absent) {
            errors.push(FieldError::new(path, "required"));
        }
        self.take(path, errors)
    }
}

/// A JSON object's members into a request type: a body that is not an object is one
/// `invalid_value` at `body`.
pub(crate) fn object<T: DeserializeOwned>(value: Value) -> Result<T, Vec<FieldError>> {
    if !value.is_object() {
        return Err(vec![FieldError::new("body", "invalid_value")]);
    }
    // Every member is a `Field` or a catch-all map, so an object always fits.
    serde_json::from_value(value).map_err(|_| vec![FieldError::new("body", "invalid_value")])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(serde::Deserialize)]
    struct Probe {
        #[serde(default)]
        n: Field<u64>,
        #[serde(default)]
        s: Field<String>,
        #[serde(default)]
        m: Field<String>,
    }

    #[test]
    fn every_wrong_member_is_reported_and_null_is_absence() {
        let probe: Probe = object(json!({"n": "seven", "s": 5, "m": null})).expect("object");
        let mut errors = Vec::new();
        assert_eq!(probe.n.take("n", &mut errors), None);
        assert_eq!(probe.s.take("s", &mut errors), None);
        assert_eq!(probe.m.require("m", &mut errors), None);
        let found: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            found,
            vec![
                ("n", "invalid_value"),
                ("s", "invalid_value"),
                ("m", "required")
            ]
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_is_refused_at_body() {
        let errors = object::<Probe>(json!(["not", "an", "object"]))
            .err()
            .expect("refused");
        assert_eq!(errors, vec![FieldError::new("body", "invalid_value")]);
    }
}
