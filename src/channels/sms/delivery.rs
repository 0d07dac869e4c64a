//! Delivery reports of the SMS providers, received by whichever instance the provider
//! calls and applied once to the answer's receipt (`notify::receipts`).
//!
//! - Mobizon: a webhook of the event type "SMS statuses", format `json`, to
//!   `POST {GATEWAY_PUBLIC_URL}/sms/mobizon/webhook`, with the secret key
//!   `GATEWAY_SMS_WEBHOOK_SECRET` (Control Panel → API → Webhooks, see
//!   `docs/operations.md`). Mobizon sends one request per message once its status is
//!   final, signs it (`mobizon::signed`) and retries up to 10 times until it gets a 2xx
//!   within 5 seconds; so a report that cannot be applied now (Redis away) gets 503.
//!   A request not signed with the secret gets 403 and changes nothing.

use actix_web::{HttpResponse, web};

use super::mobizon;
use crate::notify::receipts;
use crate::redis_handle::Redis;

/// What the report routes need.
pub(crate) struct Reports {
    pub(crate) redis: Redis,
    /// Mobizon's webhook secret key.
    pub(crate) secret: String,
}

/// The report routes, registered when the provider reports and the secret is set.
pub(crate) fn routes(cfg: &mut web::ServiceConfig, reports: &web::Data<Reports>) {
    cfg.app_data(reports.clone())
        .app_data(web::JsonConfig::default().limit(64 * 1024))
        .route("/sms/mobizon/webhook", web::post().to(mobizon_webhook));
}

/// `POST /sms/mobizon/webhook`.
async fn mobizon_webhook(reports: web::Data<Reports>, body: web::Bytes) -> HttpResponse {
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return HttpResponse::BadRequest().finish();
    };
    if !mobizon::signed(&payload, &reports.secret) {
        // Logged without the payload: it is unauthenticated and names a number.
        tracing::warn!("mobizon webhook refused: bad signature");
        return HttpResponse::Forbidden().finish();
    }
    let Some((message_id, report)) = mobizon::delivery_report(&payload) else {
        return HttpResponse::Ok().finish();
    };
    let applied = match reports.redis.conn().await {
        Ok(mut conn) => {
            receipts::report(&mut conn, reports.redis.keys(), "sms", &message_id, report).await
        }
        Err(_) => Err(redis::RedisError::from((
            redis::ErrorKind::Io,
            "redis unavailable",
        ))),
    };
    match applied {
        Ok(_) => HttpResponse::Ok().finish(),
        Err(e) => {
            tracing::warn!(error_kind = ?e.kind(), "mobizon report not applied; Mobizon will retry");
            HttpResponse::ServiceUnavailable().finish()
        }
    }
}
