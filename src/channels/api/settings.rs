//! The integrators' API has no settings of its own (its tokens and body limit are the
//! core's); this is how the channel is built.

use std::sync::Arc;

use actix_web::web;

use super::Api;
use crate::channels::component::{BuildError, Built, Component, Wiring};
use crate::config::Config;
use crate::supervisor::Supervisor;

/// The API's (empty) settings.
pub(crate) struct Settings;

impl Component for Settings {
    fn load(_: &Config, _: &mut Vec<String>) -> Option<Settings> {
        Some(Settings)
    }

    fn build(
        self: Box<Self>,
        wiring: &Wiring<'_>,
        _: &mut Supervisor,
    ) -> Result<Built, BuildError> {
        let api = web::Data::new(Api {
            gateway: Arc::clone(wiring.gateway),
            tokens: Arc::clone(wiring.tokens),
            max_body: wiring.config.max_body_bytes,
            store: wiring.store.clone(),
        });
        Ok(Built::routes(move |cfg| super::configure(cfg, api.clone())))
    }
}
