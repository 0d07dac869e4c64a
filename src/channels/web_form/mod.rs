//! The citizen pages: the appeal form (`/`, `/kk/`, `/ru/`, `/en/`), the budget-portal
//! proposal form (`/budget/`), the confirmation after a submission, the status page
//! (`/status/{tracking_number}`) and the regulation (`/regulation`). Server-rendered
//! HTML that works without JavaScript.
//!
//! A POST goes: rate limit → the body, read within the form's byte budget, the budget of
//! upload bytes in flight and the minimum rate (see [`crate::http::form`]) → CSRF token
//! and honeypot, checked on the fields before the first photo, so that a forged form's
//! photos are never read → photos, spooled to disk, rebuilt a bounded number at a time
//! → the channel adapter and the pipeline's checks
//! (all errors at once, shown next to their fields with the input kept) → photos synced
//! to disk → `submit_appeal` with an idempotency key the form carried → 303 to the
//! confirmation (POST-redirect-GET): a double click or a refresh creates one appeal.

use actix_web::{HttpRequest, web};

pub(crate) mod form_input;
pub(crate) mod settings;
mod state;

use self::state::WebForm;

mod assets;
mod confirm_contact;
mod form_page;
mod map;
mod pages;
mod received;
mod regulation;
mod status;
mod submit;
use self::assets::{favicon, form_js, robots};
use self::form_page::{budget_form, form_in_path, form_negotiated};
use self::received::received;
use self::regulation::regulation;
use self::status::{status, status_lookup};
use self::submit::{appeal_submit, budget_submit};

/// Registers the pages, their assets (script, icon, `robots.txt`). Each page is a
/// resource whose other methods answer 405 (a page for a browser, a problem document
/// for an API client); `HEAD` is routed as `GET` by `http::negotiate`.
pub(crate) fn configure(cfg: &mut web::ServiceConfig, web_form: web::Data<WebForm>) {
    cfg.app_data(web_form)
        .service(page_resource("/").route(web::get().to(form_negotiated)))
        .service(
            page_resource("/budget/")
                .route(web::get().to(budget_form))
                .route(web::post().to(budget_submit)),
        )
        .service(page_resource("/budget").route(web::get().to(budget_form)))
        .service(page_resource("/regulation").route(web::get().to(regulation)))
        .service(page_resource("/status").route(web::get().to(status_lookup)))
        .service(page_resource("/status/").route(web::get().to(status_lookup)))
        .service(page_resource("/status/{tracking}").route(web::get().to(status)))
        .service(
            page_resource("/status/{tracking}/confirm")
                .route(web::get().to(confirm_contact::confirm_contact))
                .route(web::post().to(confirm_contact::confirm_contact_submit)),
        )
        .service(page_resource("/assets/form.js").route(web::get().to(form_js)))
        .service(page_resource("/assets/leaflet-1.9.4.js").route(web::get().to(assets::leaflet_js)))
        .service(
            page_resource("/assets/leaflet-1.9.4.css").route(web::get().to(assets::leaflet_css)),
        )
        .service(page_resource("/favicon.ico").route(web::get().to(favicon)))
        .service(page_resource("/robots.txt").route(web::get().to(robots)));
    for lang in ["kk", "ru", "en"] {
        cfg.service(
            page_resource(&format!("/{lang}/"))
                .route(web::get().to(form_in_path))
                .route(web::post().to(appeal_submit)),
        )
        .service(page_resource(&format!("/{lang}")).route(web::get().to(form_in_path)))
        .service(
            page_resource(&format!("/{lang}/received/{{tracking}}")).route(web::get().to(received)),
        );
    }
}

/// A page's resource: methods it has no route for answer 405.
fn page_resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(|req: HttpRequest| async move {
        let allow = if matches!(req.path(), "/budget/" | "/kk/" | "/ru/" | "/en/") {
            "GET, HEAD, POST"
        } else {
            "GET, HEAD"
        };
        crate::http::negotiate::method_not_allowed(&req, allow)
    }))
}
