//! A stand-in for the Telegram Bot API on loopback, and updates shaped as in the Bot
//! API documentation (`Update`, `Message`, `User`, `Chat`, `CallbackQuery`, `Location`,
//! `Contact`, `PhotoSize`, `Document`).
//!
//! It serves `POST /bot<token>/<method>` for `sendMessage`, `answerCallbackQuery`,
//! `getFile` (answering "Bad Request: file is too big" over 20 MB, as Telegram does),
//! `deleteWebhook` and `getUpdates` (fed by [`FakeBotApi::queue_update`]), and file
//! downloads at `GET /file/bot<token>/<file_path>`. Every call is recorded.
#![allow(dead_code)]

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::fake_http::FakeServer;
use super::{GatewayOptions, wait_until};

pub const TOKEN: &str = "123456789:AAFakeTokenForTheTests_x";
pub const SECRET: &str = "test-webhook-secret_4711";
/// The bot's username, as `getMe` gives it.
pub const BOT_USERNAME: &str = "OpenAlmatyBot";
/// The Bot API's download limit.
pub const FILE_LIMIT: u64 = 20 * 1024 * 1024;

struct File {
    size: u64,
    bytes: Vec<u8>,
}

#[derive(Default)]
struct State {
    calls: Vec<(String, Value)>,
    files: HashMap<String, File>,
    updates: VecDeque<Value>,
    next_message_id: i64,
    /// File downloads started (the bytes, not `getFile`).
    downloads: usize,
    /// While set, downloads wait (a slow file server).
    hold_downloads: bool,
    /// While set, `sendMessage` waits after it is recorded (a slow Bot API).
    hold_sends: bool,
}

pub struct FakeBotApi {
    server: FakeServer,
    state: Arc<Mutex<State>>,
}

fn ok(result: Value) -> HttpResponse {
    HttpResponse::Ok().json(json!({"ok": true, "result": result}))
}

async fn method(
    state: web::Data<Arc<Mutex<State>>>,
    path: web::Path<(String, String)>,
    body: web::Bytes,
) -> HttpResponse {
    let (token, method) = path.into_inner();
    if token != format!("bot{TOKEN}") {
        return HttpResponse::Unauthorized()
            .json(json!({"ok": false, "error_code": 401, "description": "Unauthorized"}));
    }
    // Method names are case-insensitive in the Bot API (teloxide sends `SendMessage`).
    let method = [
        "sendMessage",
        "getMe",
        "answerCallbackQuery",
        "deleteWebhook",
        "getFile",
        "getUpdates",
    ]
    .into_iter()
    .find(|m| m.eq_ignore_ascii_case(&method))
    .map_or(method, str::to_owned);
    let params: Value = serde_json::from_slice(&body).unwrap_or(json!({}));
    let (response, idle_poll) = answer(&state, &method, params);
    while method == "sendMessage" && state.lock().unwrap().hold_sends {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    if idle_poll {
        // A short long poll, so the gateway does not spin.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    response
}

/// The Bot API's answer to a call; `true` when it is a `getUpdates` with nothing new.
fn answer(state: &Mutex<State>, method: &str, params: Value) -> (HttpResponse, bool) {
    let mut guard = state.lock().unwrap();
    guard.calls.push((method.to_owned(), params.clone()));
    let response = match method {
        "sendMessage" => {
            guard.next_message_id += 1;
            let chat_id = params["chat_id"].clone();
            ok(json!({
                "message_id": guard.next_message_id,
                "from": {"id": 123456789, "is_bot": true, "first_name": "Open Almaty", "username": "OpenAlmatyBot"},
                "chat": {"id": chat_id, "type": "private", "first_name": "Citizen"},
                "date": 1764063000,
                "text": params["text"].clone()
            }))
        }
        "answerCallbackQuery" | "deleteWebhook" => ok(json!(true)),
        "getMe" => ok(json!({
            "id": 123456789, "is_bot": true, "first_name": "Open Almaty", "username": BOT_USERNAME,
            "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
            "can_connect_to_business": false, "has_main_web_app": false
        })),
        "getFile" => {
            let id = params["file_id"].as_str().unwrap_or_default().to_owned();
            match guard.files.get(&id) {
                Some(f) if f.size > FILE_LIMIT => HttpResponse::BadRequest().json(json!({"ok": false, "error_code": 400, "description": "Bad Request: file is too big"})),
                Some(f) => ok(json!({"file_id": id, "file_unique_id": format!("u{id}"), "file_size": f.size, "file_path": format!("photos/{id}.jpg")})),
                None => HttpResponse::BadRequest().json(json!({"ok": false, "error_code": 400, "description": "Bad Request: invalid file_id"})),
            }
        }
        "getUpdates" => {
            let offset = params["offset"].as_i64().unwrap_or(0);
            guard
                .updates
                .retain(|u| u["update_id"].as_i64().unwrap_or(0) >= offset);
            let updates: Vec<Value> = guard.updates.iter().cloned().collect();
            let idle = updates.is_empty();
            return (ok(json!(updates)), idle);
        }
        _ => HttpResponse::NotFound().json(
            json!({"ok": false, "error_code": 404, "description": "Not Found: method not found"}),
        ),
    };
    (response, false)
}

async fn download(
    state: web::Data<Arc<Mutex<State>>>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (token, file) = path.into_inner();
    if token != format!("bot{TOKEN}") {
        return HttpResponse::Unauthorized().finish();
    }
    let id = file.trim_end_matches(".jpg");
    state.lock().unwrap().downloads += 1;
    // A slow file server: the download waits while the test holds it.
    while state.lock().unwrap().hold_downloads {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let state = state.lock().unwrap();
    match state.files.get(id) {
        Some(f) => HttpResponse::Ok()
            .content_type("image/jpeg")
            .body(f.bytes.clone()),
        None => HttpResponse::NotFound().finish(),
    }
}

impl FakeBotApi {
    pub fn start() -> FakeBotApi {
        let state = Arc::new(Mutex::new(State::default()));
        let data = web::Data::new(Arc::clone(&state));
        let server = FakeServer::start(move |cfg| {
            cfg.app_data(data.clone())
                .route("/{token}/{method}", web::post().to(method))
                .route("/file/{token}/photos/{file}", web::get().to(download));
        });
        FakeBotApi { server, state }
    }

    /// `GATEWAY_TELEGRAM_API_URL`.
    /// `opts` with the bot on, as a webhook, talking to this stand-in.
    pub fn configure(&self, opts: GatewayOptions) -> GatewayOptions {
        opts.env("GATEWAY_TELEGRAM_BOT_TOKEN", TOKEN)
            .env("GATEWAY_TELEGRAM_WEBHOOK_SECRET", SECRET)
            .env("GATEWAY_TELEGRAM_API_URL", &self.api_url())
    }

    pub fn api_url(&self) -> String {
        self.server.base()
    }

    /// A file the bot may fetch; `size` is what Telegram reports (the bytes served are
    /// `bytes`).
    pub fn add_file(&self, id: &str, size: u64, bytes: Vec<u8>) {
        self.state
            .lock()
            .unwrap()
            .files
            .insert(id.into(), File { size, bytes });
    }

    /// Makes file downloads wait until [`FakeBotApi::release_downloads`].
    pub fn hold_downloads(&self) {
        self.state.lock().unwrap().hold_downloads = true;
    }

    pub fn release_downloads(&self) {
        self.state.lock().unwrap().hold_downloads = false;
    }

    /// Makes `sendMessage` answer only after [`FakeBotApi::release_sends`] (the call
    /// is recorded when it arrives).
    pub fn hold_sends(&self) {
        self.state.lock().unwrap().hold_sends = true;
    }

    pub fn release_sends(&self) {
        self.state.lock().unwrap().hold_sends = false;
    }

    /// File downloads started so far.
    pub fn downloads(&self) -> usize {
        self.state.lock().unwrap().downloads
    }

    /// An update for `getUpdates` (long polling).
    pub fn queue_update(&self, update: Value) {
        self.state.lock().unwrap().updates.push_back(update);
    }

    /// Every call of `method`, in order.
    pub fn calls(&self, method: &str) -> Vec<Value> {
        self.state
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|(m, _)| m == method)
            .map(|(_, p)| p.clone())
            .collect()
    }

    /// What a chat read: every `sendMessage` text to it, with its buttons.
    pub fn texts_to(&self, chat: i64) -> Vec<String> {
        self.calls("sendMessage")
            .iter()
            .filter(|p| p["chat_id"] == chat)
            .map(readable)
            .collect()
    }

    /// Waits until a message to `chat` contains `needle`; returns it.
    pub async fn wait_text(&self, chat: i64, needle: &str) -> String {
        wait_until(
            &format!("a Telegram message containing {needle:?}"),
            Duration::from_secs(30),
            || async {
                let texts = self.texts_to(chat);
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

/// A message's text with its inline buttons (`[title|data]`) and keyboard requests.
pub fn readable(p: &Value) -> String {
    let mut text = p["text"].as_str().unwrap_or_default().to_owned();
    for row in p["reply_markup"]["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for b in row.as_array().into_iter().flatten() {
            text.push_str(&format!(
                " [{}|{}]",
                b["text"].as_str().unwrap_or_default(),
                b["callback_data"].as_str().unwrap_or_default()
            ));
        }
    }
    for row in p["reply_markup"]["keyboard"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for b in row.as_array().into_iter().flatten() {
            let kind = if b["request_contact"] == true {
                "contact"
            } else if b["request_location"] == true {
                "location"
            } else {
                "text"
            };
            text.push_str(&format!(" <{kind}>"));
        }
    }
    text
}

/// The citizen, as a Bot API `User`.
pub fn user(id: i64, language: &str) -> Value {
    json!({"id": id, "is_bot": false, "first_name": "Айгүл", "last_name": "Сейітова", "language_code": language})
}

fn chat(id: i64) -> Value {
    json!({"id": id, "type": "private", "first_name": "Айгүл", "last_name": "Сейітова"})
}

/// An `Update` with a `Message` from the citizen; `fields` are the message's content.
pub fn message(update_id: i64, chat_id: i64, language: &str, fields: Value) -> Value {
    let mut message = json!({
        "message_id": update_id,
        "from": user(chat_id, language),
        "chat": chat(chat_id),
        "date": 1764063000
    });
    for (k, v) in fields.as_object().cloned().unwrap_or_default() {
        message[k] = v;
    }
    json!({"update_id": update_id, "message": message})
}

pub fn text(update_id: i64, chat_id: i64, language: &str, text: &str) -> Value {
    let mut fields = json!({"text": text});
    if text.starts_with('/') {
        let len = text
            .split_whitespace()
            .next()
            .unwrap_or(text)
            .encode_utf16()
            .count();
        fields["entities"] = json!([{"type": "bot_command", "offset": 0, "length": len}]);
    }
    message(update_id, chat_id, language, fields)
}

/// An `Update` with a `CallbackQuery`: the citizen pressed an inline button.
pub fn callback(update_id: i64, chat_id: i64, language: &str, data: &str) -> Value {
    json!({
        "update_id": update_id,
        "callback_query": {
            "id": format!("4382bfdwdsb323b2d9{update_id}"),
            "from": user(chat_id, language),
            "message": {
                "message_id": 1,
                "from": {"id": 123456789, "is_bot": true, "first_name": "Open Almaty", "username": "OpenAlmatyBot"},
                "chat": chat(chat_id),
                "date": 1764063000,
                "text": "…"
            },
            "chat_instance": "-4913472017315744542",
            "data": data
        }
    })
}

pub fn location(update_id: i64, chat_id: i64, language: &str, lat: f64, lon: f64) -> Value {
    message(
        update_id,
        chat_id,
        language,
        json!({"location": {"latitude": lat, "longitude": lon}}),
    )
}

pub fn contact(update_id: i64, chat_id: i64, language: &str, phone: &str) -> Value {
    message(
        update_id,
        chat_id,
        language,
        json!({"contact": {"phone_number": phone, "first_name": "Айгүл", "last_name": "Сейітова", "user_id": chat_id}}),
    )
}

/// A compressed photo: the sizes Telegram made of it, largest last.
pub fn photo(
    update_id: i64,
    chat_id: i64,
    language: &str,
    file_id: &str,
    size: u64,
    caption: Option<&str>,
) -> Value {
    let mut fields = json!({"photo": [
        {"file_id": format!("{file_id}-s"), "file_unique_id": "AQADs", "file_size": size.min(1200) / 2, "width": 90, "height": 67},
        {"file_id": file_id, "file_unique_id": "AQADl", "file_size": size, "width": 1280, "height": 960}
    ]});
    if let Some(c) = caption {
        fields["caption"] = json!(c);
    }
    message(update_id, chat_id, language, fields)
}

/// A photo sent "as a file": a `Document` of type image/jpeg, full size.
pub fn photo_document(
    update_id: i64,
    chat_id: i64,
    language: &str,
    file_id: &str,
    size: u64,
    caption: Option<&str>,
) -> Value {
    let mut fields = json!({"document": {"file_name": "IMG_2041.JPG", "mime_type": "image/jpeg", "file_id": file_id, "file_unique_id": "AgADdoc", "file_size": size}});
    if let Some(c) = caption {
        fields["caption"] = json!(c);
    }
    message(update_id, chat_id, language, fields)
}

/// A message in a supergroup, from a member (`chat.type` `supergroup`, as the Bot API
/// documents `Chat`).
pub fn group_text(update_id: i64, group_id: i64, member: i64, text: &str) -> Value {
    let mut update = self::text(update_id, member, "ru", text);
    update["message"]["chat"] =
        json!({"id": group_id, "type": "supergroup", "title": "Алмалы ауданы тұрғындары"});
    update
}

/// A voice note (`Voice`: OGG/Opus, as Telegram records them).
pub fn voice(update_id: i64, chat_id: i64, language: &str) -> Value {
    message(
        update_id,
        chat_id,
        language,
        json!({"voice": {"file_id": "AwACAgIAAxkBAAIBvoice", "file_unique_id": "AgADvoice", "duration": 7, "mime_type": "audio/ogg", "file_size": 23150}}),
    )
}

/// A round video message (`VideoNote`).
pub fn video_note(update_id: i64, chat_id: i64, language: &str) -> Value {
    message(
        update_id,
        chat_id,
        language,
        json!({"video_note": {"file_id": "DQACAgIAAxkBAAIBnote", "file_unique_id": "AgADnote", "length": 240, "duration": 4, "file_size": 181234}}),
    )
}

/// A sticker (`Sticker`, a regular static one).
pub fn sticker(update_id: i64, chat_id: i64, language: &str) -> Value {
    message(
        update_id,
        chat_id,
        language,
        json!({"sticker": {"file_id": "CAACAgIAAxkBAAIBsticker", "file_unique_id": "AgADsticker", "type": "regular", "width": 512, "height": 512, "is_animated": false, "is_video": false, "emoji": "👍", "set_name": "HotCherry", "file_size": 20480}}),
    )
}

/// The citizen edited an earlier message (`edited_message`, with `edit_date`).
pub fn edited_text(update_id: i64, chat_id: i64, language: &str, text: &str) -> Value {
    let mut update = self::text(update_id, chat_id, language, text);
    let mut message = update["message"].take();
    message["edit_date"] = json!(1764063060);
    json!({"update_id": update_id, "edited_message": message})
}

/// The citizen reacted to a message of the bot (`message_reaction`,
/// `MessageReactionUpdated`).
pub fn reaction(update_id: i64, chat_id: i64, language: &str) -> Value {
    json!({
        "update_id": update_id,
        "message_reaction": {
            "chat": chat(chat_id),
            "message_id": 3,
            "user": user(chat_id, language),
            "date": 1764063070,
            "old_reaction": [],
            "new_reaction": [{"type": "emoji", "emoji": "👍"}]
        }
    })
}
