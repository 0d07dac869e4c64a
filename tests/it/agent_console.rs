//! The agent consoles as agents use them, in a real headless Chromium: the 1308 agent
//! takes a call whose number the telephony system announced, reads the consent script,
//! enters the appeal by keyboard and gives the caller the tracking number; the front
//! office takes an ID document's number and refuses its scan; a disabled agent cannot
//! log in; an idle session ends. Screenshots go to `target/screenshots/agent-*.png`.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::support::agent::*;
use crate::support::browser::Browser;
use crate::support::*;
use fantoccini::Locator;

/// Applicant fields `channels/call_center.toml` allows.
const CALL_CENTER_FIELDS: [&str; 6] = [
    "last_name",
    "first_name",
    "patronymic",
    "email",
    "phones",
    "iin",
];

const TAB: &str = "\u{E004}";
const ENTER: &str = "\u{E007}";

/// Keystrokes and clicks an agent spends, counted as they are sent.
#[derive(Default)]
struct Effort {
    keys: usize,
    /// Of the keys, those that move or act (Tab, Enter, Space) rather than write.
    moves: usize,
    clicks: usize,
}

impl Effort {
    /// Types into whatever has the focus, as a keyboard does.
    async fn keys(&mut self, browser: &Browser, text: &str) {
        self.keys += text.chars().count();
        if matches!(text, TAB | ENTER | " ") {
            self.moves += 1;
        }
        browser
            .client
            .active_element()
            .await
            .expect("focused element")
            .send_keys(text)
            .await
            .expect("type");
    }
}

async fn start(data_dir: &std::path::Path, redis: &RedisServer, idle: &str) -> Gateway {
    Gateway::start_with(
        GatewayOptions::new(&redis.url())
            .env("GATEWAY_DATA_DIR", &data_dir.display().to_string())
            .env("GATEWAY_COOKIE_SECURE", "false")
            .env("GATEWAY_AGENT_SESSION_IDLE_SECS", idle),
    )
    .await
}

async fn log_in(browser: &Browser, gw: &Gateway, id: &str) {
    browser.goto(&gw.url("/agent/login?lang=ru")).await;
    browser.fill("agent_id", id).await;
    browser.fill("password", PASSWORD).await;
    browser.click("#login").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_center_agent_takes_a_call_and_the_caller_gets_a_tracking_number() {
    let redis = RedisServer::new();
    let data = tempfile::tempdir().expect("data dir");
    add_agent(&redis, "aigerim", "call_center_agent", false);
    let gw = start(data.path(), &redis, "900").await;
    assert_eq!(
        announce_call(&gw, "8 701 123 45 67", Some("aigerim")).await,
        202
    );

    let browser = Browser::start(1280, 1000).await;
    log_in(&browser, &gw, "aigerim").await;
    let script = browser.text_of("#consent-script").await;
    assert!(script.contains("Вы согласны?"), "{script}");
    assert!(browser.source().await.contains(POLICY_VERSION));
    assert_eq!(browser.value_of("phone").await, "+77011234567");
    browser.text_of("#call").await;
    browser.screenshot("agent-call-center-console-ru").await;

    // The consent box has the focus: the agent reads the script, then types through.
    let mut effort = Effort::default();
    effort.keys(&browser, " ").await; // the caller agreed
    effort.keys(&browser, TAB).await; // notifications: left unticked
    effort.keys(&browser, TAB).await; // the phone is filled in
    effort.keys(&browser, TAB).await;
    effort.keys(&browser, "Сейткали").await;
    effort.keys(&browser, TAB).await;
    effort.keys(&browser, "Айгерим").await;
    effort.keys(&browser, TAB).await; // no patronymic
    effort.keys(&browser, TAB).await; // no email
    effort.keys(&browser, TAB).await; // no IIN
    effort.keys(&browser, TAB).await;
    browser.select("category", "roads").await;
    effort.clicks += 1;
    browser.click("#f-address").await;
    effort.clicks += 1;
    effort.keys(&browser, "ул. Абая, 10").await;
    effort.keys(&browser, TAB).await;
    effort
        .keys(
            &browser,
            "Яма на дороге у остановки, машины объезжают по встречной.",
        )
        .await;
    effort.keys(&browser, TAB).await;
    effort.keys(&browser, ENTER).await;
    let tracking = browser.text_of("#tracking").await;
    assert!(is_tracking_number(&tracking), "{tracking}");
    browser.screenshot("agent-call-center-receipt-ru").await;
    println!(
        "typical call-center appeal: {} keystrokes ({} of them Tab/Enter/Space), {} clicks",
        effort.keys, effort.moves, effort.clicks
    );

    let appeal = appeal_with_tracking(&redis, &tracking).await;
    assert_eq!(appeal["channel"], "call_center");
    assert_eq!(appeal["agent_id"], "aigerim");
    assert_eq!(appeal["consent"]["method"], "verbal");
    assert_eq!(appeal["consent"]["captured_by"], "aigerim");
    assert_eq!(appeal["consent"]["policy_version"], POLICY_VERSION);
    assert_eq!(appeal["category"], "roads");
    assert_eq!(appeal["applicant"]["phones"][0], "+77011234567");
    let allowed: BTreeSet<&str> = CALL_CENTER_FIELDS.into_iter().collect();
    for key in appeal["applicant"].as_object().expect("applicant").keys() {
        assert!(
            allowed.contains(key.as_str()),
            "{key} is not a call-center field"
        );
    }

    // The same place again, written differently: the hint shows the first number only.
    browser.click("#next").await;
    effort = Effort::default();
    effort.keys(&browser, " ").await;
    browser.fill("phone", "+7 777 000 11 22").await;
    browser.fill("first_name", "Ерлан").await;
    browser.select("category", "roads").await;
    browser.fill("address", "Абая 10").await;
    browser.fill("text", "Опять яма, уже две недели.").await;
    browser.click("#submit").await;
    let hint = browser.text_of("#duplicates").await;
    assert!(hint.contains(&tracking), "{hint}");
    assert!(
        !hint.contains("Сейткали") && !hint.contains("701"),
        "{hint}"
    );
    browser.screenshot("agent-duplicates-hint-ru").await;
    browser.click("#submit").await;
    let second = browser.text_of("#tracking").await;
    assert_ne!(second, tracking);

    let logs = gw.logs();
    assert!(logs.contains("\"target\":\"audit\""), "no audit records");
    for secret in ["Сейткали", "Айгерим", "7011234567", "Абая", PASSWORD] {
        assert!(!logs.contains(secret), "the log holds {secret}");
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_front_office_takes_a_document_number_and_refuses_a_document_scan() {
    let redis = RedisServer::new();
    let data = tempfile::tempdir().expect("data dir");
    add_agent(&redis, "dana", "front_office_operator", false);
    let gw = start(data.path(), &redis, "900").await;
    let browser = Browser::start(1280, 1100).await;

    browser.goto(&gw.url("/agent/consent-form?lang=kk")).await;
    assert!(
        browser
            .text_of("#policy-version")
            .await
            .contains(POLICY_VERSION)
    );
    browser.screenshot("agent-consent-form-kk").await;
    browser.goto(&gw.url("/agent/consent-form?lang=ru")).await;
    assert!(browser.text_of("#form-text").await.contains("даю согласие"));

    log_in(&browser, &gw, "dana").await;
    browser.text_of("#consent-script").await;
    let dir = tempfile::tempdir().expect("dir");
    let scan = dir.path().join("udostoverenie-scan.jpg");
    // A JPEG the photo cleaner would accept and keep: only its name and field say it
    // is a document.
    let scan_bytes: Vec<u8> = [
        &[0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10][..],
        b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0",
        &[0xFF, 0xDA, 0x00, 0x02],
        b"ID-CARD-045123987",
        &[0xFF, 0xD9],
    ]
    .concat();
    std::fs::write(&scan, &scan_bytes).expect("scan");
    browser.click("#f-consent").await;
    browser.fill("phone", "87071234567").await;
    browser.fill("last_name", "Омарова").await;
    browser.fill("first_name", "Дана").await;
    browser.fill("birth_date", "1990-04-12").await;
    browser.fill("id_document_number", "045123987").await;
    browser.select("category", "lighting").await;
    browser.fill("address", "мкр. Самал-2, 58").await;
    browser.fill("text", "Во дворе не горят фонари.").await;
    browser.fill("photos", &scan.display().to_string()).await;
    browser.click("#submit").await;
    let error = browser.text_of("#e-photos").await;
    assert!(error.contains("удостоверения"), "{error}");
    assert_eq!(browser.value_of("id_document_number").await, "045123987");
    browser
        .screenshot("agent-front-office-scan-refused-ru")
        .await;
    let kept: Vec<String> = walk(data.path())
        .into_iter()
        .filter(|p| {
            std::fs::read(p).is_ok_and(|bytes| {
                bytes
                    .windows(b"ID-CARD-045123987".len())
                    .any(|w| w == b"ID-CARD-045123987")
            })
        })
        .collect();
    assert!(kept.is_empty(), "the scan's bytes are kept in {kept:?}");
    let stored: Vec<String> = walk(&data.path().join("attachments"))
        .into_iter()
        .filter(|p| std::path::Path::new(p).is_file())
        .collect();
    assert!(
        stored.is_empty(),
        "no photo is stored for a refused scan: {stored:?}"
    );

    browser.click("#submit").await;
    let tracking = browser.text_of("#tracking").await;
    browser.screenshot("agent-front-office-receipt-ru").await;
    let appeal = appeal_with_tracking(&redis, &tracking).await;
    assert_eq!(appeal["channel"], "front_office");
    assert_eq!(appeal["agent_id"], "dana");
    assert_eq!(appeal["consent"]["method"], "written");
    assert_eq!(appeal["applicant"]["id_document_number"], "045123987");
    assert!(
        appeal["attachments"]
            .as_array()
            .is_none_or(|a| a.is_empty())
    );
    let metrics = gw.api().metrics().await;
    assert!(
        metrics.contains("identity_document_scan"),
        "the refusal is counted"
    );
    browser.close().await;
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            let p = e.path();
            out.push(p.display().to_string());
            if p.is_dir() {
                out.extend(walk(&p));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_agent_cannot_log_in_and_an_idle_session_expires() {
    let redis = RedisServer::new();
    let data = tempfile::tempdir().expect("data dir");
    add_agent(&redis, "timur", "call_center_agent", false);
    add_agent(&redis, "asel", "supervisor", false);
    let gw = start(data.path(), &redis, "3").await;
    let browser = Browser::start(1280, 900).await;

    // Disabled beside the running gateway: the open session ends, no new login.
    log_in(&browser, &gw, "timur").await;
    browser.text_of("#consent-script").await;
    let listed = agents_cmd(&redis, &["disable", "timur"]);
    assert!(listed.contains("disabled"));
    browser.goto(&gw.url("/agent/?lang=ru")).await;
    assert!(browser.url().await.contains("/agent/login"));
    log_in(&browser, &gw, "timur").await;
    let error = browser.text_of("#login-error").await;
    assert!(error.contains("Неверный"), "{error}");
    browser.screenshot("agent-disabled-refused-ru").await;
    let list = agents_cmd(&redis, &["list"]);
    assert!(
        list.contains("timur\tcall_center_agent\tdisabled"),
        "{list}"
    );

    // Idle past GATEWAY_AGENT_SESSION_IDLE_SECS: back to the login, told why.
    log_in(&browser, &gw, "asel").await;
    browser.text_of("#consent-script").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    browser.goto(&gw.url("/agent/?lang=ru")).await;
    let error = browser.text_of("#login-error").await;
    assert!(error.contains("бездействия"), "{error}");
    browser.screenshot("agent-session-expired-ru").await;
    assert!(browser.client.find(Locator::Id("f-agent_id")).await.is_ok());
    browser.close().await;
}
