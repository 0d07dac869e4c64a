//! SMS through an HTTP SMS provider (`GATEWAY_SMS_API_URL`, `GATEWAY_SMS_API_KEY`,
//! `GATEWAY_SMS_SENDER`): one `POST` of `{"sender","to","text"}` as JSON with the key as a
//! bearer token — the shape most Kazakh SMS gateways accept; a provider with another
//! shape gets a small adapter here.
//!
//! Length: Cyrillic needs UCS-2, 70 characters in one SMS and 67 per part of a long one.
//! A text longer than `max_parts` parts is cut and ends with the link to the appeal's
//! status page, so nothing is silently lost.

use std::time::Duration;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use std::sync::Arc;

use crate::appeal::ReplyChannel;
use crate::channels::component::{BuildError, Built, Component, Wiring, section};
use crate::config::Config;
use crate::notify::route::{Context, Route, RouteError, classify};
use crate::supervisor::Supervisor;

/// The SMS route's settings; all three of URL, key and sender, or none (SMS off).
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct Settings {
    /// The provider's endpoint (`GATEWAY_SMS_API_URL`).
    #[serde(default)]
    pub(crate) sms_api_url: Option<String>,
    /// The provider's key, sent as a bearer token (`GATEWAY_SMS_API_KEY`).
    #[serde(default)]
    pub(crate) sms_api_key: Option<String>,
    /// The registered sender name (`GATEWAY_SMS_SENDER`).
    #[serde(default)]
    pub(crate) sms_sender: Option<String>,
    /// No SMS from the first hour to the second, Almaty time (UTC+5), unless urgent
    /// (`GATEWAY_SMS_QUIET_HOURS`, e.g. `22-8`, or `off`).
    #[serde(default = "default_quiet_hours")]
    pub(crate) sms_quiet_hours: String,
    /// Most SMS parts one text may take; a longer text is cut with the status link
    /// (`GATEWAY_SMS_MAX_PARTS`).
    #[serde(
        default = "default_max_parts",
        deserialize_with = "crate::config::number"
    )]
    pub(crate) sms_max_parts: u64,
}

fn default_quiet_hours() -> String {
    "22-8".to_owned()
}

fn default_max_parts() -> u64 {
    3
}

/// SMS as a channel: only a way back, on (`Some`) or off.
pub(crate) struct Texts(Option<Sms>);

impl Component for Texts {
    fn load(config: &Config, problems: &mut Vec<String>) -> Option<Texts> {
        let settings: Settings = section(config, problems)?;
        Some(Texts(settings.route(problems)))
    }

    fn build(self: Box<Self>, _: &Wiring<'_>, _: &mut Supervisor) -> Result<Built, BuildError> {
        let Some(sms) = self.0 else {
            tracing::info!(
                "SMS is off: GATEWAY_SMS_API_URL, GATEWAY_SMS_API_KEY and GATEWAY_SMS_SENDER are not set"
            );
            return Ok(Built::default());
        };
        Ok(Built {
            routes: None,
            reply: Some((ReplyChannel::Sms, Arc::new(sms) as Arc<dyn Route>)),
        })
    }
}

impl Settings {
    /// The route, when SMS is configured; every problem goes to `problems`.
    pub(crate) fn route(self, problems: &mut Vec<String>) -> Option<Sms> {
        let quiet_hours = match self.sms_quiet_hours.as_str() {
            "off" | "" => None,
            spec => {
                let hours = spec
                    .split_once('-')
                    .and_then(|(a, b)| {
                        Some((a.trim().parse::<u8>().ok()?, b.trim().parse::<u8>().ok()?))
                    })
                    .filter(|(a, b)| *a < 24 && *b < 24 && a != b);
                if hours.is_none() {
                    problems.push("GATEWAY_SMS_QUIET_HOURS: hours such as 22-8, or off".to_owned());
                }
                hours
            }
        };
        if self.sms_max_parts == 0 || self.sms_max_parts > 10 {
            problems.push("GATEWAY_SMS_MAX_PARTS: between 1 and 10".to_owned());
        }
        match (self.sms_api_url, self.sms_api_key, self.sms_sender) {
            (Some(url), Some(key), Some(sender)) => {
                if reqwest::Url::parse(&url).is_err() {
                    problems.push("GATEWAY_SMS_API_URL: not a URL".to_owned());
                    return None;
                }
                let max_parts = usize::try_from(self.sms_max_parts).unwrap_or(3);
                Some(Sms::new(url, key, sender, max_parts).quiet(quiet_hours))
            }
            (None, None, None) => None,
            _ => {
                problems.push(
                    "GATEWAY_SMS_API_URL: SMS needs GATEWAY_SMS_API_URL, GATEWAY_SMS_API_KEY and GATEWAY_SMS_SENDER together".to_owned(),
                );
                None
            }
        }
    }
}

/// GSM 03.38 basic characters (a text of only these fits 160 per SMS).
const GSM7: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";

/// Characters per part: (single, per part of a concatenated message).
fn capacity(text: &str) -> (usize, usize) {
    if text.chars().all(|c| GSM7.contains(c)) {
        (160, 153)
    } else {
        (70, 67)
    }
}

/// How many SMS parts a text takes.
pub(crate) fn parts(text: &str) -> usize {
    let (single, per_part) = capacity(text);
    let n = text.chars().count();
    if n <= single { 1 } else { n.div_ceil(per_part) }
}

/// The text as sent: whole if it fits `max_parts`, else cut at a word with `…` and the
/// status link.
pub(crate) fn fit(text: &str, max_parts: usize, status_link: &str) -> String {
    if parts(text) <= max_parts {
        return text.to_owned();
    }
    let (_, per_part) = capacity(&format!("{text}{status_link}"));
    let room = (per_part * max_parts).saturating_sub(status_link.chars().count() + 2);
    let mut cut: String = text.chars().take(room).collect();
    if let Some(space) = cut.rfind(' ') {
        cut.truncate(space);
    }
    format!("{}… {status_link}", cut.trim_end())
}

/// The SMS route.
#[derive(Clone)]
pub(crate) struct Sms {
    pub(crate) client: reqwest::Client,
    pub(crate) url: String,
    pub(crate) key: String,
    pub(crate) sender: String,
    pub(crate) max_parts: usize,
    pub(crate) quiet_hours: Option<(u8, u8)>,
}

impl Sms {
    pub(crate) fn new(url: String, key: String, sender: String, max_parts: usize) -> Sms {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Sms {
            client,
            url,
            key,
            sender,
            max_parts,
            quiet_hours: None,
        }
    }

    /// The same route, waiting out `hours` (Almaty time) for non-urgent texts.
    pub(crate) fn quiet(mut self, hours: Option<(u8, u8)>) -> Sms {
        self.quiet_hours = hours;
        self
    }

    /// Sends one text; 2xx is accepted, 5xx, 429 and network errors are worth a retry,
    /// other answers are final.
    pub(crate) async fn send(
        &self,
        to: &str,
        text: &str,
        status_link: &str,
    ) -> Result<(), RouteError> {
        let body = serde_json::json!({
            "sender": self.sender,
            "to": to,
            "text": fit(text, self.max_parts, status_link),
        });
        let response = self
            .client
            .post(&self.url)
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                RouteError::Temporary(if e.is_timeout() { "timeout" } else { "network" })
            })?;
        classify(response.status())
    }
}

impl Route for Sms {
    fn send<'a>(
        &'a self,
        address: &'a str,
        text: &'a str,
        ctx: &'a Context<'a>,
    ) -> BoxFuture<'a, Result<(), RouteError>> {
        Sms::send(self, address, text, ctx.status_link).boxed()
    }

    fn quiet_hours(&self) -> Option<(u8, u8)> {
        self.quiet_hours
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyrillic_takes_ucs2_parts() {
        assert_eq!(parts(&"а".repeat(70)), 1);
        assert_eq!(parts(&"а".repeat(71)), 2);
        assert_eq!(parts(&"a".repeat(160)), 1);
        assert_eq!(parts(&"a".repeat(161)), 2);
    }

    #[test]
    fn long_texts_are_cut_with_the_status_link() {
        let link = "https://open-almaty.kz/status/OA-7K3M-9QX2";
        let text = "Ваше обращение рассмотрено. ".repeat(20);
        let sent = fit(&text, 3, link);
        assert!(parts(&sent) <= 3, "{} parts", parts(&sent));
        assert!(sent.ends_with(link));
        assert!(sent.contains("… "));
        assert_eq!(fit("Коротко.", 3, link), "Коротко.");
    }
}
