//! `appeal-gateway`: parses the command line and wires the modules together. No logic
//! lives here; see the crate documentation in `lib.rs` for the map.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use appeal_gateway::app::agents_admin::{self, AgentsAction};
use appeal_gateway::app::{
    self, Settings, analytics_admin, banner_admin, ingest_email, outbox_admin, retention_admin,
};
use appeal_gateway::config::Config;
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
    /// Manage agent accounts of the call-center and the front office, kept in Redis
    /// (REDIS_URL) for every instance; run it from any machine that reaches Redis.
    Agents {
        #[command(subcommand)]
        action: AgentsCommand,
    },
    /// The outbox of a gateway that is not running (an instance that is gone): inspect
    /// it, or forward it to Redis from here, exactly once.
    Outbox {
        #[command(subcommand)]
        action: OutboxCommand,
    },
    /// The depersonalized aggregates on analytics.v2 (serve publishes them every minute).
    Analytics {
        #[command(subcommand)]
        action: AnalyticsCommand,
    },
    /// The retention of the Redis streams (serve sweeps every ten minutes).
    Retention {
        #[command(subcommand)]
        action: RetentionCommand,
    },
    /// The city-wide banner shown on the forms, the status page, to bots and to
    /// integrators, kept in Redis (REDIS_URL) for every instance.
    Banner {
        #[command(subcommand)]
        action: BannerCommand,
    },
}

#[derive(Subcommand)]
enum BannerCommand {
    /// Show a notice in three languages until a time (e.g. "the water is off in
    /// Bostandyk district until 18:00, no need to report it").
    Set {
        /// When it comes down (RFC 3339, e.g. 2026-12-06T18:00:00+05:00).
        #[arg(long)]
        until: String,
        /// The text in Kazakh.
        #[arg(long)]
        kk: String,
        /// The text in Russian.
        #[arg(long)]
        ru: String,
        /// The text in English.
        #[arg(long)]
        en: String,
    },
    /// Take the banner down now.
    Clear,
    /// Print the banner shown now as JSON (`{"banner": null}` when none).
    Show,
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Trim every stream's entries past their retention that every consumer group has
    /// acknowledged, once, and exit (prints what went, by stream).
    Sweep {
        /// Sweep as if it were this time (RFC 3339).
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Subcommand)]
enum AnalyticsCommand {
    /// Publish every ended period not yet published, once, and exit (prints the count).
    Publish {
        /// Publish as if it were this time (RFC 3339): the periods ended by then.
        #[arg(long)]
        at: Option<String>,
    },
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// Print the number of waiting records and the age of the oldest (JSON; no content).
    Inspect {
        /// The data directory of that gateway (default GATEWAY_DATA_DIR).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Forward every waiting record to REDIS_URL and exit: 0 once the outbox is empty,
    /// 1 if Redis cannot take it (what was sent stays sent; run it again).
    Drain {
        /// The data directory of that gateway (default GATEWAY_DATA_DIR).
        #[arg(long)]
        data_dir: Option<PathBuf>,
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
        /// The display name receipts print as the person who accepted the appeal
        /// (e.g. "Сейткали А."); the id never appears on them.
        #[arg(long)]
        name: Option<String>,
    },
    /// Change an account's display name (what receipts print).
    Update {
        id: String,
        /// The new display name.
        #[arg(long)]
        name: String,
    },
    /// Disable an account: no login, no token; open sessions end.
    Disable { id: String },
    /// Lock an account until `agents unlock`: no login, no token; open sessions end.
    /// (Failed logins never lock an account: they slow the address that fails.)
    Lock { id: String },
    /// Unlock an account locked with `agents lock`.
    Unlock { id: String },
    /// List accounts (id, role, state, display name); no secrets.
    List,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.config),
        Command::Schemas { out, check } => write_schemas(&out, check),
        Command::IngestEmail => ingest_email(cli.config),
        Command::Agents { action } => agents_command(cli.config, action),
        Command::Outbox { action } => outbox_command(cli.config, action),
        Command::Analytics { action } => analytics_command(cli.config, action),
        Command::Retention { action } => retention_command(cli.config, action),
        Command::Banner { action } => banner_command(cli.config, action),
    }
}

fn banner_command(config_file: Option<PathBuf>, action: BannerCommand) -> ExitCode {
    let config = match Config::load(config_file.as_deref()) {
        Ok(config) => config,
        Err(problems) => return refuse(&problems),
    };
    logging::init(&config.log, config.log_format);
    let action = match &action {
        BannerCommand::Set { until, kk, ru, en } => banner_admin::Action::Set { until, kk, ru, en },
        BannerCommand::Clear => banner_admin::Action::Clear,
        BannerCommand::Show => banner_admin::Action::Show,
    };
    ExitCode::from(banner_admin::run(&config, action))
}

fn retention_command(config_file: Option<PathBuf>, action: RetentionCommand) -> ExitCode {
    let config = match Config::load(config_file.as_deref()) {
        Ok(config) => config,
        Err(problems) => return refuse(&problems),
    };
    logging::init(&config.log, config.log_format);
    let code = match action {
        RetentionCommand::Sweep { at } => retention_admin::sweep(&config, at.as_deref()),
    };
    ExitCode::from(code)
}

fn analytics_command(config_file: Option<PathBuf>, action: AnalyticsCommand) -> ExitCode {
    let config = match Config::load(config_file.as_deref()) {
        Ok(config) => config,
        Err(problems) => return refuse(&problems),
    };
    logging::init(&config.log, config.log_format);
    let code = match action {
        AnalyticsCommand::Publish { at } => analytics_admin::publish(&config, at.as_deref()),
    };
    ExitCode::from(code)
}

fn outbox_command(config_file: Option<PathBuf>, action: OutboxCommand) -> ExitCode {
    let mut config = match Config::load(config_file.as_deref()) {
        Ok(config) => config,
        Err(problems) => return refuse(&problems),
    };
    logging::init(&config.log, config.log_format);
    let code = match action {
        OutboxCommand::Inspect { data_dir } => {
            config.data_dir = data_dir.unwrap_or(config.data_dir);
            outbox_admin::inspect(&config)
        }
        OutboxCommand::Drain { data_dir } => {
            config.data_dir = data_dir.unwrap_or(config.data_dir);
            outbox_admin::drain(&config)
        }
    };
    ExitCode::from(code)
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
    let settings = match Settings::load(config_file.as_deref()) {
        Ok(settings) => settings,
        Err(problems) => {
            for problem in &problems {
                eprintln!("appeal-gateway: configuration error: {problem}");
            }
            // The MTA keeps the message until the configuration is fixed.
            return ExitCode::from(ingest_email::EXIT_TEMPFAIL);
        }
    };
    logging::init(&settings.config.log, settings.config.log_format);
    ExitCode::from(ingest_email::run(&settings))
}

fn agents_command(config_file: Option<PathBuf>, action: AgentsCommand) -> ExitCode {
    let config = match Config::load(config_file.as_deref()) {
        Ok(config) => config,
        Err(problems) => return refuse(&problems),
    };
    let action = match action {
        AgentsCommand::Add {
            id,
            role,
            token,
            name,
        } => {
            let password = match std::env::var("GATEWAY_AGENT_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    let _ = std::io::stdin().read_line(&mut line);
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            AgentsAction::Add {
                id,
                role,
                password,
                token,
                name,
            }
        }
        AgentsCommand::Update { id, name } => AgentsAction::Update { id, name },
        AgentsCommand::Disable { id } => AgentsAction::Disable { id },
        AgentsCommand::Lock { id } => AgentsAction::Lock { id, locked: true },
        AgentsCommand::Unlock { id } => AgentsAction::Lock { id, locked: false },
        AgentsCommand::List => AgentsAction::List,
    };
    ExitCode::from(agents_admin::run(&config, action))
}

/// Refuses the start with one line per problem.
fn refuse(problems: &[String]) -> ExitCode {
    for problem in problems {
        eprintln!("appeal-gateway: configuration error: {problem}");
    }
    ExitCode::from(2)
}

fn serve(config_file: Option<PathBuf>) -> ExitCode {
    let settings = match Settings::load(config_file.as_deref()) {
        Ok(settings) => settings,
        Err(problems) => return refuse(&problems),
    };
    logging::init(&settings.config.log, settings.config.log_format);
    let bind = settings.config.bind;
    let listener = match std::net::TcpListener::bind(bind) {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("appeal-gateway: GATEWAY_BIND: cannot serve: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(bind = %bind, "binding");
    match app::serve(settings, listener) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e @ app::ServeError::Bind(_)) => {
            eprintln!("appeal-gateway: {e}");
            ExitCode::FAILURE
        }
        Err(e) => refuse(&[e.to_string()]),
    }
}
