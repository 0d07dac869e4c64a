//! The Telegram channel's settings and their checks.

/// The Telegram channel's settings; the channel is off without a bot token.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub(crate) struct Settings {
    /// The bot's token from @BotFather (`GATEWAY_TELEGRAM_BOT_TOKEN`).
    #[serde(default)]
    pub(crate) telegram_bot_token: Option<String>,
    /// The secret given to `setWebhook` (`GATEWAY_TELEGRAM_WEBHOOK_SECRET`), required in
    /// webhook mode.
    #[serde(default)]
    pub(crate) telegram_webhook_secret: Option<String>,
    /// The Bot API's base URL (`GATEWAY_TELEGRAM_API_URL`), default the public one.
    #[serde(default)]
    pub(crate) telegram_api_url: Option<String>,
    /// `webhook` (default) or `polling` (`GATEWAY_TELEGRAM_MODE`).
    #[serde(default)]
    pub(crate) telegram_mode: Option<String>,
}

/// The public Bot API.
pub(crate) const DEFAULT_API_URL: &str = "https://api.telegram.org";
/// How updates arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Webhook,
    Polling,
}

/// The Telegram bot's settings. Secrets never show in `Debug`.
#[derive(Clone)]
pub(crate) struct TelegramConfig {
    pub(crate) token: String,
    pub(crate) webhook_secret: Option<String>,
    pub(crate) api_url: reqwest::Url,
    pub(crate) mode: Mode,
}

impl std::fmt::Debug for TelegramConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TelegramConfig")
            .field("api_url", &self.api_url.as_str())
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl TelegramConfig {
    /// On with a token; off with no Telegram setting at all; a webhook without its
    /// secret, or settings without a token, stop the start.
    pub(crate) fn check(raw: &Settings, problems: &mut Vec<String>) -> Option<TelegramConfig> {
        fn given(v: &Option<String>) -> Option<&str> {
            v.as_deref().map(str::trim).filter(|s| !s.is_empty())
        }
        let token = given(&raw.telegram_bot_token);
        let secret = given(&raw.telegram_webhook_secret);
        let url = given(&raw.telegram_api_url);
        let mode = given(&raw.telegram_mode);
        let Some(token) = token else {
            if secret.is_some() || url.is_some() || mode.is_some() {
                problems.push("GATEWAY_TELEGRAM_BOT_TOKEN: required: other GATEWAY_TELEGRAM_* settings are given (the Telegram channel is half-configured)".to_owned());
            }
            return None;
        };
        let before = problems.len();
        if token.len() > 128 || !token.contains(':') || token.chars().any(char::is_whitespace) {
            problems.push(
                "GATEWAY_TELEGRAM_BOT_TOKEN: not a bot token such as 123456:ABC-DEF".to_owned(),
            );
        }
        let mode = match mode.unwrap_or("webhook") {
            "webhook" => Mode::Webhook,
            "polling" => Mode::Polling,
            other => {
                problems.push(format!(
                    "GATEWAY_TELEGRAM_MODE: `{other}` is neither webhook nor polling"
                ));
                Mode::Webhook
            }
        };
        match (mode, secret) {
            (Mode::Webhook, None) => problems.push("GATEWAY_TELEGRAM_WEBHOOK_SECRET: required in webhook mode: a webhook without its secret token is refused".to_owned()),
            // Telegram's own rule for secret_token: 1-256 of A-Z, a-z, 0-9, _ and -.
            (_, Some(s)) if s.len() > 256 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') => problems.push(
                "GATEWAY_TELEGRAM_WEBHOOK_SECRET: 1 to 256 characters of A-Z, a-z, 0-9, _ and -".to_owned(),
            ),
            _ => {}
        }
        let api_url = match reqwest::Url::parse(url.unwrap_or(DEFAULT_API_URL)) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => u,
            _ => {
                problems.push(
                    "GATEWAY_TELEGRAM_API_URL: not a URL such as https://api.telegram.org"
                        .to_owned(),
                );
                return None;
            }
        };
        if problems.len() > before {
            return None;
        }
        Some(TelegramConfig {
            token: token.to_owned(),
            webhook_secret: secret.map(str::to_owned),
            api_url,
            mode,
        })
    }
}
