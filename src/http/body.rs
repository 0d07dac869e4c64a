//! Reading a request body under a size limit: a `Content-Length` over the limit is
//! refused before a byte is read, a chunked body as soon as it passes the limit.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;

use crate::appeal::Language;
use crate::http::error::Problem;

/// The body, at most `limit` bytes, or 413.
pub(crate) async fn read_limited(
    req: &HttpRequest,
    mut payload: web::Payload,
    limit: usize,
    language: Language,
) -> Result<web::Bytes, Problem> {
    let too_large = || {
        Problem::request(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "body",
            language,
        )
        .with_arg("limit", limit.to_string())
    };
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::with_capacity(declared.unwrap_or(8 * 1024).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| {
            Problem::request(StatusCode::BAD_REQUEST, "malformed_json", "body", language)
        })?;
        if body.len() + chunk.len() > limit {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// 400 `malformed_json` for a body serde_json could not read, with the position only:
/// serde's message may quote the input.
pub(crate) fn malformed(e: &serde_json::Error, language: Language) -> Problem {
    Problem::request(StatusCode::BAD_REQUEST, "malformed_json", "body", language)
        .with_arg("line", e.line().to_string())
        .with_arg("column", e.column().to_string())
}
