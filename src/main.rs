//! `appeal-gateway`: parses the command line and wires the modules together. No logic
//! lives here; see the crate documentation in `lib.rs` for the map.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use actix_web::web;
use clap::{Parser, Subcommand};

use appeal_gateway::agents::{AgentStore, Role};
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
    /// Manage agent accounts of the call-center and the front office (agents.redb in
    /// GATEWAY_DATA_DIR); works beside a running gateway.
    Agents {
        #[command(subcommand)]
        action: AgentsCommand,
    },
}

#[derive(Subcommand)]
enum AgentsCommand {
    /// Create an account. The password is read from GATEWAY_AGENT_PASSWORD, else from
    /// the first line of standard input (never from the command line).
    Add {
        /// The agent id (a-z, 0-9, '.', '_', '-').
        id: String,
        /// call_center_agent, front_office_operator or supervisor.
        #[arg(long)]
        role: String,
        /// Also issue an API token for /api/v1/agent/appeals (printed once).
        #[arg(long)]
        token: bool,
    },
    /// Disable an account: no login, no token; open sessions end.
    Disable { id: String },
    /// List accounts (id, role, state); no secrets.
    List,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config),
        Command::Schemas { out, check } => write_schemas(&out, check),
        Command::IngestEmail => ingest_email(cli.config),
        Command::Agents { action } => agents_command(cli.config, action),
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

fn agents_command(config_file: Option<PathBuf>, action: AgentsCommand) -> ExitCode {
    let config = match Config::load(config_file.as_deref()) {
        Ok(config) => config,
        Err(problems) => return refuse(&problems),
    };
    let store = AgentStore::new(&config.data_dir);
    let result = match action {
        AgentsCommand::Add { id, role, token } => {
            let Some(role) = Role::parse(&role) else {
                eprintln!(
                    "appeal-gateway: --role: call_center_agent, front_office_operator or supervisor"
                );
                return ExitCode::from(2);
            };
            let password = match std::env::var("GATEWAY_AGENT_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    let _ = std::io::stdin().read_line(&mut line);
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            store.add(&id, role, &password, token).map(|issued| {
                println!("agent {id} added ({})", role.as_str());
                if let Some(t) = issued {
                    println!("api token (shown once): {t}");
                }
            })
        }
        AgentsCommand::Disable { id } => {
            store.disable(&id).map(|()| println!("agent {id} disabled"))
        }
        AgentsCommand::List => store.list().map(|agents| {
            for a in agents {
                println!(
                    "{}\t{}\t{}{}{}",
                    a.id,
                    a.role.as_str(),
                    if a.disabled { "disabled" } else { "active" },
                    if a.locked { ",locked" } else { "" },
                    if a.has_token { ",token" } else { "" }
                );
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("appeal-gateway: agents: {e}");
            ExitCode::FAILURE
        }
    }
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
        agents: http::agent::AgentState::new(
            &config.data_dir,
            config.cookie_secure,
            config.agent_session_idle,
        ),
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
        // Photos of forms not accepted within the hour go (issue 17, point 3).
        actix_web::rt::spawn(
            appeal_gateway::attachments::AttachmentStore::new(&config.data_dir)
                .sweep_forever(std::time::Duration::from_secs(600)),
        );
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
