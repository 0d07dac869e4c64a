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

    // The same place again, written differently: the hint shows the earlier appeal
    // (issue 28, point 1): its number, category, when it was registered and its first
    // words, nothing of its author; it takes the focus and offers two ways on.
    let again = |phone: &'static str, name: &'static str, text: &'static str| {
        let browser = &browser;
        async move {
            browser.click("#next").await;
            browser.text_of("#consent-script").await;
            browser.click("#f-consent").await;
            browser.fill("phone", phone).await;
            browser.fill("first_name", name).await;
            browser.select("category", "roads").await;
            browser.fill("address", "Абая 10").await;
            browser.fill("text", text).await;
            browser.click("#submit").await;
            browser.text_of("#duplicates").await
        }
    };
    let hint = again("+7 777 000 11 22", "Ерлан", "Опять яма, уже две недели.").await;
    assert!(hint.contains(&tracking), "{hint}");
    assert!(hint.contains("Дороги и тротуары"), "{hint}");
    let today = time::OffsetDateTime::now_utc().to_offset(time::macros::offset!(+5));
    let date = format!(
        "{:02}.{:02}.{}",
        today.day(),
        u8::from(today.month()),
        today.year()
    );
    assert!(hint.contains(&date), "the registration date: {hint}");
    assert!(
        hint.contains("Яма на дороге у остановки, машины объезжают по…"),
        "the first words: {hint}"
    );
    assert!(
        !hint.contains("Сейткали") && !hint.contains("701"),
        "{hint}"
    );
    assert_eq!(browser.focused().await, "duplicates");
    axe_clean(&browser, "agent-duplicates-hint-ru").await;
    // A new problem: a new appeal.
    browser.click("#dup-new").await;
    let second = browser.text_of("#tracking").await;
    assert_ne!(second, tracking);
    // The same problem once more: the call is added to the first appeal, whose number
    // the caller is given; no third appeal.
    let hint = again("+7 777 000 33 44", "Мария", "Яма стала глубже.").await;
    assert!(hint.contains(&second), "{hint}");
    let same = browser
        .client
        .find(Locator::Css(&format!(
            "#duplicates button[value='same:{tracking}']"
        )))
        .await
        .expect("the same-problem button of the first appeal");
    same.click().await.expect("click");
    let added = browser.text_of("#added").await;
    axe_clean(&browser, "agent-added-to-earlier-ru").await;
    assert!(added.contains(&tracking), "{added}");
    assert_eq!(browser.text_of("#tracking").await, tracking);
    let addition = wait_for_entries_of(&redis.url(), "appeals.v1", "appeal_addition", 1).await;
    let addition = addition
        .iter()
        .find(|e| e.kind == "appeal_addition")
        .expect("an addition");
    assert_eq!(addition.data["id"], appeal["id"]);
    assert_eq!(addition.data["tracking_number"], tracking);
    assert_eq!(addition.data["channel"], "call_center");
    assert_eq!(addition.data["text"], "Яма стала глубже.");
    let appeals = read_stream(&redis.url(), "appeals.v1").await;
    assert_eq!(
        appeals.iter().filter(|e| e.kind == "appeal").count(),
        2,
        "no third appeal"
    );

    let logs = gw.logs();
    assert!(logs.contains("\"target\":\"audit\""), "no audit records");
    for secret in ["Сейткали", "Айгерим", "7011234567", "Абая", PASSWORD] {
        assert!(!logs.contains(secret), "the log holds {secret}");
    }
    browser.close().await;
}

/// No axe-core violation on the page as it is (issue 28, point 7); a screenshot kept.
async fn axe_clean(browser: &Browser, name: &str) {
    let violations = browser.axe_violations().await;
    assert!(
        violations.is_empty(),
        "{name}: axe-core violations:\n{}",
        violations.join("\n")
    );
    browser.screenshot(name).await;
}

/// The WCAG contrast ratio of two `rgb(r, g, b)` colours as the browser computes them.
const CONTRAST_JS: &str = r#"
const lum = c => { const [r, g, b] = c.match(/\d+(\.\d+)?/g).slice(0, 3).map(Number).map(v => {
    v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b; };
const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
const opaque = c => c && c !== 'transparent' && !/rgba\(.*,\s*0\)$/.test(c);
const behind = e => { for (let p = e.parentElement; p; p = p.parentElement) {
    const b = getComputedStyle(p).backgroundColor; if (opaque(b)) return b; } return 'rgb(255, 255, 255)'; };
const worst = [];
for (const e of document.querySelectorAll('a[href], button:not([hidden]), input:not([type=hidden]), select, textarea, [tabindex="-1"]')) {
  if (e.offsetParent === null) continue;
  e.focus();
  const s = getComputedStyle(e);
  if (s.outlineStyle === 'none' || parseFloat(s.outlineWidth) < 2) { worst.push((e.id || e.tagName) + ': no ring'); continue; }
  const r = ratio(s.outlineColor, behind(e));
  if (r < 3) worst.push((e.id || e.tagName) + ': ' + r.toFixed(2));
}
document.activeElement.blur();
return worst;
"#;

/// Issue 28, point 1: a console that cannot misfile. No category is chosen for the
/// agent; the required fields are marked; the focus ring stands out 3:1 on whatever it
/// meets; an announced call appears within 2 s on an open console (and a link checks
/// for one without scripts); the date of birth is a date; the receipt states the time,
/// the category, who registered and the deadline, and prints on one A5 page.
#[tokio::test(flavor = "multi_thread")]
async fn the_console_asks_for_a_category_hears_a_call_live_and_prints_one_page() {
    let redis = RedisServer::new();
    let data = tempfile::tempdir().expect("data dir");
    add_agent(&redis, "dana", "supervisor", false);
    let gw = start(data.path(), &redis, "900").await;
    let browser = Browser::start(1280, 1000).await;
    log_in(&browser, &gw, "dana").await;
    browser.text_of("#consent-script").await;
    // Required fields are marked; the category starts on "choose".
    let note = browser.text_of("#required-note").await;
    assert!(note.contains("(*)"), "{note}");
    assert_eq!(browser.value_of("category").await, "");
    assert_eq!(
        browser.attr("f-category", "aria-required").await.as_deref(),
        Some("true")
    );
    let marked = browser
        .client
        .execute(
            "return ['f-consent','f-category','f-text','f-phone','f-first_name'].map(id =>
                 document.querySelector('label[for=' + id + '] .req') ? 1 : 0);",
            vec![],
        )
        .await
        .expect("script");
    assert_eq!(marked, serde_json::json!([1, 1, 1, 1, 1]));
    // The focus ring, on every control and background of the console.
    let weak = browser
        .client
        .execute(CONTRAST_JS, vec![])
        .await
        .expect("script");
    assert_eq!(weak, serde_json::json!([]), "focus rings under 3:1");

    // Sent without a category: refused, said in words, nothing filed.
    browser.click("#f-consent").await;
    browser.fill("phone", "+7 701 222 33 44").await;
    browser.fill("first_name", "Дана").await;
    browser.fill("text", "Не горит фонарь у дома 5.").await;
    browser.click("#submit").await;
    let error = browser.text_of("#e-category").await;
    assert_eq!(error, "Выберите категорию");
    assert_eq!(browser.focused().await, "f-category");
    assert_eq!(
        try_stream_len(&redis.url(), "appeals.v1")
            .await
            .unwrap_or(0),
        0
    );
    axe_clean(&browser, "agent-category-required-ru").await;
    browser.select("category", "lighting").await;
    browser.click("#submit").await;
    // A lamp post is somewhere: without its address the call is not filed.
    let error = browser.text_of("#e-address").await;
    assert!(error.starts_with("Укажите адрес проблемы"), "{error}");
    assert_eq!(browser.focused().await, "f-address");
    assert_eq!(
        try_stream_len(&redis.url(), "appeals.v1")
            .await
            .unwrap_or(0),
        0
    );
    browser.fill("address", "ул. Абая, 5").await;
    browser.click("#submit").await;
    let tracking = browser.text_of("#tracking").await;
    let appeal = appeal_with_tracking(&redis, &tracking).await;
    assert_eq!(appeal["category"], "lighting");

    // The receipt: Almaty date and time, category, who, deadline; one A5 page.
    let registered = browser.text_of("#registered").await;
    let when = regex::Regex::new(r"^\d{2}\.\d{2}\.\d{4} \d{2}:\d{2}").expect("regex");
    assert!(when.is_match(&registered), "{registered}");
    assert_eq!(browser.text_of("#category").await, "Уличное освещение");
    let operator = browser.text_of("#operator").await;
    assert!(operator.contains("супервайзер"), "{operator}");
    browser.text_of("#answer-by").await;
    assert_eq!(browser.text_of("#print").await, "Распечатать квитанцию");
    let pdf = browser
        .client
        .print(
            fantoccini::wd::PrintConfiguration::builder()
                .size(fantoccini::wd::PrintSize {
                    width: 14.8,
                    height: 21.0,
                })
                .build()
                .expect("A5"),
        )
        .await
        .expect("print");
    let pages = regex::bytes::Regex::new(r"/Type\s*/Page[^s]")
        .expect("regex")
        .find_iter(&pdf)
        .count();
    assert_eq!(pages, 1, "the receipt prints on one A5 page");
    axe_clean(&browser, "agent-receipt-print-ru").await;

    // An open console, the phone empty: a call announced now shows within 2 s.
    browser.click("#next").await;
    browser.text_of("#consent-script").await;
    assert!(
        browser
            .text_of("#call-check-link")
            .await
            .contains("Проверить звонок")
    );
    assert_eq!(browser.value_of("phone").await, "");
    let announced = std::time::Instant::now();
    assert_eq!(
        announce_call(&gw, "8 702 555 66 77", Some("dana")).await,
        202
    );
    let filled = loop {
        if browser.value_of("phone").await == "+77025556677" {
            break announced.elapsed();
        }
        assert!(
            announced.elapsed() < Duration::from_secs(5),
            "the call did not appear"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(filled <= Duration::from_secs(2), "the call took {filled:?}");
    assert!(browser.text_of("#call").await.contains("Входящий звонок"));
    println!("an announced call appeared on the open console in {filled:?}");
    axe_clean(&browser, "agent-call-live-ru").await;

    // The front office: the date of birth is a date input with its format said.
    browser.goto(&gw.url("/agent/?lang=ru&desk=front")).await;
    browser.text_of("#consent-script").await;
    assert_eq!(
        browser.attr("f-birth_date", "type").await.as_deref(),
        Some("date")
    );
    assert!(
        browser
            .text_of("#h-birth_date")
            .await
            .contains("17.05.1990")
    );
    let weak = browser
        .client
        .execute(CONTRAST_JS, vec![])
        .await
        .expect("script");
    assert_eq!(weak, serde_json::json!([]), "focus rings under 3:1 (front)");
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
    // A date input: the browser holds the date as ISO, whatever the locale shows.
    browser
        .client
        .execute(
            "document.getElementById('f-birth_date').value = '1990-04-12';",
            vec![],
        )
        .await
        .expect("script");
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
