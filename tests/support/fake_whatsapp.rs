//! A stand-in for the WhatsApp Business Cloud API (Graph API) on loopback, and the
//! webhook notifications Meta sends, shaped as in Meta's documentation:
//! `{"object":"whatsapp_business_account","entry":[{"id","changes":[{"field":"messages",
//! "value":{"messaging_product","metadata","contacts","messages"|"statuses"}}]}]}`.
//!
//! It serves `POST /v21.0/{phone-number-id}/messages` (records every message the gateway
//! sends and answers with a `wamid`), `GET /v21.0/{media-id}` (media metadata with a
//! download `url`) and the download itself.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::fake_http::FakeServer;
use super::{Gateway, GatewayOptions, JSON, wait_until};

pub const PHONE_NUMBER_ID: &str = "106540352242922";
pub const APP_SECRET: &str = "test-whatsapp-app-secret";
pub const VERIFY_TOKEN: &str = "test-verify-token-4711";
pub const ACCESS_TOKEN: &str = "test-graph-access-token";

#[derive(Default)]
struct State {
    sent: Vec<Value>,
    media: HashMap<String, Vec<u8>>,
    base: String,
    /// Media lookups (`GET /{media-id}`) and downloads started.
    media_lookups: usize,
    downloads: usize,
    /// While set, downloads wait (a slow media server).
    hold_downloads: bool,
}

/// The fake Graph API.
pub struct FakeGraph {
    server: FakeServer,
    state: Arc<Mutex<State>>,
}

async fn send_message(
    state: web::Data<Arc<Mutex<State>>>,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<Value>,
) -> HttpResponse {
    let auth = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bearer {ACCESS_TOKEN}")) || path.as_str() != PHONE_NUMBER_ID {
        return HttpResponse::Unauthorized().json(json!({"error": {"message": "Invalid OAuth access token.", "type": "OAuthException", "code": 190}}));
    }
    let to = body["to"].as_str().unwrap_or_default().to_owned();
    let mut state = state.lock().unwrap();
    state.sent.push(body.into_inner());
    let id = format!("wamid.FAKE{}", state.sent.len());
    HttpResponse::Ok().json(json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to}],
        "messages": [{"id": id}]
    }))
}

async fn media_meta(state: web::Data<Arc<Mutex<State>>>, path: web::Path<String>) -> HttpResponse {
    let mut state = state.lock().unwrap();
    state.media_lookups += 1;
    match state.media.get(path.as_str()) {
        Some(bytes) => HttpResponse::Ok().json(json!({
            "messaging_product": "whatsapp",
            "url": format!("{}/media-download/{}", state.base, path.as_str()),
            "mime_type": "image/jpeg",
            "sha256": hex::encode(Sha256::digest(bytes)),
            "file_size": bytes.len(),
            "id": path.as_str()
        })),
        None => HttpResponse::NotFound().finish(),
    }
}

async fn media_download(
    state: web::Data<Arc<Mutex<State>>>,
    path: web::Path<String>,
) -> HttpResponse {
    state.lock().unwrap().downloads += 1;
    while state.lock().unwrap().hold_downloads {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let state = state.lock().unwrap();
    match state.media.get(path.as_str()) {
        Some(bytes) => HttpResponse::Ok()
            .content_type("image/jpeg")
            .body(bytes.clone()),
        None => HttpResponse::NotFound().finish(),
    }
}

impl FakeGraph {
    pub fn start() -> FakeGraph {
        let state = Arc::new(Mutex::new(State::default()));
        let data = web::Data::new(Arc::clone(&state));
        let server = FakeServer::start(move |cfg| {
            cfg.app_data(data.clone())
                .route("/v21.0/{id}/messages", web::post().to(send_message))
                .route("/v21.0/{id}", web::get().to(media_meta))
                .route("/media-download/{id}", web::get().to(media_download));
        });
        state.lock().unwrap().base = server.base();
        FakeGraph { server, state }
    }

    /// `GATEWAY_WHATSAPP_API_URL`.
    /// `opts` with the WhatsApp line on, talking to this stand-in.
    pub fn configure(&self, opts: GatewayOptions) -> GatewayOptions {
        opts.env("GATEWAY_WHATSAPP_APP_SECRET", APP_SECRET)
            .env("GATEWAY_WHATSAPP_VERIFY_TOKEN", VERIFY_TOKEN)
            .env("GATEWAY_WHATSAPP_ACCESS_TOKEN", ACCESS_TOKEN)
            .env("GATEWAY_WHATSAPP_PHONE_NUMBER_ID", PHONE_NUMBER_ID)
            .env("GATEWAY_WHATSAPP_API_URL", &self.api_url())
    }

    pub fn api_url(&self) -> String {
        format!("{}/v21.0", self.server.base())
    }

    pub fn add_media(&self, id: &str, bytes: Vec<u8>) {
        self.state.lock().unwrap().media.insert(id.into(), bytes);
    }

    /// Makes media downloads wait until [`FakeGraph::release_downloads`].
    pub fn hold_downloads(&self) {
        self.state.lock().unwrap().hold_downloads = true;
    }

    pub fn release_downloads(&self) {
        self.state.lock().unwrap().hold_downloads = false;
    }

    /// Media lookups and downloads started so far.
    pub fn media_fetches(&self) -> (usize, usize) {
        let state = self.state.lock().unwrap();
        (state.media_lookups, state.downloads)
    }

    /// Every message the gateway sent, in order.
    pub fn sent(&self) -> Vec<Value> {
        self.state.lock().unwrap().sent.clone()
    }

    /// Messages sent to `to`, as the text the user would read (body and buttons).
    pub fn texts_to(&self, to: &str) -> Vec<String> {
        self.sent()
            .iter()
            .filter(|m| m["to"] == to)
            .map(readable)
            .collect()
    }

    /// Waits until a message to `to` contains `needle`; returns it.
    pub async fn wait_text(&self, to: &str, needle: &str) -> String {
        wait_until(
            &format!("a WhatsApp message containing {needle:?}"),
            Duration::from_secs(30),
            || async {
                let texts = self.texts_to(to);
                texts
                    .iter()
                    .find(|t| t.contains(needle))
                    .cloned()
                    .ok_or(format!("{texts:?}"))
            },
        )
        .await
    }
}

/// What a user reads of a message: its text or body, and its buttons' titles.
pub fn readable(m: &Value) -> String {
    let mut text = m["text"]["body"]
        .as_str()
        .or(m["interactive"]["body"]["text"].as_str())
        .unwrap_or_default()
        .to_owned();
    for section in m["interactive"]["action"]["sections"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for row in section["rows"].as_array().into_iter().flatten() {
            text.push_str(&format!(
                " [{}|{}]",
                row["title"].as_str().unwrap_or_default(),
                row["id"].as_str().unwrap_or_default()
            ));
        }
    }
    for b in m["interactive"]["action"]["buttons"]
        .as_array()
        .into_iter()
        .flatten()
    {
        text.push_str(&format!(
            " [{}|{}]",
            b["reply"]["title"].as_str().unwrap_or_default(),
            b["reply"]["id"].as_str().unwrap_or_default()
        ));
    }
    text
}

/// POSTs a notification to the gateway's webhook signed with `secret` (unsigned with
/// `None`), as Meta does; the HTTP status.
pub async fn post(gw: &Gateway, body: &Value, secret: Option<&str>) -> u16 {
    let bytes = serde_json::to_vec(body).expect("json");
    let signature = secret.map(|s| sign(s, &bytes));
    let headers: Vec<(&str, &str)> = signature
        .as_deref()
        .map(|s| ("X-Hub-Signature-256", s))
        .into_iter()
        .collect();
    gw.api()
        .try_post("/whatsapp/webhook", None, Some(JSON), bytes, &headers)
        .await
        .expect("POST /whatsapp/webhook")
        .status
}

/// Delivers a signed notification, as Meta does, and expects it taken (200).
pub async fn deliver(gw: &Gateway, body: &Value) {
    assert_eq!(post(gw, body, Some(APP_SECRET)).await, 200);
}

/// `X-Hub-Signature-256` of a body.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A notification with `value` as its one change.
pub fn notification(value: Value) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}]
    })
}

fn metadata() -> Value {
    json!({"display_phone_number": "77273383388", "phone_number_id": PHONE_NUMBER_ID})
}

/// A notification carrying one message from `from`.
pub fn message(from: &str, name: &str, message: Value) -> Value {
    notification(json!({
        "messaging_product": "whatsapp",
        "metadata": metadata(),
        "contacts": [{"profile": {"name": name}, "wa_id": from}],
        "messages": [message]
    }))
}

pub fn text(from: &str, id: &str, body: &str) -> Value {
    json!({"from": from, "id": id, "timestamp": now(), "type": "text", "text": {"body": body}})
}

pub fn button_reply(from: &str, id: &str, button_id: &str, title: &str) -> Value {
    json!({
        "context": {"from": "77273383388", "id": "wamid.CONTEXT"},
        "from": from, "id": id, "timestamp": now(), "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": button_id, "title": title}}
    })
}

pub fn location(from: &str, id: &str, lat: f64, lon: f64, address: &str) -> Value {
    json!({"from": from, "id": id, "timestamp": now(), "type": "location",
           "location": {"latitude": lat, "longitude": lon, "name": "", "address": address}})
}

pub fn image(from: &str, id: &str, media_id: &str, caption: Option<&str>) -> Value {
    let mut image = json!({"mime_type": "image/jpeg", "sha256": "", "id": media_id});
    if let Some(c) = caption {
        image["caption"] = json!(c);
    }
    json!({"from": from, "id": id, "timestamp": now(), "type": "image", "image": image})
}

/// A status notification (`sent`, `delivered`, `read`, `failed`) of a message the
/// business sent to `recipient`.
pub fn status(recipient: &str, wamid: &str, status: &str) -> Value {
    notification(json!({
        "messaging_product": "whatsapp",
        "metadata": metadata(),
        "statuses": [{
            "id": wamid, "status": status, "timestamp": "1764063001", "recipient_id": recipient,
            "conversation": {"id": "CONVERSATION_ID", "origin": {"type": "service"}},
            "pricing": {"billable": true, "pricing_model": "PMP", "category": "service"}
        }]
    }))
}

/// A voice note (`audio` with `voice: true`, OGG/Opus).
pub fn voice(from: &str, id: &str) -> Value {
    json!({"from": from, "id": id, "timestamp": now(), "type": "audio",
           "audio": {"mime_type": "audio/ogg; codecs=opus", "sha256": "3pXb0bOXGlGmSDT7dfYHqvtwzbRHpP4kFCEbVKjDRxo=", "id": "1191374495612094", "voice": true}})
}

/// The citizen reacted to a message of the business (`reaction`).
pub fn reaction(from: &str, id: &str, to_message: &str) -> Value {
    json!({"from": from, "id": id, "timestamp": now(), "type": "reaction",
           "reaction": {"message_id": to_message, "emoji": "\u{1F44D}"}})
}

/// A system notice: the citizen changed their number (`system`, `user_changed_number`).
pub fn number_changed(from: &str, id: &str, new_wa_id: &str) -> Value {
    json!({"from": from, "id": id, "timestamp": now(), "type": "system",
           "system": {"body": format!("User A changed from {from} to {new_wa_id}"), "new_wa_id": new_wa_id, "type": "user_changed_number"}})
}

/// The citizen edited an earlier text (`edit`, with the edited message inside).
pub fn edit(from: &str, id: &str, original: &str, body: &str) -> Value {
    json!({"from": from, "id": id, "timestamp": now(), "type": "edit",
           "edit": {"original_message_id": original,
                    "message": {"type": "text", "text": {"body": body}}}})
}

/// The citizen tapped a template's quick-reply button (`button`, with the payload the
/// business set when sending the template).
pub fn quick_reply(from: &str, id: &str, payload: &str, text: &str) -> Value {
    json!({"context": {"from": "77273383388", "id": "wamid.TEMPLATE"},
           "from": from, "id": id, "timestamp": now(), "type": "button",
           "button": {"payload": payload, "text": text}})
}

/// The citizen chose a row of an interactive list (`interactive`, `list_reply`).
pub fn list_reply(from: &str, id: &str, row_id: &str, title: &str) -> Value {
    json!({
        "context": {"from": "77273383388", "id": "wamid.LIST"},
        "from": from, "id": id, "timestamp": now(), "type": "interactive",
        "interactive": {"type": "list_reply", "list_reply": {"id": row_id, "title": title}}
    })
}

/// The `timestamp` of a message sent now (Unix seconds, as a string, as Meta sends it):
/// the gateway does not answer a message older than a day.
pub fn now() -> String {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
        .to_string()
}
