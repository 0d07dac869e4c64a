//! The integration tests, one binary: each module is one channel or capability, as a
//! citizen, an agent or a consumer sees it; `support` (in `tests/support/`) starts the
//! real processes they talk to. One binary rather than one per file: the support code is
//! compiled and linked once, and the two test threads go from one file's tests to the
//! next without waiting for a file's slowest test. Run one file's tests with
//! `cargo test --test it web_form::`, one test with its full name.

#[path = "../support/mod.rs"]
mod support;

mod agent_api;
mod agent_console;
mod agent_console_shared;
mod allowlist;
mod analytics;
mod api_intake;
mod architecture;
mod catalogue_questions;
mod config;
mod confirm_contact;
mod crash_recovery;
mod deployment;
mod email_corpus;
mod email_imap;
mod email_ingest;
mod email_replies;
mod email_spool;
mod hardening;
mod idempotency;
mod many_instances;
mod no_pii_in_logs;
mod notify;
mod observability;
mod one_service;
mod open311;
mod openapi;
mod operations;
mod outbox_drain;
mod outbox_durability;
mod pages;
mod procedure;
mod properties;
mod receipts;
mod redis_cluster;
mod redis_sentinel;
mod request_errors;
mod retention;
mod schemas;
mod shutdown;
mod sms_providers;
mod subject_fulfilment;
mod subject_requests;
mod telegram;
mod trust;
mod validation;
mod web_form;
mod whatsapp;
