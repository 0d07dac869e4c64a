//! Mobizon (mobizon.kz), `GATEWAY_SMS_PROVIDER=mobizon`, as its API documentation
//! describes it (github.com/mobizon/mobizon-api-docs, `src/v1/en/message/api/
//! sendSmsMessage.md`, `_other/apiCode.md`, `_other/smsStatus.md`, `_webhook/*.md`; the
//! same text as help.mobizon.com/help/api-docs; the official client
//! github.com/mobizon/mobizon-php `src/MobizonApi.php` builds the same request):
//!
//! - `POST {GATEWAY_SMS_API_URL}/service/message/sendsmsmessage?output=json&api=v1&apiKey=…`
//!   (default `https://api.mobizon.kz`), form-encoded `recipient` (international, digits
//!   only), `text`, `from` (the registered sender name, `GATEWAY_SMS_SENDER`);
//! - the answer `{"code", "data", "message"}`: `code` 0 with `data.messageId` is taken;
//!   otherwise the code says why (the table below). `message` is Mobizon's free text and
//!   is never kept.
//!
//! | `code` | Mobizon says | the gateway |
//! | --- | --- | --- |
//! | 0 | done | accepted, `messageId` kept for the delivery report |
//! | 1 | validation error, `data` names the field | `recipient`: `invalid_number`; `from`: `sender_blocked`; else `rejected_by_provider` (final) |
//! | 8 | login error (wrong key) | `provider_auth` (final) |
//! | 13 | another API server serves this account | `provider_auth` (final: `GATEWAY_SMS_API_URL` is wrong) |
//! | 14 | account blocked or deleted | `provider_auth` (final) |
//! | 30 | request rate exceeded | `rate_limited` (retry) |
//! | 3, 10, 999 | application, saving or general service error | `provider_unavailable` (retry) |
//! | any other | | `rejected_by_provider` (final) |
//!
//! Mobizon's code table has no code of its own for an empty balance; such a refusal
//! comes as one of the codes above with a text in `message`, and is reported by its code.
//! HTTP 5xx, timeouts and network errors are retried.
//!
//! Delivery reports: a webhook of type "SMS statuses" (Control Panel → API → Webhooks),
//! see `delivery.rs`.

use super::answer::{self, Accepted};
use crate::notify::route::RouteError;

/// Mobizon's public API server for accounts registered at mobizon.kz.
pub(crate) const DEFAULT_URL: &str = "https://api.mobizon.kz";

/// A Mobizon account.
#[derive(Debug, Clone)]
pub(crate) struct Mobizon {
    /// The API server, e.g. `https://api.mobizon.kz` (no path).
    pub(crate) url: String,
    pub(crate) api_key: String,
    pub(crate) sender: String,
}

impl Mobizon {
    /// Sends `text` to `to` (E.164).
    pub(crate) async fn send(
        &self,
        client: &reqwest::Client,
        to: &str,
        text: &str,
    ) -> Result<Accepted, RouteError> {
        let recipient: String = to.chars().filter(char::is_ascii_digit).collect();
        let url = format!(
            "{}/service/message/sendsmsmessage",
            self.url.trim_end_matches('/')
        );
        let response = client
            .post(url)
            .query(&[
                ("output", "json"),
                ("api", "v1"),
                ("apiKey", self.api_key.as_str()),
            ])
            .form(&[
                ("recipient", recipient.as_str()),
                ("text", text),
                ("from", self.sender.as_str()),
            ])
            .send()
            .await
            .map_err(|e| answer::transport(&e))?;
        let status = response.status();
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(answer::status_error(status));
        }
        let Ok(body) = response.json::<serde_json::Value>().await else {
            return Err(if status.is_success() {
                answer::UNAVAILABLE
            } else {
                answer::status_error(status)
            });
        };
        read_answer(&body)
    }
}

/// Mobizon's answer to `sendSmsMessage`, by its `code`.
pub(crate) fn read_answer(body: &serde_json::Value) -> Result<Accepted, RouteError> {
    let Some(code) = body["code"].as_i64() else {
        return Err(answer::UNAVAILABLE);
    };
    match code {
        0 => match answer::id_of(&body["data"]["messageId"]) {
            Some(id) => Ok(Accepted {
                message_id: Some(id),
            }),
            // Taken without an id: nothing to follow, but sent.
            None => Ok(Accepted { message_id: None }),
        },
        1 => {
            let fields = body["data"].as_object();
            let names = |name: &str| fields.is_some_and(|f| f.contains_key(name));
            if names("recipient") {
                Err(answer::INVALID_NUMBER)
            } else if names("from") {
                Err(answer::SENDER_BLOCKED)
            } else {
                Err(answer::REJECTED)
            }
        }
        8 | 13 | 14 => Err(answer::PROVIDER_AUTH),
        30 => Err(answer::RATE_LIMITED),
        3 | 10 | 999 => Err(answer::UNAVAILABLE),
        _ => Err(answer::REJECTED),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_are_read_by_their_code() {
        let taken = json!({"code": 0, "data": {"campaignId": 245455096, "messageId": 169275418, "status": 2}, "message": ""});
        assert_eq!(
            read_answer(&taken),
            Ok(Accepted {
                message_id: Some("169275418".to_owned())
            })
        );
        let bad_number = json!({"code": 1, "data": {"recipient": "Неверный номер получателя"}, "message": "Проверьте данные"});
        assert_eq!(read_answer(&bad_number), Err(answer::INVALID_NUMBER));
        let bad_sender =
            json!({"code": 1, "data": {"from": "Подпись не зарегистрирована"}, "message": ""});
        assert_eq!(read_answer(&bad_sender), Err(answer::SENDER_BLOCKED));
        let key = json!({"code": 8, "data": [], "message": "Неверный ключ"});
        assert_eq!(read_answer(&key), Err(answer::PROVIDER_AUTH));
        let busy = json!({"code": 30, "data": [], "message": ""});
        assert_eq!(read_answer(&busy), Err(answer::RATE_LIMITED));
        let broken = json!({"code": 999, "data": [], "message": ""});
        assert_eq!(read_answer(&broken), Err(answer::UNAVAILABLE));
        assert_eq!(read_answer(&json!({"oops": 1})), Err(answer::UNAVAILABLE));
    }
}
