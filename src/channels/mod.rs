//! One folder per channel, each a [`component::Component`]: its settings are read and
//! checked with the core's, then built into routes, a reply route and background tasks.
//! Each holds its typed settings, its routes
//! (`configure(&mut ServiceConfig)`), its inbound adapter (protocol in, an
//! [`crate::intake::Intake`] out) and, where the channel carries answers back, its
//! outbound [`crate::notify::route::Route`]. Channels use the core, the pipeline, the notifier's
//! trait, the dialogue engine and the HTTP kit; nothing below them knows they exist.

pub mod agent_console;
pub(crate) mod api;
pub(crate) mod component;
pub(crate) mod email;
pub(crate) mod open311;
pub(crate) mod questions;
pub(crate) mod shared;
pub(crate) mod sms;
pub(crate) mod telegram;
pub(crate) mod web_form;
pub(crate) mod whatsapp;
