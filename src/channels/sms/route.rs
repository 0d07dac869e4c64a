//! The SMS route the notifier uses: the text fitted to `GATEWAY_SMS_MAX_PARTS`, sent
//! through the configured provider, and quiet hours (Almaty time) for texts that are
//! not urgent. The fixed sender name is part of each provider's settings.

use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::length::fit;
use super::provider::Provider;
use super::smsc::Smsc;
use super::smsc_status::Poll;
use crate::notify::route::{Context, Route, RouteError};

/// The SMS route.
#[derive(Clone)]
pub(crate) struct Sms {
    client: reqwest::Client,
    provider: Provider,
    max_parts: usize,
    quiet_hours: Option<(u8, u8)>,
    /// Where a sent message waits for its status to be asked (SMSC, see `smsc_status`).
    poll: Option<Poll>,
}

impl Sms {
    pub(crate) fn new(provider: Provider, max_parts: usize) -> Sms {
        // Mobizon gives its handler 5 s; a provider slower than 10 s is retried.
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Sms {
            client,
            provider,
            max_parts,
            quiet_hours: None,
            poll: None,
        }
    }

    /// The same route, waiting out `hours` (Almaty time) for non-urgent texts.
    pub(crate) fn quiet(mut self, hours: Option<(u8, u8)>) -> Sms {
        self.quiet_hours = hours;
        self
    }

    /// The same route, leaving each message SMSC takes for `poll` to ask about.
    pub(crate) fn polled(mut self, poll: Poll) -> Sms {
        self.poll = Some(poll);
        self
    }

    /// The SMSC account, when SMSC is the provider (its reports are polled).
    pub(crate) fn smsc(&self) -> Option<&Smsc> {
        match &self.provider {
            Provider::Smsc(smsc) => Some(smsc),
            _ => None,
        }
    }

    /// The provider's name, for the start-up line.
    pub(crate) fn provider_name(&self) -> &'static str {
        self.provider.name()
    }

    /// Sends one text (cut with the status link past `max_parts`); the provider's
    /// message id, when it gives one, goes to `ctx` for its delivery report.
    pub(crate) async fn send(
        &self,
        to: &str,
        text: &str,
        ctx: &Context<'_>,
    ) -> Result<(), RouteError> {
        let text = fit(text, self.max_parts, ctx.status_link);
        let accepted = self.provider.send(&self.client, to, &text).await?;
        if let Some(id) = accepted.message_id {
            if let Some(poll) = &self.poll {
                poll.watch(&id, to).await;
            }
            ctx.sent_as(&id);
        }
        Ok(())
    }
}

impl Route for Sms {
    fn send<'a>(
        &'a self,
        address: &'a str,
        text: &'a str,
        ctx: &'a Context<'a>,
    ) -> BoxFuture<'a, Result<(), RouteError>> {
        Sms::send(self, address, text, ctx).boxed()
    }

    fn quiet_hours(&self) -> Option<(u8, u8)> {
        self.quiet_hours
    }
}
