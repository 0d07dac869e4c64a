//! The Open311 channel's settings, their check, and how the channel is built from them.

use std::sync::Arc;

use actix_web::web;

use super::history::History;
use super::index::Index;
use super::state::{Open311, names};
use crate::channels::component::{BuildError, Built, Component, Wiring, section};
use crate::config::Config;
use crate::http::form::Uploads;
use crate::supervisor::Supervisor;

/// The Open311 channel's settings.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct Settings {
    /// The one `jurisdiction_id` this endpoint serves (`GATEWAY_OPEN311_JURISDICTION_ID`,
    /// default `open-almaty.kz`). A request naming another is refused; omitting it is
    /// fine.
    #[serde(default = "default_jurisdiction")]
    pub(crate) open311_jurisdiction_id: String,
    /// Integrators (names of `GATEWAY_API_TOKENS`) whose token may post requests as
    /// `api_key` (`GATEWAY_OPEN311_INTEGRATORS`, comma-separated). Empty (the default):
    /// nobody may post — an integrator is let in by name, never by default (issue 34: a
    /// budget-only token posted Open311 requests). Reads need no key.
    #[serde(default)]
    pub(crate) open311_integrators: String,
    /// Integrators whose `api_key` has the `read_private` right: they see the address and
    /// coordinates of a request (`GATEWAY_OPEN311_PRIVATE_READERS`, comma-separated;
    /// default empty: nobody, and the channel keeps no locations at all).
    #[serde(default)]
    pub(crate) open311_private_readers: String,
    /// `agency_responsible` of every request (`GATEWAY_OPEN311_AGENCY`, default `Akimat
    /// of Almaty`).
    #[serde(default = "default_agency")]
    pub(crate) open311_agency: String,
    /// The discovery document's contact (`GATEWAY_OPEN311_CONTACT`).
    #[serde(default = "default_contact")]
    pub(crate) open311_contact: String,
    /// A client retrying a POST without an `Idempotency-Key` (same `device_id` and
    /// description) gets the first answer within this window
    /// (`GATEWAY_OPEN311_RETRY_WINDOW_SECS`, default 600, 1 to 86400).
    #[serde(
        default = "default_retry_window",
        deserialize_with = "crate::config::number"
    )]
    pub(crate) open311_retry_window_secs: u64,
    /// Bytes of `media` photos being received by `POST requests` at once, across the
    /// process (`GATEWAY_OPEN311_UPLOAD_BYTES_IN_FLIGHT`, default 64 MiB, at least
    /// 10 MiB: one photo); a POST beyond it gets 503. Photos wait on disk, not in memory.
    #[serde(
        default = "default_upload_bytes_in_flight",
        deserialize_with = "crate::config::number"
    )]
    pub(crate) open311_upload_bytes_in_flight: usize,
}

fn default_jurisdiction() -> String {
    "open-almaty.kz".into()
}
fn default_agency() -> String {
    "Akimat of Almaty".into()
}
fn default_contact() -> String {
    "open-almaty@almatydc.kz".into()
}
fn default_retry_window() -> u64 {
    600
}
fn default_upload_bytes_in_flight() -> usize {
    64 * 1024 * 1024
}

impl Settings {
    /// Whether the index keeps a request's address and coordinates: only when some
    /// integrator may read them (`GATEWAY_OPEN311_PRIVATE_READERS`).
    pub(crate) fn keeps_locations(&self) -> bool {
        !names(&self.open311_private_readers).is_empty()
    }

    /// Checks the values; pushes one line per problem, naming the key.
    fn check(&self, problems: &mut Vec<String>) {
        if self.open311_jurisdiction_id.trim().is_empty() {
            problems.push("GATEWAY_OPEN311_JURISDICTION_ID: must not be empty".to_owned());
        }
        if self.open311_retry_window_secs == 0 || self.open311_retry_window_secs > 86_400 {
            problems.push("GATEWAY_OPEN311_RETRY_WINDOW_SECS: between 1 and 86400".to_owned());
        }
        if self.open311_upload_bytes_in_flight < crate::attachments::MAX_PHOTO_BYTES {
            problems.push(
                "GATEWAY_OPEN311_UPLOAD_BYTES_IN_FLIGHT: at least 10485760 (one photo)".to_owned(),
            );
        }
    }
}

impl Open311 {
    fn new(settings: &Settings, wiring: &Wiring<'_>) -> std::io::Result<Open311> {
        let config = wiring.config;
        // Photos are spooled beside the web form's, under the data directory.
        let uploads = Uploads::new(
            settings.open311_upload_bytes_in_flight,
            UPLOADS_PER_CLIENT,
            UPLOAD_MIN_BYTES_PER_SEC,
            UPLOAD_GRACE,
            &config.data_dir.join("attachments").join("incoming"),
            wiring.gateway.metrics().upload_bytes_in_flight.clone(),
        )?;
        Ok(Open311 {
            gateway: Arc::clone(wiring.gateway),
            tokens: Arc::clone(wiring.tokens),
            index: Index::new(wiring.redis, settings.keeps_locations()),
            history: History::new(wiring.redis, &config.instance),
            max_body: config.max_body_bytes,
            store: wiring.store.clone(),
            jurisdiction: settings.open311_jurisdiction_id.trim().to_owned(),
            integrators: names(&settings.open311_integrators),
            private_readers: names(&settings.open311_private_readers),
            agency: settings.open311_agency.clone(),
            contact: settings.open311_contact.clone(),
            retry_window_secs: settings.open311_retry_window_secs.max(1),
            base_url: format!("{}/open311/v2", config.public_url.trim_end_matches('/')),
            lookups: Arc::clone(wiring.status_limiter),
            uploads,
        })
    }
}

/// Uploads one client may have in flight at once.
const UPLOADS_PER_CLIENT: usize = 2;
/// The slowest average rate of a body after [`UPLOAD_GRACE`] (a slow-loris upload is
/// cut off).
const UPLOAD_MIN_BYTES_PER_SEC: u64 = 10 * 1024;
const UPLOAD_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

impl Component for Settings {
    fn load(config: &Config, problems: &mut Vec<String>) -> Option<Settings> {
        let settings: Settings = section(config, problems)?;
        settings.check(problems);
        Some(settings)
    }

    /// The Open311 routes; the requests of an `open311.redb` from before Redis held the
    /// index are imported once, in the background (cut at the shutdown: imported again
    /// at the next start); the reader of the status changes runs until the shutdown.
    fn build(
        self: Box<Self>,
        wiring: &Wiring<'_>,
        tasks: &mut Supervisor,
    ) -> Result<Built, BuildError> {
        let open311 = web::Data::new(Open311::new(&self, wiring)?);
        let importing = open311.clone();
        let data_dir = wiring.config.data_dir.clone();
        tasks.spawn("open311-import", async move {
            importing.index().import_legacy(&data_dir).await;
        });
        // The status changes of the requests, from `replies.v1` (issue 32).
        let history = open311.history().clone();
        tasks.spawn("open311-updates", history.run(tasks.shutdown()));
        Ok(Built::routes(move |cfg| {
            super::configure(cfg, open311.clone())
        }))
    }
}
