//! # Open Almaty appeal-intake gateway
//!
//! Every channel through which the people of Almaty write to their city ends here: the
//! gateway turns each message into one normalized appeal, keeps only the personal fields
//! the city's personal-data regulation allows (regulation 5.1), records the citizen's
//! consent and hands the appeal to the Redis streams the case system reads.
//!
//! Dependencies point inward only (`docs/architecture.md`; `tests/it/architecture.rs`
//! fails on a cycle): **core** ← **pipeline** ← **channels** ← **app** ← `main.rs`.
//!
//! The core, in the order an appeal flows through it:
//!
//! - [`intake`] — the channel-neutral `Intake` a channel produces, and the one function
//!   that turns it into an accepted appeal; [`field_error`] is how every stage says what
//!   is wrong with a field.
//! - [`normalize`] — Unicode clean-up, phones to E.164, emails (their domains by
//!   [`email_domain`]: IDNA, one script a label), IIN check digit, language.
//! - [`free_text_guard`] — card numbers, IBANs and other people's IINs masked in the
//!   free text, special categories flagged (issue 16).
//! - [`policy`] — the regulation's allowlist and each channel's narrower one, read from
//!   `channels/*.toml`; drops what is not allowed and records the dropped *names*.
//! - [`catalogue`] — the city's service catalogue (categories of appeals, their
//!   notices and emergency stoppers); [`attributes`] — a category's questions and the
//!   citizen's answers, typed as Open311 attributes; [`banner`] — the city-wide notice an
//!   operator sets for a time, shared by every instance.
//! - [`consent`] — the consent record and the regulation's version hash.
//! - [`subject`] — pseudonymous subject keys and the data subject's requests;
//!   [`subject_fulfilment`] — erasure, withdrawal and access carried out on what the
//!   gateway holds, reported on `subject.v1`.
//! - [`appeal`] — the `appeals.v1` message itself (the contract); [`message`] — the
//!   other messages a channel hands the pipeline (an email's addition, a bounce, a
//!   quarantined mail), each typed with its stream; [`tracking`] — the
//!   short number a citizen is given, from blocks no two processes share
//!   ([`tracking::issuer`]); [`district`] — Almaty's districts, from a form or
//!   an address.
//! - [`attachments`] — citizens' photos: type by content, rebuilt from their pixels
//!   within limits, pending until their appeal is accepted, content-addressed on disk.
//! - [`analytics`] — the `appeal_stats` message of `analytics.v1` (deprecated);
//!   [`aggregates`] — `analytics.v2`: counts per hour and day with k-anonymity.
//! - [`outbox`] — the durable log of what was accepted and not yet forwarded: segment
//!   files appended with group commit, a ledger of what was forwarded, the
//!   hash-chained consent ledger; a forwarded record leaves the disk with its segment.
//! - [`idempotency`] — `Idempotency-Key` claims in Redis, shared by every instance.
//! - [`stream`] — the contract's stream names; [`queue`] — the forwarder from the outbox
//!   to them, exactly once.
//! - [`redis_target`] — `REDIS_URL` (single server, Sentinel, Cluster) into connections;
//!   [`redis_handle`] — the one handle every store is given (connection, keys, wait,
//!   [`redis_handle::Unavailable`]);
//!   [`keyspace`] — every Redis key: its name, type, time to live, writer and readers.
//! - [`deadline`] — Kazakhstan's working calendar and the terms the law counts in it;
//!   [`status`] — an appeal's public status and legal deadline.
//! - [`retention`] — stream entries trimmed once past their retention and acknowledged by
//!   every consumer group; the consent ledger's checkpoint; photos past their retention
//!   or fetched long enough ago; the outbox rewritten.
//! - [`config`], [`i18n`], [`metrics`], [`logging`], [`clock`] (and Almaty's UTC+5),
//!   [`mac`] (HMAC-SHA256, once), [`supervisor`] (every background task and the one
//!   shutdown signal) — the plumbing;
//!   [`trusted_proxies`] — whose `X-Forwarded-For` names the client.
//!
//! Above the core:
//!
//! - [`pipeline`] — `Gateway`, the one writer to the outbox: appeals, subject requests,
//!   additions and quarantined messages, counted in the metrics; [`consultation`] — calls
//!   to 1308 answered on the spot: no appeal, counted on `analytics.v2`.
//! - [`notify`] — the way back: the case system's replies delivered through the
//!   [`notify::route::Route`] each channel provides, and the acknowledgement a contact
//!   the citizen typed gets at intake, with the code that confirms it.
//! - [`dialogue`] — the bot conversation shared by Telegram and WhatsApp.
//! - [`http`] — the HTTP kit every channel uses: problems, extractors, pages, CSRF,
//!   the client address, rate limits shared by every instance.
//! - [`channels`] — one folder per channel: settings, routes, inbound adapter, outbound
//!   route.
//! - [`app`] — assembles the service from the configuration (`app::serve`), shared by
//!   `serve`, `ingest-email`, `agents …` and `outbox inspect|drain`; health, readiness
//!   and metrics endpoints.
//! - [`bench`] — the hot functions handed to the Criterion benches in `benches/`
//!   (hidden: not an API).
//! - [`schemas`] — JSON Schemas of every stream message, generated from the types.

pub(crate) mod aggregates;
pub(crate) mod analytics;
pub mod app;
pub(crate) mod appeal;
pub(crate) mod attachments;
pub(crate) mod attributes;
pub mod banner;
#[doc(hidden)]
pub mod bench;
pub(crate) mod catalogue;
pub mod channels;
pub(crate) mod clock;
pub mod config;
pub(crate) mod consent;
pub(crate) mod consultation;
pub mod deadline;
pub mod dialogue;
pub(crate) mod district;
pub(crate) mod email_domain;
pub(crate) mod field_error;
pub(crate) mod free_text_guard;
pub(crate) mod http;
pub(crate) mod i18n;
pub(crate) mod idempotency;
pub(crate) mod intake;
pub(crate) mod keyspace;
pub mod logging;
pub(crate) mod mac;
pub(crate) mod message;
pub(crate) mod metrics;
pub(crate) mod normalize;
pub mod notify;
pub(crate) mod outbox;
#[cfg(test)]
mod photos_rebuilt;
pub(crate) mod pipeline;
pub(crate) mod policy;
#[cfg(test)]
mod properties;
pub(crate) mod queue;
pub(crate) mod redis_handle;
pub(crate) mod redis_target;
pub(crate) mod reply;
pub(crate) mod retention;
pub mod schemas;
pub(crate) mod status;
pub(crate) mod stream;
pub(crate) mod subject;
pub(crate) mod subject_fulfilment;
pub(crate) mod supervisor;
pub(crate) mod tracking;
pub(crate) mod trusted_proxies;
