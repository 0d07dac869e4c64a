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

use serde::de::{Deserialize, DeserializeOwned, Deserializer, Error as _};
use serde_json::Value;
use serde_json::value::RawValue;

use crate::appeal::Language;
use crate::field_error::FieldError;
use crate::http::error::Problem;

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

/// A member is taken as its JSON text, borrowed from the body (the outer parser checks
/// its syntax and builds nothing), then read as a `T` from that text: no tree of the
/// whole body is built (issue 27: the `Value` tree and reading it again were a tenth of
/// an appeal's cost). So it needs a deserializer over the body's text: [`read`].
impl<'de, T: DeserializeOwned> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = <&'de RawValue>::deserialize(deserializer)?;
        let json = raw.get();
        if json == "null" {
            return Ok(Field::Absent);
        }
        match serde_json::from_str::<T>(json) {
            Ok(value) => Ok(Field::Valid(value)),
            // Malformed after all (a number out of range, a lone surrogate, nesting too
            // deep): the whole body is then refused as malformed, as a tree would be.
            Err(e) if !e.is_data() => Err(D::Error::custom("malformed member")),
            // A `T` refuses a repeated member where a `Value` keeps the last, as bodies
            // were always read: read it again without repeats.
            Err(_) => Ok(without_repeats(json)
                .and_then(|json| serde_json::from_str(&json).ok())
                .map_or(Field::Invalid, Field::Valid)),
        }
    }
}

/// `json` again, each object keeping the last of a repeated member (a `Value` does);
/// `None` when it is not JSON.
fn without_repeats(json: &str) -> Option<String> {
    let value: Value = serde_json::from_str(json).ok()?;
    serde_json::to_string(&value).ok()
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

/// A JSON request body read into a request type whose members are [`Field`]s or
/// catch-all maps. `Err`: the body is not JSON (400 `malformed_json`, with the position
/// only: serde's message may quote the input). `Ok(Err)`: it is JSON but not an object
/// (one `invalid_value` at `body`).
pub(crate) fn object<T: DeserializeOwned>(
    body: &[u8],
    language: Language,
) -> Result<Result<T, Vec<FieldError>>, Problem> {
    read(body).map_err(|e| crate::http::body::malformed(&e, language))
}

/// [`object`] without the problem document. One pass over the body in the usual case:
/// its UTF-8 checked at once, then each member read from its text. Anything else — a
/// body that is not UTF-8 or not JSON, not an object, or an object with a repeated
/// member — is read as a `Value` tree first, as bodies always were, so that it gets the
/// same answer as before.
pub(crate) fn read<T: DeserializeOwned>(
    body: &[u8],
) -> Result<Result<T, Vec<FieldError>>, serde_json::Error> {
    // Only an object: serde would read a struct from an array too.
    if let Ok(text) = simdutf8::basic::from_utf8(body)
        && text
            .trim_start_matches([' ', '\t', '\n', '\r'])
            .starts_with('{')
        && let Ok(value) = serde_json::from_str::<T>(text)
    {
        return Ok(Ok(value));
    }
    let not_an_object = || vec![FieldError::new("body", "invalid_value")];
    let value: Value = serde_json::from_slice(body)?;
    if !value.is_object() {
        return Ok(Err(not_an_object()));
    }
    // Every member is a `Field` or a catch-all map, so an object without repeated
    // members (which is what a `Value` holds) always fits.
    let json = serde_json::to_string(&value).map_err(serde_json::Error::custom)?;
    Ok(serde_json::from_str(&json).map_err(|_| not_an_object()))
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

    fn object(value: Value) -> Result<Probe, Vec<FieldError>> {
        let body = serde_json::to_vec(&value).expect("json");
        read(&body).expect("well-formed")
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
    fn a_body_that_is_not_json_is_malformed_wherever_the_fault_is() {
        for body in [
            &b"{\"n\": 1, "[..],
            b"[1, 2, 3",
            b"",
            b"{\"n\": 1e999}",
            b"{\"s\": \"\\ud800\"}",
            b"{\"other\": [1,,2]}",
            b"{\"s\": \"\xff\"}",
            b"{\"n\": 1} x",
        ] {
            assert!(
                read::<Probe>(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_repeated_member_counts_by_its_last_value() {
        let probe = read::<Probe>(br#"{"n": "x", "n": 7, "s": "a", "s": null}"#)
            .expect("well-formed")
            .expect("an object");
        assert_eq!(probe.n, Field::Valid(7));
        assert_eq!(probe.s, Field::Absent);
    }

    #[test]
    fn a_body_that_is_not_an_object_is_refused_at_body() {
        let errors = object(json!(["not", "an", "object"]))
            .err()
            .expect("refused");
        assert_eq!(errors, vec![FieldError::new("body", "invalid_value")]);
    }
}
