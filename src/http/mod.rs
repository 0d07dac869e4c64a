//! The HTTP server (actix-web): the trusted intake API and the operations endpoints.
//! Channel pages and webhooks join here as their channels land.

pub mod agent;
pub mod api;
pub mod attachments;
pub mod auth;
pub mod body;
pub mod citizen;
pub mod csrf;
pub mod error;
pub mod ops;
pub mod pages;
pub mod ratelimit;

use std::sync::Arc;

use actix_web::{App, HttpRequest, HttpServer, middleware, web};

use crate::appeal::Language;
use crate::i18n;
use crate::pipeline::Gateway;
use crate::queue::QueueStatus;

/// What every handler shares.
pub struct AppState {
    pub gateway: Gateway,
    pub tokens: auth::Tokens,
    pub queue: Arc<QueueStatus>,
    pub max_body_bytes: usize,
    /// The citizen pages' CSRF key, rate limiter and photo store.
    pub web: citizen::WebState,
    /// The Telegram bot, when configured.
    pub telegram: Option<Arc<crate::channels::telegram::Telegram>>,
    /// The WhatsApp line, when configured.
    pub whatsapp: Option<Arc<crate::channels::whatsapp::Whatsapp>>,
    /// The agent consoles: accounts, sessions, announced calls.
    pub agents: agent::AgentState,
}

/// The language of the answer: `Accept-Language`, else Russian (the contract's default).
pub fn language_of(req: &HttpRequest) -> Language {
    req.headers()
        .get(actix_web::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(i18n::negotiate)
        .unwrap_or(Language::Ru)
}

/// Registers every route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/metrics", web::get().to(ops::metrics))
        .route("/api/v1/openapi.json", web::get().to(crate::openapi::serve))
        .route("/api/v1/appeals", web::post().to(api::post_appeal))
        .route(
            "/api/v1/subject-requests",
            web::post().to(api::post_subject_request),
        )
        .route(
            "/telegram/webhook",
            web::post().to(crate::channels::telegram::webhook),
        )
        .route(
            "/whatsapp/webhook",
            web::get().to(crate::channels::whatsapp::verify),
        )
        .route(
            "/whatsapp/webhook",
            web::post().to(crate::channels::whatsapp::webhook),
        )
        .route(
            "/api/v1/attachments/{sha256}",
            web::get().to(attachments::get_attachment),
        )
        .configure(citizen::routes)
        .configure(agent::routes);
}

/// Binds and starts the server; it stops on SIGINT or SIGTERM.
pub fn serve(
    state: web::Data<AppState>,
    bind: std::net::SocketAddr,
) -> std::io::Result<actix_web::dev::Server> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(middleware::from_fn(ops::access_log))
            .configure(routes)
            .default_service(web::to(ops::not_found))
    })
    .bind(bind)?
    .shutdown_timeout(10)
    .run();
    Ok(server)
}
