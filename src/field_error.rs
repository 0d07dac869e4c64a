//! What is wrong with one field of an intake: a JSON path and a code, never the value.
//! Every stage that judges input (normalization, the policy, the subject requests, the
//! channel adapters) reports in this one shape, and the HTTP kit turns a list of them
//! into a localized `problem+json` or a page's messages beside the fields.

/// One problem with one field: a JSON path and a code. The value is never kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    pub(crate) field: String,
    pub(crate) code: &'static str,
}

impl FieldError {
    pub(crate) fn new(field: impl Into<String>, code: &'static str) -> FieldError {
        FieldError {
            field: field.into(),
            code,
        }
    }
}
