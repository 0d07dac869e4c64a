//! The generic provider (`GATEWAY_SMS_PROVIDER=json`, the default): one `POST
//! GATEWAY_SMS_API_URL` of `{"sender","to","text"}` as JSON with `GATEWAY_SMS_API_KEY`
//! as a bearer token — kept for gateways and in-house relays that take this shape. 2xx
//! is taken (an `id` in a JSON answer is kept as the provider's message id), 5xx and
//! 429 are worth a retry, any other answer is final. It reports no delivery: its
//! receipts stay `accepted`.

use super::answer::{self, Accepted};
use crate::notify::route::RouteError;

/// Where and how to post.
#[derive(Debug, Clone)]
pub(crate) struct Json {
    pub(crate) url: String,
    pub(crate) key: String,
    pub(crate) sender: String,
}

impl Json {
    /// Sends `text` to `to` (E.164).
    pub(crate) async fn send(
        &self,
        client: &reqwest::Client,
        to: &str,
        text: &str,
    ) -> Result<Accepted, RouteError> {
        let body = serde_json::json!({"sender": self.sender, "to": to, "text": text});
        let response = client
            .post(&self.url)
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .map_err(|e| answer::transport(&e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(answer::status_error(status));
        }
        let message_id = response
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|v| answer::id_of(&v["id"]));
        Ok(Accepted { message_id })
    }
}
