//! Extractors every JSON endpoint shares, so that each channel checks a request the same
//! way: the `Idempotency-Key` header and a JSON body under the configured size limit.

use actix_web::http::StatusCode;
use actix_web::http::header::CONTENT_TYPE;
use actix_web::{HttpRequest, web};
use sha2::{Digest, Sha256};

use crate::appeal::Language;
use crate::http::body::read_limited;
use crate::http::error::Problem;
use crate::pipeline::IdempotencyClaim;

/// The `Idempotency-Key` header (RFC draft `httpapi-idempotency-key`): printable ASCII
/// and spaces, 1 to 200 characters. Anything else is 400 on the header.
#[derive(Debug, Clone)]
pub(crate) struct IdempotencyKey(pub Option<String>);

impl IdempotencyKey {
    pub(crate) fn of(req: &HttpRequest, language: Language) -> Result<IdempotencyKey, Problem> {
        let Some(value) = req.headers().get("Idempotency-Key") else {
            return Ok(IdempotencyKey(None));
        };
        value
            .to_str()
            .ok()
            .filter(|k| {
                !k.trim().is_empty()
                    && k.len() <= 200
                    && k.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
            })
            .map(|k| IdempotencyKey(Some(k.to_owned())))
            .ok_or_else(|| {
                Problem::request(
                    StatusCode::BAD_REQUEST,
                    "invalid_idempotency_key",
                    "Idempotency-Key",
                    language,
                )
            })
    }

    /// The outbox claim of this key for `who` on this endpoint, fingerprinted by the
    /// body so that the same key with another body is refused.
    pub(crate) fn claim(
        self,
        req: &HttpRequest,
        who: &str,
        body: &[u8],
    ) -> Option<IdempotencyClaim> {
        self.0.map(|key| IdempotencyClaim {
            key: format!("{}:{who}:{key}", req.path()),
            fingerprint: hex::encode(Sha256::digest(body)),
        })
    }
}

/// A JSON request body: `Content-Type` `application/json` (or `+json`), at most `limit`
/// bytes. Returns the raw bytes (for the idempotency fingerprint), read into the
/// endpoint's request type by `crate::http::lenient::object`, which refuses a body
/// that is not well-formed.
pub(crate) async fn json_body(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
    language: Language,
) -> Result<web::Bytes, Problem> {
    let is_json = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            let v = v.trim().to_ascii_lowercase();
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        });
    if !is_json {
        return Err(Problem::request(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "Content-Type",
            language,
        ));
    }
    read_limited(req, payload, limit, language).await
}
