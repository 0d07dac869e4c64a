//! A category's questions, its emergency stoppers and the city-wide banner as an
//! integrator and an operator meet them (issue 29): the answers reach `appeals.v1` as
//! `attributes`, a missing required answer is refused naming it, a gas smell is "call 104
//! now" until the citizen files it as non-urgent, and a banner set with the real command
//! shows on every instance.

use std::process::{Command, Stdio};

use crate::support::fake_telegram::{self as tg, FakeBotApi};
use crate::support::*;
use serde_json::{Value, json};

fn transport_appeal(attributes: Value) -> Value {
    json!({
        "category": "public_transport",
        "text": "Автобус не остановился на остановке, водитель проехал мимо.",
        "attributes": attributes,
        "consent": {"method": "api", "purposes": ["appeal"]}
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_are_carried_and_a_missing_required_one_is_named() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();

    let reply = api
        .post_appeal_lang(
            &transport_appeal(json!({"stop": "Абай – Достық"})),
            Some("en"),
        )
        .await;
    let error = reply.expect_problem(422, Some("attributes.route"), "required");
    assert!(
        error["message"]
            .as_str()
            .is_some_and(|m| m.contains("fill in")),
        "{error}"
    );

    let answers = json!({
        "route": " 92 ",
        "stop": "Абай – Достық, мой ИИН 900101300017",
        "trip_time": "06.12.2026 08:30",
        "driver_phone": "+77011234567"
    });
    api.post_appeal(CRM_TOKEN, &transport_appeal(answers), None)
        .await
        .expect_status(202);
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    let a = &appeals[0].data;
    assert_eq!(a["attributes"]["route"], "92", "{a}");
    assert_eq!(a["attributes"]["trip_time"], "2026-12-06T03:30:00Z", "{a}");
    let stop = a["attributes"]["stop"].as_str().unwrap_or_default();
    assert!(
        stop.starts_with("Абай – Достық") && !stop.contains("900101300017"),
        "an IIN in a free-text answer is masked: {stop:?}"
    );
    assert!(a["attributes"].get("driver_phone").is_none(), "{a}");
    assert!(
        names_dropped(&a["dropped_fields"], "attributes.driver_phone"),
        "an unknown answer is dropped by name: {a}"
    );
    assert!(a.get("emergency_notice_shown").is_none(), "{a}");
    let raw = serde_json::to_string(a).unwrap_or_default();
    assert!(!raw.contains("+77011234567"), "{raw}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gas_smell_is_a_call_to_104_until_filed_as_non_urgent() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();
    let gas = |shown: bool| {
        json!({
            "category": "utilities",
            "text": "В подъезде сильно пахнет газом.",
            "attributes": {"missing": "gas_smell"},
            "emergency_notice_shown": shown,
            "consent": {"method": "api", "purposes": ["appeal"]}
        })
    };

    for (lang, words) in [("ru", "позвоните"), ("kk", "қоңырау"), ("en", "call")] {
        let reply = api.post_appeal_lang(&gas(false), Some(lang)).await;
        let error = reply.expect_problem(422, Some("attributes.missing"), "emergency_call_now");
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            message.contains("104") && message.to_lowercase().contains(words),
            "{lang}: {message}"
        );
    }
    let water = json!({
        "category": "utilities",
        "text": "Нет холодной воды с утра.",
        "attributes": {"missing": "water"},
        "consent": {"method": "api", "purposes": ["appeal"]}
    });
    api.post_appeal(CRM_TOKEN, &water, None)
        .await
        .expect_status(202);
    api.post_appeal(CRM_TOKEN, &gas(true), None)
        .await
        .expect_status(202);
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 2).await;
    assert_eq!(appeals[0].data["attributes"]["missing"], "water");
    assert!(appeals[0].data.get("emergency_notice_shown").is_none());
    assert_eq!(appeals[1].data["attributes"]["missing"], "gas_smell");
    assert_eq!(appeals[1].data["emergency_notice_shown"], true);
}

/// Runs `appeal-gateway banner <args>` against `redis`.
fn banner_cmd(redis: &RedisServer, args: &[&str]) -> (bool, String, String) {
    let dir = tempfile::tempdir().expect("data dir of the command");
    let out = Command::new(gateway_bin())
        .arg("banner")
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GATEWAY_DATA_DIR", dir.path())
        .env("REDIS_URL", redis.url())
        .env("GATEWAY_STREAM_PREFIX", PREFIX)
        .stdin(Stdio::null())
        .output()
        .expect("run appeal-gateway banner");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Sets a banner in kk, ru and en until an hour from now with the real command.
fn set_banner_for_an_hour(redis: &RedisServer, [kk, ru, en]: [&str; 3]) {
    let until = (time::OffsetDateTime::now_utc() + time::Duration::hours(1))
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    let (ok, _, err) = banner_cmd(
        redis,
        &["set", "--until", &until, "--kk", kk, "--ru", ru, "--en", en],
    );
    assert!(ok, "banner set: {err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_banner_set_once_shows_on_every_instance_until_cleared() {
    let redis = RedisServer::new();
    let one = Gateway::start(&redis).await;
    let two = Gateway::start_with(
        GatewayOptions::new(&redis.url()).env("GATEWAY_OPEN311_INTEGRATORS", "crm"),
    )
    .await;
    let before = one.api().get("/api/v1/banner").await;
    before.expect_status(200);
    assert_eq!(before.json(), json!({"banner": null}));

    let (ok, _, err) = banner_cmd(
        &redis,
        &[
            "set", "--until", "18:00", "--kk", "a", "--ru", "b", "--en", "c",
        ],
    );
    assert!(
        !ok && err.contains("--until"),
        "a bad time is refused: {err}"
    );
    let until = time::OffsetDateTime::now_utc() + time::Duration::hours(2);
    let until = until
        .format(&time::format_description::well_known::Rfc3339)
        .expect("format");
    let (ok, out, err) = banner_cmd(
        &redis,
        &[
            "set",
            "--until",
            &until,
            "--kk",
            "Бостандық ауданында су 18:00-ге дейін жоқ",
            "--ru",
            "В Бостандыкском районе нет воды до 18:00, сообщать не нужно",
            "--en",
            "No water in Bostandyk district until 18:00, no need to report it",
        ],
    );
    assert!(ok, "banner set: {err}");
    assert!(out.contains("Bostandyk"), "{out}");

    let shown = wait_until("the banner on the other instance", WAIT, || async {
        let reply = two.api().get("/api/v1/banner").await;
        let body = reply.json();
        if body["banner"]["en"].is_string() {
            Ok(body)
        } else {
            Err(body.to_string())
        }
    })
    .await;
    assert!(
        shown["banner"]["ru"]
            .as_str()
            .is_some_and(|t| t.contains("Бостандык"))
    );
    assert!(shown["banner"]["until"].is_string());
    // An Open311 client reads it in the new request's service_notice.
    let form = [
        ("api_key", CRM_TOKEN),
        ("service_code", "roads"),
        ("lat", "43.238"),
        ("long", "76.945"),
        ("description", "A pothole on Abay avenue."),
        ("attribute[consent]", "agree"),
    ];
    let posted = two
        .api()
        .try_post(
            "/open311/v2/requests.json",
            None,
            Some("application/x-www-form-urlencoded"),
            serde_urlencoded::to_string(form)
                .unwrap_or_default()
                .into_bytes(),
            &[("Accept-Language", "en")],
        )
        .await
        .expect("POST requests");
    posted.expect_status(201);
    let notice = posted.json()[0]["service_notice"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        notice.contains("15 working days") && notice.contains("Bostandyk"),
        "{notice}"
    );

    let (ok, _, err) = banner_cmd(&redis, &["clear"]);
    assert!(ok, "banner clear: {err}");
    wait_until("the banner gone on both instances", WAIT, || async {
        let a = one.api().get("/api/v1/banner").await.json();
        let b = two.api().get("/api/v1/banner").await.json();
        if a["banner"].is_null() && b["banner"].is_null() {
            Ok(())
        } else {
            Err(format!("{a} {b}"))
        }
    })
    .await;
}

/// A banner set with the command, then a Telegram conversation through the Bot API's
/// stand-in: the banner comes once at the start, the lighting category's two questions
/// are answered by buttons, and the answers reach `appeals.v1`.
#[tokio::test(flavor = "multi_thread")]
async fn a_telegram_chat_gets_the_banner_once_and_answers_two_questions_by_buttons() {
    let redis = RedisServer::new();
    let bot = FakeBotApi::start();
    let gw = Gateway::start_with(bot.configure(GatewayOptions::new(&redis.url()))).await;
    set_banner_for_an_hour(
        &redis,
        ["Су жоқ", "Воды нет до 18:00", "No water until 18:00"],
    );
    // The instance shows what it read within its refresh (5 s).
    wait_until("the banner on the instance", WAIT, || async {
        let body = gw.api().get("/api/v1/banner").await.json();
        if body["banner"].is_null() {
            Err(body.to_string())
        } else {
            Ok(())
        }
    })
    .await;
    let chat = 610_000_029;
    let deliver = |update: Value| {
        let api = gw.api();
        async move {
            api.try_post(
                "/telegram/webhook",
                None,
                Some(JSON),
                serde_json::to_vec(&update).unwrap_or_default(),
                &[("X-Telegram-Bot-Api-Secret-Token", tg::SECRET)],
            )
            .await
            .expect("POST /telegram/webhook")
            .status
        }
    };
    let updates = [
        tg::text(1, chat, "en", "/start"),
        tg::callback(2, chat, "en", "lang:en"),
        tg::callback(3, chat, "en", "consent:yes"),
        tg::callback(4, chat, "en", "cat:lighting"),
        tg::callback(5, chat, "en", "q:skip"),
        tg::callback(6, chat, "en", "q:lit_by_day"),
        tg::text(
            7,
            chat,
            "en",
            "The street lamps on our street burn all day long.",
        ),
        tg::location(8, chat, "en", 43.238949, 76.889709),
        tg::callback(9, chat, "en", "photos:done"),
        tg::contact(10, chat, "en", "77011234567"),
        tg::text(11, chat, "en", "Aigul"),
        tg::callback(12, chat, "en", "summary:send"),
    ];
    for update in updates {
        assert_eq!(deliver(update).await, 200);
    }
    bot.wait_text(chat, "Tracking number").await;
    let texts = bot.texts_to(chat);
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("No water until 18:00"))
            .count(),
        1,
        "the banner once: {texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("Lamp post number") && t.contains("|q:skip]")),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("What is wrong?") && t.contains("[Lit in daytime|q:lit_by_day]")),
        "{texts:?}"
    );
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    assert_eq!(
        appeals[0].data["attributes"],
        json!({"fault": "lit_by_day"})
    );

    // A new conversation in the same chat while the same banner is up: not again.
    let before = bot.texts_to(chat).len();
    assert_eq!(deliver(tg::text(13, chat, "en", "/start")).await, 200);
    wait_until("the greeting of the new conversation", WAIT, || async {
        let texts = bot.texts_to(chat);
        if texts.len() > before
            && texts
                .last()
                .is_some_and(|t| t.contains("Choose a language"))
        {
            Ok(())
        } else {
            Err(format!("{texts:?}"))
        }
    })
    .await;
    let texts = bot.texts_to(chat);
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("No water until 18:00"))
            .count(),
        1,
        "{texts:?}"
    );
}

/// An Open311 client reads a service's questions with the published `georeport` client
/// and posts with `attribute[code]` (a plain POST: georeport cannot create requests); a
/// required one missing is named, a gas smell is "call 104", filed once the client says
/// the citizen was told.
#[tokio::test(flavor = "multi_thread")]
async fn an_open311_client_reads_the_questions_and_posts_the_answers() {
    let redis = RedisServer::new();
    let gw = Gateway::start_with(
        GatewayOptions::new(&redis.url()).env("GATEWAY_OPEN311_INTEGRATORS", "crm"),
    )
    .await;
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/open311_attributes.py"
    );
    let base = gw.url("/open311/v2");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .arg(base)
            .env("GEOREPORT_API_KEY", CRM_TOKEN)
            .output()
    })
    .await
    .expect("join")
    .expect("python3 runs (georeport is installed by .ci/run)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "the client failed: {stderr}");
    let run: Value = serde_json::from_slice(&output.stdout).expect("the script's JSON");

    let transport = &run["transport"];
    assert_eq!(transport["consent"]["order"], 1, "{transport}");
    assert_eq!(
        transport["route"],
        json!({"datatype": "string", "required": true, "order": 2})
    );
    assert_eq!(transport["trip_time"]["datatype"], "datetime");
    assert_eq!(transport["stop"]["required"], false);

    assert_eq!(run["missing"]["status"], 400, "{run}");
    let said = run["missing"]["body"][0]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(
        said.contains("attribute[route]") && said.contains("Missing"),
        "{said}"
    );
    assert_eq!(run["answered"]["status"], 201, "{run}");

    assert!(
        run["gas_value_name"]
            .as_str()
            .is_some_and(|n| n.contains("104")),
        "{run}"
    );
    assert_eq!(run["emergency_attribute"], true);
    assert_eq!(run["gas"]["status"], 400, "{run}");
    let said = run["gas"]["body"][0]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(
        said.contains("call 104") && said.contains("emergency_notice_shown"),
        "{said}"
    );
    assert_eq!(run["gas_told"]["status"], 201, "{run}");

    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 2).await;
    assert_eq!(
        appeals[0].data["attributes"],
        json!({"route": "92", "trip_time": "2026-12-06T03:30:00Z"})
    );
    assert_eq!(
        appeals[1].data["attributes"],
        json!({"missing": "gas_smell"})
    );
    assert_eq!(appeals[1].data["emergency_notice_shown"], true);
    assert!(
        !names_dropped(
            &appeals[1].data["dropped_fields"],
            "attribute.emergency_notice_shown"
        ),
        "{}",
        appeals[1].data
    );
}

// ---------------------------------------------------------------------------------------
// The citizen's form
// ---------------------------------------------------------------------------------------

use crate::support::browser::Browser;
use crate::support::form_session::FormSession;

/// A web-form appeal about public transport, with a name and a phone.
fn transport_form<'a>(extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("category", "public_transport"),
        ("text", "Автобус 92 проехал остановку не останавливаясь."),
        ("last_name", "Серикова"),
        ("first_name", "Айгүл"),
        ("phone", "8 701 123 45 67"),
        ("consent", "on"),
    ];
    fields.extend_from_slice(extra);
    fields
}

#[tokio::test(flavor = "multi_thread")]
async fn the_form_asks_the_category_s_questions_and_names_a_missing_one() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let form = FormSession::open(&gw, "/en/").await;
    let refused = form.post("/en/", &transport_form(&[])).await;
    assert_eq!(refused.status, 422, "{}", refused.html);
    // The summary names the question, and the field is marked and described.
    assert!(
        refused
            .html
            .contains("href=\"#f-a-public_transport-route\">Route number:"),
        "{}",
        refused.html
    );
    assert!(refused.html.contains("id=\"e-a-public_transport-route\""));
    assert!(
        refused
            .html
            .contains("A few questions if your appeal is about: Public transport")
    );
    let taken = form
        .post(
            "/en/",
            &transport_form(&[
                ("a-public_transport-route", "92"),
                ("a-public_transport-trip_time", "06.12.2026 08:30"),
                // Another category's answer is not this appeal's.
                ("a-utilities-missing", "water"),
            ]),
        )
        .await;
    assert_eq!(taken.status, 303, "{}", taken.html);
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    assert_eq!(
        appeals[0].data["attributes"],
        json!({"route": "92", "trip_time": "2026-12-06T03:30:00Z"})
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gas_smell_on_the_form_says_call_104_and_files_only_when_ticked() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let form = FormSession::open(&gw, "/ru/").await;
    let gas = [
        ("category", "utilities"),
        ("a-utilities-missing", "gas_smell"),
        ("text", "В подъезде сильно пахнет газом."),
        ("address", "ул. Жандосова, 10"),
        ("last_name", "Серикова"),
        ("first_name", "Айгүл"),
        ("phone", "8 701 123 45 67"),
        ("consent", "on"),
    ];
    let stopped = form.post("/ru/", &gas).await;
    assert_eq!(stopped.status, 422);
    assert!(
        stopped.html.contains("class=\"stopper\" role=\"alert\""),
        "{}",
        stopped.html
    );
    assert!(stopped.html.contains("Позвоните 104 сейчас"));
    assert!(stopped.html.contains("href=\"tel:104\""));
    assert!(!stopped.html.contains("{ $number }") && !stopped.html.contains("$number"));
    let mut told = gas.to_vec();
    told.push(("emergency_notice_shown", "on"));
    let taken = form.post("/ru/", &told).await;
    assert_eq!(taken.status, 303, "{}", taken.html);
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    assert_eq!(appeals[0].data["emergency_notice_shown"], true);
    assert_eq!(appeals[0].data["attributes"]["missing"], "gas_smell");
}

/// In the real browser: the chosen category's questions only, the stopper after a gas
/// smell, the banner on the form and the status page; axe-core finds nothing.
#[tokio::test(flavor = "multi_thread")]
async fn in_the_browser_the_questions_stopper_and_banner_are_accessible() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    set_banner_for_an_hour(
        &redis,
        ["Су жоқ", "Воды нет", "No water in Bostandyk until 18:00"],
    );
    for width in [320u32, 1280] {
        let browser = Browser::start(width, 800).await;
        let check = |name: String| {
            let browser = &browser;
            async move {
                let violations = browser.axe_violations().await;
                assert!(violations.is_empty(), "{name}: {}", violations.join("\n"));
                let (layout, viewport) = browser.widths().await;
                assert!(layout <= viewport, "{name}: {layout} px in {viewport} px");
                browser.screenshot(&name).await;
            }
        };
        // The banner comes within the instance's refresh.
        wait_until("the banner on the form", WAIT, || async {
            browser.goto(&gw.url("/en/")).await;
            let source = browser.source().await;
            if source.contains("No water in Bostandyk") {
                Ok(())
            } else {
                Err("no banner".to_owned())
            }
        })
        .await;
        let source = browser.source().await;
        assert!(
            source.contains("id=\"q-utilities\" data-category=\"utilities\" hidden"),
            "only the chosen category's questions show"
        );
        browser.select("category", "utilities").await;
        assert_eq!(
            browser.attr("q-utilities", "hidden").await,
            None,
            "utilities' questions shown"
        );
        assert!(browser.attr("q-public_transport", "hidden").await.is_some());
        check(format!("questions-utilities-{width}px")).await;
        browser.select("a-utilities-missing", "gas_smell").await;
        browser
            .fill("text", "A smell of gas in the entrance.")
            .await;
        browser.fill("address", "10 Zhandosov street").await;
        browser.fill("last_name", "Serikova").await;
        browser.fill("first_name", "Aigul").await;
        browser.fill("phone", "8 701 123 45 67").await;
        browser.click("#f-consent").await;
        browser.click("button[type=submit]").await;
        let stop = browser.text_of("#stopper").await;
        assert!(stop.contains("Call 104 now"), "{stop}");
        check(format!("stopper-en-{width}px")).await;
        browser.goto(&gw.url("/status?lang=en")).await;
        assert!(browser.source().await.contains("No water in Bostandyk"));
        check(format!("status-banner-en-{width}px")).await;
        browser.close().await;
    }
}

// ---------------------------------------------------------------------------------------
// The agents' console
// ---------------------------------------------------------------------------------------

/// An agent of 1308 chooses "utilities", sees the category's questions, picks "gas
/// smell": the console says the stopper as a script line to read; once the caller is
/// told and the box ticked, the call is registered as non-urgent. axe-core finds nothing.
#[tokio::test(flavor = "multi_thread")]
async fn an_agent_sees_the_questions_and_the_stopper_as_a_script_line() {
    use crate::support::agent::{PASSWORD, add_agent};
    let redis = RedisServer::new();
    add_agent(&redis, "aigerim", "call_center_agent", false);
    let gw = Gateway::start_with(
        GatewayOptions::new(&redis.url()).env("GATEWAY_COOKIE_SECURE", "false"),
    )
    .await;
    let browser = Browser::start(1280, 900).await;
    browser.goto(&gw.url("/agent/login?lang=ru")).await;
    browser.fill("agent_id", "aigerim").await;
    browser.fill("password", PASSWORD).await;
    browser.click("#login").await;
    browser.text_of("#consent-script").await;
    browser.click("#f-consent").await;
    browser.fill("last_name", "Сейткали").await;
    browser.fill("first_name", "Айгерим").await;
    browser.fill("phone", "8 701 123 45 67").await;
    browser.select("category", "utilities").await;
    assert_eq!(browser.attr("q-utilities", "hidden").await, None);
    assert!(browser.attr("q-lighting", "hidden").await.is_some());
    browser.select("a-utilities-missing", "gas_smell").await;
    browser.fill("address", "ул. Жандосова, 10").await;
    browser
        .fill("text", "Звонящая чувствует запах газа в подъезде.")
        .await;
    browser.click("#submit").await;
    let script = browser.text_of("#stopper").await;
    assert!(
        script.contains("104") && script.contains("Экстренный случай"),
        "{script}"
    );
    let violations = browser.axe_violations().await;
    assert!(violations.is_empty(), "{}", violations.join("\n"));
    browser.screenshot("agent-stopper-ru").await;
    browser.click("#f-emergency_notice_shown").await;
    browser.click("#submit").await;
    let tracking = browser.text_of("#tracking").await;
    assert!(is_tracking_number(&tracking), "{tracking}");
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    assert_eq!(appeals[0].data["emergency_notice_shown"], true);
    assert_eq!(appeals[0].data["attributes"]["missing"], "gas_smell");
    assert_eq!(appeals[0].data["channel"], "call_center");
    browser.close().await;
}
