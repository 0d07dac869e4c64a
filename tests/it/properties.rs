//! The parsers behind HTTP under random input (issue 17, point 9): the forms' multipart
//! reader, the Telegram webhook (`Update` parsing) and the WhatsApp webhook
//! (notification parsing) are driven through a real gateway on loopback, with a real
//! Redis, and must answer every request with something other than a 5xx, and log no
//! panic. The pure parsers (normalization, the policy, the email parser, tracking
//! numbers) have their properties in `src/properties.rs`. `HTTP_CASES` bounds the run to
//! seconds; a failure prints the shrunk input that caused it.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};

use crate::support::fake_telegram::{self as tg, FakeBotApi};
use crate::support::fake_whatsapp::{self as wa, FakeGraph};
use crate::support::*;

/// Cases of each property driven over HTTP.
const HTTP_CASES: u32 = 48;

/// Text as citizens and attackers write it: any Unicode, with the troublesome parts
/// (combining marks, bidi controls, zero-width characters, CR, NUL) over-represented.
fn hostile_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        any::<char>().prop_map(String::from),
        "[a-zA-Zа-яА-ЯәіңғүұқөһӘІҢҒҮҰҚӨҺ0-9 ]{1,8}",
        Just("\u{0301}".to_owned()),
        Just("e\u{0301}".to_owned()),
        Just("\u{202E}".to_owned()),
        Just("\u{200B}".to_owned()),
        Just("\u{FEFF}".to_owned()),
        Just("\r\n".to_owned()),
        Just("\r".to_owned()),
        Just("\u{2028}".to_owned()),
        Just("\0".to_owned()),
        Just("\t".to_owned()),
        Just("\u{E0041}".to_owned()),
        Just("\u{1F469}\u{200D}\u{1F692}".to_owned()),
    ];
    proptest::collection::vec(pieces, 0..24).prop_map(|p| p.concat())
}

/// Any JSON value, a few levels deep.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        hostile_text().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-z_]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A Telegram update: well-formed where the Bot API is, random where a citizen writes
/// (or where a forged request would put anything).
fn telegram_update() -> impl Strategy<Value = Value> {
    (
        any::<u32>(),
        1i64..1_000_000,
        hostile_text(),
        hostile_text(),
        prop_oneof![Just(Value::Null), any_json()],
        proptest::sample::select(vec![
            "text", "caption", "contact", "location", "photo", "document",
        ]),
    )
        .prop_map(|(update_id, chat, name, text, extra, key)| {
            let mut message = json!({
                "message_id": update_id % 100_000,
                "date": 1_764_063_000,
                "chat": {"id": chat, "type": "private", "first_name": name},
                "from": {"id": chat, "is_bot": false, "first_name": name, "language_code": "ru"},
            });
            message[key] = match key {
                "text" | "caption" => Value::from(text),
                _ => extra,
            };
            json!({"update_id": update_id, "message": message})
        })
}

/// A WhatsApp notification carrying one message of a random type and content.
fn whatsapp_notification() -> impl Strategy<Value = Value> {
    (
        prop_oneof!["[0-9]{11,12}", hostile_text()],
        hostile_text(),
        proptest::sample::select(vec!["text", "image", "location", "interactive", "button", "sticker", "unknown"]),
        hostile_text(),
        any_json(),
    )
        .prop_map(|(from, name, kind, text, extra)| {
            let mut message = json!({"from": from, "id": format!("wamid.{}", text.len()), "timestamp": "1764063000", "type": kind});
            message[kind] = match kind {
                "text" => json!({"body": text}),
                _ => extra,
            };
            wa::message(&from, &name, message)
        })
}

/// A multipart body as browsers write it, with random names, file names, types and
/// contents, and sometimes broken on purpose.
fn multipart_body() -> impl Strategy<Value = (String, Vec<u8>)> {
    let part = (
        prop_oneof![
            Just("text".to_owned()),
            Just("photos".to_owned()),
            Just("kept_photo".to_owned()),
            "[a-z_]{1,10}",
            hostile_text()
        ],
        proptest::option::of(hostile_text()),
        proptest::option::of(prop_oneof![
            Just("image/jpeg".to_owned()),
            Just("text/html".to_owned()),
            "[a-z/+.-]{1,20}"
        ]),
        prop_oneof![
            hostile_text().prop_map(String::into_bytes),
            proptest::collection::vec(any::<u8>(), 0..512),
            Just(vec![0xFF, 0xD8, 0xFF, 0xE0]),
        ],
    );
    (
        "[A-Za-z0-9'()+_,./:=?-]{1,40}",
        proptest::collection::vec(part, 0..6),
        any::<bool>(),
        0usize..64,
    )
        .prop_map(|(boundary, parts, close, cut)| {
            let mut body = Vec::new();
            for (name, file_name, content_type, data) in parts {
                body.extend_from_slice(
                    format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"")
                        .as_bytes(),
                );
                if let Some(file_name) = file_name {
                    body.extend_from_slice(format!("; filename=\"{file_name}\"").as_bytes());
                }
                if let Some(content_type) = content_type {
                    body.extend_from_slice(format!("\r\nContent-Type: {content_type}").as_bytes());
                }
                body.extend_from_slice(b"\r\n\r\n");
                body.extend_from_slice(&data);
                body.extend_from_slice(b"\r\n");
            }
            if close {
                body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
            } else {
                body.truncate(body.len().saturating_sub(cut));
            }
            (boundary, body)
        })
}

/// Runs `strategy` against the gateway; every answer must be below 500.
fn no_5xx<S: Strategy>(what: &str, strategy: S, send: impl Fn(S::Value) -> Result<u16, String>)
where
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(Config {
        cases: HTTP_CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&strategy, |input| {
        let status = send(input).map_err(TestCaseError::fail)?;
        prop_assert!(status < 500, "{what}: answered {status}");
        Ok(())
    });
    if let Err(e) = result {
        panic!("{what}: {e}");
    }
}

#[test]
fn the_forms_and_the_webhooks_answer_random_input_without_a_5xx_or_a_panic() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let redis = RedisServer::new();
    let api = FakeBotApi::start();
    let graph = FakeGraph::start();
    let gw = rt.block_on(Gateway::start_with(graph.configure(api.configure(
        GatewayOptions::new(&redis.url()).env("GATEWAY_FORM_RATE_PER_MINUTE", "100000"),
    ))));
    let client = gw.api();
    let post = |path: &str, content_type: String, body: Vec<u8>, headers: &[(&str, &str)]| {
        rt.block_on(client.try_post(path, None, Some(&content_type), body, headers))
            .map(|reply| reply.status)
    };

    no_5xx("multipart form", multipart_body(), |(boundary, body)| {
        post(
            "/en/",
            format!("multipart/form-data; boundary={boundary}"),
            body,
            &[],
        )
    });
    no_5xx("telegram webhook", telegram_update(), |update| {
        let body = serde_json::to_vec(&update).map_err(|e| e.to_string())?;
        post(
            "/telegram/webhook",
            JSON.to_owned(),
            body,
            &[("X-Telegram-Bot-Api-Secret-Token", tg::SECRET)],
        )
    });
    no_5xx("telegram webhook, any JSON", any_json(), |value| {
        let body = serde_json::to_vec(&value).map_err(|e| e.to_string())?;
        post(
            "/telegram/webhook",
            JSON.to_owned(),
            body,
            &[("X-Telegram-Bot-Api-Secret-Token", tg::SECRET)],
        )
    });
    no_5xx(
        "whatsapp webhook",
        whatsapp_notification(),
        |notification| {
            let body = serde_json::to_vec(&notification).map_err(|e| e.to_string())?;
            let signature = wa::sign(wa::APP_SECRET, &body);
            post(
                "/whatsapp/webhook",
                JSON.to_owned(),
                body,
                &[("X-Hub-Signature-256", &signature)],
            )
        },
    );

    // Still serving and ready (the forwarder's first word with Redis may come a second
    // after the start, later than a quick run of the inputs), and nothing panicked.
    rt.block_on(wait_until("the gateway to be ready", WAIT, || async {
        match client.readyz().await {
            (200, _) => Ok(()),
            (status, body) => Err(format!("{status} {body}")),
        }
    }));
    assert!(!gw.logs().contains("panicked"), "a handler panicked");
}
