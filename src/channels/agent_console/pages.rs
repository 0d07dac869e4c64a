//! How the consoles' pages are drawn: their templates, the language, the session
//! cookie, redirects and the audit line every action leaves.

use crate::appeal::Language;
use crate::http::negotiate::{self};
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header::{self};
use actix_web::{HttpRequest, HttpResponse};
use minijinja::Environment;
use serde_json::Value;
use std::sync::LazyLock;

/// The agent session cookie.
pub(super) const COOKIE: &str = "oa_agent";
/// Largest text part of a console form.
pub(super) const MAX_TEXT_BYTES: usize = 128 * 1024;
pub(super) const TEMPLATES: [(&str, &str); 5] = [
    (
        "base.html",
        include_str!("../../../templates/agent/base.html"),
    ),
    (
        "login.html",
        include_str!("../../../templates/agent/login.html"),
    ),
    (
        "console.html",
        include_str!("../../../templates/agent/console.html"),
    ),
    (
        "receipt.html",
        include_str!("../../../templates/agent/receipt.html"),
    ),
    (
        "consent_form.html",
        include_str!("../../../templates/agent/consent_form.html"),
    ),
];

pub(super) static PAGES: LazyLock<Environment<'static>> =
    LazyLock::new(|| crate::http::pages::environment(&TEMPLATES));

/// Renders a console page: never cached, not framable, only its own script.
pub(super) fn page(
    status: StatusCode,
    language: Language,
    template: &str,
    mut ctx: Value,
) -> HttpResponse {
    if let Value::Object(map) = &mut ctx {
        map.insert("lang".into(), language.as_str().into());
    }
    let rendered = PAGES.get_template(template).and_then(|t| t.render(ctx));
    crate::http::pages::respond(status, language, template, rendered, CONSOLE_CSP)
}

/// What the consoles may load: inline styles, their own script (the live call, the
/// print button) and its requests to this origin, nothing else.
pub(super) const CONSOLE_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

pub(super) fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

/// The console's language: `?lang=`, else the `oa_lang` cookie, else Kazakh.
pub(super) fn console_language(req: &HttpRequest) -> Language {
    negotiate::query_language(req)
        .or_else(|| negotiate::chosen_language(req))
        .unwrap_or(Language::Kk)
}

pub(super) fn session_cookie(value: String, secure: bool, remove: bool) -> Cookie<'static> {
    let mut cookie = Cookie::build(COOKIE, value)
        .path("/agent")
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .finish();
    if remove {
        cookie.make_removal();
    }
    cookie
}

/// An audit record: the agent's action, never a citizen's data.
pub(super) fn audit(action: &str, agent_id: &str, outcome: &str, tracking: Option<&str>) {
    tracing::info!(
        target: "audit",
        action,
        agent_id,
        outcome,
        tracking_number = tracking.unwrap_or(""),
        "agent action"
    );
}
