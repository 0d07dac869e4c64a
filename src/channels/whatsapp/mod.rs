//! WhatsApp, over the WhatsApp Business Cloud API: a thin transport of the bot dialogue
//! ([`crate::dialogue`]).
//!
//! - `GET /whatsapp/webhook`: the verification handshake (`hub.mode=subscribe`,
//!   `hub.verify_token`, `hub.challenge` echoed back).
//! - `POST /whatsapp/webhook`: `X-Hub-Signature-256: sha256=<hex>` is the HMAC-SHA256 of
//!   the raw body under the app secret, checked in constant time before anything is
//!   parsed; unsigned or wrongly signed: 401 and nothing processed. Messages
//!   (`entry[].changes[].value.messages[]`: text, image, location, interactive button
//!   and list replies) go to the dialogue; voice notes, videos, stickers, documents and
//!   contacts get one short answer saying why they cannot be taken, and the question
//!   again. Reactions, system notices (a number change is never answered at the old
//!   number), edits and status webhooks (`statuses[]`) are counted by kind
//!   (`gateway_bot_ignored_total`) and never answered; a message without a usable
//!   sender is logged by kind and id only.
//! - An image is claimed (dedupe) before anything is downloaded and fetched after the
//!   webhook has answered, with whatever the chat sends meanwhile waiting behind it
//!   ([`crate::dialogue::deferred`]).
//! - A long choice (the catalogue) is an interactive list: up to ten rows, else the
//!   first nine and "Other…" (`more:<index>`) bringing the rest; rows are numbered as
//!   the choices, so typing a number keeps working.
//! - Replies and buttons go out through `POST /{phone-number-id}/messages` on the Graph
//!   API, in order, by one sender task, after the webhook has been answered.
//!
//! The webhook answers 200 only once every message in it is handled (an appeal durable
//! in the outbox); a failure answers 500 so that Meta retries, and the dedupe lets only
//! the messages not yet taken through.

//!
//! The files: `webhook` (the two routes), `transport` (the dialogue in, replies out),
//! `body` (a reply as the Graph API takes it); [`route`] (answers of the case system),
//! [`settings`] and [`component`].

use actix_web::web;

mod body;
pub(crate) mod component;
pub(crate) mod route;
pub(crate) mod settings;
mod transport;
mod webhook;

pub(crate) use self::transport::Whatsapp;
use self::webhook::{verify, webhook};

/// Registers `GET` and `POST /whatsapp/webhook` when the line is on.
pub(crate) fn configure(cfg: &mut web::ServiceConfig, whatsapp: Option<web::Data<Whatsapp>>) {
    if let Some(whatsapp) = whatsapp {
        cfg.app_data(whatsapp)
            .route("/whatsapp/webhook", web::get().to(verify))
            .route("/whatsapp/webhook", web::post().to(webhook));
    }
}

#[cfg(test)]
mod tests;
