//! The bot dialogue: one conversation that takes an appeal in a few messages, shared by
//! the Telegram and WhatsApp transports (`crate::channels::telegram`,
//! `crate::channels::whatsapp`), which only turn their provider's payloads into
//! [`Inbound`] events and [`Reply`]s into provider calls.
//!
//! The conversation is a state machine ([`Step`]): language → consent (regulation one tap
//! away, "I agree" / "No"; `method: bot_button`) → category (the catalogue as buttons) →
//! text → location (shared or typed) → optional photos → contact (Telegram's "share
//! phone"; WhatsApp's sender number) → name → summary ("Send" / "Edit" / "Cancel") →
//! tracking number. Commands work at any step: `/start`, `/cancel`, `/status`,
//! `/language`, `/revoke` (withdraw consent, regulation 4.1 and 9.2), `/stop` (no more
//! notifications, regulation 6.2).
//!
//! Every change is stored in Redis ([`store`]) before the transport answers, so the
//! next update of the chat continues the conversation on whichever instance it lands,
//! and two updates of one chat are applied one after the other. A draft untouched for
//! 24 hours expires ([`conversation::ABANDONED_AFTER`]; regulation 6.9: keep nothing longer than the
//! purpose needs), and "No" to consent keeps nothing at all.
//!
//! The files, in the order an event goes through them: `engine` (the chat's lock, the
//! stored conversation, a delivery taken once; `error`, why it failed), `steps` (one
//! function per step of the conversation), `commands` (at any step), `send` (the draft
//! becomes an appeal); what they share: `conversation` (the stored state), `event` (what a transport hands in),
//! `reply` (what goes back) and `prompt` (each step's question and buttons).

mod commands;
mod conversation;
pub(crate) mod dedupe;
pub(crate) mod deferred;
mod engine;
mod error;
mod event;
pub(crate) mod photo;
mod prompt;
mod questions;
mod reply;
mod send;
mod steps;
pub mod store;

pub use self::conversation::Conversation;
pub(crate) use self::engine::{Engine, first_time, user_key};
pub(crate) use self::error::EngineError;
pub(crate) use self::event::{Event, Inbound, PhotoResult, Unsupported};
pub(crate) use self::reply::{Ask, Button, ListLabels, Reply};

#[cfg(test)]
use self::commands::command_of;
#[cfg(test)]
use self::conversation::Step;
#[cfg(test)]
use self::engine::turn;
#[cfg(test)]
use crate::appeal::Channel;
#[cfg(test)]
use crate::pipeline::Gateway;
#[cfg(test)]
use std::time::Duration;

#[cfg(test)]
mod tests;
