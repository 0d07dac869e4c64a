//! SMSC.kz, `GATEWAY_SMS_PROVIDER=smsc`, as its HTTP API documentation describes it
//! (smsc.kz/api/http/send/ "Отправка SMS-сообщения" and smsc.kz/api/http/status_messages/
//! "Статусы сообщений"; the English edition smscentre.com/api/http/ is the same API):
//!
//! - `POST {GATEWAY_SMS_API_URL}/sys/send.php` (default `https://smsc.kz`), form-encoded
//!   `login`, `psw` (`GATEWAY_SMS_LOGIN`, `GATEWAY_SMS_PASSWORD`), `phones` (the number
//!   with its `+`, which turns SMSC's number auto-correction off: the gateway's numbers
//!   are already E.164), `mes`, `sender` (`GATEWAY_SMS_SENDER`), `charset=utf-8`, `fmt=3`
//!   (JSON answer);
//! - the answer `{"id", "cnt"}` is taken (`id` kept for the delivery report); an error is
//!   `{"error", "error_code"}` (with `id` when one was given):
//!
//! | `error_code` | SMSC says | the gateway |
//! | --- | --- | --- |
//! | 1 | error in the parameters | `rejected_by_provider` (final) |
//! | 2 | wrong login or password | `provider_auth` (final) |
//! | 3 | not enough money on the account | `insufficient_funds` (final) |
//! | 4 | the IP address is blocked for a while after frequent errors | `rate_limited` (retry) |
//! | 5 | wrong date format | `rejected_by_provider` (final) |
//! | 6 | message forbidden (by its text or the sender name) | `sender_blocked` (final) |
//! | 7 | wrong number format | `invalid_number` (final) |
//! | 8 | the message cannot be delivered to this number | `invalid_number` (final) |
//! | 9 | the same request more than once within a minute | `rate_limited` (retry) |
//!
//! HTTP 5xx, timeouts and network errors are retried.

use super::answer::{self, Accepted};
use crate::notify::route::RouteError;

/// SMSC's server for Kazakhstan.
pub(crate) const DEFAULT_URL: &str = "https://smsc.kz";

/// An SMSC account.
#[derive(Debug, Clone)]
pub(crate) struct Smsc {
    /// The server, e.g. `https://smsc.kz` (no path).
    pub(crate) url: String,
    pub(crate) login: String,
    pub(crate) password: String,
    pub(crate) sender: String,
}

impl Smsc {
    /// Sends `text` to `to` (E.164).
    pub(crate) async fn send(
        &self,
        client: &reqwest::Client,
        to: &str,
        text: &str,
    ) -> Result<Accepted, RouteError> {
        let url = format!("{}/sys/send.php", self.url.trim_end_matches('/'));
        let response = client
            .post(url)
            .form(&[
                ("login", self.login.as_str()),
                ("psw", self.password.as_str()),
                ("phones", to),
                ("mes", text),
                ("sender", self.sender.as_str()),
                ("charset", "utf-8"),
                ("fmt", "3"),
            ])
            .send()
            .await
            .map_err(|e| answer::transport(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(answer::status_error(status));
        }
        let Ok(body) = response.json::<serde_json::Value>().await else {
            return Err(answer::UNAVAILABLE);
        };
        read_answer(&body)
    }
}

/// SMSC's answer to `send.php` with `fmt=3`.
pub(crate) fn read_answer(body: &serde_json::Value) -> Result<Accepted, RouteError> {
    if let Some(code) = body["error_code"].as_i64() {
        return Err(match code {
            2 => answer::PROVIDER_AUTH,
            3 => answer::INSUFFICIENT_FUNDS,
            4 | 9 => answer::RATE_LIMITED,
            6 => answer::SENDER_BLOCKED,
            7 | 8 => answer::INVALID_NUMBER,
            _ => answer::REJECTED,
        });
    }
    match answer::id_of(&body["id"]) {
        Some(id) => Ok(Accepted {
            message_id: Some(id),
        }),
        None if body["cnt"].is_number() => Ok(Accepted { message_id: None }),
        None => Err(answer::UNAVAILABLE),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_are_read_by_their_error_code() {
        assert_eq!(
            read_answer(&json!({"id": 1234, "cnt": 2})),
            Ok(Accepted {
                message_id: Some("1234".to_owned())
            })
        );
        let no_money = json!({"error": "no money", "error_code": 3});
        assert_eq!(read_answer(&no_money), Err(answer::INSUFFICIENT_FUNDS));
        let number = json!({"error": "invalid number", "error_code": 7});
        assert_eq!(read_answer(&number), Err(answer::INVALID_NUMBER));
        let blocked = json!({"error": "message is denied", "error_code": 6});
        assert_eq!(read_answer(&blocked), Err(answer::SENDER_BLOCKED));
        let busy = json!({"error": "duplicate request, wait a minute", "error_code": 9, "id": 5});
        assert_eq!(read_answer(&busy), Err(answer::RATE_LIMITED));
        assert_eq!(
            read_answer(&json!({"error_code": 2})),
            Err(answer::PROVIDER_AUTH)
        );
        assert_eq!(read_answer(&json!({})), Err(answer::UNAVAILABLE));
    }
}
