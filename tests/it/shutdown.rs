//! SIGTERM in the middle of work (issue 31, point 3): the gateway exits within
//! `GATEWAY_SHUTDOWN_SECS`, and what it held is either finished before it exits or done
//! again at the next start — never lost, never done twice. The Bot API is the stand-in
//! of `crate::support::fake_telegram`, slowed down where the test needs it.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::support::case_system::send_reply;
use crate::support::fake_telegram::{self as tg, FakeBotApi};
use crate::support::*;

/// The deadline the tests give the gateway to stop.
const SHUTDOWN_SECS: u64 = 3;

fn options(redis: &RedisServer, api: &FakeBotApi) -> GatewayOptions {
    GatewayOptions::new(&redis.url())
        .env("GATEWAY_TELEGRAM_BOT_TOKEN", tg::TOKEN)
        .env("GATEWAY_TELEGRAM_WEBHOOK_SECRET", tg::SECRET)
        .env("GATEWAY_TELEGRAM_API_URL", &api.api_url())
        .env("GATEWAY_SHUTDOWN_SECS", &SHUTDOWN_SECS.to_string())
}

/// Delivers an update to the webhook as Telegram does.
async fn deliver(gw: &Gateway, update: &Value) {
    let status = gw
        .api()
        .try_post(
            "/telegram/webhook",
            None,
            Some(JSON),
            serde_json::to_vec(update).expect("json"),
            &[("X-Telegram-Bot-Api-Secret-Token", tg::SECRET)],
        )
        .await
        .expect("POST /telegram/webhook")
        .status;
    assert_eq!(status, 200);
}

/// A citizen's conversation up to the question "where is it?".
fn until_location(chat: i64, text: &str) -> Vec<Value> {
    vec![
        tg::text(1, chat, "en", "/start"),
        tg::callback(2, chat, "en", "lang:en"),
        tg::callback(3, chat, "en", "consent:yes"),
        tg::callback(4, chat, "en", "cat:roads"),
        tg::text(5, chat, "en", text),
    ]
}

/// The rest of it, from the location to "send".
fn from_location(chat: i64) -> Vec<Value> {
    vec![
        tg::location(10, chat, "en", 43.238949, 76.889709),
        tg::callback(11, chat, "en", "photos:done"),
        tg::contact(12, chat, "en", "77011234567"),
        tg::text(13, chat, "en", "Smith John"),
        tg::callback(14, chat, "en", "summary:send"),
    ]
}

/// Stops the gateway with SIGTERM; asserts it exited within the deadline (and a
/// second for the process itself).
fn terminate(gw: &mut Gateway) {
    let started = Instant::now();
    gw.stop();
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(SHUTDOWN_SECS + 2),
        "exited after {took:?}, GATEWAY_SHUTDOWN_SECS={SHUTDOWN_SECS}"
    );
}

#[tokio::test]
async fn a_photo_download_cut_by_sigterm_is_done_again_after_the_restart_once() {
    let redis = RedisServer::new();
    let api = FakeBotApi::start();
    let jpeg = b"\xFF\xD8\xFF\xE0 a photo of a fallen tree \xFF\xD9".to_vec();
    api.add_file("AgACAgIAAxkBAAIBtree", jpeg.len() as u64, jpeg.clone());
    let mut gw = Gateway::start_with(options(&redis, &api)).await;
    let chat = 3_131_313;
    for update in until_location(chat, "A tree fell on the road") {
        deliver(&gw, &update).await;
    }
    api.wait_text(chat, "Where is it?").await;
    // The file server hangs: the download is in the middle when SIGTERM comes, and
    // still is at the deadline.
    api.hold_downloads();
    deliver(
        &gw,
        &tg::photo(
            6,
            chat,
            "en",
            "AgACAgIAAxkBAAIBtree",
            jpeg.len() as u64,
            None,
        ),
    )
    .await;
    wait_until("the download started", WAIT, || async {
        match api.downloads() {
            0 => Err("none yet".to_owned()),
            n => Ok(n),
        }
    })
    .await;
    terminate(&mut gw);
    assert!(
        !api.texts_to(chat).iter().any(|t| t.contains("Photo added")),
        "the photo was not taken before the exit"
    );
    api.release_downloads();
    gw.restart().await;
    api.wait_text(chat, "Photo added (1)").await;
    for update in from_location(chat) {
        deliver(&gw, &update).await;
    }
    api.wait_text(chat, "Tracking number").await;
    let added = api
        .texts_to(chat)
        .iter()
        .filter(|t| t.contains("Photo added"))
        .count();
    assert_eq!(added, 1, "the photo's turn taken once");
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    assert_eq!(appeals.len(), 1);
    let attachments = appeals[0].data["attachments"].as_array().expect("list");
    assert_eq!(attachments.len(), 1, "the photo once");
    assert_eq!(attachments[0]["sha256"], hex::encode(Sha256::digest(&jpeg)));
}

#[tokio::test]
async fn a_reply_being_sent_at_sigterm_is_finished_before_the_exit_and_not_sent_again() {
    let redis = RedisServer::new();
    let api = FakeBotApi::start();
    let mut gw = Gateway::start_with(options(&redis, &api)).await;
    let chat = 3_232_323;
    let mut updates = until_location(chat, "A pothole on Abay avenue");
    updates.extend(from_location(chat));
    for update in &updates {
        deliver(&gw, update).await;
    }
    api.wait_text(chat, "Tracking number").await;
    let appeal = wait_for_stream_len(&redis.url(), "appeals.v1", 1)
        .await
        .remove(0)
        .data;
    // The Bot API is slow: the case system's answer is on its way when SIGTERM comes.
    api.hold_sends();
    let answer = "The pothole is repaired. Thank you.";
    let reply = json!({
        "schema_version": 1, "id": appeal["id"], "tracking_number": appeal["tracking_number"],
        "reply_to": appeal["reply_to"], "status": "resolved", "language": "en",
        "text": answer
    });
    send_reply(&redis, &reply).await;
    api.wait_text(chat, answer).await;
    // The answer comes a second after SIGTERM, within the deadline.
    let stopping = std::thread::spawn(move || {
        terminate(&mut gw);
        gw
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    api.release_sends();
    let mut gw = stopping.join().expect("stopped");
    // Finished before the exit: nothing left pending in the notifiers' group (its
    // receipt is in the outbox or on `deliveries.v1`).
    let mut conn = redis_conn(&redis.url()).await.expect("redis");
    let pending: Vec<redis::Value> = redis::cmd("XPENDING")
        .arg(stream_key("replies.v1"))
        .arg("gateway")
        .query_async(&mut conn)
        .await
        .expect("XPENDING");
    assert_eq!(pending.first(), Some(&redis::Value::Int(0)), "{pending:?}");
    gw.restart().await;
    wait_for_stream_len(&redis.url(), "deliveries.v1", 1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sent = api
        .texts_to(chat)
        .iter()
        .filter(|t| t.contains(answer))
        .count();
    assert_eq!(sent, 1, "the answer sent once");
    assert_eq!(read_stream(&redis.url(), "deliveries.v1").await.len(), 1);
}
