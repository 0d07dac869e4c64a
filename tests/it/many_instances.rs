//! Several gateway instances on one Redis behind a real HAProxy (round robin, no sticky
//! sessions) behave as one service for the bots: a conversation whose every update
//! lands on another instance ends with exactly one appeal, and updates of one chat
//! that reach several instances at once are applied one after the other.

use std::time::Duration;

use crate::support::fake_telegram::{self as tg, FakeBotApi};
use crate::support::fake_whatsapp::{self as wa, FakeGraph};
use crate::support::haproxy::{self, Haproxy};
use crate::support::*;
use serde_json::Value;

fn instance(redis: &RedisServer, n: usize) -> GatewayOptions {
    GatewayOptions::new(&redis.url()).env("GATEWAY_INSTANCE", &format!("gateway-{n}"))
}

/// Three instances with both bots on, one Redis.
async fn three(redis: &RedisServer, api: &FakeBotApi, graph: &FakeGraph) -> Vec<Gateway> {
    let mut gateways = Vec::new();
    for n in 1..=3 {
        let opts = graph.configure(api.configure(instance(redis, n)));
        gateways.push(Gateway::start_with(opts).await);
    }
    gateways
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

async fn telegram_update(client: &reqwest::Client, url: &str, update: &Value) -> u16 {
    client
        .post(url)
        .header("X-Telegram-Bot-Api-Secret-Token", tg::SECRET)
        .json(update)
        .send()
        .await
        .expect("POST /telegram/webhook")
        .status()
        .as_u16()
}

async fn whatsapp_notification(client: &reqwest::Client, url: &str, body: &Value) -> u16 {
    let bytes = serde_json::to_vec(body).expect("json");
    client
        .post(url)
        .header("Content-Type", "application/json")
        .header("X-Hub-Signature-256", wa::sign(wa::APP_SECRET, &bytes))
        .body(bytes)
        .send()
        .await
        .expect("POST /whatsapp/webhook")
        .status()
        .as_u16()
}

/// How many POSTs to `route` this instance answered with 200 (its own metrics).
async fn answered(gw: &Gateway, route: &str) -> u64 {
    let text = client()
        .get(gw.metrics_url())
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics");
    let needle = format!("route=\"{route}\"");
    text.lines()
        .filter(|l| {
            l.starts_with("gateway_http_request_duration_seconds_count")
                && l.contains(&needle)
                && l.contains("method=\"POST\"")
                && l.contains("status=\"200\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test]
async fn bot_conversations_spread_over_three_instances_each_make_one_appeal() {
    if !haproxy::available() {
        eprintln!("haproxy is not installed: skipped (.ci/run installs it)");
        return;
    }
    let redis = RedisServer::new();
    let api = FakeBotApi::start();
    let graph = FakeGraph::start();
    graph.add_media(
        "1038574229876012",
        crate::support::photos::plain_jpeg(64, 48),
    );
    let gateways = three(&redis, &api, &graph).await;
    let ports: Vec<u16> = gateways.iter().map(Gateway::port).collect();
    let lb = Haproxy::start(&ports);
    let http = client();

    // Telegram: fourteen updates, round robin: each instance takes every third one.
    let chat = 5_550_001;
    let updates = [
        tg::text(1, chat, "kk", "/start"),
        tg::callback(2, chat, "kk", "lang:kk"),
        tg::callback(3, chat, "kk", "consent:yes"),
        tg::callback(4, chat, "kk", "cat:roads"),
        tg::text(5, chat, "kk", "Абай даңғылында шұңқыр бар"),
        tg::location(10, chat, "kk", 43.238949, 76.889709),
        tg::callback(11, chat, "kk", "photos:done"),
        tg::contact(12, chat, "kk", "77011234567"),
        tg::text(13, chat, "kk", "Сейітов Ерлан"),
        tg::callback(14, chat, "kk", "summary:send"),
    ];
    for update in &updates {
        let status = telegram_update(&http, &lb.url("/telegram/webhook"), update).await;
        assert_eq!(status, 200, "{update}");
    }
    api.wait_text(chat, "OA-").await;

    // WhatsApp: the same over the balancer.
    let from = "77017654321";
    let m = |v: Value| wa::message(from, "Айгүл", v);
    let notifications = [
        m(wa::text(from, "wamid.M1", "Сәлем")),
        m(wa::button_reply(from, "wamid.M2", "lang:ru", "…")),
        m(wa::button_reply(from, "wamid.M3", "consent:yes", "…")),
        m(wa::text(from, "wamid.M4", "3")),
        m(wa::text(from, "wamid.M5", "Не горит фонарь во дворе")),
        m(wa::location(
            from,
            "wamid.M6",
            43.2567,
            76.9286,
            "Абай даңғылы, 52",
        )),
        m(wa::image(from, "wamid.M7", "1038574229876012", None)),
        m(wa::button_reply(from, "wamid.M8", "photos:done", "…")),
        m(wa::text(from, "wamid.M9", "Иванова Айгүл")),
        m(wa::button_reply(from, "wamid.M10", "summary:send", "…")),
    ];
    for body in &notifications {
        let status = whatsapp_notification(&http, &lb.url("/whatsapp/webhook"), body).await;
        assert_eq!(status, 200, "{body}");
    }
    graph.wait_text(from, "OA-").await;

    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let appeals_now = read_stream(&redis.url(), "appeals.v1").await;
    assert_eq!(appeals_now.len(), 2, "exactly one appeal per conversation");
    let by_channel = |channel: &str| {
        appeals
            .iter()
            .find(|a| a.data["channel"] == channel)
            .unwrap_or_else(|| panic!("no {channel} appeal"))
            .data
            .clone()
    };
    let tg_appeal = by_channel("telegram");
    assert_eq!(tg_appeal["text"], "Абай даңғылында шұңқыр бар");
    assert_eq!(tg_appeal["language"], "kk");
    assert_eq!(tg_appeal["applicant"]["phones"][0], "+77011234567");
    let wa_appeal = by_channel("whatsapp");
    assert_eq!(wa_appeal["text"], "Не горит фонарь во дворе");
    assert_eq!(wa_appeal["applicant"]["phones"][0], "+77017654321");
    assert_eq!(wa_appeal["attachments"].as_array().map(Vec::len), Some(1));

    // Every instance took its share of both conversations.
    for gw in &gateways {
        assert!(answered(gw, "/telegram/webhook").await >= 3, "telegram");
        assert!(answered(gw, "/whatsapp/webhook").await >= 3, "whatsapp");
    }

    // The tracking number of an appeal taken by one instance is known to all, before
    // the case system has said anything.
    let number = tg_appeal["tracking_number"]
        .as_str()
        .expect("tracking number");
    for gw in &gateways {
        let page = client()
            .get(gw.url(&format!("/status/{number}?lang=ru")))
            .send()
            .await
            .expect("status page");
        assert_eq!(page.status().as_u16(), 200);
        let body = page.text().await.unwrap_or_default();
        assert!(body.contains(number), "{body}");
    }
}

#[tokio::test]
async fn photos_of_one_chat_sent_to_three_instances_at_once_are_all_kept() {
    let redis = RedisServer::new();
    let api = FakeBotApi::start();
    let graph = FakeGraph::start();
    let photo = crate::support::photos::plain_jpeg(64, 48);
    for id in ["p-1", "p-2", "p-3"] {
        api.add_file(id, photo.len() as u64, photo.clone());
    }
    let gateways = three(&redis, &api, &graph).await;
    let http = client();
    let chat = 5_550_002;
    let start = [
        tg::text(1, chat, "ru", "/start"),
        tg::callback(2, chat, "ru", "lang:ru"),
        tg::callback(3, chat, "ru", "consent:yes"),
        tg::callback(4, chat, "ru", "cat:roads"),
        tg::text(5, chat, "ru", "Яма на дороге"),
        tg::location(6, chat, "ru", 43.238949, 76.889709),
    ];
    for update in &start {
        let status = telegram_update(&http, &gateways[0].url("/telegram/webhook"), update).await;
        assert_eq!(status, 200);
    }
    // Three photos of one chat, each to another instance, at the same moment: without
    // one lock for the chat across instances, the last write would keep one photo.
    let sends = gateways
        .iter()
        .zip(["p-1", "p-2", "p-3"])
        .enumerate()
        .map(|(i, (gw, id))| {
            let http = http.clone();
            let url = gw.url("/telegram/webhook");
            let update = tg::photo(7 + i as i64, chat, "ru", id, photo.len() as u64, None);
            async move { telegram_update(&http, &url, &update).await }
        });
    for status in futures_util::future::join_all(sends).await {
        assert_eq!(status, 200);
    }
    let finish = [
        tg::callback(20, chat, "ru", "photos:done"),
        tg::contact(21, chat, "ru", "77011234567"),
        tg::text(22, chat, "ru", "Петров Пётр"),
        tg::callback(23, chat, "ru", "summary:send"),
    ];
    for (i, update) in finish.iter().enumerate() {
        let gw = &gateways[i % 3];
        assert_eq!(
            telegram_update(&http, &gw.url("/telegram/webhook"), update).await,
            200
        );
    }
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    assert_eq!(
        appeals[0].data["attachments"].as_array().map(Vec::len),
        Some(3),
        "{}",
        appeals[0].data
    );
}

/// How many `method` requests to `route` each instance answered, whatever the status
/// (each instance's own metrics, read directly, so the balancer's turn is not moved).
async fn served(gateways: &[Gateway], method: &str, route: &str) -> Vec<u64> {
    let mut counts = Vec::new();
    for gw in gateways {
        let text = client()
            .get(gw.metrics_url())
            .send()
            .await
            .expect("GET /metrics")
            .text()
            .await
            .expect("metrics");
        let (route, method) = (format!("route=\"{route}\""), format!("method=\"{method}\""));
        counts.push(
            text.lines()
                .filter(|l| {
                    l.starts_with("gateway_http_request_duration_seconds_count")
                        && l.contains(&route)
                        && l.contains(&method)
                })
                .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
                .sum(),
        );
    }
    counts
}

/// The instance that answered one more `method` to `route` since `before`.
async fn which(gateways: &[Gateway], method: &str, route: &str, before: &[u64]) -> usize {
    let after = served(gateways, method, route).await;
    let grown: Vec<usize> = (0..after.len()).filter(|&i| after[i] > before[i]).collect();
    assert_eq!(
        grown.len(),
        1,
        "one instance answered {method} {route}: {after:?}"
    );
    grown[0]
}

/// A client whose connections leave from `source` (a loopback address of its own: the
/// balancer sees each such client as another citizen).
fn client_from(source: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(source))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client")
}

fn cookie_pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().expect("cookie").to_owned()
}

/// Opens the citizen form (a new form session) and sends a complete appeal: the status.
async fn form_appeal(http: &reqwest::Client, base: &str, forged_for: Option<&str>) -> u16 {
    let page = http
        .get(format!("{base}/ru/"))
        .send()
        .await
        .expect("GET /ru/");
    let session = crate::support::agent::set_cookie(&page, "oa_sid")
        .map(|c| cookie_pair(&c))
        .expect("form session");
    let html = page.text().await.expect("form");
    let csrf = crate::support::agent::hidden(&html, "csrf").expect("csrf");
    let mut post = http
        .post(format!("{base}/ru/"))
        .header("Cookie", session)
        .form(&[
            ("csrf", csrf.as_str()),
            ("last_name", "Сейітқали"),
            ("first_name", "Әйгерім"),
            ("phone", "8 701 555 12 34"),
            ("category", "roads"),
            ("address", "пр. Абая, 10"),
            (
                "text",
                "Абай даңғылы мен Сейфуллин көшесінің қиылысында шұңқыр бар.",
            ),
            ("consent", "on"),
        ]);
    if let Some(forged) = forged_for {
        post = post.header("X-Forwarded-For", forged);
    }
    post.send().await.expect("POST /ru/").status().as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn agents_status_and_form_limits_behind_haproxy_are_one_service() {
    use crate::support::agent::{
        PASSWORD, add_agent, enter_appeal, hidden, http_login, http_login_at,
    };
    if !haproxy::available() {
        eprintln!("haproxy is not installed: skipped (.ci/run installs it)");
        return;
    }
    let redis = RedisServer::new();
    // Added once, from a machine of its own, before any instance runs.
    let token = add_agent(&redis, "aigerim", "call_center_agent", true).expect("token");
    let mut gateways = Vec::new();
    for n in 1..=3 {
        let opts = instance(&redis, n)
            .env("GATEWAY_TRUSTED_PROXIES", "127.0.0.1")
            .env("GATEWAY_FORM_RATE_PER_MINUTE", "1")
            .env("GATEWAY_FORM_ADDRESS_RATE_PER_MINUTE", "3")
            .env("GATEWAY_STATUS_RATE_PER_MINUTE", "4");
        gateways.push(Gateway::start_with(opts).await);
    }
    let ports: Vec<u16> = gateways.iter().map(Gateway::port).collect();
    let lb = Haproxy::start(&ports);
    let base = lb.url("");
    let http = client_from([127, 0, 0, 1]);

    // The agent is known on every instance.
    for gw in &gateways {
        let (status, _, _) = http_login(gw, "aigerim", PASSWORD).await;
        assert_eq!(status, 303, "login on {}", gw.port());
    }

    // Through the balancer: the login lands on one instance, the call is announced
    // through a second, the appeal entered through a third.
    let logins = served(&gateways, "POST", "/agent/login").await;
    let (status, cookie, _) = http_login_at(&base, "aigerim", PASSWORD).await;
    assert_eq!(status, 303);
    let session = cookie_pair(&cookie.expect("session cookie"));
    let logged_in_on = which(&gateways, "POST", "/agent/login", &logins).await;

    let calls = served(&gateways, "POST", "/api/v1/calls/incoming").await;
    let announced = http
        .post(lb.url("/api/v1/calls/incoming"))
        .bearer_auth(CRM_TOKEN)
        .json(&serde_json::json!({"caller": "+7 701 765 43 21", "agent_id": "aigerim"}))
        .send()
        .await
        .expect("announce");
    assert_eq!(announced.status().as_u16(), 202);
    let announced_on = which(&gateways, "POST", "/api/v1/calls/incoming", &calls).await;

    let entries = served(&gateways, "POST", "/api/v1/agent/appeals").await;
    let entered = enter_appeal(
        &http,
        lb.url("/api/v1/agent/appeals"),
        &token,
        "+7 701 765 43 21",
    )
    .await;
    assert_eq!(entered.status().as_u16(), 202);
    let entered_on = which(&gateways, "POST", "/api/v1/agent/appeals", &entries).await;
    let mut on = vec![logged_in_on, announced_on, entered_on];
    on.sort_unstable();
    on.dedup();
    assert_eq!(
        on.len(),
        3,
        "three instances: {logged_in_on} {announced_on} {entered_on}"
    );

    // The console, on whichever instance, picks up the call announced elsewhere.
    let console = http
        .get(lb.url("/agent/?lang=ru"))
        .header("Cookie", &session)
        .send()
        .await
        .expect("console");
    assert_eq!(console.status().as_u16(), 200);
    let html = console.text().await.expect("console page");
    assert!(
        html.contains("value=\"+77017654321\""),
        "the call is on the console"
    );

    // Logout through one refuses the cookie on all.
    let csrf = hidden(&html, "csrf").expect("csrf");
    let out = http
        .post(lb.url("/agent/logout?lang=ru"))
        .header("Cookie", &session)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("logout");
    assert_eq!(out.status().as_u16(), 303);
    for gw in &gateways {
        let again = http
            .get(gw.url("/agent/?lang=ru"))
            .header("Cookie", &session)
            .send()
            .await
            .expect("console");
        assert_eq!(again.status().as_u16(), 303, "logged out on {}", gw.port());
    }

    // The appeal's status is found on every instance and through the balancer.
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    assert_eq!(appeals[0].data["channel"], "call_center");
    assert_eq!(appeals[0].data["applicant"]["phones"][0], "+77017654321");
    let number = appeals[0].data["tracking_number"]
        .as_str()
        .expect("tracking number")
        .to_owned();
    let status_urls: Vec<String> = gateways
        .iter()
        .map(|gw| gw.url(&format!("/status/{number}?lang=ru")))
        .chain([lb.url(&format!("/status/{number}?lang=ru"))])
        .collect();
    for url in &status_urls {
        let page = http.get(url).send().await.expect("status page");
        assert_eq!(page.status().as_u16(), 200, "{url}");
        assert!(page.text().await.unwrap_or_default().contains(&number));
    }
    // Four lookups a minute per address, counted across the instances: the fifth is
    // refused, though no instance answered more than two of them.
    let fifth = http.get(&status_urls[0]).send().await.expect("status page");
    assert_eq!(fifth.status().as_u16(), 429);

    // The form's per-address limit (3 a minute) is counted across the instances: three
    // citizens' forms from one address land on three instances, the fourth is refused
    // whichever instance gets it, a forged X-Forwarded-For changes nothing, and another
    // address is not affected (the proxy's own address is not the key).
    let citizen = client_from([127, 0, 0, 2]);
    let forms = served(&gateways, "POST", "/ru/").await;
    for _ in 0..3 {
        assert_eq!(form_appeal(&citizen, &base, None).await, 303);
    }
    let after = served(&gateways, "POST", "/ru/").await;
    assert!(
        (0..3).all(|i| after[i] == forms[i] + 1),
        "one form on each instance: {forms:?} → {after:?}"
    );
    assert_eq!(form_appeal(&citizen, &base, None).await, 429);
    assert_eq!(
        form_appeal(&citizen, &base, Some("198.51.100.9")).await,
        429
    );
    let neighbour = client_from([127, 0, 0, 3]);
    assert_eq!(form_appeal(&neighbour, &base, None).await, 303);
    wait_for_stream_len(&redis.url(), "appeals.v1", 5).await;
}
