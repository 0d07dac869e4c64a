//! The parsers under random input (issue 17, point 9): whatever a citizen or a provider
//! sends, nothing panics and the invariants the rest of the gateway relies on hold —
//! normalized text is NFC, free of control and invisible characters and normalizing it
//! again changes nothing; the policy keeps only the fields its channel allows; a tracking
//! number found in a subject has the shape of one. The parsers that sit behind HTTP (the
//! multipart reader of the forms, the Telegram and WhatsApp webhooks) are driven through
//! a real gateway on loopback, with a real Redis, and must answer every request with
//! something other than a 5xx.
//!
//! Case counts are fixed and small (`CASES`, `HTTP_CASES`) so the whole file runs in
//! seconds; a failure prints the shrunk input that caused it.

mod support;

use std::collections::BTreeMap;

use appeal_gateway::appeal::Channel;
use appeal_gateway::channels::email::{self, markers, parse};
use appeal_gateway::normalize;
use appeal_gateway::policy::Policies;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::{Value, json};
use unicode_normalization::UnicodeNormalization;

use support::fake_telegram::{self as tg, FakeBotApi};
use support::fake_whatsapp::{self as wa, FakeGraph};
use support::*;

/// Cases of each pure property.
const CASES: u32 = 256;
/// Cases of each property driven over HTTP.
const HTTP_CASES: u32 = 48;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // No regression files in the tree: a failure prints its input.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

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

fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{E0000}'..='\u{E007F}')
}

fn is_nfc(s: &str) -> bool {
    s.nfc().collect::<String>() == s
}

proptest! {
    #![proptest_config(config(CASES))]

    #[test]
    fn normalized_text_is_nfc_clean_and_stable(input in hostile_text()) {
        let out = normalize::text(&input);
        prop_assert!(is_nfc(&out), "not NFC: {out:?}");
        prop_assert!(
            !out.chars().any(|c| (c.is_control() && c != '\n' && c != '\t') || invisible(c)),
            "a control or invisible character survived: {out:?}"
        );
        prop_assert!(!out.contains('\r'));
        prop_assert_eq!(out.trim(), out.as_str());
        prop_assert_eq!(normalize::text(&out), out.clone(), "normalizing twice changes it");
    }

    #[test]
    fn a_normalized_line_is_one_nfc_line_and_stable(input in hostile_text()) {
        let out = normalize::line(&input);
        prop_assert!(is_nfc(&out), "not NFC: {out:?}");
        prop_assert!(!out.chars().any(|c| c.is_control() || invisible(c)), "{out:?}");
        prop_assert!(!out.contains("  ") && out.trim() == out, "spaces collapsed: {out:?}");
        prop_assert_eq!(normalize::line(&out), out.clone());
    }

    #[test]
    fn a_phone_number_normalizes_to_e164_or_is_refused(
        input in prop_oneof![
            hostile_text(),
            "[+8]?[ (]?[0-9]{3}[) -]?[0-9]{3}[ -]?[0-9]{2}[ -]?[0-9]{2}",
            "\\+?[0-9 ()-]{0,20}",
        ]
    ) {
        if let Ok(phone) = normalize::phone(&input) {
            prop_assert!(phone.starts_with('+'), "{phone}");
            prop_assert!(phone[1..].bytes().all(|b| b.is_ascii_digit()), "{phone}");
            prop_assert!((8..=16).contains(&phone.len()), "{phone}");
            prop_assert_eq!(normalize::phone(&phone).ok(), Some(phone.clone()));
        }
    }

    #[test]
    fn an_email_address_normalizes_stably_or_is_refused(
        input in prop_oneof![hostile_text(), "[a-zA-Z0-9._%+-]{1,20}@[a-zA-Z0-9.-]{1,20}\\.[a-z]{2,6}"]
    ) {
        if let Ok(address) = normalize::email(&input) {
            prop_assert!(address.contains('@'));
            prop_assert!(!address.chars().any(|c| c.is_control() || c.is_whitespace()));
            prop_assert_eq!(normalize::email(&address).ok(), Some(address.clone()));
        }
    }

    #[test]
    fn identifiers_never_panic(input in hostile_text()) {
        if let Ok(iin) = normalize::iin(&input) {
            prop_assert!(iin.len() == 12 && iin.bytes().all(|b| b.is_ascii_digit()));
        }
        let _ = normalize::document_number(&input);
        let _ = normalize::chat_id(&input);
        let _ = normalize::language(&input);
    }

    #[test]
    fn the_policy_keeps_only_what_the_channel_allows(
        fields in proptest::collection::btree_map(
            prop_oneof![
                Just("last_name".to_owned()), Just("first_name".to_owned()),
                Just("patronymic".to_owned()), Just("email".to_owned()),
                Just("phones".to_owned()), Just("iin".to_owned()),
                Just("birth_date".to_owned()), Just("id_document_number".to_owned()),
                Just("home_address".to_owned()), Just("passport_scan".to_owned()),
                "[a-z_]{1,12}", hostile_text(),
            ],
            prop_oneof![
                hostile_text().prop_map(Value::from),
                Just(json!(["+7 701 555 12 34", "8 (727) 250-00-00"])),
                Just(json!("arman@example.kz")),
                Just(json!("900101300123")),
                Just(json!({"nested": "object"})),
                Just(json!(12345)),
                Just(Value::Null),
            ],
            0..8,
        ),
        channel in proptest::sample::select(Channel::ALL.to_vec()),
    ) {
        let policies = Policies::embedded().map_err(TestCaseError::fail)?;
        let policy = policies.channel(channel);
        let raw: BTreeMap<String, Value> = fields;
        let today = time::macros::date!(2026 - 12 - 01);
        let filtered = policy.filter_applicant(&raw, today);
        let kept = serde_json::to_value(&filtered.applicant).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for (name, value) in kept.as_object().into_iter().flatten() {
            prop_assert!(policy.fields.contains(name), "{channel:?} kept {name}");
            prop_assert!(raw.contains_key(name), "{name} kept without being sent");
            for text in value.as_str().into_iter().chain(value.as_array().into_iter().flatten().filter_map(Value::as_str)) {
                prop_assert!(is_nfc(text) && !text.chars().any(char::is_control), "{text:?}");
            }
        }
        for (name, _) in raw.iter().filter(|(n, _)| !policy.fields.contains(n.as_str())) {
            prop_assert!(kept.get(name).is_none(), "{name} not allowed yet kept");
        }
        for dropped in &filtered.dropped {
            prop_assert!(!dropped.chars().any(|c| c.is_control() || invisible(c)), "{dropped:?}");
        }
    }

    #[test]
    fn a_tracking_number_found_in_a_subject_has_its_shape(subject in hostile_text()) {
        if let Some(t) = email::tracking_number_in(&subject) {
            prop_assert!(is_tracking_number(&t), "{t}");
            prop_assert!(subject.to_ascii_uppercase().contains(&t));
        }
        let _ = markers::find(&subject);
        let _ = email::strip_reply_prefixes(&subject);
    }

    #[test]
    fn a_tracking_number_in_a_reply_subject_is_found(
        number in "OA-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}",
        before in "[а-яё :\\[]{0,20}",
        after in "[а-яё :\\]]{0,20}",
        lower in any::<bool>(),
    ) {
        let written = if lower { number.to_lowercase() } else { number.clone() };
        let subject = format!("Re: {before}{written}{after}");
        prop_assert_eq!(email::tracking_number_in(&subject), Some(number));
    }

    #[test]
    fn any_bytes_as_a_mail_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse::parse(&raw);
    }

    #[test]
    fn any_mail_with_hostile_headers_and_parts_never_panics(
        from in hostile_text(),
        subject in hostile_text(),
        body in hostile_text(),
        charset in prop_oneof![Just("utf-8".to_owned()), Just("windows-1251".to_owned()), Just("koi8-r".to_owned()), Just("ibm866".to_owned()), "[a-z0-9-]{1,12}"],
        encoding in prop_oneof![Just("8bit".to_owned()), Just("base64".to_owned()), Just("quoted-printable".to_owned()), "[a-z0-9-]{1,10}"],
        attachment in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let raw = format!(
            "From: {from}\r\nTo: open-almaty@almatydc.kz\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n\
             Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n\
             {body}\r\n--B\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename=\"{subject}.jpg\"\r\n\r\n"
        );
        let raw = [raw.as_bytes(), &attachment, b"\r\n--B--\r\n"].concat();
        if let Ok(mail) = parse::parse(&raw) {
            prop_assert!(is_nfc(&normalize::text(&mail.text)));
        }
    }
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
    let gw = rt.block_on(Gateway::start_with(
        GatewayOptions::new(&redis.url())
            .env("GATEWAY_FORM_RATE_PER_MINUTE", "100000")
            .env("GATEWAY_TELEGRAM_BOT_TOKEN", tg::TOKEN)
            .env("GATEWAY_TELEGRAM_WEBHOOK_SECRET", tg::SECRET)
            .env("GATEWAY_TELEGRAM_API_URL", &api.api_url())
            .env("GATEWAY_WHATSAPP_APP_SECRET", wa::APP_SECRET)
            .env("GATEWAY_WHATSAPP_VERIFY_TOKEN", wa::VERIFY_TOKEN)
            .env("GATEWAY_WHATSAPP_ACCESS_TOKEN", wa::ACCESS_TOKEN)
            .env("GATEWAY_WHATSAPP_PHONE_NUMBER_ID", wa::PHONE_NUMBER_ID)
            .env("GATEWAY_WHATSAPP_API_URL", &graph.api_url()),
    ));
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

    // Still serving, and nothing panicked on the way.
    let (status, _) = rt.block_on(client.readyz());
    assert_eq!(status, 200);
    assert!(!gw.logs().contains("panicked"), "a handler panicked");
}
