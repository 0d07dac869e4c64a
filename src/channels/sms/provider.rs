//! Which SMS provider the gateway speaks to (`GATEWAY_SMS_PROVIDER`): each is a file of
//! its own that speaks that provider's documented protocol; this is the one switch.

use super::answer::Accepted;
use super::json::Json;
use super::mobizon::Mobizon;
use super::smsc::Smsc;
use crate::notify::route::RouteError;

/// The configured provider.
#[derive(Debug, Clone)]
pub(crate) enum Provider {
    Json(Json),
    Mobizon(Mobizon),
    Smsc(Smsc),
}

impl Provider {
    /// Sends `text` to `to` (E.164) as this provider takes it.
    pub(crate) async fn send(
        &self,
        client: &reqwest::Client,
        to: &str,
        text: &str,
    ) -> Result<Accepted, RouteError> {
        match self {
            Provider::Json(p) => p.send(client, to, text).await,
            Provider::Mobizon(p) => p.send(client, to, text).await,
            Provider::Smsc(p) => p.send(client, to, text).await,
        }
    }

    /// The provider's name, as `GATEWAY_SMS_PROVIDER` spells it.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Provider::Json(_) => "json",
            Provider::Mobizon(_) => "mobizon",
            Provider::Smsc(_) => "smsc",
        }
    }
}
