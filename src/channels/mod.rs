//! Channel adapters: each speaks one channel's protocol and produces a channel-neutral
//! [`crate::intake::Intake`]. The pipeline stages know nothing of them.

pub mod agent_console;
pub mod api;
pub mod email;
pub mod telegram;
pub mod web_form;
pub mod whatsapp;
