//! The Whatsapp channel's settings and their checks.

/// The WhatsApp line's settings; the line is off when none of the four secrets is set.
#[derive(Debug, Clone, serde::Deserialize)]
pub(crate) struct Settings {
    /// The Meta app's secret, for `X-Hub-Signature-256` (`GATEWAY_WHATSAPP_APP_SECRET`).
    #[serde(default)]
    pub(crate) whatsapp_app_secret: Option<String>,
    /// The token of the webhook handshake (`GATEWAY_WHATSAPP_VERIFY_TOKEN`).
    #[serde(default)]
    pub(crate) whatsapp_verify_token: Option<String>,
    /// The system user's access token for the Cloud API (`GATEWAY_WHATSAPP_ACCESS_TOKEN`).
    #[serde(default)]
    pub(crate) whatsapp_access_token: Option<String>,
    /// The line's phone number id (`GATEWAY_WHATSAPP_PHONE_NUMBER_ID`).
    #[serde(default)]
    pub(crate) whatsapp_phone_number_id: Option<String>,
    /// The Graph API's base URL with its version (`GATEWAY_WHATSAPP_API_URL`).
    #[serde(default)]
    pub(crate) whatsapp_api_url: Option<String>,
    /// The approved utility template that says an answer waits, outside the 24-hour
    /// window (`GATEWAY_WHATSAPP_REPLY_TEMPLATE`): body `{{1}}` tracking number, `{{2}}`
    /// status; a quick-reply button "Show answer" (see `docs/whatsapp-templates.md`).
    #[serde(default = "default_reply_template")]
    pub(crate) whatsapp_reply_template: String,
    /// The approved utility template that carries a short answer itself, outside the
    /// window (`GATEWAY_WHATSAPP_ANSWER_TEMPLATE`): body `{{1}}` tracking number, `{{2}}`
    /// status, `{{3}}` the answer.
    #[serde(default = "default_answer_template")]
    pub(crate) whatsapp_answer_template: String,
    /// A message older than this by its own `timestamp` is not answered as new
    /// (`GATEWAY_WHATSAPP_MAX_MESSAGE_AGE_SECS`, 60 to 604800, default 86400): a signed
    /// message replayed after the 7-day dedupe window forgot its id was answered 40 days
    /// on (issue 34). Meta retries an unanswered delivery for up to 7 days, so an honest
    /// message older than a day is an outage's backlog, better answered by a person.
    #[serde(
        default = "default_max_message_age",
        deserialize_with = "crate::config::number"
    )]
    pub(crate) whatsapp_max_message_age_secs: u64,
}

fn default_max_message_age() -> u64 {
    24 * 3600
}

fn default_reply_template() -> String {
    "appeal_status_update".to_owned()
}

fn default_answer_template() -> String {
    "appeal_answer".to_owned()
}

/// The public Graph API, with the version the payloads here follow.
pub(crate) const DEFAULT_API_URL: &str = "https://graph.facebook.com/v21.0";
/// The WhatsApp line's settings. Secrets never show in `Debug`.
#[derive(Clone)]
pub(crate) struct WhatsappConfig {
    pub(crate) app_secret: String,
    pub(crate) verify_token: String,
    pub(crate) access_token: String,
    pub(crate) phone_number_id: String,
    pub(crate) api_url: String,
    /// The approved template that says an answer waits (with a "Show answer" button).
    pub(crate) reply_template: String,
    /// The approved template that carries a short answer.
    pub(crate) answer_template: String,
    /// The oldest message, by its `timestamp`, answered as new.
    pub(crate) max_message_age: std::time::Duration,
}

impl std::fmt::Debug for WhatsappConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhatsappConfig")
            .field("phone_number_id", &self.phone_number_id)
            .field("api_url", &self.api_url)
            .finish_non_exhaustive()
    }
}

impl WhatsappConfig {
    /// `{api_url}/{phone-number-id}/messages`, where every message is sent.
    pub(crate) fn messages_url(&self) -> String {
        format!(
            "{}/{}/messages",
            self.api_url.trim_end_matches('/'),
            self.phone_number_id
        )
    }

    /// The line is on when all four settings are given, off when none is; anything in
    /// between is a half-configured webhook and stops the start.
    pub(crate) fn check(raw: &Settings, problems: &mut Vec<String>) -> Option<WhatsappConfig> {
        fn given(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        let required = [
            (
                "GATEWAY_WHATSAPP_APP_SECRET",
                given(&raw.whatsapp_app_secret),
            ),
            (
                "GATEWAY_WHATSAPP_VERIFY_TOKEN",
                given(&raw.whatsapp_verify_token),
            ),
            (
                "GATEWAY_WHATSAPP_ACCESS_TOKEN",
                given(&raw.whatsapp_access_token),
            ),
            (
                "GATEWAY_WHATSAPP_PHONE_NUMBER_ID",
                given(&raw.whatsapp_phone_number_id),
            ),
        ];
        let present = required.iter().filter(|(_, v)| v.is_some()).count();
        if present == 0 && given(&raw.whatsapp_api_url).is_none() {
            return None;
        }
        let mut ok = true;
        for (name, value) in &required {
            if value.is_none() {
                problems.push(format!(
                    "{name}: required: the WhatsApp channel is half-configured (its webhook would be unauthenticated or unusable)"
                ));
                ok = false;
            }
        }
        let api_url = given(&raw.whatsapp_api_url)
            .unwrap_or(DEFAULT_API_URL)
            .trim_end_matches('/')
            .to_owned();
        if reqwest::Url::parse(&api_url).is_err() {
            problems.push(
                "GATEWAY_WHATSAPP_API_URL: not a URL such as https://graph.facebook.com/v21.0"
                    .to_owned(),
            );
            ok = false;
        }
        if let Some(id) = given(&raw.whatsapp_phone_number_id)
            && !id.bytes().all(|b| b.is_ascii_digit())
        {
            problems.push("GATEWAY_WHATSAPP_PHONE_NUMBER_ID: digits only".to_owned());
            ok = false;
        }
        if !(60..=7 * 24 * 3600).contains(&raw.whatsapp_max_message_age_secs) {
            problems
                .push("GATEWAY_WHATSAPP_MAX_MESSAGE_AGE_SECS: between 60 and 604800".to_owned());
            ok = false;
        }
        if !ok {
            return None;
        }
        let value = |i: usize| required[i].1.unwrap_or_default().to_owned();
        Some(WhatsappConfig {
            app_secret: value(0),
            verify_token: value(1),
            access_token: value(2),
            phone_number_id: value(3),
            api_url,
            reply_template: raw.whatsapp_reply_template.clone(),
            answer_template: raw.whatsapp_answer_template.clone(),
            max_message_age: std::time::Duration::from_secs(raw.whatsapp_max_message_age_secs),
        })
    }
}
