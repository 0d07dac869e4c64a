//! Answers only to a confirmed contact (regulation 9.2: never to a third party). An
//! email address or a phone number typed by the citizen (`reply_to.confirmed: false`)
//! gets no answer's text until the citizen proves it is theirs: only a notice with the
//! tracking number and a code (a link in an email, a code to type on the status page
//! for an SMS); the case system sees `held_unconfirmed`. Once confirmed, the held
//! answer goes; a contact proven otherwise gets the answer at once.

use crate::support::case_system::send_reply;
use crate::support::fake_sms::{self, MOBIZON_KEY};
use crate::support::form_session::FormSession;
use crate::support::mail::SmtpSink;
use crate::support::*;
use serde_json::{Value, json};

const EMAIL: &str = "citizen@mail.kz";
const PHONE: &str = "+77015550123";
const TRACKING: &str = "OA-7K3M-9QX2";
const REPLY_TEXT: &str = "Яма на пр. Абая, 10 заделана. Спасибо за обращение!";

fn reply(channel: &str, address: &str, confirmed: Option<bool>) -> Value {
    let mut to = json!({"channel": channel, "address": address});
    if let Some(confirmed) = confirmed {
        to["confirmed"] = json!(confirmed);
    }
    json!({
        "schema_version": 1,
        "id": "01KAPPEAL00000000000000000",
        "tracking_number": TRACKING,
        "reply_to": to,
        "status": "resolved",
        "language": "ru",
        "text": REPLY_TEXT,
    })
}

async fn mail_gateway(redis: &RedisServer, smtp: &SmtpSink) -> Gateway {
    Gateway::start_with(
        GatewayOptions::new(&redis.url())
            .env("GATEWAY_SMTP_URL", &smtp.url())
            .env("GATEWAY_MAIL_FROM", "open-almaty@almatydc.kz")
            .env("GATEWAY_PUBLIC_URL", "https://open-almaty.kz"),
    )
    .await
}

/// `options` with SMS through the Mobizon stand-in `sms`, at any hour.
fn with_mobizon(options: GatewayOptions, sms: &fake_sms::SmsStandIn) -> GatewayOptions {
    options
        .env("GATEWAY_SMS_PROVIDER", "mobizon")
        .env("GATEWAY_SMS_API_URL", &sms.server.base())
        .env("GATEWAY_SMS_API_KEY", MOBIZON_KEY)
        .env("GATEWAY_SMS_SENDER", "OpenAlmaty")
        .env("GATEWAY_SMS_QUIET_HOURS", "off")
}

/// The code in a notice: the six digits after `code=` (email) or `Код ` (SMS).
fn code_in(text: &str, after: &str) -> String {
    let start = text.find(after).expect("a code") + after.len();
    text[start..].chars().take(6).collect()
}

/// The citizen presses "Confirm" with `code` in the box (the page's form).
async fn press(gw: &Gateway, tracking: &str, code: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(gw.url(&format!("/status/{tracking}/confirm?lang=ru")))
        .form(&[("code", code)])
        .send()
        .await
        .expect("the confirmation page")
}

async fn confirm(gw: &Gateway, code: &str) -> u16 {
    press(gw, TRACKING, code).await.status().as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unconfirmed_email_gets_a_notice_without_the_answer_until_confirmed() {
    let redis = RedisServer::new();
    let smtp = SmtpSink::start();
    let gw = mail_gateway(&redis, &smtp).await;
    send_reply(&redis, &reply("email", EMAIL, Some(false))).await;

    let held = wait_for_stream_len(&redis.url(), "deliveries.v1", 1)
        .await
        .remove(0);
    assert_eq!(held.data["status"], "held_unconfirmed", "{}", held.raw);
    let notice = crate::support::mail::show(&smtp.wait_for(1).await[0]);
    assert!(notice.body.contains(TRACKING), "{}", notice.body);
    assert!(
        notice
            .body
            .contains(&format!("/status/{TRACKING}/confirm?code=")),
        "{}",
        notice.body
    );
    for content in ["Абая", "заделана", REPLY_TEXT] {
        assert!(
            !notice.body.contains(content) && !notice.subject.contains(content),
            "the notice carries the answer's {content}"
        );
    }
    let code = code_in(&notice.body, "code=");

    // The link opened — by the citizen or by a mail gateway that scans every link —
    // shows the code in the box and confirms nothing until the button is pressed.
    let opened = reqwest::get(gw.url(&format!("/status/{TRACKING}/confirm?code={code}&lang=ru")))
        .await
        .expect("the link");
    assert_eq!(opened.status().as_u16(), 200);
    let html = opened.text().await.expect("html");
    assert!(html.contains(&format!("value=\"{code}\"")), "{html}");
    assert!(html.contains("method=\"post\""), "{html}");

    // A wrong code confirms nothing and sends nothing.
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(confirm(&gw, wrong).await, 422);
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(
        smtp.messages().len(),
        1,
        "nothing more before the right code"
    );

    assert_eq!(confirm(&gw, &code).await, 200);
    let answer = crate::support::mail::show(&smtp.wait_for(2).await[1]);
    assert!(answer.body.contains(REPLY_TEXT), "{}", answer.body);
    let accepted = wait_for_stream_len(&redis.url(), "deliveries.v1", 2)
        .await
        .remove(1);
    assert_eq!(accepted.data["status"], "accepted");
    assert_eq!(accepted.data["reply_id"], held.data["reply_id"]);
    // The link followed again changes nothing.
    assert_eq!(confirm(&gw, &code).await, 200);
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(smtp.messages().len(), 2, "the answer once");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_confirmed_email_gets_the_answer_at_once() {
    let redis = RedisServer::new();
    let smtp = SmtpSink::start();
    let _gw = mail_gateway(&redis, &smtp).await;
    send_reply(&redis, &reply("email", EMAIL, Some(true))).await;
    let receipt = wait_for_stream_len(&redis.url(), "deliveries.v1", 1)
        .await
        .remove(0);
    assert_eq!(receipt.data["status"], "accepted", "{}", receipt.raw);
    let answer = crate::support::mail::show(&smtp.wait_for(1).await[0]);
    assert!(answer.body.contains(REPLY_TEXT));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unconfirmed_phone_gets_a_code_to_type_on_the_status_page() {
    let redis = RedisServer::new();
    let sms = fake_sms::mobizon(vec![]);
    let gw = Gateway::start_with(with_mobizon(GatewayOptions::new(&redis.url()), &sms)).await;
    send_reply(&redis, &reply("sms", PHONE, Some(false))).await;
    let held = wait_for_stream_len(&redis.url(), "deliveries.v1", 1)
        .await
        .remove(0);
    assert_eq!(held.data["status"], "held_unconfirmed");
    wait_until("the notice is sent", WAIT, || async {
        (sms.taken().len() == 1)
            .then_some(())
            .ok_or(format!("{}", sms.taken().len()))
    })
    .await;
    let notice = sms.taken()[0]["text"].clone();
    assert!(notice.contains(TRACKING), "{notice}");
    assert!(
        notice.contains(&format!("/status/{TRACKING}/confirm")),
        "{notice}"
    );
    assert!(
        !notice.contains("Абая"),
        "the notice carries the answer: {notice}"
    );

    let page = reqwest::get(gw.url(&format!("/status/{TRACKING}/confirm?lang=ru")))
        .await
        .expect("the page");
    assert_eq!(page.status().as_u16(), 200);
    let form = page.text().await.expect("html");
    assert!(form.contains("name=\"code\""));
    assert!(!form.contains("заделана"), "the answer before the code");
    let wrong = press(&gw, TRACKING, "000001").await;
    assert_eq!(wrong.status().as_u16(), 422);
    assert!(!wrong.text().await.expect("html").contains("заделана"));
    // The right code: the page itself shows the held answer, and no cache keeps it.
    let code = code_in(&notice, "Код ");
    let shown = press(&gw, TRACKING, &code).await;
    assert_eq!(shown.status().as_u16(), 200);
    assert_eq!(shown.headers()["cache-control"], "no-store");
    let html = shown.text().await.expect("html");
    assert!(html.contains("id=\"held-answers\""), "{html}");
    assert!(html.contains("Яма на пр. Абая, 10 заделана."), "{html}");
    wait_until("the answer is sent", WAIT, || async {
        (sms.taken().len() == 2)
            .then_some(())
            .ok_or(format!("{}", sms.taken().len()))
    })
    .await;
    assert!(sms.taken()[1]["text"].contains(REPLY_TEXT));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unconfirmed_contact_is_skipped_for_a_proven_one() {
    let redis = RedisServer::new();
    let smtp = SmtpSink::start();
    let sms = fake_sms::mobizon(vec![]);
    let _gw = Gateway::start_with(with_mobizon(
        GatewayOptions::new(&redis.url())
            .env("GATEWAY_SMTP_URL", &smtp.url())
            .env("GATEWAY_MAIL_FROM", "open-almaty@almatydc.kz"),
        &sms,
    ))
    .await;
    let mut both = reply("email", EMAIL, Some(false));
    both["fallback"] = json!([{"channel": "sms", "address": PHONE}]);
    send_reply(&redis, &both).await;
    let receipt = wait_for_stream_len(&redis.url(), "deliveries.v1", 1)
        .await
        .remove(0);
    assert_eq!(receipt.data["status"], "accepted");
    assert_eq!(receipt.data["channel"], "sms");
    assert!(sms.taken()[0]["text"].contains(REPLY_TEXT));
    assert!(smtp.messages().is_empty(), "nothing to the typed address");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_an_integrator_with_the_scope_may_say_a_contact_is_confirmed() {
    let redis = RedisServer::new();
    let gw = Gateway::start_with(GatewayOptions::new(&redis.url()).env(
        "GATEWAY_API_TOKENS",
        &format!("crm:{CRM_TOKEN}:scopes=confirmed_contacts,portal:{PORTAL_TOKEN}"),
    ))
    .await;
    let mut appeal = valid_appeal();
    appeal["reply_to"] = json!({"channel": "email", "address": EMAIL, "confirmed": true});
    gw.api()
        .post_appeal(PORTAL_TOKEN, &appeal, None)
        .await
        .expect_problem(403, Some("reply_to.confirmed"), "scope_required");
    gw.api()
        .post_appeal(CRM_TOKEN, &appeal, None)
        .await
        .expect_status(202);
    appeal["reply_to"] = json!({"channel": "email", "address": "other@mail.kz"});
    gw.api()
        .post_appeal(PORTAL_TOKEN, &appeal, None)
        .await
        .expect_status(202);
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 2).await;
    let confirmed: Vec<Value> = appeals
        .iter()
        .map(|a| a.data["reply_to"]["confirmed"].clone())
        .collect();
    assert!(confirmed.contains(&json!(true)), "{confirmed:?}");
    assert!(confirmed.contains(&json!(false)), "{confirmed:?}");
}

// The acknowledgement at intake: a typed contact hears at once, with the number and a
// way to confirm, and nothing of the appeal.

const APPEAL_TEXT: &str = "На пр. Абая, 10 глубокая яма у остановки.";

/// An answer of the case system to the appeal `appeal` (as it is on `appeals.v1`).
fn answer_to(appeal: &Value) -> Value {
    json!({
        "schema_version": 1,
        "id": appeal["id"],
        "tracking_number": appeal["tracking_number"],
        "reply_to": appeal["reply_to"],
        "status": "resolved",
        "language": "ru",
        "text": REPLY_TEXT,
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_web_form_appeal_is_acknowledged_once_at_once_with_a_link_and_nothing_of_it() {
    let redis = RedisServer::new();
    let smtp = SmtpSink::start();
    // Two instances read the acknowledgements: the citizen still gets one.
    let gw = mail_gateway(&redis, &smtp).await;
    let other = mail_gateway(&redis, &smtp).await;
    let form = FormSession::open(&gw, "/ru/").await;
    let sent = form
        .post(
            "/ru/",
            &[
                ("last_name", "Сейітқали"),
                ("first_name", "Әйгерім"),
                ("email", EMAIL),
                ("category", "roads"),
                ("address", "пр. Абая, 10"),
                ("text", APPEAL_TEXT),
                ("consent", "on"),
            ],
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.html);
    // The confirmation page tells the citizen what to expect and why.
    let received = reqwest::get(gw.url(sent.location.as_deref().expect("the confirmation")))
        .await
        .expect("the confirmation page")
        .text()
        .await
        .expect("html");
    assert!(
        received.contains("придёт письмо с номером обращения и ссылкой"),
        "{received}"
    );
    let appeal = wait_for_stream_len(&redis.url(), "appeals.v1", 1)
        .await
        .remove(0)
        .data;
    let tracking = appeal["tracking_number"].as_str().expect("a number");
    let appeal_id = appeal["id"].as_str().expect("an id");
    assert_eq!(appeal["reply_to"]["confirmed"], false, "{appeal}");

    let ack = crate::support::mail::show(&smtp.wait_for(1).await[0]);
    assert_eq!(ack.to, EMAIL);
    assert!(ack.subject.contains(tracking), "{}", ack.subject);
    assert!(ack.body.contains(tracking), "{}", ack.body);
    let link = format!("https://open-almaty.kz/status/{tracking}/confirm?code=");
    assert!(ack.body.contains(&link), "{}", ack.body);
    for content in ["Абая", "яма", "остановки", "Сейітқали", "roads"] {
        assert!(
            !ack.body.contains(content) && !ack.subject.contains(content),
            "the acknowledgement carries the appeal's {content}"
        );
    }
    // The thread's first mail: the answers are threaded under it, and a bounce of it
    // names the appeal (`mail_bounced`, `mail: ack`).
    assert!(
        ack.message_id.starts_with(&format!("ack.{appeal_id}@"))
            || ack.message_id.starts_with(&format!("<ack.{appeal_id}@")),
        "{}",
        ack.message_id
    );
    let receipt = wait_for_entries_of(&redis.url(), "deliveries.v1", "acknowledgement", 1)
        .await
        .remove(0);
    assert_eq!(receipt.data["status"], "accepted", "{}", receipt.raw);
    assert_eq!(receipt.data["channel"], "email");
    assert_eq!(receipt.data["appeal_id"], appeal_id);
    assert!(!receipt.raw.contains(EMAIL), "no address on the receipt");
    // Nothing of the address stays in the gateway's own stream once it is sent.
    wait_until("the acknowledgement's entry is deleted", WAIT, || async {
        let left = try_read_stream(&redis.url(), "gateway:acknowledgements")
            .await
            .map(|e| e.len())
            .unwrap_or(0);
        (left == 0).then_some(()).ok_or(format!("{left} left"))
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(
        smtp.messages().len(),
        1,
        "one acknowledgement, not one per instance"
    );

    // The link confirms the address (on any instance), before any answer.
    let code = code_in(&ack.body, "code=");
    let page = press(&other, tracking, &code).await;
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("будут приходить на него"), "{html}");

    // The answer then goes straight there, threaded under the acknowledgement.
    send_reply(&redis, &answer_to(&appeal)).await;
    let delivered = wait_for_entries_of(&redis.url(), "deliveries.v1", "delivery", 1)
        .await
        .remove(0);
    assert_eq!(delivered.data["status"], "accepted", "{}", delivered.raw);
    let answer = crate::support::mail::show(&smtp.wait_for(2).await[1]);
    assert!(answer.body.contains(REPLY_TEXT), "{}", answer.body);
    assert_eq!(answer.in_reply_to, ack.message_id);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_appeal_with_a_typed_number_gets_the_code_by_sms_and_a_refused_number_is_said() {
    let redis = RedisServer::new();
    // The second acknowledgement meets Mobizon's refusal of the number.
    let refused = fake_sms::Scripted {
        status: 200,
        body: json!({
            "code": 1,
            "data": {"recipient": "Неверный номер получателя"},
            "message": "Ошибка валидации"
        }),
    };
    let sms = fake_sms::mobizon(vec![]);
    let gw = Gateway::start_with(with_mobizon(GatewayOptions::new(&redis.url()), &sms)).await;
    let mut appeal = valid_appeal();
    appeal["reply_to"] = json!({"channel": "sms", "address": PHONE});
    let accepted = gw.api().post_appeal(CRM_TOKEN, &appeal, None).await;
    accepted.expect_status(202);
    let tracking = accepted.json()["tracking_number"]
        .as_str()
        .expect("a number")
        .to_owned();
    wait_until("the acknowledgement is sent", WAIT, || async {
        (sms.taken().len() == 1)
            .then_some(())
            .ok_or(format!("{}", sms.taken().len()))
    })
    .await;
    let text = sms.taken()[0]["text"].clone();
    assert_eq!(sms.taken()[0]["recipient"], "77015550123");
    assert!(text.contains(&tracking), "{text}");
    assert!(
        text.contains(&format!("/status/{tracking}/confirm")),
        "{text}"
    );
    assert!(!text.contains("Абая") && !text.contains("Иван"), "{text}");
    let receipt = wait_for_entries_of(&redis.url(), "deliveries.v1", "acknowledgement", 1)
        .await
        .remove(0);
    assert_eq!(receipt.data["status"], "accepted", "{}", receipt.raw);
    assert_eq!(receipt.data["channel"], "sms");
    // The case system's first word, right after intake, waits for the confirmation and
    // sends no second SMS with the code: the acknowledgement has just given it.
    let stored = appeal_with_tracking(&redis, &tracking).await;
    let mut registered = answer_to(&stored);
    registered["status"] = json!("in_progress");
    registered["text"] = json!("Обращение передано в акимат Бостандыкского района.");
    send_reply(&redis, &registered).await;
    let held = wait_for_entries_of(&redis.url(), "deliveries.v1", "delivery", 1)
        .await
        .remove(0);
    assert_eq!(held.data["status"], "held_unconfirmed", "{}", held.raw);
    tokio::time::sleep(std::time::Duration::from_millis(800)).await;
    assert_eq!(sms.taken().len(), 1, "one message with the code, not two");
    // The code typed on the status page confirms the number; the answer goes.
    let code = code_in(&text, "Код ");
    let page = press(&gw, &tracking, &code).await;
    assert_eq!(page.status().as_u16(), 200);
    assert!(
        page.text()
            .await
            .expect("html")
            .contains("акимат Бостандыкского района"),
        "the held answer on the page"
    );
    wait_until("the held answer is sent", WAIT, || async {
        (sms.taken().len() == 2)
            .then_some(())
            .ok_or(format!("{}", sms.taken().len()))
    })
    .await;
    assert!(sms.taken()[1]["text"].contains("Бостандыкского"));

    // A number the provider refuses: the case system hears it at once.
    sms.log.lock().expect("sms log").script.push_back(refused);
    appeal["reply_to"] = json!({"channel": "sms", "address": "+77015550999"});
    let second = gw.api().post_appeal(CRM_TOKEN, &appeal, None).await;
    second.expect_status(202);
    let receipts = wait_for_entries_of(&redis.url(), "deliveries.v1", "acknowledgement", 2).await;
    let failed = &receipts[1];
    assert_eq!(failed.data["status"], "failed", "{}", failed.raw);
    assert_eq!(failed.data["reason"], "invalid_number", "{}", failed.raw);
    assert_eq!(failed.data["appeal_id"], second.json()["id"]);
    assert_eq!(sms.taken().len(), 2, "nothing more was taken");

    // A form anyone can fill in must not make the city text one number over and over:
    // five acknowledgements a day to a contact, then none (the receipt says so).
    appeal["reply_to"] = json!({"channel": "sms", "address": PHONE});
    for _ in 0..5 {
        gw.api()
            .post_appeal(CRM_TOKEN, &appeal, None)
            .await
            .expect_status(202);
    }
    let receipts = wait_for_entries_of(&redis.url(), "deliveries.v1", "acknowledgement", 7).await;
    let statuses: Vec<String> = receipts[2..]
        .iter()
        .map(|r| format!("{} {}", r.data["status"], r.data["reason"]))
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| s.starts_with("\"accepted\""))
            .count(),
        4,
        "{statuses:?}"
    );
    assert!(
        statuses.contains(&"\"failed\" \"rate_limited\"".to_owned()),
        "{statuses:?}"
    );
    // The acknowledgements (five) and the answer.
    assert_eq!(
        sms.taken().len(),
        6,
        "five acknowledgements to the number in a day"
    );
}
