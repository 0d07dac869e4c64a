//! How the email channel is built: mail piped in by the MTA (`ingest-email`) waits in
//! the spool this process owns and is always taken; the IMAP poller runs when
//! `GATEWAY_IMAP_URL` is set; acknowledgements and the way back when `GATEWAY_SMTP_URL`
//! and `GATEWAY_MAIL_FROM` are.

use std::sync::Arc;

use super::channel::EmailChannel;
use super::confirm::Confirmations;
use super::settings::{MailConfig, Settings};
use super::{imap, spool};
use crate::appeal::ReplyChannel;
use crate::channels::component::{BuildError, Built, Component, Wiring, section};
use crate::config::Config;
use crate::pipeline::Gateway;
use crate::supervisor::Supervisor;

/// The email channel with its settings checked.
pub(crate) struct Mail(MailConfig);

impl Component for Mail {
    fn load(config: &Config, problems: &mut Vec<String>) -> Option<Mail> {
        let settings: Settings = section(config, problems)?;
        Some(Mail(settings.check(problems)))
    }

    fn build(
        self: Box<Self>,
        wiring: &Wiring<'_>,
        tasks: &mut Supervisor,
    ) -> Result<Built, BuildError> {
        let mail = self.0;
        let config = wiring.config;
        let email = EmailChannel {
            data_dir: config.data_dir.clone(),
            acks: mail.acks.clone(),
            trusted: mail.trusted.clone(),
            confirmations: Arc::new(Confirmations::new(wiring.redis)),
        };
        let stopped = tasks.shutdown().receiver();
        tasks.spawn(
            "email-spool",
            spool::run(
                spool::Spool::new(&config.data_dir),
                email.clone(),
                Arc::clone(wiring.gateway),
                stopped.clone(),
            ),
        );
        if let Some(imap) = imap_poller(&mail, email, Arc::clone(wiring.gateway), stopped) {
            tasks.spawn("email-imap", imap);
        }
        Ok(Built {
            routes: None,
            reply: mail.acks.map(|acks| {
                (
                    ReplyChannel::Email,
                    Arc::new(acks) as Arc<dyn crate::notify::route::Route>,
                )
            }),
        })
    }
}

/// The IMAP poller of `serve`, if `GATEWAY_IMAP_URL` is set; each way of the channel
/// that lacks its settings says once that it is off.
fn imap_poller(
    mail: &MailConfig,
    channel: EmailChannel,
    gateway: Arc<Gateway>,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> Option<impl std::future::Future<Output = ()> + use<>> {
    if mail.acks.is_none() {
        tracing::info!("acknowledgements by email are off: GATEWAY_SMTP_URL is not set");
    }
    if mail.trusted.is_empty() {
        tracing::info!(
            "GATEWAY_MAIL_TRUSTED_AUTHSERV is not set: every subject request by mail waits for its sender's confirmation"
        );
    }
    let Some(target) = mail.imap.clone() else {
        tracing::info!("email intake over IMAP is off: GATEWAY_IMAP_URL is not set");
        return None;
    };
    Some(imap::run(
        target,
        mail.imap_processed_folder.clone(),
        channel,
        gateway,
        shutdown,
    ))
}
