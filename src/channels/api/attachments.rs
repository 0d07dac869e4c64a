//! `GET /api/v1/attachments/{sha256}` (integrator bearer token): a photo of an appeal,
//! by the `sha256` the appeal names. Stored already without metadata; content-addressed,
//! so the answer never changes and may be cached by the case system for good. The first
//! fetch of a kept photo is noted: the photo goes
//! `GATEWAY_ATTACHMENT_FETCHED_RETENTION_HOURS` later (the case system has its copy).
//! A photo erased (the subject's erasure) or past its retention answers 410 with the
//! code `attachment_erased` or `attachment_expired`.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::attachments::Lookup;
use crate::http::error::Problem;
use crate::http::language_of;

use super::state::Api;

pub(super) async fn get_attachment(
    req: HttpRequest,
    path: web::Path<String>,
    api: web::Data<Api>,
) -> Result<HttpResponse, Problem> {
    let language = language_of(&req);
    if api.tokens.authenticate(&req).is_none() {
        return Err(Problem::unauthorized(language));
    }
    let sha256 = path.into_inner().to_ascii_lowercase();
    let (image_type, bytes) = match api.store.lookup(&sha256).await {
        Lookup::Found {
            image_type,
            bytes,
            kept,
        } => {
            if kept && let Err(e) = api.store.record_fetch(&sha256).await {
                // Served all the same; it then goes at its retention in days.
                tracing::warn!(error_kind = ?e.kind(), "first fetch of a photo not noted");
            }
            (image_type, bytes)
        }
        // Erased for its subject or past its retention: the case system stops asking.
        Lookup::Gone(why) => {
            return Err(Problem::request(
                StatusCode::GONE,
                why.code(),
                "sha256",
                language,
            ));
        }
        Lookup::NotFound => {
            return Err(Problem::new(StatusCode::NOT_FOUND, "not_found", language));
        }
    };
    Ok(HttpResponse::Ok()
        .content_type(image_type.content_type())
        .insert_header(("Cache-Control", "private, max-age=31536000, immutable"))
        .insert_header(("ETag", format!("\"{sha256}\"")))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        // Opened from a link, the photo is saved, not shown in the gateway's origin; and
        // even shown, it runs nothing (issue 17, point 7).
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"{sha256}.{}\"",
                image_type.extension()
            ),
        ))
        .insert_header(("Content-Security-Policy", "sandbox"))
        .body(bytes))
}
