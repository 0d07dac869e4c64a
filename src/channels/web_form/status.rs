//! The status page (`/status/{tracking}`, `/status?number=`), behind the limit of
//! lookups shared with Open311, and what the confirmation page (`received.rs`) shares
//! with it: whether a number is one to show.

use super::form_page::message;
use super::pages::{add_banner, base_context, page_language};
use super::state::WebForm;
use crate::appeal::Language;
use crate::http::client_addr::client_ip;
use crate::http::negotiate::query_param;
use crate::http::pages::page;
use crate::tracking::{Misread, TrackingNumber};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

/// Whether a confirmation page is one to show.
pub(super) enum Known {
    Yes(String),
    No,
    /// A lookup, and the client has made too many (issue 34: 200 against 404 here tells
    /// that a number exists, as the status page does).
    Limited,
}

/// The number of a confirmation page, if it is one to confirm: issued by this
/// deployment (the redirect's token: no lookup, not counted), or known (a lookup,
/// counted against the client's limit); while it cannot be looked up, any well-formed
/// number (the page then confirms nothing anyone could not type).
pub(super) async fn known(state: &WebForm, req: &HttpRequest, tracking: &str) -> Known {
    let Some(number) = TrackingNumber::parse_lenient(tracking) else {
        return Known::No;
    };
    if query_param(req, "r").is_some_and(|t| state.gateway.receipt_token_valid(number.as_str(), &t))
    {
        return Known::Yes(number.into_string());
    }
    if !state.status_limiter.allow_address(client_ip(req)).await {
        return Known::Limited;
    }
    match state.gateway.public_status(&number).await {
        Ok(found) if found.known => Known::Yes(number.into_string()),
        Ok(_) => Known::No,
        Err(_) => Known::Yes(number.into_string()),
    }
}

/// `GET /status/{tracking}`: what the case system last said (kept by the notifier from
/// `replies.v1`; "received" until it said anything), the appeal's category, the day it
/// was registered, the date the law sets for the answer and each status with its date.
/// No personal data: the number, statuses, dates, a category. A number not found is
/// repeated and kept in the box, with what to check and the 1308 call-center; a number
/// whose check symbol is wrong is told so (issue 28, point 4).
pub(super) async fn status(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<WebForm>,
) -> HttpResponse {
    let language = page_language(&req);
    if !state.status_limiter.allow_address(client_ip(&req)).await {
        return lookups_refused(language);
    }
    let number = match TrackingNumber::read_lenient(&path) {
        Ok(number) => number,
        Err(misread) => return lookup_refused(language, &path, misread),
    };
    let (public, unavailable) = match state.gateway.public_status(&number).await {
        Ok(found) => (found, false),
        // Registered perhaps, but not to be looked up now: never "unknown".
        Err(_) => (crate::status::PublicStatus::default(), true),
    };
    let shown = number.into_string();
    let mut ctx = base_context(language, |l| format!("/status/{shown}?lang={l}"));
    add_banner(&mut ctx, &state.gateway, language);
    ctx.insert("known".into(), public.known.into());
    ctx.insert("unavailable".into(), unavailable.into());
    ctx.insert("tracking".into(), shown.clone().into());
    let text = |id: &str| crate::i18n::MESSAGES.text(language, id, &[]);
    let state_text = match public.status {
        Some(status) => text(&format!("notify-status-{}", status.as_str())),
        None => text("status-received"),
    };
    ctx.insert("state".into(), state_text.into());
    if let Some(deadline) = public.deadline {
        ctx.insert("deadline".into(), crate::deadline::local(deadline).into());
    }
    // The working day it was registered on (APPK art. 64 p. 3: received on a day off,
    // registered on the next working day).
    let registered = public
        .appeal_id
        .as_deref()
        .and_then(|id| state.gateway.calendar().registration_of(id))
        .map(|r| r.registered_on)
        .or(public.received);
    if let Some(registered) = registered {
        ctx.insert(
            "registered".into(),
            crate::deadline::local(registered).into(),
        );
    }
    if let Some(category) = public
        .category
        .as_deref()
        .and_then(|code| state.gateway.category(code))
    {
        ctx.insert("category".into(), category.name(language).into());
    }
    ctx.insert("history".into(), history(language, &public).into());
    let code = if public.known {
        StatusCode::OK
    } else if unavailable {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        // Not found: the number again, in the text and in the box.
        ctx.insert(
            "unknown_text".into(),
            crate::i18n::MESSAGES
                .text(language, "status-unknown", &[("number", shown.clone())])
                .into(),
        );
        ctx.insert("lookup_value".into(), shown.clone().into());
        StatusCode::NOT_FOUND
    };
    let mut response = page(code, language, "status.html", Value::Object(ctx));
    if unavailable {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("120"));
    }
    response
}

/// The statuses of an appeal with their dates, oldest first: its registration (with
/// its time, from the appeal's id), then each status the case system gave.
fn history(language: Language, public: &crate::status::PublicStatus) -> Vec<Value> {
    let text = |id: &str| crate::i18n::MESSAGES.text(language, id, &[]);
    let registered = public
        .appeal_id
        .as_deref()
        .and_then(crate::deadline::Registration::received_at_of)
        .map(crate::deadline::local_time)
        .or_else(|| public.received.map(crate::deadline::local));
    let mut rows: Vec<Value> = registered
        .map(|at| json!({"at": at, "what": text("status-history-received")}))
        .into_iter()
        .collect();
    for (status, at) in &public.history {
        let at = time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339)
            .map(crate::deadline::local_time)
            .unwrap_or_default();
        rows.push(json!({
            "at": at,
            "what": text(&format!("notify-status-{}", status.as_str())),
        }));
    }
    rows
}

/// The lookup box again, the typed text kept, with what is wrong with it: the check
/// symbol (a typo) or the shape (no tracking number at all).
fn lookup_refused(language: Language, typed: &str, misread: Misread) -> HttpResponse {
    let mut ctx = base_context(language, |l| format!("/status?lang={l}"));
    ctx.insert("known".into(), false.into());
    let error = match misread {
        Misread::Check => "lookup-check",
        Misread::Shape => "lookup-invalid",
    };
    ctx.insert("lookup_error".into(), error.into());
    // The page's title says there is an error, as the forms' do.
    ctx.insert("error_list".into(), json!([{"field": "number"}]));
    ctx.insert(
        "lookup_value".into(),
        typed.chars().take(64).collect::<String>().into(),
    );
    page(
        StatusCode::UNPROCESSABLE_ENTITY,
        language,
        "status.html",
        Value::Object(ctx),
    )
}

/// 429: too many tracking-number lookups from this client; a page in its language.
pub(super) fn lookups_refused(language: Language) -> HttpResponse {
    let mut response = message(
        StatusCode::TOO_MANY_REQUESTS,
        language,
        "rate-title",
        "status-rate-text",
        &format!("/{}/", language.as_str()),
        "regulation-back",
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
    response
}

pub(super) fn not_found_page(language: Language) -> HttpResponse {
    crate::http::pages::error_page(StatusCode::NOT_FOUND, language)
}

/// `GET /status?number=…`: the lookup box's answer, without JavaScript. A number that
/// reads as one goes to its status page (`303`, the canonical address); anything else
/// shows the box again with the input and what is wrong with it.
pub(super) async fn status_lookup(req: HttpRequest, state: web::Data<WebForm>) -> HttpResponse {
    let language = page_language(&req);
    let raw = query_param(&req, "number").unwrap_or_default();
    if raw.trim().is_empty() {
        let mut ctx = base_context(language, |l| format!("/status?lang={l}"));
        add_banner(&mut ctx, &state.gateway, language);
        ctx.insert("known".into(), false.into());
        if query_param(&req, "number").is_some() {
            ctx.insert("lookup_error".into(), "lookup-empty".into());
            ctx.insert("error_list".into(), json!([{"field": "number"}]));
        }
        return page(StatusCode::OK, language, "status.html", Value::Object(ctx));
    }
    match TrackingNumber::read_lenient(&raw) {
        Ok(number) => HttpResponse::SeeOther()
            .insert_header((
                header::LOCATION,
                format!("/status/{}?lang={}", number.as_str(), language.as_str()),
            ))
            .finish(),
        Err(misread) => lookup_refused(language, &raw, misread),
    }
}
