//! What every provider's answer comes down to: the message was taken (with the
//! provider's message id, the key its delivery reports carry), worth another try, or
//! final with a reason. The reasons are codes shared by all providers, so the case
//! system reads one list on `deliveries.v1` and `deadletter.v1` whichever provider is
//! configured; never a provider's free text (it may quote the number or the message).

use crate::notify::route::RouteError;

/// A message the provider took.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Accepted {
    /// The provider's id of the message, when it gives one (Mobizon's `messageId`,
    /// SMSC's `id`, an `id` in a generic provider's JSON answer).
    pub(crate) message_id: Option<String>,
}

/// The number does not exist, is not a mobile number, or cannot get SMS.
pub(crate) const INVALID_NUMBER: RouteError = RouteError::Permanent("invalid_number");
/// No money left on the provider account.
pub(crate) const INSUFFICIENT_FUNDS: RouteError = RouteError::Permanent("insufficient_funds");
/// The sender name (or the text) is refused: not registered, blocked, forbidden.
pub(crate) const SENDER_BLOCKED: RouteError = RouteError::Permanent("sender_blocked");
/// The provider refuses the gateway's credentials, or the account is blocked.
pub(crate) const PROVIDER_AUTH: RouteError = RouteError::Permanent("provider_auth");
/// Any other refusal of the request as it is.
pub(crate) const REJECTED: RouteError = RouteError::Permanent("rejected_by_provider");
/// The provider asks to slow down.
pub(crate) const RATE_LIMITED: RouteError = RouteError::Temporary("rate_limited");
/// The provider failed on its side (5xx, an internal error code, an unreadable answer).
pub(crate) const UNAVAILABLE: RouteError = RouteError::Temporary("provider_unavailable");

/// A request that got no answer: a timeout or a network error, worth a retry.
pub(crate) fn transport(error: &reqwest::Error) -> RouteError {
    RouteError::Temporary(if error.is_timeout() {
        "timeout"
    } else {
        "network"
    })
}

/// An HTTP status without a body worth reading: 5xx and 429 worth a retry (the latter as
/// a rate limit), other non-2xx final.
pub(crate) fn status_error(status: reqwest::StatusCode) -> RouteError {
    if status.as_u16() == 429 {
        RATE_LIMITED
    } else if status.is_server_error() {
        UNAVAILABLE
    } else {
        REJECTED
    }
}

/// An id as the providers write it: a JSON number or string.
pub(crate) fn id_of(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) if !s.is_empty() && s.len() <= 64 => Some(s.clone()),
        _ => None,
    }
}
