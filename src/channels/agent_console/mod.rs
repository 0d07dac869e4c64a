//! The agent consoles (`/agent/`) of the 1308 call-center and the front office, their
//! login, the printable consent form and receipt, and two JSON endpoints: the telephony
//! system's `POST /api/v1/calls/incoming` (integrator token) and
//! `POST /api/v1/agent/appeals` (an agent's own API token).
//!
//! Server-rendered; everything works without a script: the next field is focused with
//! `autofocus`, every action is a form control reachable by Tab and Enter, the main ones
//! have access keys. An announced call is picked up on the agent's next load of
//! `/agent/` (its "Check for a call" link), and, with the console's one script, within
//! two seconds without a reload ([`live`]).
//!
//! Everything an instance needs of the agents is in Redis, shared by every instance:
//! accounts and API tokens ([`accounts`], imported once from an old `agents.redb` by
//! [`legacy`]), sessions ([`sessions`]), announced calls ([`calls`]), the duplicates
//! hint ([`recent`]), the login limit and the failed-login throttle ([`throttle`]).
//!
//! Sessions: a signed `oa_agent` cookie (HttpOnly, SameSite=Strict, Secure unless
//! `GATEWAY_COOKIE_SECURE=false`) whose state lives in Redis for every instance (see
//! [`sessions`]), ended after `GATEWAY_AGENT_SESSION_IDLE_SECS` of inactivity, at
//! logout on any instance, and at once when the account is disabled. Forms carry a CSRF token bound to the session (see [`crate::http::csrf`]).
//! Agent actions go to the `audit` log target with the agent's id and never a citizen's
//! data.

pub mod accounts;
pub(crate) mod adapter;
pub(crate) mod calls;
pub(crate) mod json_api;
pub(crate) mod legacy;
pub(crate) mod recent;
pub(crate) mod sessions;
pub(crate) mod settings;
mod state;
pub(crate) mod throttle;

use actix_web::web;

use self::state::AgentConsole;

mod console;
mod consultation_token;
mod consultations;
mod duplicates;
mod endpoints;
mod live;
mod login;
mod pages;
mod receipt;
mod signed_in;
use self::console::{console_page, console_submit};
use self::consultations::consultation_submit;
use self::endpoints::{api_appeal, call_incoming};
use self::live::{console_js, next_call};
use self::login::{login_page, login_submit, logout};
use self::pages::see_other;
use self::receipt::{consent_form, receipt};

/// Registers the consoles' routes.
pub(crate) fn configure(cfg: &mut web::ServiceConfig, console: web::Data<AgentConsole>) {
    cfg.app_data(console)
        .route("/agent/login", web::get().to(login_page))
        .route("/agent/login", web::post().to(login_submit))
        .route("/agent/logout", web::post().to(logout))
        .route("/agent/", web::get().to(console_page))
        .route("/agent/", web::post().to(console_submit))
        .route("/agent", web::get().to(|| async { see_other("/agent/") }))
        .route("/agent/call", web::get().to(next_call))
        .route("/agent/assets/console.js", web::get().to(console_js))
        .route("/agent/receipt/{tracking}", web::get().to(receipt))
        .route("/agent/consultation", web::post().to(consultation_submit))
        .route("/agent/consent-form", web::get().to(consent_form))
        .route("/api/v1/calls/incoming", web::post().to(call_incoming))
        .route("/api/v1/agent/appeals", web::post().to(api_appeal));
}

#[cfg(test)]
mod tests;
