//! Local stand-ins of the SMS providers Kazakh organisations use, each speaking its
//! documented protocol (see `src/channels/sms/mobizon.rs` and `smsc.rs` for the
//! documents): Mobizon's `POST /service/message/sendsmsmessage?output=json&api=v1&apiKey=…`
//! with a form of `recipient`, `text`, `from`, answering `{"code","data","message"}`;
//! SMSC's `POST /sys/send.php` with a form of `login`, `psw`, `phones`, `mes`, `sender`,
//! `charset`, `fmt=3`, answering `{"id","cnt"}` or `{"error","error_code"}`.
//!
//! Each checks the credentials and the number as the provider would, records what it
//! took, and answers the scripted answers first (an error code, a 503), then success.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use actix_web::{HttpResponse, web};
use serde_json::{Value, json};

use super::fake_http::FakeServer;

/// Mobizon's API key in the tests (40 characters, as Mobizon issues them).
pub const MOBIZON_KEY: &str = "kz0123456789abcdef0123456789abcdef012345";
/// SMSC's login and password in the tests.
pub const SMSC_LOGIN: &str = "open-almaty";
pub const SMSC_PASSWORD: &str = "smsc-password-for-tests";

/// One scripted answer: an HTTP status and a JSON body.
#[derive(Clone)]
pub struct Scripted {
    pub status: u16,
    pub body: Value,
}

/// What a stand-in saw and will answer.
#[derive(Default)]
pub struct SmsLog {
    /// The forms of the messages it took (after the scripted answers).
    pub taken: Vec<HashMap<String, String>>,
    /// Every request it got, taken or not.
    pub requests: usize,
    /// Answered first, in order.
    pub script: VecDeque<Scripted>,
    next_id: u64,
    /// SMSC: the number each message id went to, and the status `status.php` reports
    /// for it (`-1`, waiting, until a test sets another, with its `err`).
    pub sent_to: HashMap<String, String>,
    pub statuses: HashMap<String, (i64, i64)>,
    /// SMSC: the status requests it answered.
    pub status_requests: usize,
}

/// A running stand-in.
pub struct SmsStandIn {
    pub server: FakeServer,
    pub log: Arc<Mutex<SmsLog>>,
}

impl SmsStandIn {
    /// What it took so far.
    pub fn taken(&self) -> Vec<HashMap<String, String>> {
        self.log.lock().expect("sms log").taken.clone()
    }

    /// Requests it got so far.
    pub fn requests(&self) -> usize {
        self.log.lock().expect("sms log").requests
    }

    /// SMSC: what `status.php` reports for the message `id` from now on.
    pub fn set_status(&self, id: &str, status: i64, err: i64) {
        self.log
            .lock()
            .expect("sms log")
            .statuses
            .insert(id.to_owned(), (status, err));
    }

    /// SMSC: the status requests it answered so far.
    pub fn status_requests(&self) -> usize {
        self.log.lock().expect("sms log").status_requests
    }

    /// The message id it gave the `n`-th message it took (from 1).
    pub fn id_of(&self, n: u64) -> String {
        (169_275_417 + n).to_string()
    }
}

/// A request's query or form fields.
type Fields = HashMap<String, String>;

/// How a stand-in answers a request it did not script: from its query and its form.
type Answer = fn(&mut SmsLog, &Fields, &Fields) -> Scripted;

fn start(path: &'static str, script: Vec<Scripted>, answer: Answer) -> SmsStandIn {
    start_with(path, script, answer, |_, _| {})
}

/// Routes a stand-in serves besides its send request.
type Extra = fn(&mut web::ServiceConfig, web::Data<Mutex<SmsLog>>);

fn start_with(
    path: &'static str,
    script: Vec<Scripted>,
    answer: Answer,
    extra: Extra,
) -> SmsStandIn {
    let log = Arc::new(Mutex::new(SmsLog {
        script: script.into(),
        ..SmsLog::default()
    }));
    let shared = web::Data::from(Arc::clone(&log));
    let server = FakeServer::start(move |cfg| {
        extra(cfg, shared.clone());
        cfg.app_data(shared.clone()).route(
            path,
            web::post().to(
                move |log: web::Data<Mutex<SmsLog>>,
                      query: web::Query<HashMap<String, String>>,
                      form: web::Form<HashMap<String, String>>| async move {
                    let mut log = log.lock().expect("sms log");
                    log.requests += 1;
                    let reply = match log.script.pop_front() {
                        Some(scripted) => scripted,
                        None => answer(&mut log, &query, &form),
                    };
                    HttpResponse::build(
                        actix_web::http::StatusCode::from_u16(reply.status).expect("status"),
                    )
                    .json(reply.body)
                },
            ),
        );
    });
    SmsStandIn { server, log }
}

/// A number as both providers take it: 11 to 15 digits (SMSC: with or without `+`).
fn valid_number(number: &str) -> bool {
    let digits = number.strip_prefix('+').unwrap_or(number);
    (11..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// Mobizon: checks `output=json`, `api=v1` and the key, then the recipient (digits
/// only, as its documentation asks).
pub fn mobizon(script: Vec<Scripted>) -> SmsStandIn {
    start(
        "/service/message/sendsmsmessage",
        script,
        |log, query, form| {
            let ok = |body: Value| Scripted { status: 200, body };
            if query.get("output").map(String::as_str) != Some("json")
                || query.get("api").map(String::as_str) != Some("v1")
            {
                return ok(json!({"code": 6, "data": [], "message": "Incorrect format"}));
            }
            if query.get("apiKey").map(String::as_str) != Some(MOBIZON_KEY) {
                return ok(json!({"code": 8, "data": [], "message": "Неверный ключ API"}));
            }
            let recipient = form.get("recipient").cloned().unwrap_or_default();
            if recipient.starts_with('+') || !valid_number(&recipient) {
                return ok(json!({
                    "code": 1,
                    "data": {"recipient": "Неверный номер получателя"},
                    "message": "Ошибка валидации"
                }));
            }
            if form.get("text").is_none_or(|t| t.is_empty()) {
                return ok(json!({"code": 1, "data": {"text": "Пустой текст"}, "message": ""}));
            }
            log.next_id += 1;
            log.taken.push(form.clone());
            ok(json!({
                "code": 0,
                "data": {"campaignId": 245_455_095 + log.next_id, "messageId": 169_275_417 + log.next_id, "status": 2},
                "message": ""
            }))
        },
    )
}

/// SMSC: checks `login`/`psw`, `fmt=3` and `charset=utf-8`, then the number. Its
/// `GET /sys/status.php?login&psw&phone&id&fmt=3` answers `{"status", "last_date",
/// "last_timestamp", "flag", "err"}` for a message it took to that number (`-1`,
/// waiting, until the test sets a status), `{"status": -3}` (not found) for another
/// id or number, `{"error","error_code": 2}` for wrong credentials.
pub fn smsc(script: Vec<Scripted>) -> SmsStandIn {
    start_with("/sys/send.php", script, smsc_send, |cfg, log| {
        cfg.app_data(log).route(
            "/sys/status.php",
            web::get().to(
                |log: web::Data<Mutex<SmsLog>>, query: web::Query<HashMap<String, String>>| async move {
                    let mut log = log.lock().expect("sms log");
                    log.status_requests += 1;
                    let field = |name: &str| query.get(name).map(String::as_str);
                    let body = if field("login") != Some(SMSC_LOGIN)
                        || field("psw") != Some(SMSC_PASSWORD)
                    {
                        json!({"error": "authorise error", "error_code": 2})
                    } else if field("fmt") != Some("3") {
                        json!({"error": "parameters error", "error_code": 1})
                    } else {
                        let id = field("id").unwrap_or_default();
                        let known = log.sent_to.get(id).map(String::as_str) == field("phone");
                        let (status, err) = log.statuses.get(id).copied().unwrap_or((-1, 0));
                        if known {
                            json!({"status": status, "last_date": "06.12.2026 11:42:08",
                                   "last_timestamp": 1_796_550_128, "flag": 0, "err": err})
                        } else {
                            json!({"status": -3, "last_date": "", "last_timestamp": 0,
                                   "flag": 0, "err": 0})
                        }
                    };
                    HttpResponse::Ok().json(body)
                },
            ),
        );
    })
}

fn smsc_send(log: &mut SmsLog, _query: &Fields, form: &Fields) -> Scripted {
    {
        let ok = |body: Value| Scripted { status: 200, body };
        let field = |name: &str| form.get(name).map(String::as_str);
        if field("fmt") != Some("3") || field("charset") != Some("utf-8") {
            return ok(json!({"error": "parameters error", "error_code": 1}));
        }
        if field("login") != Some(SMSC_LOGIN) || field("psw") != Some(SMSC_PASSWORD) {
            return ok(json!({"error": "authorise error", "error_code": 2}));
        }
        if !field("phones").is_some_and(valid_number) {
            return ok(json!({"error": "invalid number", "error_code": 7}));
        }
        log.next_id += 1;
        log.taken.push(form.clone());
        let id = 169_275_417 + log.next_id;
        let phone = field("phones").unwrap_or_default().to_owned();
        log.sent_to.insert(id.to_string(), phone);
        ok(json!({"id": id, "cnt": 1}))
    }
}
