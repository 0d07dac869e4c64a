//! The call desk's live call (issue 28, point 1): `GET /agent/call` hands the console's
//! script the next call the telephony system announced for this agent (the same
//! [`super::calls::Calls::take`] the console's load uses), and `GET
//! /agent/assets/console.js` is that script. The console asks every second while its
//! phone field is empty, so an announced call shows within two seconds without a
//! reload; without scripts its "Check for a call" link loads the console, which takes
//! the call the same way.

use super::adapter::Desk;
use super::pages::audit;
use super::signed_in::{SignedIn, desk_of, watching};
use super::state::AgentConsole;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

/// `GET /agent/call`: `200 {"caller": "+7…"}` with the call now taken by this agent, or
/// `204` when none waits (or the agent is not at the call desk). Never cached: the
/// caller's number is personal data.
pub(super) async fn next_call(req: HttpRequest, state: web::Data<AgentConsole>) -> HttpResponse {
    // Asked every second by the script: it does not keep an idle session alive.
    let Ok(SignedIn { session, .. }) = watching(&req, &state).await else {
        return HttpResponse::Unauthorized()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish();
    };
    if desk_of(session.role, Some("call")) != Desk::CallCenter {
        return HttpResponse::NoContent().finish();
    }
    match state.calls.take(&session.agent_id).await {
        Some(caller) => {
            audit("call_taken", &session.agent_id, "ok", None);
            HttpResponse::Ok()
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .json(json!({ "caller": caller }))
        }
        None => HttpResponse::NoContent()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
    }
}

/// `GET /agent/assets/console.js`: the consoles' one script, a progressive enhancement.
pub(super) async fn console_js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(include_str!("../../../templates/agent/assets/console.js"))
}
