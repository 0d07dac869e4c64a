//! The SMS route's settings and its `Component`: which provider
//! (`GATEWAY_SMS_PROVIDER`), what that provider needs, quiet hours and the longest text.
//!
//! | provider | needs | optional |
//! | --- | --- | --- |
//! | `json` (default) | `GATEWAY_SMS_API_URL`, `GATEWAY_SMS_API_KEY`, `GATEWAY_SMS_SENDER` | |
//! | `mobizon` | `GATEWAY_SMS_API_KEY`, `GATEWAY_SMS_SENDER` | `GATEWAY_SMS_API_URL` (default `https://api.mobizon.kz`) |
//! | `smsc` | `GATEWAY_SMS_LOGIN`, `GATEWAY_SMS_PASSWORD`, `GATEWAY_SMS_SENDER` | `GATEWAY_SMS_API_URL` (default `https://smsc.kz`) |
//!
//! None of a provider's settings: SMS is off. Some but not all: the start is refused.
//! Mobizon's delivery reports come to `/sms/mobizon/webhook` when
//! `GATEWAY_SMS_WEBHOOK_SECRET` is set (the secret key of the webhook registered at
//! Mobizon); without it the receipts of SMS stay `accepted`. SMSC's are asked for by a
//! status poll (`smsc_status`) every `GATEWAY_SMS_STATUS_POLL_SECS` (default 60).

use std::sync::Arc;

use super::delivery::Reports;
use super::json::Json;
use super::mobizon::{self, Mobizon};
use super::provider::Provider;
use super::route::Sms;
use super::smsc::{self, Smsc};
use super::smsc_status::Poll;
use crate::appeal::ReplyChannel;
use crate::channels::component::{BuildError, Built, Component, Wiring, section};
use crate::config::Config;
use crate::notify::route::Route;
use crate::supervisor::Supervisor;

/// The SMS route's settings.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct Settings {
    /// `json` (default), `mobizon` or `smsc` (`GATEWAY_SMS_PROVIDER`).
    #[serde(default = "default_provider")]
    pub(crate) sms_provider: String,
    /// The provider's endpoint (`GATEWAY_SMS_API_URL`): the full URL for `json`, the
    /// server for `mobizon` and `smsc` (their defaults: `https://api.mobizon.kz`,
    /// `https://smsc.kz`).
    #[serde(default)]
    pub(crate) sms_api_url: Option<String>,
    /// The key (`GATEWAY_SMS_API_KEY`): the bearer token for `json`, the `apiKey` for
    /// `mobizon`.
    #[serde(default)]
    pub(crate) sms_api_key: Option<String>,
    /// SMSC's login (`GATEWAY_SMS_LOGIN`).
    #[serde(default)]
    pub(crate) sms_login: Option<String>,
    /// SMSC's password (`GATEWAY_SMS_PASSWORD`).
    #[serde(default)]
    pub(crate) sms_password: Option<String>,
    /// The secret key of Mobizon's delivery webhook (`GATEWAY_SMS_WEBHOOK_SECRET`).
    #[serde(default)]
    pub(crate) sms_webhook_secret: Option<String>,
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
    /// Seconds between two rounds of SMSC's status poll, the first question about a
    /// message coming as long after it was sent (`GATEWAY_SMS_STATUS_POLL_SECS`).
    #[serde(
        default = "default_status_poll_secs",
        deserialize_with = "crate::config::number"
    )]
    pub(crate) sms_status_poll_secs: u64,
}

fn default_status_poll_secs() -> u64 {
    60
}

fn default_provider() -> String {
    "json".to_owned()
}

fn default_quiet_hours() -> String {
    "22-8".to_owned()
}

fn default_max_parts() -> u64 {
    3
}

/// SMS as a channel: a way back, on (`Some`) or off, the webhook secret of the
/// provider's delivery reports, when they are on, and SMSC's status poll interval.
pub(crate) struct Texts(Option<Sms>, Option<String>, std::time::Duration);

impl Component for Texts {
    fn load(config: &Config, problems: &mut Vec<String>) -> Option<Texts> {
        let settings: Settings = section(config, problems)?;
        let mobizon = settings.sms_provider.trim() == "mobizon";
        let secret = given(settings.sms_webhook_secret.clone());
        if secret.is_some() && !mobizon {
            problems.push(
                "GATEWAY_SMS_WEBHOOK_SECRET: only the mobizon SMS provider sends delivery webhooks"
                    .to_owned(),
            );
        }
        if settings.sms_status_poll_secs == 0 || settings.sms_status_poll_secs > 3600 {
            problems.push("GATEWAY_SMS_STATUS_POLL_SECS: between 1 and 3600".to_owned());
        }
        let poll = std::time::Duration::from_secs(settings.sms_status_poll_secs.clamp(1, 3600));
        Some(Texts(settings.route(problems), secret, poll))
    }

    fn build(
        self: Box<Self>,
        wiring: &Wiring<'_>,
        supervisor: &mut Supervisor,
    ) -> Result<Built, BuildError> {
        let Texts(sms, secret, interval) = *self;
        let Some(sms) = sms else {
            tracing::info!("SMS is off: GATEWAY_SMS_PROVIDER's settings are not set");
            return Ok(Built::default());
        };
        let sms = match sms.smsc().cloned() {
            Some(smsc) => {
                let poll = Poll {
                    redis: wiring.redis.clone(),
                    interval,
                };
                supervisor.spawn(
                    "smsc status poll",
                    poll.clone().run(smsc, supervisor.shutdown()),
                );
                sms.polled(poll)
            }
            None => sms,
        };
        tracing::info!(
            provider = sms.provider_name(),
            delivery_reports = secret.is_some() || sms.smsc().is_some(),
            "SMS is on"
        );
        let routes = secret.map(|secret| {
            let reports = actix_web::web::Data::new(Reports {
                redis: wiring.redis.waiting(crate::redis_handle::WEBHOOK_WAIT),
                secret,
            });
            Arc::new(move |cfg: &mut actix_web::web::ServiceConfig| {
                super::delivery::routes(cfg, &reports)
            }) as crate::channels::component::Routes
        });
        Ok(Built {
            routes,
            reply: Some((ReplyChannel::Sms, Arc::new(sms) as Arc<dyn Route>)),
        })
    }
}

/// A setting that is set and not blank.
fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.trim().is_empty())
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
        let max_parts = usize::try_from(self.sms_max_parts).unwrap_or(3);
        let url = given(self.sms_api_url);
        if url
            .as_deref()
            .is_some_and(|u| reqwest::Url::parse(u).is_err())
        {
            problems.push("GATEWAY_SMS_API_URL: not a URL".to_owned());
            return None;
        }
        let (key, login, password, sender) = (
            given(self.sms_api_key),
            given(self.sms_login),
            given(self.sms_password),
            given(self.sms_sender),
        );
        let provider = match self.sms_provider.trim() {
            "json" | "" => match (url, key, sender) {
                (Some(url), Some(key), Some(sender)) => Provider::Json(Json { url, key, sender }),
                (None, None, None) => return None,
                _ => {
                    problems.push("GATEWAY_SMS_API_URL: the json SMS provider needs GATEWAY_SMS_API_URL, GATEWAY_SMS_API_KEY and GATEWAY_SMS_SENDER together".to_owned());
                    return None;
                }
            },
            "mobizon" => match (key, sender) {
                (Some(api_key), Some(sender)) => Provider::Mobizon(Mobizon {
                    url: url.unwrap_or_else(|| mobizon::DEFAULT_URL.to_owned()),
                    api_key,
                    sender,
                }),
                (None, None) => return None,
                _ => {
                    problems.push("GATEWAY_SMS_API_KEY: the mobizon SMS provider needs GATEWAY_SMS_API_KEY and GATEWAY_SMS_SENDER together".to_owned());
                    return None;
                }
            },
            "smsc" => match (login, password, sender) {
                (Some(login), Some(password), Some(sender)) => Provider::Smsc(Smsc {
                    url: url.unwrap_or_else(|| smsc::DEFAULT_URL.to_owned()),
                    login,
                    password,
                    sender,
                }),
                (None, None, None) => return None,
                _ => {
                    problems.push("GATEWAY_SMS_LOGIN: the smsc SMS provider needs GATEWAY_SMS_LOGIN, GATEWAY_SMS_PASSWORD and GATEWAY_SMS_SENDER together".to_owned());
                    return None;
                }
            },
            _ => {
                problems.push("GATEWAY_SMS_PROVIDER: json, mobizon or smsc".to_owned());
                return None;
            }
        };
        Some(Sms::new(provider, max_parts).quiet(quiet_hours))
    }
}
