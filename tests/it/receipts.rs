//! Receipts that mean what they say: `accepted` when a provider took the answer, then
//! `delivered`, `read` or `failed` (with the reason) from the provider's own report —
//! to whichever instance the provider calls, applied once however often it is repeated.

use std::time::Duration;

use crate::support::case_system::send_reply;
use crate::support::fake_sms::{self, MOBIZON_KEY, SmsStandIn};
use crate::support::fake_whatsapp::{self as wa, FakeGraph};
use crate::support::*;
use serde_json::{Value, json};

const PHONE: &str = "+77015550123";
const SECRET: &str = "mobizon-webhook-secret";

fn reply(channel: &str, address: &str) -> Value {
    json!({
        "schema_version": 1,
        "id": "01KAPPEAL00000000000000000",
        "tracking_number": "OA-7K3M-9QX2",
        "reply_to": {"channel": channel, "address": address},
        "status": "resolved",
        "language": "ru",
        "text": "Яма на пр. Абая, 10 заделана.",
    })
}

fn mobizon_gateway(redis: &RedisServer, sms: &SmsStandIn, instance: &str) -> GatewayOptions {
    GatewayOptions::new(&redis.url())
        .env("GATEWAY_SMS_PROVIDER", "mobizon")
        .env("GATEWAY_SMS_API_URL", &sms.server.base())
        .env("GATEWAY_SMS_API_KEY", MOBIZON_KEY)
        .env("GATEWAY_SMS_SENDER", "OpenAlmaty")
        .env("GATEWAY_SMS_WEBHOOK_SECRET", SECRET)
        .env("GATEWAY_SMS_QUIET_HOURS", "off")
        .env("GATEWAY_INSTANCE", instance)
}

/// Mobizon's `sms-delivery-report` webhook as its documentation shows it, signed with
/// `secret` (SHA-1 of `eventId|attempt|eventCreateTs|secret`).
fn mobizon_report(message_id: &str, status: &str, attempt: u32, secret: &str) -> Value {
    let created = "2026-12-06 11:42:28";
    let sign = sha1_smol::Sha1::from(format!("26|{attempt}|{created}|{secret}"))
        .digest()
        .to_string();
    json!({
        "eventId": 26, "eventType": "sms-delivery-report", "eventCreateTs": created,
        "webhookId": 1, "attempt": attempt,
        "data": {"campaignId": 245455096, "messageId": message_id.parse::<u64>().expect("id"),
                 "segNum": 1, "statusUpdateTs": "2026-12-06 11:42:08", "status": status,
                 "to": "77015550123"},
        "sign": sign,
    })
}

async fn post_report(gw: &Gateway, body: &Value) -> u16 {
    reqwest::Client::new()
        .post(gw.url("/sms/mobizon/webhook"))
        .json(body)
        .send()
        .await
        .expect("post the webhook")
        .status()
        .as_u16()
}

async fn receipts(redis: &RedisServer, n: usize) -> Vec<Entry> {
    wait_for_stream_len(&redis.url(), "deliveries.v1", n).await
}

/// Waits long enough for a receipt that must not come, then reads them all.
async fn all_receipts(redis: &RedisServer) -> Vec<Entry> {
    tokio::time::sleep(Duration::from_millis(800)).await;
    read_stream(&redis.url(), "deliveries.v1").await
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sms_report_reaching_another_instance_moves_the_receipt_once() {
    let redis = RedisServer::new();
    let sms = fake_sms::mobizon(vec![]);
    let sender = Gateway::start_with(mobizon_gateway(&redis, &sms, "gateway-a")).await;
    send_reply(&redis, &reply("sms", PHONE)).await;
    let accepted = receipts(&redis, 1).await.remove(0);
    assert_eq!(accepted.data["status"], "accepted", "{}", accepted.raw);
    // The other instance starts after the answer went: it did not send it.
    let other = Gateway::start_with(mobizon_gateway(&redis, &sms, "gateway-b")).await;

    let forged = mobizon_report(&sms.id_of(1), "DELIVRD", 1, "not-the-secret");
    assert_eq!(post_report(&other, &forged).await, 403);
    assert_eq!(
        all_receipts(&redis).await.len(),
        1,
        "a forged report changes nothing"
    );

    let report = mobizon_report(&sms.id_of(1), "DELIVRD", 1, SECRET);
    assert_eq!(post_report(&other, &report).await, 200);
    let delivered = receipts(&redis, 2).await.remove(1);
    assert_eq!(delivered.data["status"], "delivered");
    assert_eq!(delivered.data["reply_id"], accepted.data["reply_id"]);
    assert_eq!(delivered.data["appeal_id"], "01KAPPEAL00000000000000000");
    assert_eq!(delivered.data["channel"], "sms");

    // Mobizon repeats it (its retry), to the sender this time.
    let again = mobizon_report(&sms.id_of(1), "DELIVRD", 2, SECRET);
    assert_eq!(post_report(&sender, &again).await, 200);
    assert_eq!(post_report(&other, &again).await, 200);
    assert_eq!(all_receipts(&redis).await.len(), 2, "one delivered receipt");
    assert_eq!(sms.taken().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sms_the_operator_could_not_deliver_fails_with_the_reason() {
    let redis = RedisServer::new();
    let sms = fake_sms::mobizon(vec![]);
    let gw = Gateway::start_with(mobizon_gateway(&redis, &sms, "gateway-a")).await;
    send_reply(&redis, &reply("sms", PHONE)).await;
    receipts(&redis, 1).await;
    let report = mobizon_report(&sms.id_of(1), "EXPIRED", 1, SECRET);
    assert_eq!(post_report(&gw, &report).await, 200);
    let failed = receipts(&redis, 2).await.remove(1);
    assert_eq!(failed.data["status"], "failed");
    assert_eq!(failed.data["reason"], "expired");
    let late = mobizon_report(&sms.id_of(1), "DELIVRD", 2, SECRET);
    assert_eq!(post_report(&gw, &late).await, 200);
    assert_eq!(all_receipts(&redis).await.len(), 2, "failed is final");
    for secret in ["7015550123", "Абая"] {
        assert!(!failed.raw.contains(secret), "the receipt holds {secret}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn whatsapp_statuses_reaching_either_instance_say_delivered_then_read_once() {
    let redis = RedisServer::new();
    let graph = FakeGraph::start();
    let opts = |instance: &str| {
        graph.configure(
            GatewayOptions::new(&redis.url())
                .env("GATEWAY_INSTANCE", instance)
                .env("GATEWAY_SMS_QUIET_HOURS", "off"),
        )
    };
    let sender = Gateway::start_with(opts("gateway-a")).await;
    send_reply(&redis, &reply("whatsapp", PHONE)).await;
    let accepted = receipts(&redis, 1).await.remove(0);
    assert_eq!(accepted.data["status"], "accepted", "{}", accepted.raw);
    let other = Gateway::start_with(opts("gateway-b")).await;
    let wamid = "wamid.FAKE1";
    assert_eq!(graph.sent().len(), 1, "one message: {:?}", graph.sent());

    wa::deliver(&other, &wa::status("77015550123", wamid, "sent")).await;
    wa::deliver(&other, &wa::status("77015550123", wamid, "delivered")).await;
    let delivered = receipts(&redis, 2).await.remove(1);
    assert_eq!(delivered.data["status"], "delivered");
    assert_eq!(delivered.data["channel"], "whatsapp");
    wa::deliver(&sender, &wa::status("77015550123", wamid, "read")).await;
    let read = receipts(&redis, 3).await.remove(2);
    assert_eq!(read.data["status"], "read");
    assert_eq!(read.data["reply_id"], accepted.data["reply_id"]);
    // Late and repeated statuses add nothing.
    wa::deliver(&other, &wa::status("77015550123", wamid, "delivered")).await;
    wa::deliver(&sender, &wa::status("77015550123", wamid, "read")).await;
    assert_eq!(all_receipts(&redis).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_whatsapp_failed_status_fails_the_receipt() {
    let redis = RedisServer::new();
    let graph = FakeGraph::start();
    let gw = Gateway::start_with(graph.configure(GatewayOptions::new(&redis.url()))).await;
    send_reply(&redis, &reply("whatsapp", PHONE)).await;
    receipts(&redis, 1).await;
    // The documented failed status: `errors[]` with Meta's code and title.
    let mut failed = wa::status("77015550123", "wamid.FAKE1", "failed");
    failed["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"] = json!([{
        "code": 131026, "title": "Message undeliverable",
        "message": "Message undeliverable",
        "error_data": {"details": "Message Undeliverable."}
    }]);
    wa::deliver(&gw, &failed).await;
    let receipt = receipts(&redis, 2).await.remove(1);
    assert_eq!(receipt.data["status"], "failed");
    assert_eq!(receipt.data["reason"], "undeliverable");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_sms_reported_failed_goes_to_the_citizens_other_route() {
    use crate::support::fake_telegram::FakeBotApi;
    let redis = RedisServer::new();
    let sms = fake_sms::mobizon(vec![]);
    let bot = FakeBotApi::start();
    let gw = Gateway::start_with(bot.configure(mobizon_gateway(&redis, &sms, "gateway-a"))).await;
    let mut answer = reply("sms", PHONE);
    answer["fallback"] = json!([{"channel": "telegram", "address": "555000111"}]);
    send_reply(&redis, &answer).await;
    let accepted = receipts(&redis, 1).await.remove(0);
    assert_eq!(accepted.data["status"], "accepted");
    assert_eq!(accepted.data["channel"], "sms");

    let report = mobizon_report(&sms.id_of(1), "UNDELIV", 1, SECRET);
    assert_eq!(post_report(&gw, &report).await, 200);
    let all = receipts(&redis, 3).await;
    assert_eq!(all[1].data["status"], "failed");
    assert_eq!(all[1].data["reason"], "undeliverable");
    assert_eq!(all[2].data["status"], "delivered", "{}", all[2].raw);
    assert_eq!(all[2].data["channel"], "telegram");
    assert_eq!(all[2].data["reply_id"], accepted.data["reply_id"]);
    let texts = bot.texts_to(555000111);
    assert_eq!(texts.len(), 1, "{texts:?}");
    assert!(texts[0].contains("заделана"));
    // Mobizon repeating the failure sends nothing more.
    let again = mobizon_report(&sms.id_of(1), "UNDELIV", 2, SECRET);
    assert_eq!(post_report(&gw, &again).await, 200);
    assert_eq!(all_receipts(&redis).await.len(), 3);
    assert_eq!(bot.texts_to(555000111).len(), 1);
    assert_eq!(sms.taken().len(), 1);
}

fn smsc_gateway(redis: &RedisServer, sms: &SmsStandIn, instance: &str) -> GatewayOptions {
    GatewayOptions::new(&redis.url())
        .env("GATEWAY_SMS_PROVIDER", "smsc")
        .env("GATEWAY_SMS_API_URL", &sms.server.base())
        .env("GATEWAY_SMS_LOGIN", fake_sms::SMSC_LOGIN)
        .env("GATEWAY_SMS_PASSWORD", fake_sms::SMSC_PASSWORD)
        .env("GATEWAY_SMS_SENDER", "OpenAlmaty")
        .env("GATEWAY_SMS_STATUS_POLL_SECS", "1")
        .env("GATEWAY_SMS_QUIET_HOURS", "off")
        .env("GATEWAY_INSTANCE", instance)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_smsc_status_asked_by_another_instance_moves_the_receipt_once() {
    let redis = RedisServer::new();
    let sms = fake_sms::smsc(vec![]);
    let sender = Gateway::start_with(smsc_gateway(&redis, &sms, "gateway-a")).await;
    send_reply(&redis, &reply("sms", PHONE)).await;
    let accepted = receipts(&redis, 1).await.remove(0);
    assert_eq!(accepted.data["status"], "accepted", "{}", accepted.raw);
    // SMSC says "waiting" (-1) at first: asked, nothing moves.
    wait_until("SMSC is asked", WAIT, || async {
        (sms.status_requests() >= 1)
            .then_some(())
            .ok_or(format!("{}", sms.status_requests()))
    })
    .await;
    assert_eq!(all_receipts(&redis).await.len(), 1);
    // The sender stops; another instance, which did not send it, asks from now on.
    drop(sender);
    let _other = Gateway::start_with(smsc_gateway(&redis, &sms, "gateway-b")).await;
    let _third = Gateway::start_with(smsc_gateway(&redis, &sms, "gateway-c")).await;
    sms.set_status(&sms.id_of(1), 1, 0);
    let delivered = receipts(&redis, 2).await.remove(1);
    assert_eq!(delivered.data["status"], "delivered", "{}", delivered.raw);
    assert_eq!(delivered.data["reply_id"], accepted.data["reply_id"]);
    assert_eq!(delivered.data["channel"], "sms");
    // Delivered is final for the poll: asked no more, one receipt whoever asks.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    let asked = sms.status_requests();
    assert_eq!(all_receipts(&redis).await.len(), 2);
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(
        sms.status_requests(),
        asked,
        "a delivered message is not asked about again"
    );
    assert_eq!(sms.taken().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_smsc_status_of_a_wrong_number_fails_the_receipt_with_the_reason() {
    let redis = RedisServer::new();
    let sms = fake_sms::smsc(vec![]);
    let _gw = Gateway::start_with(smsc_gateway(&redis, &sms, "gateway-a")).await;
    send_reply(&redis, &reply("sms", PHONE)).await;
    receipts(&redis, 1).await;
    sms.set_status(&sms.id_of(1), 22, 1);
    let failed = receipts(&redis, 2).await.remove(1);
    assert_eq!(failed.data["status"], "failed");
    assert_eq!(failed.data["reason"], "invalid_number");
    sms.set_status(&sms.id_of(1), 1, 0);
    assert_eq!(all_receipts(&redis).await.len(), 2, "failed is final");
    for secret in ["7015550123", "Абая"] {
        assert!(!failed.raw.contains(secret), "the receipt holds {secret}");
    }
}
