//! The pages' assets: the forms' script, the icon and `robots.txt`.

use actix_web::HttpResponse;
use actix_web::http::header::{self};

/// A script or a style sheet of the pages, kept by caches as `cache_control` says.
fn code(content_type: &str, cache_control: &'static str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, cache_control))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(body)
}

/// A vendored file's address names its version: kept for a year.
const VERSIONED: &str = "public, max-age=31536000, immutable";

/// `GET /assets/form.js`: the forms' progressive enhancements.
pub(super) async fn form_js() -> HttpResponse {
    code(
        "text/javascript; charset=utf-8",
        "public, max-age=3600",
        include_str!("../../../templates/web/assets/form.js"),
    )
}

/// `GET /assets/leaflet-1.9.4.js`: the form's map (see `super::map`).
pub(super) async fn leaflet_js() -> HttpResponse {
    code(
        "text/javascript; charset=utf-8",
        VERSIONED,
        include_str!("../../../templates/web/assets/vendor/leaflet-1.9.4/leaflet.js"),
    )
}

/// `GET /assets/leaflet-1.9.4.css`.
pub(super) async fn leaflet_css() -> HttpResponse {
    code(
        "text/css; charset=utf-8",
        VERSIONED,
        include_str!("../../../templates/web/assets/vendor/leaflet-1.9.4/leaflet.css"),
    )
}

/// `GET /favicon.ico`.
pub(super) async fn favicon() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("image/x-icon")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(&include_bytes!("../../../templates/web/assets/favicon.ico")[..])
}

/// `GET /robots.txt`: the forms may be indexed, status pages and APIs may not.
pub(super) async fn robots() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(include_str!("../../../templates/web/assets/robots.txt"))
}
