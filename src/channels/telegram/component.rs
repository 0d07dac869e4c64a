//! How the Telegram channel is built: off without a bot token; on, its webhook route,
//! its reply route (`sendMessage`) and its sender, worker and (polling) poller tasks.

use std::sync::Arc;

use actix_web::web;

use super::Telegram;
use super::route::TelegramRoute;
use super::settings::{Settings, TelegramConfig};
use crate::appeal::ReplyChannel;
use crate::channels::component::{BuildError, Built, Component, Wiring, section};
use crate::config::Config;
use crate::supervisor::Supervisor;

/// The Telegram channel, on (`Some`) or off.
pub(crate) struct Bot(Option<TelegramConfig>);

impl Component for Bot {
    fn load(config: &Config, problems: &mut Vec<String>) -> Option<Bot> {
        let settings: Settings = section(config, problems)?;
        Some(Bot(TelegramConfig::check(&settings, problems)))
    }

    fn build(
        self: Box<Self>,
        wiring: &Wiring<'_>,
        tasks: &mut Supervisor,
    ) -> Result<Built, BuildError> {
        let Some(config) = self.0 else {
            tracing::info!("telegram channel off: GATEWAY_TELEGRAM_BOT_TOKEN is not set");
            return Ok(Built::default());
        };
        let reply: Arc<dyn crate::notify::route::Route> = Arc::new(TelegramRoute::new(&config));
        let telegram = web::Data::new(Telegram::new(
            config,
            Arc::clone(wiring.engine),
            Arc::clone(wiring.dedupe),
            Arc::clone(wiring.deferred),
            Arc::clone(wiring.gateway),
        ));
        telegram.clone().into_inner().start(tasks);
        Ok(Built {
            routes: Some(Arc::new(move |cfg: &mut web::ServiceConfig| {
                super::configure(cfg, Some(telegram.clone()))
            })),
            reply: Some((ReplyChannel::Telegram, reply)),
        })
    }
}
