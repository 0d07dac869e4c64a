//! # Open Almaty appeal-intake gateway
//!
//! Every channel through which the people of Almaty write to their city ends here: the
//! gateway turns each message into one normalized appeal, keeps only the personal fields
//! the city's personal-data regulation allows (regulation 5.1), records the citizen's
//! consent and hands the appeal to the Redis streams the case system reads.
//!
//! The modules, in the order an appeal flows through them:
//!
//! - [`http`] — the actix-web server: the intake API, the citizens' pages, the agent
//!   consoles, the webhooks, health, readiness, metrics.
//! - [`pipeline`] — the one entry point of every channel: accept, store, count.
//! - [`intake`] — the channel-neutral [`intake::Intake`] a channel adapter produces, and
//!   the one function that turns it into an accepted appeal.
//! - [`normalize`] — Unicode clean-up, phones to E.164, emails, IIN check digit, language.
//! - [`policy`] — the regulation's allowlist and each channel's narrower one, read from
//!   `channels/*.toml`; drops what is not allowed and records the dropped *names*.
//! - [`channels`] — one adapter per channel: its protocol in, an `Intake` out.
//! - [`agents`] — call-center and front-office agents: accounts (Argon2id), sessions,
//!   announced calls, the duplicates hint's index.
//! - [`dialogue`] — the bot conversation shared by Telegram and WhatsApp: a state
//!   machine persisted in its own embedded store, exactly-once intake of deliveries.
//! - [`catalogue`] — the city's service catalogue (categories of appeals).
//! - [`consent`] — the consent record and the regulation's version hash.
//! - [`subject`] — pseudonymous subject keys and the data subject's requests.
//! - [`appeal`] — the `appeals.v1` message itself (the contract), and its tracking number.
//! - [`attachments`] — citizens' photos: type by content, metadata stripped,
//!   content-addressed on disk.
//! - [`analytics`] — the `appeal_stats` message, with no personal data.
//! - [`outbox`] — the durable embedded store: group commit, idempotency keys, the
//!   hash-chained consent ledger.
//! - [`queue`] — the forwarder from the outbox to the Redis streams, exactly once.
//! - [`notify`] — the way back: replies of the case system delivered to citizens.
//! - [`status`] — an appeal's public status and legal deadline.
//! - [`schemas`] — JSON Schemas of every stream message, generated from the types.
//! - [`config`], [`i18n`], [`metrics`], [`logging`] — the service's plumbing.

pub mod agents;
pub mod analytics;
pub mod appeal;
pub mod attachments;
pub mod catalogue;
pub mod channels;
pub mod config;
pub mod consent;
pub mod dialogue;
pub mod http;
pub mod i18n;
pub mod intake;
pub mod logging;
pub mod metrics;
pub mod normalize;
pub mod notify;
pub mod openapi;
pub mod outbox;
pub mod pipeline;
pub mod policy;
pub mod queue;
pub mod schemas;
pub mod status;
pub mod subject;
