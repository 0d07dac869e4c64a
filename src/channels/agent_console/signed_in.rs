//! Who is signed in: the session cookie read back into an agent (or the reason there
//! is none), and the desk an agent works at.

use super::accounts::{AgentError, Role};
use super::adapter::Desk;
use super::pages::{COOKIE, audit, console_language, see_other};
use super::sessions::{Session, SessionState};
use super::state::AgentConsole;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

/// Why a console request has no agent: the way to the login page (with `expired=1`
/// after an idle session), or the account store is unavailable.
#[derive(Debug, thiserror::Error)]
pub(super) enum NotSignedIn {
    #[error("login required")]
    Login(String),
    #[error("account store unavailable")]
    Unavailable,
}

impl actix_web::ResponseError for NotSignedIn {
    fn status_code(&self) -> StatusCode {
        match self {
            NotSignedIn::Login(_) => StatusCode::SEE_OTHER,
            NotSignedIn::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            NotSignedIn::Login(location) => see_other(location),
            NotSignedIn::Unavailable => HttpResponse::ServiceUnavailable()
                .content_type("text/plain; charset=utf-8")
                .body("503"),
        }
    }
}

/// The agent logged in on a console request: the session id of the `oa_agent` cookie
/// and the session. As an extractor, a handler taking it is never reached without one.
pub(super) struct SignedIn {
    pub(super) sid: String,
    pub(super) session: Session,
}

impl actix_web::FromRequest for SignedIn {
    type Error = NotSignedIn;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<SignedIn, NotSignedIn>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AgentConsole>>()
                .ok_or(NotSignedIn::Unavailable)?;
            authenticate(&req, state).await
        })
    }
}

/// The logged-in agent of a request: the session must be active and the account
/// still enabled (a disabled account's sessions end here).
pub(super) async fn authenticate(
    req: &HttpRequest,
    state: &AgentConsole,
) -> Result<SignedIn, NotSignedIn> {
    signed_in(req, state, true).await
}

/// [`authenticate`] for what the console's script asks by itself (the live call): the
/// session's idle clock does not restart.
pub(super) async fn watching(
    req: &HttpRequest,
    state: &AgentConsole,
) -> Result<SignedIn, NotSignedIn> {
    signed_in(req, state, false).await
}

async fn signed_in(
    req: &HttpRequest,
    state: &AgentConsole,
    active: bool,
) -> Result<SignedIn, NotSignedIn> {
    let lang = console_language(req).as_str();
    let login = || NotSignedIn::Login(format!("/agent/login?lang={lang}"));
    let Some(cookie) = req.cookie(COOKIE).map(|c| c.value().to_owned()) else {
        return Err(login());
    };
    let read = if active {
        state.sessions.get(&cookie).await
    } else {
        state.sessions.peek(&cookie).await
    };
    let session = match read {
        SessionState::Active(s) => s,
        SessionState::Expired => {
            return Err(NotSignedIn::Login(format!(
                "/agent/login?lang={lang}&expired=1"
            )));
        }
        SessionState::None => return Err(login()),
    };
    match state.accounts.active(&session.agent_id).await {
        // Redis away and the account never read here: the signed cookie is trusted
        // (see the `accounts` module doc).
        Ok(Some(_)) | Err(AgentError::Unavailable) => Ok(SignedIn {
            sid: session.sid.clone(),
            session,
        }),
        Ok(None) => {
            state.sessions.close(&session, "disabled").await;
            audit("session_ended_disabled", &session.agent_id, "refused", None);
            Err(login())
        }
        Err(_) => Err(NotSignedIn::Unavailable),
    }
}

/// The desk an agent works at: by role; a supervisor picks with `desk=front`.
pub(super) fn desk_of(role: Role, asked: Option<&str>) -> Desk {
    match role {
        Role::CallCenterAgent => Desk::CallCenter,
        Role::FrontOfficeOperator => Desk::FrontOffice,
        Role::Supervisor => match asked {
            Some("front") => Desk::FrontOffice,
            _ => Desk::CallCenter,
        },
    }
}

// ---------------------------------------------------------------------------------------
// Login
// ---------------------------------------------------------------------------------------
