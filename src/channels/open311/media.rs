//! `GET media/{service_request_id}/{sha256}`: a request's photo, as its public
//! `media_url` links it (issue 32, point 3) — the copy the gateway cleaned (re-encoded,
//! no metadata), never a link a client gave. Served only while the case system lets the
//! request's photos be shown (a reply's `media_public`); else, and for a photo that is
//! not the request's, 404 as for one that does not exist. A photo erased (its subject's
//! erasure, its retention) is 410. The photo is on the instance that took the request
//! (as for `GET /api/v1/attachments/{sha256}`).

use actix_web::{HttpRequest, HttpResponse, web};

use crate::attachments::Lookup;

use super::requests::{index_get, lookup_allowed};
use super::state::Open311;

/// `GET /open311/v2/media/{service_request_id}/{sha256}`.
pub(super) async fn get_media(req: HttpRequest, open311: web::Data<Open311>) -> HttpResponse {
    let info = req.match_info();
    let (Some(id), Some(sha256)) = (info.get("service_request_id"), info.get("sha256")) else {
        return HttpResponse::NotFound().finish();
    };
    let sha256 = sha256.to_ascii_lowercase();
    let Some(tracking) = crate::tracking::TrackingNumber::parse_lenient(id) else {
        return HttpResponse::NotFound().finish();
    };
    // A tracking number tested, as every read by number is.
    if lookup_allowed(&req, &open311, 1).await.is_err() {
        return HttpResponse::TooManyRequests()
            .insert_header(("Retry-After", "60"))
            .finish();
    }
    let indexed = match index_get(&open311, tracking.as_str()).await {
        Ok(indexed) => indexed,
        Err(_) => {
            return HttpResponse::ServiceUnavailable()
                .insert_header(("Retry-After", "30"))
                .finish();
        }
    };
    let shown = indexed.is_some_and(|i| i.media_public && i.media.contains(&sha256));
    if !shown {
        return HttpResponse::NotFound().finish();
    }
    match open311.store.lookup(&sha256).await {
        Lookup::Found {
            image_type, bytes, ..
        } => HttpResponse::Ok()
            .content_type(image_type.content_type())
            // Asked again each time: the case system may stop showing it.
            .insert_header(("Cache-Control", "no-cache"))
            .insert_header(("X-Content-Type-Options", "nosniff"))
            // Shown in an app or a page, it runs nothing.
            .insert_header(("Content-Security-Policy", "sandbox"))
            .body(bytes),
        Lookup::Gone(_) => HttpResponse::Gone().finish(),
        Lookup::NotFound => HttpResponse::NotFound().finish(),
    }
}
