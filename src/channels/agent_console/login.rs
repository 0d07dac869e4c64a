//! `GET`/`POST /agent/login` and `POST /agent/logout`: signing in with the login limit
//! and the per-id throttle, and out.

use super::accounts::{self as agents, Login};
use super::pages::{MAX_TEXT_BYTES, audit, console_language, page, see_other, session_cookie};
use super::signed_in::{SignedIn, authenticate};
use super::state::AgentConsole;
use crate::http::client_addr::client_ip;
use crate::http::form::{self};
use crate::http::negotiate::query_param;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;
use std::time::Duration;

pub(super) fn login_view(
    req: &HttpRequest,
    state: &AgentConsole,
    status: StatusCode,
    error: Option<&str>,
) -> HttpResponse {
    let language = console_language(req);
    let (sid, cookie) = state.csrf.session(req);
    let error = error.map(str::to_owned).or_else(|| {
        query_param(req, "expired")
            .is_some()
            .then(|| "agent-session-expired".to_owned())
    });
    let mut response = page(
        status,
        language,
        "login.html",
        json!({"csrf": state.csrf.token(&sid), "error": error}),
    );
    if let Some(cookie) = cookie {
        let _ = response.add_cookie(&cookie);
    }
    response
}

/// `GET /agent/login`.
pub(super) async fn login_page(req: HttpRequest, state: web::Data<AgentConsole>) -> HttpResponse {
    login_view(&req, &state, StatusCode::OK, None)
}

/// `POST /agent/login`: rate limit, CSRF, the (id, address) throttle, then the password
/// (Argon2id, off the event loop). An unknown id, a wrong password, a disabled or a
/// locked account get one answer; failures slow that id from that address with growing
/// delays (429 with `Retry-After`), and lock nothing (issue 17, point 5).
pub(super) async fn login_submit(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AgentConsole>,
) -> HttpResponse {
    let address = client_ip(&req);
    if !state.login_limiter.allow_address(address).await {
        let mut response = login_view(
            &req,
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            Some("agent-login-rate"),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return response;
    }
    let Ok(form::FormBody { fields, .. }) =
        form::read(&req, payload, MAX_TEXT_BYTES, MAX_TEXT_BYTES, &[]).await
    else {
        return login_view(
            &req,
            &state,
            StatusCode::BAD_REQUEST,
            Some("agent-login-failed"),
        );
    };
    let token_ok = match (state.csrf.session_of(&req), fields.get("csrf")) {
        (Some(sid), Some(token)) => state.csrf.verify(&sid, token),
        _ => false,
    };
    if !token_ok {
        return login_view(&req, &state, StatusCode::FORBIDDEN, Some("csrf-text"));
    }
    let id = fields
        .get("agent_id")
        .map(|s| s.trim().to_lowercase())
        .unwrap_or_default();
    let password = fields.get("password").cloned().unwrap_or_default();
    if !agents::valid_id(&id) || password.is_empty() {
        return login_view(
            &req,
            &state,
            StatusCode::UNAUTHORIZED,
            Some("agent-login-failed"),
        );
    }
    if let Err(wait) = state.login_throttle.check(&id, address).await {
        audit("login", &id, "throttled", None);
        return throttled(&req, &state, wait);
    }
    match state.accounts.login(&id, &password).await {
        Ok(Login::Ok(role)) => {
            state.login_throttle.succeeded(&id, address).await;
            let sid = state.sessions.open(&id, role).await;
            audit("login", &id, "ok", None);
            let mut response =
                see_other(&format!("/agent/?lang={}", console_language(&req).as_str()));
            let _ = response.add_cookie(&session_cookie(sid, state.cookie_secure, false));
            response
        }
        Ok(outcome @ (Login::Refused | Login::Locked)) => {
            let what = if outcome == Login::Locked {
                "locked"
            } else {
                "refused"
            };
            audit("login", &id, what, None);
            state.login_throttle.failed(&id, address).await;
            login_view(
                &req,
                &state,
                StatusCode::UNAUTHORIZED,
                Some("agent-login-failed"),
            )
        }
        // The accounts are in Redis: no login without it (an agent already logged in
        // stays so).
        Err(_) => {
            let mut response = login_view(
                &req,
                &state,
                StatusCode::SERVICE_UNAVAILABLE,
                Some("agent-login-unavailable"),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
            response
        }
    }
}

/// The answer while an id is throttled from this address: the same for every id.
pub(super) fn throttled(req: &HttpRequest, state: &AgentConsole, wait: Duration) -> HttpResponse {
    let mut response = login_view(
        req,
        state,
        StatusCode::TOO_MANY_REQUESTS,
        Some("agent-login-locked"),
    );
    let seconds = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// `POST /agent/logout`.
pub(super) async fn logout(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AgentConsole>,
) -> HttpResponse {
    let fields = form::read(&req, payload, MAX_TEXT_BYTES, MAX_TEXT_BYTES, &[])
        .await
        .map(|body| body.fields)
        .unwrap_or_default();
    if let Ok(SignedIn { sid, session }) = authenticate(&req, &state).await
        && fields
            .get("csrf")
            .is_some_and(|t| state.csrf.verify(&sid, t))
    {
        state.sessions.close(&session, "logout").await;
        audit("logout", &session.agent_id, "ok", None);
    }
    let mut response = see_other(&format!(
        "/agent/login?lang={}",
        console_language(&req).as_str()
    ));
    let _ = response.add_cookie(&session_cookie(String::new(), state.cookie_secure, true));
    response
}

// ---------------------------------------------------------------------------------------
// The console
// ---------------------------------------------------------------------------------------
