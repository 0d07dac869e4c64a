//! Several gateway instances on one Redis behind a real HAProxy (round robin, no sticky
//! sessions) behave as one service for the bots: a conversation whose every update
//! lands on another instance ends with exactly one appeal, and updates of one chat
//! that reach several instances at once are applied one after the other.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::fake_telegram::{self as tg, FakeBotApi};
use support::fake_whatsapp::{self as wa, FakeGraph};
use support::haproxy::{self, Haproxy};
use support::*;

fn instance(redis: &RedisServer, n: usize) -> GatewayOptions {
    GatewayOptions::new(&redis.url()).env("GATEWAY_INSTANCE", &format!("gateway-{n}"))
}

fn telegram(opts: GatewayOptions, api: &FakeBotApi) -> GatewayOptions {
    opts.env("GATEWAY_TELEGRAM_BOT_TOKEN", tg::TOKEN)
        .env("GATEWAY_TELEGRAM_WEBHOOK_SECRET", tg::SECRET)
        .env("GATEWAY_TELEGRAM_API_URL", &api.api_url())
}

fn whatsapp(opts: GatewayOptions, graph: &FakeGraph) -> GatewayOptions {
    opts.env("GATEWAY_WHATSAPP_APP_SECRET", wa::APP_SECRET)
        .env("GATEWAY_WHATSAPP_VERIFY_TOKEN", wa::VERIFY_TOKEN)
        .env("GATEWAY_WHATSAPP_ACCESS_TOKEN", wa::ACCESS_TOKEN)
        .env("GATEWAY_WHATSAPP_PHONE_NUMBER_ID", wa::PHONE_NUMBER_ID)
        .env("GATEWAY_WHATSAPP_API_URL", &graph.api_url())
}

/// Three instances with both bots on, one Redis.
async fn three(redis: &RedisServer, api: &FakeBotApi, graph: &FakeGraph) -> Vec<Gateway> {
    let mut gateways = Vec::new();
    for n in 1..=3 {
        let opts = whatsapp(telegram(instance(redis, n), api), graph);
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
        .get(gw.url("/metrics"))
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
    graph.add_media("1038574229876012", support::photos::plain_jpeg(64, 48));
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
    let photo = support::photos::plain_jpeg(64, 48);
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
