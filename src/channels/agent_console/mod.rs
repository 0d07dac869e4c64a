//! The agent consoles (`/agent/`) of the 1308 call-center and the front office, their
//! login, the printable consent form and receipt, and two JSON endpoints: the telephony
//! system's `POST /api/v1/calls/incoming` (integrator token) and
//! `POST /api/v1/agent/appeals` (an agent's own API token).
//!
//! Server-rendered, no script: the next field is focused with `autofocus`, every action
//! is a form control reachable by Tab and Enter, the main ones have access keys. An
//! announced call is picked up on the agent's next load of `/agent/`.
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
pub(crate) mod throttle;

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use minijinja::Environment;
use serde_json::{Value, json};

use self::accounts::{self as agents, AgentError, AgentStore, Login, Role};
use self::adapter::{self as agent_console, APPLICANT_ORDER, DOCUMENT_REFUSED, Desk};
use self::calls::Calls;
use self::json_api::{AgentAnswer, AgentAppealSubmission, CallAnnouncement, CallQueued, CallState};
use self::recent::Recent;
use self::sessions::{Session, SessionState, Sessions};
use crate::appeal::{Channel, Language};
use crate::attachments::{AttachmentStore, CleanPhoto, MAX_PHOTO_BYTES};
use crate::consent::POLICY_VERSION;
use crate::consultation::Consultation;
use crate::field_error::FieldError;
use crate::http::auth::{Tokens, bearer_token};
use crate::http::client_addr::client_ip;
use crate::http::csrf::CsrfKey;
use crate::http::error::Problem;
use crate::http::extract::{IdempotencyKey, json_body};
use crate::http::form::{self, FormError};
use crate::http::lenient;
use crate::http::ratelimit::{Limit, SharedCounters};
use crate::i18n::MESSAGES;
use crate::pipeline::IdempotencyClaim;
use crate::pipeline::{Answer, AnswerStatus, Gateway, SubmitError};
use crate::redis_handle::{Redis, STATUS_WAIT};

/// The agent session cookie.
const COOKIE: &str = "oa_agent";
/// Largest text part of a console form.
const MAX_TEXT_BYTES: usize = 128 * 1024;
/// Login attempts per client address and minute (failures of one id also slow that id
/// from that address: [`throttle`]).
const LOGIN_RATE_PER_MINUTE: u32 = 10;

/// The consoles' state: the pipeline, the accounts, the sessions, the announced calls,
/// the login limiter, the forms' CSRF key and the photo store.
pub(crate) struct AgentConsole {
    pub(crate) gateway: Arc<Gateway>,
    pub(crate) accounts: AgentStore,
    pub(crate) sessions: Sessions,
    pub(crate) calls: Calls,
    /// The duplicates hint's index.
    pub(crate) recent: Recent,
    /// Login attempts per client address, counted across instances.
    pub(crate) login_limiter: Limit,
    /// Failed logins slow the next try of that id from that address.
    pub(crate) login_throttle: throttle::SharedThrottle,
    pub(crate) cookie_secure: bool,
    pub(crate) csrf: CsrfKey,
    pub(crate) store: AttachmentStore,
    /// The telephony system's tokens (`GATEWAY_API_TOKENS`) for `/api/v1/calls/incoming`.
    pub(crate) tokens: Arc<Tokens>,
    /// The largest JSON body (`GATEWAY_MAX_BODY_BYTES`).
    pub(crate) max_body: usize,
}

/// The consoles' settings.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct Settings {
    /// Whether the session cookie carries `Secure` (`GATEWAY_COOKIE_SECURE`, default
    /// true; false only for plain-HTTP development).
    #[serde(
        default = "default_cookie_secure",
        deserialize_with = "crate::config::flag"
    )]
    pub(crate) cookie_secure: bool,
    /// Idle seconds before an agent's session ends (`GATEWAY_AGENT_SESSION_IDLE_SECS`).
    #[serde(
        default = "default_session_idle",
        deserialize_with = "crate::config::number"
    )]
    pub(crate) agent_session_idle_secs: u64,
}

fn default_cookie_secure() -> bool {
    true
}

fn default_session_idle() -> u64 {
    15 * 60
}

impl AgentConsole {
    /// `redis` holds what every instance shares.
    pub(crate) fn new(
        gateway: Arc<Gateway>,
        settings: &Settings,
        data_dir: &std::path::Path,
        tokens: Arc<Tokens>,
        max_body: usize,
        redis: &Redis,
    ) -> AgentConsole {
        // The login limit and throttle, counted in Redis by every instance.
        let shared = SharedCounters::new(redis, gateway.deployment_secret());
        AgentConsole {
            csrf: CsrfKey::derive(gateway.deployment_secret(), settings.cookie_secure),
            accounts: AgentStore::new(redis, STATUS_WAIT),
            recent: Recent::new(redis),
            sessions: Sessions::new(
                gateway.deployment_secret(),
                Duration::from_secs(settings.agent_session_idle_secs),
                redis,
            ),
            calls: Calls::new(redis),
            login_limiter: Limit::per_minute(
                "login-address",
                LOGIN_RATE_PER_MINUTE,
                Some(Arc::clone(&shared)),
            ),
            login_throttle: throttle::SharedThrottle::new(Some(shared)),
            cookie_secure: settings.cookie_secure,
            store: AttachmentStore::new(data_dir),
            gateway,
            tokens,
            max_body,
        }
    }

    /// The photos the front office takes (`attachments.max_count` of its policy).
    fn max_photos(&self) -> usize {
        self.gateway.policy(Channel::FrontOffice).max_attachments
    }
}

/// Registers the consoles' routes.
pub(crate) fn configure(cfg: &mut web::ServiceConfig, console: web::Data<AgentConsole>) {
    cfg.app_data(console)
        .route("/agent/login", web::get().to(login_page))
        .route("/agent/login", web::post().to(login_submit))
        .route("/agent/logout", web::post().to(logout))
        .route("/agent/", web::get().to(console_page))
        .route("/agent/", web::post().to(console_submit))
        .route("/agent", web::get().to(|| async { see_other("/agent/") }))
        .route("/agent/receipt/{tracking}", web::get().to(receipt))
        .route("/agent/consultation", web::post().to(consultation_submit))
        .route("/agent/consent-form", web::get().to(consent_form))
        .route("/api/v1/calls/incoming", web::post().to(call_incoming))
        .route("/api/v1/agent/appeals", web::post().to(api_appeal));
}

const TEMPLATES: [(&str, &str); 5] = [
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

static PAGES: LazyLock<Environment<'static>> =
    LazyLock::new(|| crate::http::pages::environment(&TEMPLATES));

/// Renders a console page: never cached, not framable, no script.
fn page(status: StatusCode, language: Language, template: &str, mut ctx: Value) -> HttpResponse {
    if let Value::Object(map) = &mut ctx {
        map.insert("lang".into(), language.as_str().into());
    }
    let rendered = PAGES.get_template(template).and_then(|t| t.render(ctx));
    crate::http::pages::respond(status, language, template, rendered, CONSOLE_CSP)
}

/// What the consoles may load: inline styles, nothing else.
const CONSOLE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

/// The console's language: `?lang=`, else the `oa_lang` cookie, else Kazakh.
fn console_language(req: &HttpRequest) -> Language {
    web::Query::<BTreeMap<String, String>>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.get("lang").and_then(|l| Language::parse(l)))
        .or_else(|| {
            req.cookie("oa_lang")
                .and_then(|c| Language::parse(c.value()))
        })
        .unwrap_or(Language::Kk)
}

fn query(req: &HttpRequest, name: &str) -> Option<String> {
    web::Query::<BTreeMap<String, String>>::from_query(req.query_string())
        .ok()
        .and_then(|q| q.get(name).cloned())
}

fn session_cookie(value: String, secure: bool, remove: bool) -> Cookie<'static> {
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
fn audit(action: &str, agent_id: &str, outcome: &str, tracking: Option<&str>) {
    tracing::info!(
        target: "audit",
        action,
        agent_id,
        outcome,
        tracking_number = tracking.unwrap_or(""),
        "agent action"
    );
}

/// Why a console request has no agent: the way to the login page (with `expired=1`
/// after an idle session), or the account store is unavailable.
#[derive(Debug, thiserror::Error)]
enum NotSignedIn {
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
struct SignedIn {
    sid: String,
    session: Session,
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
async fn authenticate(req: &HttpRequest, state: &AgentConsole) -> Result<SignedIn, NotSignedIn> {
    let lang = console_language(req).as_str();
    let login = || NotSignedIn::Login(format!("/agent/login?lang={lang}"));
    let Some(cookie) = req.cookie(COOKIE).map(|c| c.value().to_owned()) else {
        return Err(login());
    };
    let session = match state.sessions.get(&cookie).await {
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
fn desk_of(role: Role, asked: Option<&str>) -> Desk {
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

fn login_view(
    req: &HttpRequest,
    state: &AgentConsole,
    status: StatusCode,
    error: Option<&str>,
) -> HttpResponse {
    let language = console_language(req);
    let (sid, cookie) = state.csrf.session(req);
    let error = error.map(str::to_owned).or_else(|| {
        query(req, "expired")
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
async fn login_page(req: HttpRequest, state: web::Data<AgentConsole>) -> HttpResponse {
    login_view(&req, &state, StatusCode::OK, None)
}

/// `POST /agent/login`: rate limit, CSRF, the (id, address) throttle, then the password
/// (Argon2id, off the event loop). An unknown id, a wrong password, a disabled or a
/// locked account get one answer; failures slow that id from that address with growing
/// delays (429 with `Retry-After`), and lock nothing (issue 17, point 5).
async fn login_submit(
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
fn throttled(req: &HttpRequest, state: &AgentConsole, wait: Duration) -> HttpResponse {
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
async fn logout(
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

/// A console page, blank, prefilled, or with the agent's input and the errors.
struct ConsoleView<'a> {
    language: Language,
    sid: &'a str,
    session: &'a Session,
    desk: Desk,
    values: &'a BTreeMap<String, String>,
    errors: &'a [FieldError],
    duplicates: &'a [String],
    call_taken: bool,
    /// The consultation just recorded, as the notice says it.
    consulted: Option<String>,
}

fn render_console(state: &AgentConsole, view: ConsoleView<'_>, status: StatusCode) -> HttpResponse {
    let language = view.language;
    let policy = state.gateway.policy(view.desk.channel());
    let fields: Vec<&str> = APPLICANT_ORDER
        .iter()
        .filter(|f| policy.fields.contains(**f))
        .map(|f| if *f == "phones" { "phone" } else { f })
        .collect();
    let categories: Vec<Value> = state
        .gateway
        .catalogue()
        .categories
        .iter()
        .map(|c| json!({"code": c.code, "name": c.name(language)}))
        .collect();
    let mut by_field: BTreeMap<String, String> = BTreeMap::new();
    // The fields at fault and the ids of the messages that describe them
    // (`aria-describedby`, `aria-invalid`), in the order the console shows them.
    let mut invalid: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let blank = |name: &str| view.values.get(name).is_none_or(|v| v.trim().is_empty());
    for e in view.errors {
        if e.field.starts_with("reply_to") {
            continue;
        }
        let field = agent_console::form_field(&e.field).to_owned();
        // The console has no "this is a danger" box: its anonymous message says what
        // the agent can do (issue 18, point 2).
        let code = if e.code == "anonymous" {
            "agent_anonymous"
        } else {
            e.code
        };
        let message = MESSAGES.text(language, &format!("error-{code}"), &[]);
        let targets: Vec<&str> = match field.as_str() {
            "applicant" => {
                let mut t = Vec::new();
                if blank("last_name") && blank("first_name") {
                    t.extend(["last_name", "first_name"]);
                }
                if blank("phone") && blank("email") {
                    t.extend(["phone", "email"]);
                }
                t.retain(|f| fields.contains(f));
                t
            }
            "form" => Vec::new(),
            other => vec![other],
        };
        for target in targets {
            let ids = invalid.entry(target.to_owned()).or_default();
            let id = format!("e-{field}");
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
        let entry = by_field.entry(field).or_default();
        if !entry.contains(&message) {
            if !entry.is_empty() {
                entry.push(' ');
            }
            entry.push_str(&message);
        }
    }
    // The next field to type in: the first at fault in the order shown (never the body:
    // an error on the whole form focuses its message); else the consent box, which the
    // script comes before; once ticked, the first empty field.
    let shown_order: Vec<&str> = ["consent"]
        .into_iter()
        .chain(fields.iter().copied())
        .chain(["category", "address", "text", "photos", "topic"])
        .collect();
    let first_at_fault = shown_order
        .iter()
        .find(|f| invalid.contains_key(**f))
        .map(|f| (*f).to_owned())
        .or_else(|| by_field.contains_key("form").then(|| "e-form".to_owned()))
        .or_else(|| {
            by_field
                .contains_key("applicant")
                .then(|| "e-applicant".to_owned())
        })
        .or_else(|| by_field.keys().next().cloned());
    let focus = first_at_fault.unwrap_or_else(|| {
        if !view.values.contains_key("consent") {
            "consent".to_owned()
        } else {
            fields
                .iter()
                .chain(["category", "address", "text"].iter())
                .find(|f| view.values.get(**f).is_none_or(|v| v.trim().is_empty()))
                .map_or("text", |f| f)
                .to_owned()
        }
    });
    let shown: BTreeMap<&String, &String> = view
        .values
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "csrf" | "idem" | "dup_ack"))
        .collect();
    let topics: Vec<Value> = state
        .gateway
        .catalogue()
        .topics
        .iter()
        .map(|t| json!({"code": t.code, "name": t.name(language)}))
        .collect();
    let idem = form_idem(view.values)
        .cloned()
        .unwrap_or_else(|| ulid::Ulid::new().to_string());
    page(
        status,
        language,
        "console.html",
        json!({
            "csrf": state.csrf.token(view.sid),
            "idem": idem,
            "agent_id": view.session.agent_id,
            "role": view.session.role.as_str(),
            "supervisor": view.session.role == Role::Supervisor,
            "desk": view.desk.as_str(),
            "front": view.desk == Desk::FrontOffice,
            "fields": fields,
            "categories": categories,
            "values": shown,
            "has_errors": !by_field.is_empty(),
            "errors": by_field,
            "invalid": invalid,
            "focus": focus,
            "duplicates": view.duplicates,
            "call_taken": view.call_taken,
            "topics": topics,
            "consulted": view.consulted,
            "policy_version": POLICY_VERSION.as_str(),
        }),
    )
}

/// `GET /agent/`: a blank console; at the call desk, with the next announced call's
/// number filled in.
async fn console_page(
    req: HttpRequest,
    state: web::Data<AgentConsole>,
    SignedIn { sid, session }: SignedIn,
) -> HttpResponse {
    let language = console_language(&req);
    let desk = desk_of(session.role, query(&req, "desk").as_deref());
    let mut values = BTreeMap::new();
    let mut call_taken = false;
    if desk == Desk::CallCenter
        && let Some(caller) = state.calls.take(&session.agent_id).await
    {
        values.insert("phone".to_owned(), caller);
        call_taken = true;
        audit("call_taken", &session.agent_id, "ok", None);
    }
    let mut response = render_console(
        &state,
        ConsoleView {
            language,
            sid: &sid,
            session: &session,
            desk,
            values: &values,
            errors: &[],
            duplicates: &[],
            call_taken,
            consulted: None,
        },
        StatusCode::OK,
    );
    let _ = response.add_cookie(
        &Cookie::build("oa_lang", language.as_str())
            .path("/")
            .same_site(SameSite::Lax)
            .finish(),
    );
    response
}

/// A console form as read: fields, cleaned photos, the photo problems, and whether a
/// document scan was refused.
async fn read_console_form(
    req: &HttpRequest,
    payload: web::Payload,
    max_photos: usize,
) -> Result<
    (
        BTreeMap<String, String>,
        Vec<CleanPhoto>,
        Vec<FieldError>,
        bool,
    ),
    FormError,
> {
    let max_form = max_photos * MAX_PHOTO_BYTES + MAX_TEXT_BYTES + 64 * 1024;
    let body = form::read(req, payload, max_form, MAX_TEXT_BYTES, &[]).await?;
    let mut photos = Vec::new();
    let mut errors = Vec::new();
    let mut document = false;
    for part in body.files {
        // Law 94-V: no copies of identity documents. Nothing of it is kept.
        if agent_console::declared_document(&part.field, &part.file_name) {
            document = true;
            errors.push(FieldError::new("photos", DOCUMENT_REFUSED));
            continue;
        }
        match part.photo(photos.len(), max_photos).await {
            Ok(photo) => photos.push(photo),
            Err(code) => errors.push(FieldError::new("photos", code)),
        }
    }
    Ok((body.fields, photos, errors, document))
}

/// The idempotency key a console form carries (`idem`), when it has the shape the
/// console gives it.
fn form_idem(fields: &BTreeMap<String, String>) -> Option<&String> {
    fields
        .get("idem")
        .filter(|k| k.len() <= 64 && k.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// The answer to a console form whose CSRF token is not the session's (audited as
/// `action`), or `None` when it is.
fn csrf_refused(
    state: &AgentConsole,
    sid: &str,
    fields: &BTreeMap<String, String>,
    action: &str,
    session: &Session,
    language: Language,
) -> Option<HttpResponse> {
    if fields
        .get("csrf")
        .is_some_and(|t| state.csrf.verify(sid, t))
    {
        return None;
    }
    audit(action, &session.agent_id, "csrf", None);
    Some(
        HttpResponse::Forbidden()
            .content_type("text/plain; charset=utf-8")
            .body(MESSAGES.text(language, "csrf-text", &[])),
    )
}

/// `POST /agent/`: CSRF → the adapter and the pipeline's checks (all errors at once,
/// input kept) → the duplicates hint (once) → `submit_appeal` → 303 to the receipt.
async fn console_submit(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AgentConsole>,
    SignedIn { sid, session }: SignedIn,
) -> HttpResponse {
    let language = console_language(&req);
    let read = read_console_form(&req, payload, state.max_photos()).await;
    let (fields, photos, mut errors, document) = match read {
        Ok(read) => read,
        Err(e) => {
            let status = match e {
                FormError::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                FormError::Malformed | FormError::Refused(_) => StatusCode::BAD_REQUEST,
                FormError::TooSlow => StatusCode::REQUEST_TIMEOUT,
                FormError::Busy | FormError::Spool => StatusCode::SERVICE_UNAVAILABLE,
            };
            return HttpResponse::build(status)
                .content_type("text/plain; charset=utf-8")
                .body(status.as_str().to_owned());
        }
    };
    if let Some(refused) = csrf_refused(&state, &sid, &fields, "appeal_submit", &session, language)
    {
        return refused;
    }
    let desk = desk_of(session.role, fields.get("desk").map(String::as_str));
    if document {
        state.gateway.refused(desk.channel(), DOCUMENT_REFUSED);
        audit("document_scan", &session.agent_id, "refused", None);
    }
    if desk == Desk::CallCenter && !photos.is_empty() {
        errors.push(FieldError::new("photos", "too_many_photos"));
    }
    let (intake, adapter_errors) =
        agent_console::intake(desk, &fields, &photos, &session.agent_id, language);
    errors.extend(adapter_errors);
    let category = intake
        .category
        .clone()
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| crate::catalogue::DEFAULT_CATEGORY.to_owned());
    let again = |errors: &[FieldError], duplicates: &[String], status: StatusCode| {
        render_console(
            &state,
            ConsoleView {
                language,
                sid: &sid,
                session: &session,
                desk,
                values: &fields,
                errors,
                duplicates,
                call_taken: false,
                consulted: None,
            },
            status,
        )
    };
    if !errors.is_empty() {
        if let Err(more) = state.gateway.validate(intake) {
            errors.extend(more);
        }
        state
            .gateway
            .refused(desk.channel(), errors.first().map_or("invalid", |e| e.code));
        return again(&errors, &[], StatusCode::UNPROCESSABLE_ENTITY);
    }
    let dup_key = fields
        .get("address")
        .and_then(|a| agent_console_key(a, intake.category.as_deref().unwrap_or_default()));
    if let Some(key) = dup_key.clone()
        && !fields.contains_key("dup_ack")
    {
        let found = state.recent.recent(&key).await;
        if !found.is_empty() {
            audit("duplicate_hint", &session.agent_id, "shown", None);
            return again(&[], &found, StatusCode::OK);
        }
    }
    for photo in &photos {
        if let Err(e) = state.store.put(photo).await {
            tracing::error!(error = %e, "photo not stored");
            return again(
                &[FieldError::new("form", "unavailable")],
                &[],
                StatusCode::SERVICE_UNAVAILABLE,
            );
        }
    }
    let claim = form_idem(&fields).map(|key| IdempotencyClaim {
        key: format!("agent:{}:{key}", session.agent_id),
        fingerprint: form::fingerprint(
            &fields,
            &photos,
            &["csrf", "idem", "dup_ack", "consultation", "topic"],
        ),
    });
    // Point 3 of issue 17: photos leave the pending area only with an accepted appeal.
    let kept = match state
        .store
        .keep(photos.iter().map(|p| p.sha256.as_str()))
        .await
    {
        Ok(kept) => kept,
        Err(e) => {
            tracing::error!(error = %e, "photo not kept");
            return again(
                &[FieldError::new("form", "unavailable")],
                &[],
                StatusCode::SERVICE_UNAVAILABLE,
            );
        }
    };
    let submitted = state.gateway.submit_appeal(intake, claim).await;
    if matches!(
        submitted,
        Err(SubmitError::Invalid(_) | SubmitError::KeyReused)
    ) {
        state.store.release(kept).await;
    }
    match submitted {
        Ok(receipt) => match receipt.tracking_number {
            Some(tracking) => {
                if let Some(key) = dup_key
                    && !receipt.replayed
                {
                    state.recent.remember(&key, &tracking).await;
                }
                if let Some(consultation) = fields
                    .get("consultation")
                    .and_then(|t| recorded_consultation(&state, t, &session.agent_id))
                {
                    turned_into_appeal(&state, &consultation, &session.agent_id).await;
                }
                audit(
                    "appeal_submit",
                    &session.agent_id,
                    "accepted",
                    Some(&tracking),
                );
                let facts = ReceiptFacts {
                    tracking,
                    appeal_id: receipt.id,
                    category,
                    desk,
                };
                see_other(&facts.url(&state.csrf, &session.agent_id, language))
            }
            None => again(
                &[FieldError::new("form", "unavailable")],
                &[],
                StatusCode::SERVICE_UNAVAILABLE,
            ),
        },
        Err(SubmitError::Invalid(errors)) => again(&errors, &[], StatusCode::UNPROCESSABLE_ENTITY),
        Err(SubmitError::KeyReused) => again(
            &[FieldError::new("form", "already_sent")],
            &[],
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        Err(SubmitError::Unavailable | SubmitError::InProgress) => again(
            &[FieldError::new("form", "unavailable")],
            &[],
            StatusCode::SERVICE_UNAVAILABLE,
        ),
    }
}

fn agent_console_key(address: &str, category: &str) -> Option<String> {
    let category = if category.is_empty() {
        crate::catalogue::DEFAULT_CATEGORY
    } else {
        category
    };
    recent::duplicate_key(address, category)
}

/// The signed text of a recorded consultation's token (see [`consultation_token`]).
fn consultation_signed_text(c: &Consultation, agent_id: &str) -> String {
    format!(
        "consultation|{}|{}|{}|{}|{agent_id}",
        c.id,
        c.category,
        c.topic,
        c.language.as_str()
    )
}

/// What the console form carries of the consultation just recorded, so that the appeal
/// the caller may want next takes its place in one step: its id, category, topic and
/// language, signed with the agent's id (codes of the catalogue hold no `.`).
fn consultation_token(key: &CsrfKey, c: &Consultation, agent_id: &str) -> String {
    format!(
        "{}.{}.{}.{}.{}",
        c.id,
        c.category,
        c.topic,
        c.language.as_str(),
        key.token(&consultation_signed_text(c, agent_id))
    )
}

/// The consultation a console form's token names, if this agent recorded it.
fn recorded_consultation(
    state: &AgentConsole,
    token: &str,
    agent_id: &str,
) -> Option<Consultation> {
    let mut parts = token.split('.');
    let (id, category, topic, language, sig) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        Language::parse(parts.next()?)?,
        parts.next()?,
    );
    let consultation = Consultation::with_id(
        state.gateway.catalogue(),
        id.to_owned(),
        Some(category),
        Some(topic),
        language,
    )
    .ok()?;
    state
        .csrf
        .verify(&consultation_signed_text(&consultation, agent_id), sig)
        .then_some(consultation)
}

/// The caller wanted an appeal after the consultation: the appeal is registered, the
/// consultation counted down (once, whatever the retries). Should the outbox refuse,
/// the appeal stands and the call is counted twice, which the log says.
async fn turned_into_appeal(state: &AgentConsole, consultation: &Consultation, agent_id: &str) {
    let claim = IdempotencyClaim {
        key: format!(
            "agent:{agent_id}:consultation-taken-back:{}",
            consultation.id
        ),
        fingerprint: consultation.id.clone(),
    };
    match state
        .gateway
        .take_back_consultation(consultation, claim)
        .await
    {
        Ok(_) => audit("consultation_to_appeal", agent_id, "ok", None),
        Err(_) => {
            tracing::warn!("a consultation turned into an appeal stays counted as one");
            audit("consultation_to_appeal", agent_id, "unavailable", None);
        }
    }
}

/// `POST /agent/consultation` (the call desk's "Record a consultation" button, which
/// posts the console's form): the call was answered on the spot. Only the category,
/// the topic and the console's language are read; every other field of the form is
/// left alone and shown again, so that the agent can still register an appeal in one
/// step if the caller wants one.
async fn consultation_submit(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AgentConsole>,
    SignedIn { sid, session }: SignedIn,
) -> HttpResponse {
    let language = console_language(&req);
    let Ok(form::FormBody { fields, .. }) = form::read(
        &req,
        payload,
        MAX_TEXT_BYTES + 64 * 1024,
        MAX_TEXT_BYTES,
        &[],
    )
    .await
    else {
        return HttpResponse::BadRequest()
            .content_type("text/plain; charset=utf-8")
            .body("400");
    };
    if let Some(refused) = csrf_refused(&state, &sid, &fields, "consultation", &session, language) {
        return refused;
    }
    let desk = desk_of(session.role, fields.get("desk").map(String::as_str));
    let recorded = if desk == Desk::CallCenter {
        Consultation::new(
            state.gateway.catalogue(),
            fields.get("category").map(String::as_str),
            fields.get("topic").map(String::as_str),
            language,
        )
    } else {
        // Consultations are the call-center's (1308); the front office registers appeals.
        Err(vec![FieldError::new("form", "invalid_value")])
    };
    let mut values = fields.clone();
    let outcome = match recorded {
        Err(errors) => Err((errors, StatusCode::UNPROCESSABLE_ENTITY)),
        Ok(consultation) => {
            let claim = form_idem(&fields).map(|key| IdempotencyClaim {
                key: format!("agent:{}:consultation:{key}", session.agent_id),
                fingerprint: format!("{}|{}", consultation.category, consultation.topic),
            });
            match state
                .gateway
                .submit_consultation(&consultation, claim)
                .await
            {
                Ok(receipt) => {
                    // A repeat (a refresh) names the consultation first recorded.
                    let consultation = Consultation {
                        id: receipt.id,
                        ..consultation
                    };
                    Ok(consultation)
                }
                Err(SubmitError::KeyReused) => Err((
                    vec![FieldError::new("form", "already_sent")],
                    StatusCode::UNPROCESSABLE_ENTITY,
                )),
                Err(_) => Err((
                    vec![FieldError::new("form", "unavailable")],
                    StatusCode::SERVICE_UNAVAILABLE,
                )),
            }
        }
    };
    let (errors, consulted, status) = match outcome {
        Ok(consultation) => {
            audit("consultation", &session.agent_id, "recorded", None);
            let catalogue = state.gateway.catalogue();
            let name = |c: Option<&crate::catalogue::Category>| {
                c.map(|c| c.name(language).to_owned()).unwrap_or_default()
            };
            let notice = MESSAGES.text(
                language,
                "agent-consultation-recorded",
                &[
                    ("category", name(catalogue.get(&consultation.category))),
                    ("topic", name(catalogue.topic(&consultation.topic))),
                ],
            );
            values.insert(
                "consultation".to_owned(),
                consultation_token(&state.csrf, &consultation, &session.agent_id),
            );
            // The next submission (an appeal, or another consultation) is a new one.
            values.remove("idem");
            (Vec::new(), Some(notice), StatusCode::OK)
        }
        Err((errors, status)) => {
            audit("consultation", &session.agent_id, "refused", None);
            (errors, None, status)
        }
    };
    render_console(
        &state,
        ConsoleView {
            language,
            sid: &sid,
            session: &session,
            desk,
            values: &values,
            errors: &errors,
            duplicates: &[],
            call_taken: false,
            consulted,
        },
        status,
    )
}

/// What a receipt states that its URL carries: the appeal, its category, the desk that
/// took it. Signed with the agent who took it ([`CsrfKey`] under its own label), so the
/// page is that agent's to print, and states only what was registered; the time of
/// registration comes from the appeal's id (a ULID holds its creation time), so the page
/// is the same on every instance and whenever it is printed again.
struct ReceiptFacts {
    tracking: String,
    appeal_id: String,
    category: String,
    desk: Desk,
}

impl ReceiptFacts {
    fn signed_text(&self, agent_id: &str) -> String {
        format!(
            "receipt|{}|{}|{}|{}|{agent_id}",
            self.tracking,
            self.appeal_id,
            self.category,
            self.desk.as_str()
        )
    }

    /// The receipt's URL for the agent who took the appeal.
    fn url(&self, key: &CsrfKey, agent_id: &str, language: Language) -> String {
        let query = serde_urlencoded::to_string([
            ("lang", language.as_str()),
            ("desk", self.desk.as_str()),
            ("appeal", self.appeal_id.as_str()),
            ("category", self.category.as_str()),
            ("sig", key.token(&self.signed_text(agent_id)).as_str()),
        ])
        .unwrap_or_default();
        format!("/agent/receipt/{}?{query}", self.tracking)
    }

    /// The facts of a receipt URL, if `agent_id` took that appeal.
    fn of(req: &HttpRequest, tracking: &str, key: &CsrfKey, agent_id: &str) -> Option<Self> {
        let tracking = crate::tracking::TrackingNumber::parse_lenient(tracking)?;
        let desk = match query(req, "desk").as_deref() {
            Some("front") => Desk::FrontOffice,
            Some("call") => Desk::CallCenter,
            _ => return None,
        };
        let facts = ReceiptFacts {
            tracking: tracking.as_str().to_owned(),
            appeal_id: query(req, "appeal")?,
            category: query(req, "category")?,
            desk,
        };
        let sig = query(req, "sig")?;
        key.verify(&facts.signed_text(agent_id), &sig)
            .then_some(facts)
    }
}

/// `GET /agent/receipt/{tracking}`: the printable receipt for the citizen (APPK art. 64
/// p. 2: the number, the date and time, who accepted it): the number, the time of
/// registration (Almaty) and, for an appeal received on a non-working day, the day it is
/// registered; the category; the answer's due date; the office and the agent's position
/// and display name (never the login id); where to follow it. Nothing of the citizen.
async fn receipt(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AgentConsole>,
    SignedIn { session, .. }: SignedIn,
) -> HttpResponse {
    let language = console_language(&req);
    let facts = ReceiptFacts::of(&req, &path, &state.csrf, &session.agent_id);
    let calendar = state.gateway.calendar();
    let registration = facts
        .as_ref()
        .and_then(|f| calendar.registration_of(&f.appeal_id));
    let (Some(facts), Some(registration)) = (facts, registration) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("404");
    };
    let next_day = (registration.registered_on != registration.received.date()).then(|| {
        MESSAGES.text(
            language,
            "agent-receipt-next-day",
            &[("date", crate::deadline::local(registration.registered_on))],
        )
    });
    let category = state
        .gateway
        .category(&facts.category)
        .map_or(facts.category.clone(), |c| c.name(language).to_owned());
    let agent_name = state.accounts.display_name(&session.agent_id).await;
    page(
        StatusCode::OK,
        language,
        "receipt.html",
        json!({
            "tracking": facts.tracking,
            "received": MESSAGES.text(
                language,
                "agent-receipt-at",
                &[("time", crate::deadline::local_time(registration.received))],
            ),
            "next_day": next_day,
            "category": category,
            "answer_by": crate::deadline::local(registration.answer_by),
            "desk": facts.desk.as_str(),
            "role": session.role.as_str(),
            "agent_name": agent_name,
        }),
    )
}

/// `GET /agent/consent-form?lang=kk|ru`: the printable written-consent form for the
/// front office, naming the regulation's version hash.
async fn consent_form(req: HttpRequest) -> HttpResponse {
    let language = match console_language(&req) {
        Language::En => Language::Ru,
        l => l,
    };
    page(
        StatusCode::OK,
        language,
        "consent_form.html",
        json!({"policy_version": POLICY_VERSION.as_str()}),
    )
}

// ---------------------------------------------------------------------------------------
// JSON endpoints
// ---------------------------------------------------------------------------------------

/// `POST /api/v1/calls/incoming` (integrator token): `{"caller": "+7 701 …",
/// "agent_id": "…"}` — the telephony system announces a call; the agent's console picks
/// the number up. The number is held (in Redis, see [`calls`]) for 10 minutes at most.
async fn call_incoming(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AgentConsole>,
) -> Result<HttpResponse, Problem> {
    let language = crate::http::language_of(&req);
    let integrator = state
        .tokens
        .authenticate(&req)
        .ok_or_else(|| Problem::unauthorized(language))?
        .to_owned();
    // Issue 34: only the telephony system announces callers (`:scopes=calls`); any
    // other integrator could put a number of its choosing before an agent.
    if !state
        .tokens
        .has_scope(&integrator, crate::config::Scope::Calls)
    {
        return Err(Problem::forbidden(
            vec![FieldError::new("Authorization", "scope_required")],
            language,
        ));
    }
    let body = json_body(&req, payload, 16 * 1024, language).await?;
    let call: CallAnnouncement =
        lenient::object(&body, language)?.map_err(|errors| Problem::invalid(errors, language))?;
    let mut errors = Vec::new();
    let caller = call
        .caller
        .take_as("caller", "invalid_phone", &mut errors)
        .and_then(|c| crate::normalize::phone(&c).ok());
    if caller.is_none() && errors.is_empty() {
        errors.push(FieldError::new("caller", "invalid_phone"));
    }
    let agent_id = call.agent_id.take("agent_id", &mut errors);
    if agent_id.as_deref().is_some_and(|id| !agents::valid_id(id)) {
        errors.push(FieldError::new("agent_id", "invalid_value"));
    }
    let (Some(caller), true) = (caller, errors.is_empty()) else {
        return Err(Problem::invalid(errors, language));
    };
    state.calls.announce(caller, agent_id.clone()).await;
    tracing::info!(target: "audit", action = "call_announced", integrator = %integrator, agent_id = agent_id.as_deref().unwrap_or(""), "telephony event");
    Ok(HttpResponse::Accepted()
        .content_type("application/json")
        .json(CallQueued {
            status: CallState::Queued,
        }))
}

/// `POST /api/v1/agent/appeals` (an agent's API token, `Authorization: Bearer
/// oa_agent_…`): the console's fields as a JSON object. `consent` and `notifications`
/// are booleans; `desk` (`call` or `front`) matters for supervisors only. Attachments
/// are not taken here; a document (`document`, `attachments` of a document kind) is
/// refused.
async fn api_appeal(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AgentConsole>,
) -> Result<HttpResponse, Problem> {
    let language = crate::http::language_of(&req);
    let unauthorized = || Problem::unauthorized(language);
    let token = bearer_token(&req).ok_or_else(unauthorized)?.to_owned();
    let (agent_id, role) = match state.accounts.by_token(&token).await {
        Ok(Some(found)) => found,
        Ok(None) => return Err(unauthorized()),
        _ => {
            return Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                language,
            ));
        }
    };
    let key = IdempotencyKey::of(&req, language)?;
    let body = json_body(&req, payload, state.max_body, language).await?;
    let submission: AgentAppealSubmission =
        lenient::object(&body, language)?.map_err(|errors| Problem::invalid(errors, language))?;
    let (fields, errors) = submission.into_fields();
    let desk = desk_of(role, fields.get("desk").map(String::as_str));
    if !errors.is_empty() {
        if errors.iter().any(|e| e.code == DOCUMENT_REFUSED) {
            state.gateway.refused(desk.channel(), DOCUMENT_REFUSED);
            audit("document_scan", &agent_id, "refused", None);
        }
        return Err(Problem::invalid(errors, language));
    }
    let console_lang = fields
        .get("language")
        .and_then(|l| Language::parse(l))
        .unwrap_or(Language::Ru);
    let (intake, adapter_errors) =
        agent_console::intake(desk, &fields, &[], &agent_id, console_lang);
    if !adapter_errors.is_empty() {
        let mut all = adapter_errors;
        if let Err(more) = state.gateway.validate(intake) {
            all.extend(more);
        }
        return Err(Problem::invalid(all, language));
    }
    let dup_key = fields
        .get("address")
        .and_then(|a| agent_console_key(a, intake.category.as_deref().unwrap_or_default()));
    let duplicates = match dup_key.clone() {
        Some(key) => state.recent.recent(&key).await,
        None => Vec::new(),
    };
    let claim = key.claim(&req, &agent_id, &body);
    match state.gateway.submit_appeal(intake, claim).await {
        Ok(receipt) => {
            if let (Some(key), Some(tracking)) = (dup_key, receipt.tracking_number.clone())
                && !receipt.replayed
            {
                state.recent.remember(&key, &tracking).await;
            }
            audit(
                "appeal_submit_api",
                &agent_id,
                "accepted",
                receipt.tracking_number.as_deref(),
            );
            let registration = state.gateway.calendar().registration_of(&receipt.id);
            let body = AgentAnswer {
                answer: Answer {
                    id: receipt.id.clone(),
                    tracking_number: receipt.tracking_number.clone(),
                    status: AnswerStatus::Accepted,
                },
                possible_duplicates: duplicates,
                answer_by: registration.map(|r| crate::deadline::iso(r.answer_by)),
                forward_by: registration.map(|r| crate::deadline::iso(r.forward_by)),
            };
            let mut builder = HttpResponse::Accepted();
            builder.content_type("application/json");
            if receipt.replayed {
                builder.insert_header(("Idempotent-Replayed", "true"));
            }
            Ok(builder.json(body))
        }
        Err(e) => Err(Problem::from_submit(e, language)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_console_template_parses() {
        for (name, _) in TEMPLATES {
            assert!(PAGES.get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn supervisors_choose_their_desk() {
        assert_eq!(
            desk_of(Role::CallCenterAgent, Some("front")),
            Desk::CallCenter
        );
        assert_eq!(desk_of(Role::Supervisor, Some("front")), Desk::FrontOffice);
    }
}
