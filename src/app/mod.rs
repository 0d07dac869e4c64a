//! Assembles the service from the configuration: the pipeline, every channel whose
//! settings are given, the forwarder, the notifier and the HTTP server. `main.rs`,
//! `ingest-email` and the tests share this one wiring. Health, readiness and metrics are
//! in [`ops`]; the OpenAPI document of the HTTP APIs in [`openapi`]; the operators' commands
//! in [`agents_admin`] and [`outbox_admin`].

pub mod agents_admin;
pub mod analytics_admin;
mod command;
mod headers;
pub mod ingest_email;
pub(crate) mod openapi;
mod ops;
pub mod outbox_admin;
mod probes;
pub mod retention_admin;

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{App, HttpServer, middleware, web};

use crate::appeal::ReplyChannel;
use crate::attachments::AttachmentStore;
use crate::channels::agent_console::{self, AgentConsole};
use crate::channels::api::{self, Api};
use crate::channels::email::{self, EmailChannel, MailConfig};
use crate::channels::open311::{self, Open311};
use crate::channels::sms::{self, Sms};
use crate::channels::telegram::{self, Telegram, TelegramConfig, route::TelegramRoute};
use crate::channels::web_form::{self, WebForm};
use crate::channels::whatsapp::{self, Whatsapp, WhatsappConfig, route::WhatsappRoute};
use crate::config::Config;
use crate::dialogue::{self, dedupe::Dedupe};
use crate::http::auth::Tokens;
use crate::http::ratelimit::SharedCounters;
use crate::metrics::Metrics;
use crate::notify::route::Routes;
use crate::notify::{Notifier, NotifierConfig};
use crate::outbox::Outbox;
use crate::pipeline::Gateway;
use crate::queue::{Forwarder, QueueStatus};
use crate::redis_handle::Redis;
use crate::redis_target::RedisTarget;
use crate::status::StatusBoard;
use crate::subject::SubjectKeyer;
use crate::supervisor::Supervisor;

/// The configuration with every channel's settings checked.
pub struct Settings {
    pub config: Config,
    web_form: web_form::Settings,
    agent_console: agent_console::Settings,
    telegram: Option<TelegramConfig>,
    whatsapp: Option<WhatsappConfig>,
    mail: MailConfig,
    sms: Option<Sms>,
    open311: open311::Settings,
}

impl Settings {
    /// Reads the file (if any) and the environment, then every channel's settings. `Err`
    /// lists every problem at once, one line each, naming the key.
    pub fn load(file: Option<&Path>) -> Result<Settings, Vec<String>> {
        let config = Config::load(file)?;
        let mut problems = Vec::new();
        fn section<T: serde::de::DeserializeOwned>(
            config: &Config,
            problems: &mut Vec<String>,
        ) -> Option<T> {
            config
                .section()
                .map_err(|mut found| problems.append(&mut found))
                .ok()
        }
        let web_form: Option<web_form::Settings> = section(&config, &mut problems);
        let agent_console: Option<agent_console::Settings> = section(&config, &mut problems);
        let telegram: Option<telegram::Settings> = section(&config, &mut problems);
        let whatsapp: Option<whatsapp::Settings> = section(&config, &mut problems);
        let mail: Option<email::Settings> = section(&config, &mut problems);
        let sms: Option<sms::Settings> = section(&config, &mut problems);
        let open311: Option<open311::Settings> = section(&config, &mut problems);
        if let Some(o) = &open311 {
            o.check(&mut problems);
        }
        let telegram = telegram.and_then(|t| TelegramConfig::check(&t, &mut problems));
        let whatsapp = whatsapp.and_then(|w| WhatsappConfig::check(&w, &mut problems));
        let mail = mail.map(|m| m.check(&mut problems)).unwrap_or_default();
        let sms = sms.and_then(|s| s.route(&mut problems));
        if let Some(w) = &web_form
            && (w.form_rate_per_minute == 0 || w.form_rate_per_minute > 100_000)
        {
            problems.push("GATEWAY_FORM_RATE_PER_MINUTE: between 1 and 100000".to_owned());
        }
        if let Some(w) = &web_form
            && (w.form_address_rate_per_minute == 0 || w.form_address_rate_per_minute > 1_000_000)
        {
            problems.push("GATEWAY_FORM_ADDRESS_RATE_PER_MINUTE: between 1 and 1000000".to_owned());
        }
        if let Some(w) = &web_form
            && (w.status_rate_per_minute == 0 || w.status_rate_per_minute > 100_000)
        {
            problems.push("GATEWAY_STATUS_RATE_PER_MINUTE: between 1 and 100000".to_owned());
        }
        if let Some(w) = &web_form
            && !(1..=100).contains(&w.upload_max_per_client)
        {
            problems.push("GATEWAY_UPLOAD_MAX_PER_CLIENT: between 1 and 100".to_owned());
        }
        if let Some(a) = &agent_console
            && (a.agent_session_idle_secs == 0 || a.agent_session_idle_secs > 24 * 3600)
        {
            problems.push("GATEWAY_AGENT_SESSION_IDLE_SECS: between 1 and 86400".to_owned());
        }
        match (web_form, agent_console, open311) {
            (Some(web_form), Some(agent_console), Some(open311)) if problems.is_empty() => {
                Ok(Settings {
                    config,
                    web_form,
                    agent_console,
                    telegram,
                    whatsapp,
                    mail,
                    sms,
                    open311,
                })
            }
            _ => Err(problems),
        }
    }
}

/// The pipeline over `outbox`, as the configuration describes it; `queue` says whether
/// the forwarder reaches Redis; `redis` the handle of the stores.
pub(crate) fn gateway(
    config: &Config,
    redis: &Redis,
    outbox: Outbox,
    metrics: Metrics,
    queue: Arc<QueueStatus>,
) -> Result<Gateway, String> {
    let status = StatusBoard::new(redis, config.calendar.clone());
    let claims = crate::idempotency::Claims::new(redis, config.idempotency_ttl, config.dedupe_ttl);
    Gateway::new(
        SubjectKeyer::new(config.subject_key_secret.as_bytes()),
        outbox,
        metrics,
        status,
        &config.public_url,
        claims,
        queue,
    )
}

/// A name for an instance configured with none (no `GATEWAY_INSTANCE`, no `HOSTNAME`):
/// drawn at random at the first start and kept in its data directory
/// (`instance-name`), so that every instance of a deployment started with the same
/// settings has a name of its own — its consumer names and its own group on
/// `subject.v1` (`gateway-files:<instance>`) depend on it. A data directory copied from
/// another instance carries that one's name: remove the file in the copy (or set
/// `GATEWAY_INSTANCE`).
fn instance_name(data_dir: &Path) -> std::io::Result<String> {
    let path = data_dir.join(crate::config::INSTANCE_NAME_FILE);
    if let Ok(name) = std::fs::read_to_string(&path)
        && !name.trim().is_empty()
    {
        return Ok(name.trim().to_owned());
    }
    std::fs::create_dir_all(data_dir)?;
    let name = format!("gateway-{:08x}", rand::random::<u32>());
    std::fs::write(&path, format!("{name}\n"))?;
    tracing::info!(instance = %name, "no GATEWAY_INSTANCE: this data directory's instance name, kept in instance-name");
    Ok(name)
}

/// Why the service did not start or stopped with an error; the message names the key.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("GATEWAY_DATA_DIR: {0}")]
    DataDir(String),
    #[error("REDIS_URL: not a Redis URL")]
    RedisUrl,
    #[error("policy files: {0}")]
    Policy(String),
    #[error("GATEWAY_BIND: cannot serve: {0}")]
    Bind(#[from] std::io::Error),
    #[error("GATEWAY_METRICS_BIND: cannot serve: {0}")]
    MetricsBind(std::io::Error),
}

/// SIGTERM or SIGINT, whichever comes first.
async fn termination() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// Runs the service on `listener` until SIGINT or SIGTERM; then stops within
/// `GATEWAY_SHUTDOWN_SECS` (see [`crate::supervisor`]).
pub fn serve(settings: Settings, listener: TcpListener) -> Result<(), ServeError> {
    let Settings {
        config,
        web_form: web_form_settings,
        agent_console: agent_settings,
        telegram,
        whatsapp,
        mail,
        sms,
        open311: open311_settings,
    } = settings;
    if config.subject_key_is_default {
        tracing::warn!(
            "GATEWAY_SUBJECT_KEY_SECRET is not set: using the DEVELOPMENT secret; subject keys are NOT pseudonymous. Never run like this in production."
        );
    }
    for key in &config.ignored {
        tracing::warn!(
            key,
            "this setting is no longer read by this release; remove it"
        );
    }
    if config.api_tokens.is_empty() {
        tracing::warn!("GATEWAY_API_TOKENS is empty: the intake API refuses every request");
    }
    let mut config = config;
    if config.instance.is_empty() {
        config.instance =
            instance_name(&config.data_dir).map_err(|e| ServeError::DataDir(e.to_string()))?;
    }
    let outbox = Outbox::open(&config.data_dir).map_err(|e| ServeError::DataDir(e.to_string()))?;
    let client = RedisTarget::parse(&config.redis_url).map_err(|_| ServeError::RedisUrl)?;
    // The one Redis handle every store is given (`redis_handle`).
    let redis = Redis::new(Some(client), &config.stream_prefix);
    crate::normalize::warm_up();
    let metrics = Metrics::new();
    let queue = Arc::new(QueueStatus::default());
    let gateway = Arc::new(
        gateway(
            &config,
            &redis,
            outbox.clone(),
            metrics.clone(),
            Arc::clone(&queue),
        )
        .map_err(ServeError::Policy)?,
    );
    let engine = Arc::new(dialogue::Engine::new(dialogue::store::Store::new(&redis)));
    let dedupe = Arc::new(Dedupe::new(&redis, config.dedupe_ttl));
    let deferred = Arc::new(dialogue::deferred::Deferred::new(&redis, &config.instance));
    let tokens = Arc::new(Tokens::new(&config.api_tokens));
    let store = AttachmentStore::new(&config.data_dir);
    // The form and status limits, counted in Redis by every instance.
    let shared_limits = SharedCounters::new(&redis, config.subject_key_secret.as_bytes());
    let trusted_proxies = web::Data::new(config.trusted_proxies.clone());
    let client_networks = web::Data::new(crate::http::client_addr::ClientNetworks {
        ipv6_prefix: config.client_ipv6_prefix,
    });

    let mut routes = Routes::default();
    if telegram.is_none() {
        tracing::info!("telegram channel off: GATEWAY_TELEGRAM_BOT_TOKEN is not set");
    }
    if whatsapp.is_none() {
        tracing::info!("whatsapp channel off: GATEWAY_WHATSAPP_* settings are not set");
    }
    if sms.is_none() {
        tracing::info!(
            "SMS is off: GATEWAY_SMS_API_URL, GATEWAY_SMS_API_KEY and GATEWAY_SMS_SENDER are not set"
        );
    }
    let telegram = telegram.map(|c| {
        routes = std::mem::take(&mut routes)
            .with(ReplyChannel::Telegram, Arc::new(TelegramRoute::new(&c)));
        web::Data::new(Telegram::new(
            c,
            Arc::clone(&engine),
            Arc::clone(&dedupe),
            Arc::clone(&deferred),
            Arc::clone(&gateway),
        ))
    });
    let whatsapp = whatsapp.map(|c| {
        routes = std::mem::take(&mut routes)
            .with(ReplyChannel::Whatsapp, Arc::new(WhatsappRoute::new(&c)));
        web::Data::new(Whatsapp::new(
            c,
            Arc::clone(&engine),
            Arc::clone(&dedupe),
            Arc::clone(&deferred),
            Arc::clone(&gateway),
            &redis,
        ))
    });
    if let Some(acks) = &mail.acks {
        routes = routes.with(ReplyChannel::Email, Arc::new(acks.clone()));
    }
    if let Some(sms) = sms {
        routes = routes.with(ReplyChannel::Sms, Arc::new(sms));
    }
    let web_form = web::Data::new(
        WebForm::new(
            Arc::clone(&gateway),
            &web_form_settings,
            store.clone(),
            &config.data_dir,
            Some(shared_limits),
        )
        .map_err(|e| ServeError::DataDir(e.to_string()))?,
    );
    let agents = web::Data::new(AgentConsole::new(
        Arc::clone(&gateway),
        &agent_settings,
        &config.data_dir,
        Arc::clone(&tokens),
        config.max_body_bytes,
        &redis,
    ));
    let open311 = web::Data::new(Open311::new(
        Arc::clone(&gateway),
        Arc::clone(&tokens),
        open311::Index::new(&redis, open311_settings.keeps_locations()),
        config.max_body_bytes,
        &open311_settings,
        &config.public_url,
        Arc::clone(&web_form.status_limiter),
    ));
    let api = web::Data::new(Api {
        gateway: Arc::clone(&gateway),
        tokens,
        max_body: config.max_body_bytes,
        store,
    });
    let ops = web::Data::new(ops::Ops {
        gateway: Arc::clone(&gateway),
        queue: Arc::clone(&queue),
    });
    let forwarder = Forwarder {
        outbox: outbox.clone(),
        redis: redis.clone(),
        dedupe_ttl: config.dedupe_ttl,
        idempotency_ttl: config.idempotency_ttl,
        min_replicas: config.redis_min_replicas,
        status: queue,
        metrics,
    };
    let notifier = Notifier {
        redis: redis.clone(),
        routes,
        keyer: SubjectKeyer::new(config.subject_key_secret.as_bytes()),
        config: NotifierConfig {
            consumer: config.instance.clone(),
            claim_timeout: config.notify_claim_timeout,
            max_attempts: config.notify_max_attempts,
            retry_base: config.notify_retry_base,
            public_url: config.public_url.clone(),
        },
        metrics: forwarder.metrics.clone(),
    };
    let publisher = crate::aggregates::Publisher {
        redis: redis.clone(),
        k: config.analytics_k,
    };
    let publisher_metrics = forwarder.metrics.clone();
    let subject_worker = crate::subject_fulfilment::SubjectWorker {
        redis: redis.clone(),
        consumer: config.instance.clone(),
        data_dir: config.data_dir.clone(),
        outbox: outbox.clone(),
        metrics: publisher_metrics.clone(),
    };
    let retention = crate::retention::Retention {
        redis: redis.clone(),
        streams: config.stream_retention,
        consent: config.consent_retention,
        instance: config.instance.clone(),
        data_dir: config.data_dir.clone(),
        attachments: config.attachment_retention,
        fetched_attachments: config.attachment_fetched_retention,
        outbox: Some(outbox.clone()),
    };
    let email = EmailChannel {
        data_dir: config.data_dir.clone(),
        acks: mail.acks.clone(),
        trusted: mail.trusted.clone(),
        confirmations: Arc::new(email::confirm::Confirmations::new(&redis)),
    };
    let shutdown_within = config.shutdown;
    let served = actix_web::rt::System::new().block_on(async move {
        let mut tasks = Supervisor::new();
        let stopped = tasks.shutdown().receiver();
        // Tracking numbers from a block leased in Redis when it answers within a second;
        // else from an offline block until it does (see `tracking::issuer`).
        let issuer = gateway.tracking_issuer();
        let leased = tokio::time::timeout(
            Duration::from_secs(2),
            issuer.lease(&redis),
        )
        .await;
        if !matches!(leased, Ok(Ok(()))) {
            tracing::warn!("no block of tracking numbers leased at start (Redis did not answer); issuing from an offline block until it does");
        }
        tasks.spawn(
            "tracking-issuer",
            issuer.run(
                redis.clone(),
                stopped.clone(),
            ),
        );
        tasks.spawn("forwarder", forwarder.run(stopped.clone()));
        tasks.spawn("notifier", notifier.run(stopped.clone()));
        // Depersonalized aggregates of ended periods (issue 16, point 5).
        tasks.spawn(
            "analytics-publisher",
            publisher.run(
                Duration::from_secs(60),
                publisher_metrics.clone(),
                tasks.shutdown(),
            ),
        );
        // Erasure, withdrawal and access carried out on what the gateway holds (issue 16).
        tasks.spawn("subject-requests", subject_worker.run(tasks.shutdown()));
        // Stream entries past their retention and acknowledged by every group (issue 16).
        tasks.spawn(
            "retention",
            retention.run(
                Duration::from_secs(600),
                publisher_metrics.clone(),
                tasks.shutdown(),
            ),
        );
        // Photos of forms not accepted within the hour go (issue 17, point 3).
        tasks.spawn(
            "photo-sweep",
            AttachmentStore::new(&config.data_dir)
                .sweep_forever(Duration::from_secs(600), tasks.shutdown()),
        );
        // The requests of an `open311.redb` from before Redis held the index, once (cut
        // at the shutdown: imported again at the next start).
        let importing = open311.clone();
        let data_dir = config.data_dir.clone();
        tasks.spawn("open311-import", async move {
            importing.index().import_legacy(&data_dir).await;
        });
        // Accounts of an `agents.redb` from before Redis held them, once.
        let importing = agents.clone();
        let data_dir = config.data_dir.clone();
        tasks.spawn("agents-import", async move {
            agent_console::legacy::import_at_start(&importing.accounts, &data_dir).await;
        });
        if let Some(telegram) = &telegram {
            telegram.clone().into_inner().start(&mut tasks);
        }
        if let Some(whatsapp) = &whatsapp {
            whatsapp.clone().into_inner().start(&mut tasks);
        }
        // Mail piped in by the MTA (`ingest-email`) waits in the spool this process owns.
        tasks.spawn(
            "email-spool",
            email::spool::run(
                email::spool::Spool::new(&config.data_dir),
                email.clone(),
                Arc::clone(&gateway),
                stopped.clone(),
            ),
        );
        if let Some(imap) = email::imap_poller(&mail, email, Arc::clone(&gateway), stopped) {
            tasks.spawn("email-imap", imap);
        }
        let public_url = config.public_url.clone();
        // `/metrics` on its own listener, loopback by default (issue 34); one worker
        // is plenty for a scrape every few seconds.
        let metrics_ops = ops.clone();
        let metrics_headers = public_url.clone();
        let metrics_server = HttpServer::new(move || {
            App::new()
                .wrap(headers::defaults(&metrics_headers))
                .configure(|cfg| ops::configure_metrics(cfg, metrics_ops.clone()))
        })
        .workers(1)
        .bind(config.metrics_bind)
        .map_err(ServeError::MetricsBind)?
        .disable_signals()
        .shutdown_timeout(1)
        .run();
        let metrics_handle = metrics_server.handle();
        actix_web::rt::spawn(metrics_server);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(trusted_proxies.clone())
                .app_data(client_networks.clone())
                .wrap(middleware::from_fn(
                    crate::http::negotiate::pages_for_browsers,
                ))
                // Pages and JSON compressed (gzip) when the client accepts it.
                .wrap(middleware::Compress::default())
                // Outside the others, so that every answer carries them.
                .wrap(headers::defaults(&public_url))
                .wrap(middleware::from_fn(ops::access_log))
                .configure(|cfg| ops::configure(cfg, ops.clone()))
                .configure(|cfg| api::configure(cfg, api.clone()))
                .configure(|cfg| open311::configure(cfg, open311.clone()))
                .configure(|cfg| telegram::configure(cfg, telegram.clone()))
                .configure(|cfg| whatsapp::configure(cfg, whatsapp.clone()))
                .configure(|cfg| web_form::configure(cfg, web_form.clone()))
                .configure(|cfg| agent_console::configure(cfg, agents.clone()))
                .default_service(web::to(ops::not_found))
        })
        .listen(listener)?
        // The signal is ours: the server and the tasks stop together, within
        // `GATEWAY_SHUTDOWN_SECS` of it.
        .disable_signals()
        .shutdown_timeout(shutdown_within.as_secs())
        .run();
        let handle = server.handle();
        let serving = actix_web::rt::spawn(server);
        tracing::info!(data_dir = %config.data_dir.display(), "appeal gateway serving");
        let served = tokio::select! {
            () = termination() => Ok(()),
            // The server stopped by itself: an error of its listener.
            ended = serving => ended.unwrap_or(Ok(())),
        };
        tracing::info!(
            within_secs = shutdown_within.as_secs(),
            "stopping: requests and background tasks finish what they hold"
        );
        tokio::join!(
            handle.stop(true),
            metrics_handle.stop(true),
            tasks.stop(shutdown_within)
        );
        tracing::info!("appeal gateway stopped");
        served.map_err(ServeError::Bind)
    });
    // Closed cleanly, the outbox opens at once next time (see `Outbox::close`).
    outbox.close();
    served
}
