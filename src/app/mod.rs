//! Assembles the service from the configuration: the pipeline, every channel whose
//! settings are given, the forwarder, the notifier and the HTTP server. `main.rs`,
//! `ingest-email` and the tests share this one wiring. Health, readiness and metrics are
//! in [`ops`]; the OpenAPI document of the HTTP APIs in [`openapi`]; the operators' commands
//! in [`agents_admin`] and [`outbox_admin`].

pub mod agents_admin;
pub mod analytics_admin;
pub mod banner_admin;
mod command;
mod headers;
pub mod ingest_email;
mod open311_params;
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

use crate::attachments::AttachmentStore;
use crate::channels::component::{self, Component, Wiring};
use crate::channels::{
    agent_console, api, email, open311, shared, sms, telegram, web_form, whatsapp,
};
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

/// Every channel, in the order its routes are registered: reads and checks its settings.
const CHANNELS: [Load; 8] = [
    component::load::<api::settings::Settings>,
    component::load::<open311::settings::Settings>,
    component::load::<telegram::component::Bot>,
    component::load::<whatsapp::component::Line>,
    component::load::<web_form::settings::Settings>,
    component::load::<agent_console::settings::Settings>,
    component::load::<email::component::Mail>,
    component::load::<sms::Texts>,
];

type Load = fn(&Config, &mut Vec<String>) -> Option<Box<dyn Component>>;

/// The configuration with every channel's settings checked.
pub struct Settings {
    pub config: Config,
    shared: shared::Settings,
    channels: Vec<Box<dyn Component>>,
}

impl Settings {
    /// Reads the file (if any) and the environment, then every channel's settings. `Err`
    /// lists every problem at once, one line each, naming the key.
    pub fn load(file: Option<&Path>) -> Result<Settings, Vec<String>> {
        let config = Config::load(file)?;
        let mut problems = Vec::new();
        let shared: Option<shared::Settings> = component::section(&config, &mut problems);
        if let Some(shared) = &shared {
            shared.check(&mut problems);
        }
        let channels: Vec<Box<dyn Component>> = CHANNELS
            .iter()
            .filter_map(|load| load(&config, &mut problems))
            .collect();
        match shared {
            Some(shared) if problems.is_empty() => Ok(Settings {
                config,
                shared,
                channels,
            }),
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
        crate::pipeline::Stores {
            status,
            claims,
            banner: crate::banner::Board::new(redis),
        },
        &config.public_url,
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
        shared,
        channels,
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
    let status_limiter = shared.status_limiter(&shared_limits);
    let trusted_proxies = web::Data::new(config.trusted_proxies.clone());
    let client_networks = web::Data::new(crate::http::client_addr::ClientNetworks {
        ipv6_prefix: config.client_ipv6_prefix,
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
    let mut notifier = Notifier {
        redis: redis.clone(),
        routes: Routes::default(),
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
            issuer.run(redis.clone(), stopped.clone()),
        );
        // Every channel built: its tasks spawned, its routes and its way back kept.
        let wiring = Wiring {
            config: &config,
            gateway: &gateway,
            redis: &redis,
            engine: &engine,
            dedupe: &dedupe,
            deferred: &deferred,
            tokens: &tokens,
            store: &store,
            shared_limits: &shared_limits,
            status_limiter: &status_limiter,
            cookie_secure: shared.cookie_secure,
        };
        let mut channel_routes = Vec::new();
        for channel in channels {
            let built = channel
                .build(&wiring, &mut tasks)
                .map_err(|e| ServeError::DataDir(e.to_string()))?;
            channel_routes.extend(built.routes);
            if let Some((channel, route)) = built.reply {
                notifier.routes = std::mem::take(&mut notifier.routes).with(channel, route);
            }
        }
        // The city-wide banner read every few seconds, so that pages show it without
        // waiting on Redis (issue 29, point 4).
        let banner_reader = Arc::clone(&gateway);
        tasks.spawn(
            "banner",
            crate::supervisor::every(crate::banner::REFRESH, tasks.shutdown(), move || {
                let gateway = Arc::clone(&banner_reader);
                async move {
                    gateway.refresh_banner().await;
                }
            }),
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
                .configure(|cfg| {
                    for routes in &channel_routes {
                        routes(cfg);
                    }
                })
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
