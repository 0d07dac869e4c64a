//! A citizen answers the acknowledgement: the reply joins the same appeal as an
//! `appeal_addition` (same `id`) on `appeals.v1`, never a second appeal.

use crate::support::mail::*;
use crate::support::*;

/// The citizen's mail program answering `ack`: same thread, `Re:` subject.
fn reply_to(ack: &Shown, from: &str, text: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: {MAIL_FROM}\r\nSubject: Re: {}\r\nMessage-ID: <reply-1@example.kz>\r\n\
         In-Reply-To: <{}>\r\nReferences: <cp1251-0001@example.kz> <{}>\r\nMIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n{text}\r\n",
        rfc2047(&ack.subject),
        ack.message_id,
        ack.message_id
    )
    .into_bytes()
}

fn rfc2047(s: &str) -> String {
    let mut hex = String::new();
    for b in s.as_bytes() {
        hex.push_str(&format!("={b:02X}"));
    }
    format!("=?utf-8?Q?{hex}?=")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reply_in_the_thread_is_an_addition_to_the_same_appeal() {
    let redis = RedisServer::new();
    let smtp = SmtpSink::start();
    let mail = MailGateway::start(&redis.url(), Some(&smtp)).await;
    mail.deliver(&fixture("cp1251_plain.eml"));
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    let appeal = &appeals[0];
    let tracking = appeal.data["tracking_number"].as_str().unwrap().to_string();
    let ack = show(&smtp.wait_for(1).await[0]);

    let reply = reply_to(
        &ack,
        "ivanov.cp1251@example.kz",
        "Фонари так и не горят, добавляю: ещё и у остановки. Штраф за парковку \
         списали с карты 4111 1111 1111 1111.",
    );
    mail.deliver(&reply);
    let entries = wait_for_stream_len(&redis.url(), "appeals.v1", 2).await;
    assert_eq!(
        entries.len(),
        2,
        "the reply is not a second appeal: {entries:#?}"
    );
    let addition = &entries[1];
    assert_eq!(addition.kind, "appeal_addition");
    assert_eq!(addition.id, appeal.id, "filed under the appeal's id");
    assert_eq!(addition.data["id"], appeal.id.as_str());
    assert_eq!(addition.data["tracking_number"], tracking.as_str());
    assert!(
        addition.data["text"]
            .as_str()
            .unwrap()
            .contains("у остановки")
    );
    // Issue 16, point 4: the free-text guard covers additions too.
    let text = addition.data["text"].as_str().unwrap_or_default();
    assert!(text.contains("с карты [**** 1111]."), "{text}");
    assert!(!text.contains("4111 1111"), "{text}");
    assert_eq!(
        addition.data["redactions"],
        serde_json::json!([{"kind": "card", "count": 1}])
    );
    assert_eq!(
        addition.data["sender_keys"]["email"],
        subject_key("email", "ivanov.cp1251@example.kz").as_str(),
        "the case system can see the author wrote"
    );

    // The addition is acknowledged in the same thread; the same reply again adds nothing.
    let acks: Vec<Shown> = smtp.wait_for(2).await.iter().map(|m| show(m)).collect();
    assert_eq!(acks.len(), 2);
    assert!(
        acks[1].subject.contains(&format!("[{tracking}]")),
        "{:?}",
        acks[1]
    );
    assert_eq!(acks[1].in_reply_to, "reply-1@example.kz");
    mail.deliver(&reply);
    // Taken (its acknowledgement is sent again, with the same Message-ID), adds nothing.
    let again = smtp.wait_for(3).await;
    assert_eq!(show(&again[2]).message_id, acks[1].message_id);
    mail.gw.api().wait_drained().await;
    assert_eq!(try_stream_len(&redis.url(), "appeals.v1").await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_tracking_number_is_a_new_appeal() {
    let redis = RedisServer::new();
    let mail = MailGateway::start(&redis.url(), None).await;
    let ack = Shown {
        subject: "[OA-7K3M-9QX2] Ваше обращение принято".into(),
        from: String::new(),
        from_name: String::new(),
        from_raw: String::new(),
        to: String::new(),
        message_id: "ack.x@almatydc.kz".into(),
        in_reply_to: String::new(),
        references: vec![],
        auto_submitted: String::new(),
        body: String::new(),
    };
    mail.deliver(&reply_to(
        &ack,
        "someone@example.kz",
        "Новая проблема: нет воды.",
    ));
    let entries = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    assert_eq!(entries[0].kind, "appeal");
}
