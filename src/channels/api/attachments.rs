//! `GET /api/v1/attachments/{sha256}` (integrator bearer token): a photo of an appeal,
//! by the `sha256` the appeal names. Stored already without metadata; content-addressed,
//! so the answer never changes and may be cached by the case system for good.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::http::error::Problem;
use crate::http::language_of;

use super::Api;

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
    let Some((image_type, bytes)) = api.store.get(&sha256).await else {
        return Err(Problem::new(StatusCode::NOT_FOUND, "not_found", language));
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
