//! SMS through the providers Kazakh organisations use, each against a local stand-in
//! speaking its documented protocol (`tests/support/fake_sms.rs`): Mobizon and SMSC.kz
//! take the answer once in their own request shape; a refusal that cannot change (a
//! wrong number, no money on the account) is not retried and the case system reads why
//! on `deliveries.v1`; a passing failure (a 503, a rate limit) is retried until taken.

use crate::support::case_system::send_reply;
use crate::support::fake_sms::{
    self, MOBIZON_KEY, SMSC_LOGIN, SMSC_PASSWORD, Scripted, SmsStandIn,
};
use crate::support::*;
use serde_json::{Value, json};

const PHONE: &str = "+77015550123";
const REPLY_TEXT: &str = "Яма на пр. Абая, 10 заделана. Спасибо за обращение!";

fn reply(phone: &str) -> Value {
    json!({
        "schema_version": 1,
        "id": "01KAPPEAL00000000000000000",
        "tracking_number": "OA-7K3M-9QX2",
        "reply_to": {"channel": "sms", "address": phone},
        "status": "resolved",
        "language": "ru",
        "text": REPLY_TEXT,
    })
}

fn common(redis: &RedisServer) -> GatewayOptions {
    GatewayOptions::new(&redis.url())
        .env("GATEWAY_SMS_SENDER", "OpenAlmaty")
        .env("GATEWAY_SMS_QUIET_HOURS", "off")
        .env("GATEWAY_NOTIFY_RETRY_BASE_MS", "50")
        .env("GATEWAY_INSTANCE", "gateway-a")
}

async fn with_mobizon(redis: &RedisServer, sms: &SmsStandIn) -> Gateway {
    Gateway::start_with(
        common(redis)
            .env("GATEWAY_SMS_PROVIDER", "mobizon")
            .env("GATEWAY_SMS_API_URL", &sms.server.base())
            .env("GATEWAY_SMS_API_KEY", MOBIZON_KEY),
    )
    .await
}

async fn with_smsc(redis: &RedisServer, sms: &SmsStandIn) -> Gateway {
    Gateway::start_with(
        common(redis)
            .env("GATEWAY_SMS_PROVIDER", "smsc")
            .env("GATEWAY_SMS_API_URL", &sms.server.base())
            .env("GATEWAY_SMS_LOGIN", SMSC_LOGIN)
            .env("GATEWAY_SMS_PASSWORD", SMSC_PASSWORD),
    )
    .await
}

async fn receipt(redis: &RedisServer) -> Entry {
    wait_for_stream_len(&redis.url(), "deliveries.v1", 1)
        .await
        .remove(0)
}

fn answer(status: u16, body: Value) -> Scripted {
    Scripted { status, body }
}

/// What a permanent refusal leaves: one request, a `failed` receipt and a dead letter
/// with the reason, neither holding the number or the text.
async fn given_up(redis: &RedisServer, gw: &Gateway, sms: &SmsStandIn, reason: &str) {
    let receipt = receipt(redis).await;
    assert_eq!(receipt.data["status"], "failed");
    assert_eq!(receipt.data["reason"], reason);
    assert_eq!(receipt.data["channel"], "sms");
    let parked = wait_for_stream_len(&redis.url(), "deadletter.v1", 1)
        .await
        .remove(0);
    assert_eq!(parked.data["reason"], reason);
    assert_eq!(sms.requests(), 1, "a final refusal is not retried");
    assert!(sms.taken().is_empty());
    for secret in ["7015550123", "Абая", "заделана"] {
        assert!(!receipt.raw.contains(secret), "the receipt holds {secret}");
        assert!(
            !parked.raw.contains(secret),
            "the dead letter holds {secret}"
        );
        assert!(!gw.logs().contains(secret), "the log holds {secret}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn mobizon_takes_the_answer_as_its_api_describes() {
    let redis = RedisServer::new();
    let sms = fake_sms::mobizon(vec![]);
    let gw = with_mobizon(&redis, &sms).await;
    send_reply(&redis, &reply(PHONE)).await;

    let receipt = receipt(&redis).await;
    assert_eq!(receipt.data["channel"], "sms");
    assert_eq!(receipt.data["attempts"], 1);
    let taken = sms.taken();
    assert_eq!(taken.len(), 1, "one SMS: {taken:?}");
    assert_eq!(taken[0]["recipient"], "77015550123", "digits only");
    assert_eq!(taken[0]["from"], "OpenAlmaty");
    assert!(
        taken[0]["text"].contains(REPLY_TEXT),
        "{}",
        taken[0]["text"]
    );
    assert!(!gw.logs().contains(MOBIZON_KEY), "the key is never logged");
}

#[tokio::test(flavor = "multi_thread")]
async fn mobizon_refusing_the_number_is_given_up_with_the_reason() {
    let redis = RedisServer::new();
    let sms = fake_sms::mobizon(vec![]);
    let gw = with_mobizon(&redis, &sms).await;
    // Ten digits: no Kazakh mobile number; Mobizon's validation names `recipient`.
    send_reply(&redis, &reply("+7701555012")).await;
    given_up(&redis, &gw, &sms, "invalid_number").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mobizon_out_of_service_then_throttling_is_retried_until_taken() {
    let redis = RedisServer::new();
    let sms = fake_sms::mobizon(vec![
        answer(503, json!({})),
        answer(
            200,
            json!({"code": 30, "data": [], "message": "Превышен лимит запросов"}),
        ),
    ]);
    let _gw = with_mobizon(&redis, &sms).await;
    send_reply(&redis, &reply(PHONE)).await;

    let receipt = receipt(&redis).await;
    assert_ne!(receipt.data["status"], "failed", "{}", receipt.raw);
    assert_eq!(receipt.data["attempts"], 3);
    assert_eq!(sms.taken().len(), 1, "taken once");
    assert_eq!(sms.requests(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn smsc_takes_the_answer_as_its_api_describes() {
    let redis = RedisServer::new();
    let sms = fake_sms::smsc(vec![]);
    let gw = with_smsc(&redis, &sms).await;
    send_reply(&redis, &reply(PHONE)).await;

    let receipt = receipt(&redis).await;
    assert_eq!(receipt.data["channel"], "sms");
    assert_eq!(receipt.data["attempts"], 1);
    let taken = sms.taken();
    assert_eq!(taken.len(), 1, "one SMS: {taken:?}");
    assert_eq!(taken[0]["phones"], PHONE, "with its +: no auto-correction");
    assert_eq!(taken[0]["sender"], "OpenAlmaty");
    assert!(taken[0]["mes"].contains(REPLY_TEXT), "{}", taken[0]["mes"]);
    assert!(
        !gw.logs().contains(SMSC_PASSWORD),
        "the password is never logged"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn smsc_without_money_is_given_up_with_the_reason() {
    let redis = RedisServer::new();
    let sms = fake_sms::smsc(vec![answer(
        200,
        json!({"error": "no money", "error_code": 3}),
    )]);
    let gw = with_smsc(&redis, &sms).await;
    send_reply(&redis, &reply(PHONE)).await;
    given_up(&redis, &gw, &sms, "insufficient_funds").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn smsc_asking_to_wait_is_retried_until_taken() {
    let redis = RedisServer::new();
    let sms = fake_sms::smsc(vec![
        answer(
            200,
            json!({"error": "duplicate request, wait a minute", "error_code": 9}),
        ),
        answer(502, json!({})),
    ]);
    let _gw = with_smsc(&redis, &sms).await;
    send_reply(&redis, &reply(PHONE)).await;

    let receipt = receipt(&redis).await;
    assert_ne!(receipt.data["status"], "failed", "{}", receipt.raw);
    assert_eq!(receipt.data["attempts"], 3);
    assert_eq!(sms.taken().len(), 1, "taken once");
}

#[test]
fn a_provider_without_its_settings_stops_the_start() {
    let redis = RedisServer::new();
    let opts = GatewayOptions::new(&redis.url())
        .env("GATEWAY_SMS_PROVIDER", "smsc")
        .env("GATEWAY_SMS_LOGIN", SMSC_LOGIN)
        .env("GATEWAY_SMS_SENDER", "OpenAlmaty");
    let (status, _, stderr) = run_to_exit(&opts, std::time::Duration::from_secs(20));
    assert!(!status.success());
    assert!(stderr.contains("GATEWAY_SMS_LOGIN"), "{stderr}");
    let unknown = GatewayOptions::new(&redis.url()).env("GATEWAY_SMS_PROVIDER", "kcell");
    let (status, _, stderr) = run_to_exit(&unknown, std::time::Duration::from_secs(20));
    assert!(!status.success());
    assert!(stderr.contains("GATEWAY_SMS_PROVIDER"), "{stderr}");
}
