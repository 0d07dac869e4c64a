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

/// Whether a webhook's `sign` is Mobizon's: SHA-1 of `eventId|attempt|eventCreateTs|
/// secretKey` (`_webhooks/06-signature.md`), compared in constant time.
pub(crate) fn signed(payload: &serde_json::Value, secret: &str) -> bool {
    let part = |name: &str| match &payload[name] {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) => Some(s.clone()),
        _ => None,
    };
    let (Some(event), Some(attempt), Some(created), Some(sign)) = (
        part("eventId"),
        part("attempt"),
        part("eventCreateTs"),
        payload["sign"].as_str(),
    ) else {
        return false;
    };
    let expected = sha1_smol::Sha1::from(format!("{event}|{attempt}|{created}|{secret}"))
        .digest()
        .to_string();
    use subtle::ConstantTimeEq;
    expected.len() == sign.len() && bool::from(expected.as_bytes().ct_eq(sign.as_bytes()))
}

/// An `sms-delivery-report` webhook's message id and what its final status means
/// (`_webhook/05-data-structure.md`, `_other/smsStatus.md`); `None` for another event
/// or a status that is not final.
pub(crate) fn delivery_report(
    payload: &serde_json::Value,
) -> Option<(String, crate::notify::receipts::Report)> {
    use crate::notify::receipts::Report;
    if payload["eventType"] != "sms-delivery-report" {
        return None;
    }
    let data = &payload["data"];
    let report = match data["status"].as_str()? {
        "DELIVRD" => Report::Delivered,
        "UNDELIV" => Report::Failed("undeliverable"),
        "REJECTD" => Report::Failed("rejected_by_operator"),
        "EXPIRED" => Report::Failed("expired"),
        "DELETED" => Report::Failed("deleted_by_operator"),
        _ => return None,
    };
    Some((answer::id_of(&data["messageId"])?, report))
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

    #[test]
    fn webhooks_are_signed_as_documented() {
        let mut payload = json!({
            "eventId": 26, "eventType": "sms-delivery-report",
            "eventCreateTs": "2026-01-15 11:42:28", "webhookId": 1, "attempt": 1,
            "data": {"campaignId": 245455096, "messageId": 169275418, "segNum": 3,
                     "statusUpdateTs": "2026-01-15 11:42:08", "status": "DELIVRD", "to": "380737893456"},
        });
        let sign = sha1_smol::Sha1::from("26|1|2026-01-15 11:42:28|secret123")
            .digest()
            .to_string();
        payload["sign"] = json!(sign);
        assert!(signed(&payload, "secret123"));
        assert!(!signed(&payload, "another"));
        assert_eq!(
            delivery_report(&payload),
            Some((
                "169275418".to_owned(),
                crate::notify::receipts::Report::Delivered
            ))
        );
        payload["data"]["status"] = json!("ACCEPTD");
        assert_eq!(delivery_report(&payload), None, "not final");
    }
}
