//! The web form's settings, their checks, and how the channel is built from them.

use crate::http::csrf::CsrfKey;
use crate::http::form::Uploads;
use crate::http::ratelimit::FormLimits;
use actix_web::web;
use std::sync::Arc;

use super::state::WebForm;
use crate::channels::component::{BuildError, Built, Component, Wiring, section};
use crate::config::Config;
use crate::supervisor::Supervisor;

/// The web form's settings.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct Settings {
    /// Form submissions per form session (the `oa_sid` cookie) and minute
    /// (`GATEWAY_FORM_RATE_PER_MINUTE`).
    #[serde(
        default = "default_form_rate",
        deserialize_with = "crate::config::number"
    )]
    pub(crate) form_rate_per_minute: u32,
    /// Form submissions per client address and minute, all sessions together
    /// (`GATEWAY_FORM_ADDRESS_RATE_PER_MINUTE`): higher than the per-session limit, since
    /// a carrier's NAT puts a whole neighbourhood of phones behind one address.
    #[serde(
        default = "default_form_address_rate",
        deserialize_with = "crate::config::number"
    )]
    pub(crate) form_address_rate_per_minute: u32,
    /// Bytes of form uploads in flight across the process, at most
    /// (`GATEWAY_UPLOAD_BYTES_IN_FLIGHT`); a form beyond it gets 503 with `Retry-After`.
    #[serde(
        default = "default_upload_bytes_in_flight",
        deserialize_with = "crate::config::number"
    )]
    pub(crate) upload_bytes_in_flight: usize,
    /// Uploads one client (an address; an IPv6 /64) may have in flight at once
    /// (`GATEWAY_UPLOAD_MAX_PER_CLIENT`, 1–100, default 2); beyond, 503 with
    /// `Retry-After`. One address's slow uploads could hold the whole budget (issue 34).
    #[serde(
        default = "default_upload_max_per_client",
        deserialize_with = "crate::config::number"
    )]
    pub(crate) upload_max_per_client: usize,
    /// The slowest average rate of a form body, after the grace
    /// (`GATEWAY_UPLOAD_MIN_BYTES_PER_SEC`).
    #[serde(
        default = "default_upload_min_rate",
        deserialize_with = "crate::config::number"
    )]
    pub(crate) upload_min_bytes_per_sec: u64,
    /// Seconds a form body may take before its rate counts (`GATEWAY_UPLOAD_GRACE_SECS`).
    #[serde(
        default = "default_upload_grace",
        deserialize_with = "crate::config::number"
    )]
    pub(crate) upload_grace_secs: u64,
    /// The tile server of the form's map (`GATEWAY_MAP_TILES_URL`, with `{z}`, `{x}`,
    /// `{y}`); none by default, and then no map (see `super::map`).
    #[serde(default)]
    pub(crate) map_tiles_url: Option<String>,
    /// The attribution its licence asks for (`GATEWAY_MAP_ATTRIBUTION`, HTML).
    #[serde(default)]
    pub(crate) map_attribution: String,
}

impl Settings {
    /// The form's map, when a tile server is named and can serve.
    fn map(&self) -> Option<Result<super::map::Map, String>> {
        let tiles = self
            .map_tiles_url
            .as_deref()
            .filter(|t| !t.trim().is_empty())?;
        Some(super::map::Map::new(tiles.trim(), &self.map_attribution))
    }
}

fn default_upload_bytes_in_flight() -> usize {
    256 * 1024 * 1024
}

fn default_upload_max_per_client() -> usize {
    2
}

fn default_upload_min_rate() -> u64 {
    10 * 1024
}

fn default_upload_grace() -> u64 {
    10
}

fn default_form_rate() -> u32 {
    10
}

fn default_form_address_rate() -> u32 {
    60
}

impl WebForm {
    /// Uploads are spooled under `data_dir/attachments/incoming` (created here).
    pub(crate) fn new(settings: &Settings, wiring: &Wiring<'_>) -> std::io::Result<WebForm> {
        let data_dir = &wiring.config.data_dir;
        let shared = Some(Arc::clone(wiring.shared_limits));
        let gateway = Arc::clone(wiring.gateway);
        let uploads = Uploads::new(
            settings.upload_bytes_in_flight,
            settings.upload_max_per_client,
            settings.upload_min_bytes_per_sec,
            std::time::Duration::from_secs(settings.upload_grace_secs),
            &data_dir.join("attachments").join("incoming"),
            gateway.metrics().upload_bytes_in_flight.clone(),
        )?;
        Ok(WebForm {
            // Checked at load: a map that cannot serve stopped the start.
            map: settings.map().and_then(Result::ok),
            uploads,
            csrf: CsrfKey::derive(gateway.deployment_secret(), wiring.cookie_secure),
            limiter: FormLimits::per_minute(
                settings.form_rate_per_minute,
                settings.form_address_rate_per_minute,
                shared.clone(),
            ),
            status_limiter: Arc::clone(wiring.status_limiter),
            store: wiring.store.clone(),
            redis: wiring.redis.waiting(crate::redis_handle::PAGE_WAIT),
            gateway,
        })
    }
}

impl Component for Settings {
    fn load(config: &Config, problems: &mut Vec<String>) -> Option<Settings> {
        let settings: Settings = section(config, problems)?;
        if settings.form_rate_per_minute == 0 || settings.form_rate_per_minute > 100_000 {
            problems.push("GATEWAY_FORM_RATE_PER_MINUTE: between 1 and 100000".to_owned());
        }
        if settings.form_address_rate_per_minute == 0
            || settings.form_address_rate_per_minute > 1_000_000
        {
            problems.push("GATEWAY_FORM_ADDRESS_RATE_PER_MINUTE: between 1 and 1000000".to_owned());
        }
        if !(1..=100).contains(&settings.upload_max_per_client) {
            problems.push("GATEWAY_UPLOAD_MAX_PER_CLIENT: between 1 and 100".to_owned());
        }
        if let Some(Err(problem)) = settings.map() {
            problems.push(problem);
        }
        Some(settings)
    }

    fn build(
        self: Box<Self>,
        wiring: &Wiring<'_>,
        _: &mut Supervisor,
    ) -> Result<Built, BuildError> {
        let web_form = web::Data::new(WebForm::new(&self, wiring)?);
        Ok(Built::routes(move |cfg| {
            super::configure(cfg, web_form.clone())
        }))
    }
}
