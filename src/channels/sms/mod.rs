//! SMS, outbound only: the way back to a citizen who left a phone number. The provider
//! is chosen by `GATEWAY_SMS_PROVIDER` and each speaks its own documented protocol:
//!
//! - `settings.rs` — the keys each provider needs and the `Component`;
//! - `route.rs` — the notifier's route: length, quiet hours, the provider;
//! - `provider.rs` — the switch between the providers;
//! - `json.rs` — the generic `{"sender","to","text"}` JSON post with a bearer token;
//! - `mobizon.rs` — Mobizon (mobizon.kz);
//! - `smsc.rs` — SMSC.kz;
//! - `smsc_status.rs` — SMSC.kz's delivery reports, asked by a status poll;
//! - `delivery.rs` — Mobizon's delivery reports (its webhook);
//! - `answer.rs` — what their answers come down to: taken (with the provider's message
//!   id), retry, or give up with a reason code;
//! - `length.rs` — UCS-2 / GSM 03.38 parts and the cut with the status link.

mod answer;
mod delivery;
mod json;
mod length;
mod mobizon;
mod provider;
mod route;
mod settings;
mod smsc;
mod smsc_status;

pub(crate) use settings::Texts;
