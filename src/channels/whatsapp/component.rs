//! How the WhatsApp line is built: off when none of its secrets is set; on, its webhook
//! routes, its reply route (the Cloud API) and its sender and worker tasks.

use std::sync::Arc;

use actix_web::web;

use super::route::WhatsappRoute;
use super::settings::{Settings, WhatsappConfig};
use super::transport::Whatsapp;
use crate::appeal::ReplyChannel;
use crate::channels::component::{BuildError, Built, Component, Wiring, section};
use crate::config::Config;
use crate::supervisor::Supervisor;

/// The WhatsApp line, on (`Some`) or off.
pub(crate) struct Line(Option<WhatsappConfig>);

impl Component for Line {
    fn load(config: &Config, problems: &mut Vec<String>) -> Option<Line> {
        let settings: Settings = section(config, problems)?;
        Some(Line(WhatsappConfig::check(&settings, problems)))
    }

    fn build(
        self: Box<Self>,
        wiring: &Wiring<'_>,
        tasks: &mut Supervisor,
    ) -> Result<Built, BuildError> {
        let Some(config) = self.0 else {
            tracing::info!("whatsapp channel off: GATEWAY_WHATSAPP_* settings are not set");
            return Ok(Built::default());
        };
        let reply: Arc<dyn crate::notify::route::Route> = Arc::new(WhatsappRoute::new(&config));
        let whatsapp = web::Data::new(Whatsapp::new(
            config,
            Arc::clone(wiring.engine),
            Arc::clone(wiring.dedupe),
            Arc::clone(wiring.deferred),
            Arc::clone(wiring.gateway),
            wiring.redis,
        ));
        whatsapp.clone().into_inner().start(tasks);
        Ok(Built {
            routes: Some(Arc::new(move |cfg: &mut web::ServiceConfig| {
                super::configure(cfg, Some(whatsapp.clone()))
            })),
            reply: Some((ReplyChannel::Whatsapp, reply)),
        })
    }
}
