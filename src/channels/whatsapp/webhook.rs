//! `GET` and `POST /whatsapp/webhook`: the verification handshake and the signed
//! notifications (`X-Hub-Signature-256` checked in constant time before anything is
//! parsed).
//!
//! Statuses of what the gateway sent (`value.statuses[]`: `id` the `wamid` the send
//! returned, `status` one of `sent`, `delivered`, `read`, `failed` with `errors[]`), as
//! the WhatsApp Business Platform's "Status messages webhook reference" describes them
//! (developers.facebook.com/documentation/business-messaging/whatsapp/webhooks/reference/
//! messages/status/), move the answer's receipt on `deliveries.v1` once
//! (`notify::receipts`): `delivered`, `read` (which may come without `delivered`), or
//! `failed` with the reason `undeliverable`. `sent` adds nothing to `accepted`.

use actix_web::{HttpRequest, HttpResponse, web};
use hmac::{KeyInit, Mac};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::appeal::Channel;
use crate::http::error::Problem;

use super::transport::Whatsapp;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Constant-time check of `X-Hub-Signature-256` over the raw body.
pub(crate) fn signature_valid(app_secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hex_sig) = header.and_then(|h| h.trim().strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(signature) = hex::decode(hex_sig) else {
        return false;
    };
    let Ok(mut mac) = HmacSha256::new_from_slice(app_secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&signature).is_ok()
}

/// Equal strings, compared in constant time (as digests, so the length does not show).
fn same_secret(a: &str, b: &str) -> bool {
    let a: [u8; 32] = Sha256::digest(a.as_bytes()).into();
    let b: [u8; 32] = Sha256::digest(b.as_bytes()).into();
    bool::from(a.ct_eq(&b))
}

/// `GET /whatsapp/webhook`: the verification handshake.
pub(super) async fn verify(
    whatsapp: web::Data<Whatsapp>,
    query: web::Query<Vec<(String, String)>>,
) -> HttpResponse {
    let param = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let token_ok =
        param("hub.verify_token").is_some_and(|t| same_secret(t, &whatsapp.config.verify_token));
    match (param("hub.mode"), token_ok, param("hub.challenge")) {
        (Some("subscribe"), true, Some(challenge)) if challenge.len() <= 256 => HttpResponse::Ok()
            .content_type("text/plain; charset=utf-8")
            // The echo is the caller's text: never let a browser sniff it into HTML.
            .insert_header(("X-Content-Type-Options", "nosniff"))
            .body(challenge.to_owned()),
        _ => {
            tracing::warn!("whatsapp verification refused");
            HttpResponse::Forbidden().finish()
        }
    }
}

/// `POST /whatsapp/webhook`: signed notifications of messages and statuses.
pub(super) async fn webhook(
    whatsapp: web::Data<Whatsapp>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let header = req
        .headers()
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if !signature_valid(whatsapp.config.app_secret.as_bytes(), &body, header) {
        // Logged without the payload: it is unauthenticated and may hold anything.
        tracing::warn!(
            signed = header.is_some(),
            "whatsapp webhook refused: bad signature"
        );
        whatsapp.gateway.refused(Channel::Whatsapp, "bad_signature");
        return actix_web::ResponseError::error_response(&Problem::bad_signature(
            "X-Hub-Signature-256",
            crate::http::language_of(&req),
        ));
    }
    let Ok(payload) = serde_json::from_slice::<Value>(&body) else {
        tracing::warn!("whatsapp webhook: body is not JSON");
        return HttpResponse::BadRequest().finish();
    };
    let mut statuses = 0usize;
    for change in payload["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| e["changes"].as_array().into_iter().flatten())
    {
        let value = &change["value"];
        if value["metadata"]["phone_number_id"]
            .as_str()
            .is_some_and(|id| id != whatsapp.config.phone_number_id)
        {
            continue;
        }
        // Delivery receipts of what the gateway sent: never taken for messages.
        for status in value["statuses"].as_array().into_iter().flatten() {
            statuses += 1;
            whatsapp.gateway.bot_ignored(Channel::Whatsapp, "status");
            if let Err(e) = take_status(&whatsapp, status).await {
                tracing::warn!(error_kind = ?e.kind(), "whatsapp status not applied; the provider will retry");
                return HttpResponse::ServiceUnavailable()
                    .insert_header(("Retry-After", "5"))
                    .finish();
            }
        }
        for message in value["messages"].as_array().into_iter().flatten() {
            if let Err(e) = whatsapp.take_message(message).await {
                tracing::error!(error = %e, "whatsapp message not handled; the provider will retry");
                return HttpResponse::ServiceUnavailable()
                    .insert_header(("Retry-After", "5"))
                    .finish();
            }
        }
    }
    if statuses > 0 {
        tracing::debug!(statuses, "whatsapp statuses received");
    }
    HttpResponse::Ok().finish()
}

/// Applies one of `statuses[]` to the receipt of the answer it belongs to.
async fn take_status(whatsapp: &Whatsapp, status: &Value) -> redis::RedisResult<()> {
    use crate::notify::receipts::{self, Report};
    let report = match status["status"].as_str() {
        Some("delivered") => Report::Delivered,
        Some("read") => Report::Read,
        Some("failed") => {
            tracing::warn!("whatsapp reports a reply as failed");
            Report::Failed("undeliverable")
        }
        _ => return Ok(()),
    };
    let Some(id) = status["id"].as_str().filter(|id| id.len() <= 256) else {
        return Ok(());
    };
    let mut conn = whatsapp
        .redis
        .conn()
        .await
        .map_err(|_| redis::RedisError::from((redis::ErrorKind::Io, "redis unavailable")))?;
    receipts::report(&mut conn, whatsapp.redis.keys(), "whatsapp", id, report).await?;
    Ok(())
}
