//! `/status/{tracking}/confirm`: where a citizen proves that the email address or phone
//! number they typed is theirs (issue 30), by the code the gateway sent there — typed
//! into the page (SMS) or carried by the email's link (`?code=`). Once confirmed, the
//! answers held for that contact go out (`notify::unconfirmed`), and the page shows
//! their text once, to whoever typed the right code (issue 30: "the status page shows it
//! to whoever has the number and the confirmation"); before that it shows no personal
//! data and no content: the number, the box, the outcome. Never cached (`no-store`).
//!
//! **Only a press of the button confirms** (`POST`). `GET` — the email's link — shows the
//! code in the box and the button: mail gateways that open every link of a mail to scan
//! it (Microsoft's Safe Links and the like) would otherwise confirm a mistyped address
//! for the stranger who owns it, and send them the answers. The code stays out of the
//! address bar's history and the proxies' logs, too. Wrong codes are counted per appeal
//! (five an hour), tries per client like the status page's lookups.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::Value;

use super::pages::{base_context, page_language};
use super::state::WebForm;
use super::status::{lookups_refused, not_found_page};
use crate::http::client_addr::client_ip;
use crate::http::negotiate::query_param;
use crate::http::pages::page;
use crate::i18n::MESSAGES;
use crate::notify::unconfirmed::{self, Confirmation};
use crate::tracking::TrackingNumber;

/// `GET /status/{tracking}/confirm[?code=…]`: the box, with the link's code in it.
pub(super) async fn confirm_contact(req: HttpRequest, path: web::Path<String>) -> HttpResponse {
    let language = page_language(&req);
    let Some(number) = TrackingNumber::parse_lenient(&path) else {
        return not_found_page(language);
    };
    let code = query_param(&req, "code").filter(|c| !c.trim().is_empty());
    let view = View {
        code: code.map(|c| c.chars().filter(char::is_ascii_digit).take(12).collect()),
        ..View::default()
    };
    render(language, number.into_string(), StatusCode::OK, view)
}

/// `POST /status/{tracking}/confirm` (`code`): checks the code.
pub(super) async fn confirm_contact_submit(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<WebForm>,
) -> HttpResponse {
    let language = page_language(&req);
    let Some(number) = TrackingNumber::parse_lenient(&path) else {
        return not_found_page(language);
    };
    let tracking = number.into_string();
    let code = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
        .unwrap_or_default()
        .into_iter()
        .find_map(|(name, value)| (name == "code").then_some(value))
        .unwrap_or_default();
    if !state.status_limiter.allow_address(client_ip(&req)).await {
        return lookups_refused(language);
    }
    let replies = state
        .redis
        .keys()
        .key(crate::stream::Stream::Replies.name());
    let confirmed = match state.redis.conn().await {
        Ok(mut conn) => {
            unconfirmed::confirm(&mut conn, state.redis.keys(), &tracking, &code, &replies)
                .await
                .ok()
        }
        Err(_) => None,
    };
    let mut view = View::default();
    let (id, status) = match confirmed {
        Some((Confirmation::Confirmed, released)) => {
            view.done = true;
            view.answers = released;
            // Confirmed from the acknowledgement, before any answer was held.
            let id = if view.answers.is_empty() {
                "confirm-contact-done-early"
            } else {
                "confirm-contact-done"
            };
            (id, StatusCode::OK)
        }
        Some((Confirmation::Wrong, _)) => {
            ("confirm-contact-wrong", StatusCode::UNPROCESSABLE_ENTITY)
        }
        Some((Confirmation::TooManyTries, _)) => {
            ("confirm-contact-too-many", StatusCode::TOO_MANY_REQUESTS)
        }
        Some((Confirmation::Unknown, _)) => ("confirm-contact-unknown", StatusCode::NOT_FOUND),
        None => ("status-unavailable", StatusCode::SERVICE_UNAVAILABLE),
    };
    view.outcome = Some(MESSAGES.text(language, id, &[("tracking", tracking.clone())]));
    render(language, tracking, status, view)
}

/// What the page shows besides the number.
#[derive(Default)]
struct View {
    /// The code already in the box (the email's link).
    code: Option<String>,
    /// What became of the code pressed.
    outcome: Option<String>,
    /// Confirmed: no box any more.
    done: bool,
    /// The held answers released now.
    answers: Vec<String>,
}

fn render(
    language: crate::appeal::Language,
    tracking: String,
    status: StatusCode,
    view: View,
) -> HttpResponse {
    let View {
        code,
        outcome,
        done,
        answers,
    } = view;
    let shown = tracking.clone();
    let mut ctx = base_context(language, |l| format!("/status/{shown}/confirm?lang={l}"));
    ctx.insert("tracking".into(), tracking.clone().into());
    ctx.insert("done".into(), done.into());
    ctx.insert("answers".into(), answers.into());
    ctx.insert(
        "intro".into(),
        MESSAGES
            .text(language, "confirm-contact-intro", &[("tracking", tracking)])
            .into(),
    );
    if let Some(outcome) = outcome {
        ctx.insert("outcome".into(), outcome.into());
    }
    if let Some(code) = code {
        ctx.insert("code".into(), code.into());
    }
    let mut response = page(status, language, "confirm_contact.html", Value::Object(ctx));
    // The answers shown after the right code are the citizen's alone: kept by no cache.
    response.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    response
}
