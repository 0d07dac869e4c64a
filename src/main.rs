//! `appeal-gateway`: parses the command line and wires the modules together. No logic
//! lives here; see the crate documentation in `lib.rs` for the map.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use actix_web::web;
use clap::{Parser, Subcommand};

use appeal_gateway::channels::email;
use appeal_gateway::channels::{telegram::Telegram, whatsapp::Whatsapp};
use appeal_gateway::config::Config;
use appeal_gateway::dialogue::{self, dedupe::Dedupe};
use appeal_gateway::http::{self, AppState};
use appeal_gateway::metrics::Metrics;
use appeal_gateway::notify::routes::Routes;
use appeal_gateway::notify::{Notifier, NotifierConfig};
use appeal_gateway::outbox::Outbox;
use appeal_gateway::pipeline::Gateway;
use appeal_gateway::queue::{Forwarder, QueueStatus};
use appeal_gateway::subject::SubjectKeyer;
use appeal_gateway::{logging, schemas};

/// The Open Almaty appeal-intake gateway.
#[derive(Parser)]
#[command(name = "appeal-gateway", version, about, long_about = None)]
struct Cli {
    /// Optional TOML configuration file; every key can be overridden by the environment.
    #[arg(long, env = "GATEWAY_CONFIG", global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway (the default): intake API, outbox, forwarder to Redis.
    Serve,
    /// Write the JSON Schemas of every stream message, or check them with --check.
    Schemas {
        /// Directory of the schemas.
        #[arg(long, default_value = "schemas")]
        out: PathBuf,
        /// Only check that the files match the types; exit 1 if not.
        #[arg(long)]
        check: bool,
    },
    /// Read one email message on standard input (an MTA's pipe transport). Exit 0 once
    /// it is durable, 75 (EX_TEMPFAIL) when it is not, so the MTA retries.
    IngestEmail,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config),
        Command::Schemas { out, check } => write_schemas(&out, check),
        Command::IngestEmail => ingest_email(cli.config),
    }
}

fn write_schemas(out: &std::path::Path, check: bool) -> ExitCode {
    if check {
        let stale = schemas::stale(out);
        if stale.is_empty() {
            return ExitCode::SUCCESS;
        }
        eprintln!(
            "appeal-gateway: out of date in {}: {}",
            out.display(),
            stale.join(", ")
        );
        return ExitCode::FAILURE;
    }
    match schemas::write(out) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("appeal-gateway: cannot write {}: {e}", out.display());
            ExitCode::FAILURE
        }
    }
}

fn ingest_email(config_file: Option<PathBuf>) -> ExitCode {
    let config = match Config::load(config_file.as_deref()) {
        Ok(config) => config,
        Err(problems) => {
            for problem in &problems {
                eprintln!("appeal-gateway: configuration error: {problem}");
            }
            // The MTA keeps the message until the configuration is fixed.
            return ExitCode::from(email::ingest::EXIT_TEMPFAIL);
        }
    };
    logging::init(&config.log, config.log_format);
    ExitCode::from(email::ingest::run(&config))
}

/// Refuses the start with one line per problem.
fn refuse(problems: &[String]) -> ExitCode {
    for problem in problems {
        eprintln!("appeal-gateway: configuration error: {problem}");
    }
    ExitCode::from(2)
}

fn serve(config_file: Option<PathBuf>) -> ExitCode {
    let config = match Config::load(config_file.as_deref()) {
        Ok(config) => config,
        Err(problems) => return refuse(&problems),
    };
    logging::init(&config.log, config.log_format);
    if config.subject_key_is_default {
        tracing::warn!(
            "GATEWAY_SUBJECT_KEY_SECRET is not set: using the DEVELOPMENT secret; subject keys are NOT pseudonymous. Never run like this in production."
        );
    }
    if config.api_tokens.is_empty() {
        tracing::warn!("GATEWAY_API_TOKENS is empty: the intake API refuses every request");
    }
    let outbox = match Outbox::open(&config.data_dir, config.idempotency_ttl) {
        Ok(outbox) => outbox,
        Err(e) => return refuse(&[format!("GATEWAY_DATA_DIR: {e}")]),
    };
    let client = match redis::Client::open(config.redis_url.as_str()) {
        Ok(client) => client,
        Err(_) => return refuse(&["REDIS_URL: not a Redis URL".to_owned()]),
    };
    let dialogue_store = match dialogue::store::Store::open(&config.data_dir) {
        Ok(store) => store,
        Err(e) => return refuse(&[format!("GATEWAY_DATA_DIR: {e}")]),
    };
    let engine = Arc::new(dialogue::Engine::new(dialogue_store.clone()));
    let dedupe = Arc::new(Dedupe::new(
        dialogue_store.clone(),
        Some(client.clone()),
        &config.stream_prefix,
        config.dedupe_ttl,
    ));
    if config.telegram.is_none() {
        tracing::info!("telegram channel off: GATEWAY_TELEGRAM_BOT_TOKEN is not set");
    }
    if config.whatsapp.is_none() {
        tracing::info!("whatsapp channel off: GATEWAY_WHATSAPP_* settings are not set");
    }
    let telegram = config
        .telegram
        .clone()
        .map(|c| Arc::new(Telegram::new(c, Arc::clone(&engine), Arc::clone(&dedupe))));
    let whatsapp = config
        .whatsapp
        .clone()
        .map(|c| Arc::new(Whatsapp::new(c, Arc::clone(&engine), Arc::clone(&dedupe))));
    appeal_gateway::normalize::warm_up();
    let metrics = Metrics::new();
    let queue = Arc::new(QueueStatus::default());
    let gateway = match Gateway::new(&config, outbox.clone(), metrics.clone()) {
        Ok(gateway) => gateway,
        Err(e) => return refuse(&[e]),
    };
    let state = web::Data::new(AppState {
        gateway,
        tokens: http::auth::Tokens::new(&config.api_tokens),
        queue: Arc::clone(&queue),
        max_body_bytes: config.max_body_bytes,
        web: http::citizen::WebState::new(
            config.subject_key_secret.as_bytes(),
            &config.data_dir,
            config.form_rate_per_minute,
        ),
        telegram: telegram.clone(),
        whatsapp: whatsapp.clone(),
    });
    let channels_state = state.clone();
    let forwarder = Forwarder {
        outbox,
        client,
        prefix: config.stream_prefix.clone(),
        dedupe_ttl: config.dedupe_ttl,
        status: queue,
        metrics,
    };
    let notifier = Notifier {
        client: forwarder.client.clone(),
        prefix: config.stream_prefix.clone(),
        routes: Routes::from_config(&config),
        keyer: SubjectKeyer::new(config.subject_key_secret.as_bytes()),
        config: NotifierConfig {
            consumer: config.instance.clone(),
            claim_timeout: config.notify_claim_timeout,
            max_attempts: config.notify_max_attempts,
            retry_base: config.notify_retry_base,
            quiet_hours: config.sms_quiet_hours,
            public_url: config.public_url.clone(),
        },
    };
    if config.sms.is_none() {
        tracing::info!(
            "SMS is off: GATEWAY_SMS_API_URL, GATEWAY_SMS_API_KEY and GATEWAY_SMS_SENDER are not set"
        );
    }
    let result = actix_web::rt::System::new().block_on(async move {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let forwarding = actix_web::rt::spawn(forwarder.run(stopped.clone()));
        let notifying = actix_web::rt::spawn(notifier.run(stopped.clone()));
                actix_web::rt::spawn(dialogue::Engine::sweep_forever(
            dialogue_store,
            std::time::Duration::from_secs(600),
            config.dedupe_ttl,
        ));
        if let Some(telegram) = &telegram {
            telegram.start(channels_state.clone());
        }
        if let Some(whatsapp) = &whatsapp {
            whatsapp.start();
        }
        let imap = email::imap_poller(&config, state.clone().into_inner(), stopped)
            .map(actix_web::rt::spawn);
        let server = http::serve(state, config.bind)?;
        tracing::info!(bind = %config.bind, data_dir = %config.data_dir.display(), "appeal gateway serving");
        let served = server.await;
        let _ = stop.send(true);
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), forwarding).await;
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), notifying).await;
        if let Some(imap) = imap {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), imap).await;
        }
        tracing::info!("appeal gateway stopped");
        served
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("appeal-gateway: GATEWAY_BIND: cannot serve: {e}");
            ExitCode::FAILURE
        }
    }
}
