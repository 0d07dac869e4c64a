//! One configuration, one outbox: the MTA's pipe (`ingest-email`) runs with the same
//! `GATEWAY_DATA_DIR` as `serve`, makes the mail durable in the spool `serve` owns and
//! exits 0 — with Redis away, with `serve` stopped — and `serve` takes it into the
//! outbox without waiting for another delivery.

use crate::support::mail::*;
use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn mail_piped_while_redis_is_down_reaches_the_stream_when_redis_is_back() {
    let mut redis = RedisServer::not_started();
    let smtp = SmtpSink::start();
    let mail = MailGateway::start(&redis.url(), Some(&smtp)).await;

    // Redis is down at delivery: the pipe still exits 0 (it needs neither Redis nor the
    // outbox lock that serve holds).
    mail.deliver(&fixture("cp1251_plain.eml"));
    // serve takes it from the spool into its outbox at once, and acknowledges it: the
    // record is durable, Redis or not.
    let ack = show(&smtp.wait_for(1).await[0]);
    assert_eq!(ack.to, "ivanov.cp1251@example.kz");
    assert!(ack.subject.starts_with("[OA-"), "{ack:?}");
    wait_until("the spool emptied into the outbox", WAIT, || async {
        match mail.spooled() {
            0 => Ok(()),
            n => Err(format!("{n} spooled")),
        }
    })
    .await;
    let (status, ready) = mail.gw.api().readyz().await;
    assert_eq!(status, 503, "{ready}");
    assert!(ready["outbox_depth"].as_u64().unwrap() >= 1, "{ready}");

    // Redis comes back: the appeal reaches the stream without another delivery.
    redis.start();
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    assert_eq!(appeals.len(), 1);
    assert_eq!(
        appeals[0].data["applicant"]["email"],
        "ivanov.cp1251@example.kz"
    );
    assert!(
        ack.subject
            .contains(appeals[0].data["tracking_number"].as_str().unwrap())
    );
    mail.gw.api().wait_drained().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn mail_spooled_while_serve_is_stopped_is_taken_when_it_starts_and_a_repeat_adds_nothing() {
    let redis = RedisServer::new();
    let smtp = SmtpSink::start();
    let mut mail = MailGateway::start(&redis.url(), Some(&smtp)).await;
    mail.gw.stop();

    // serve is down: the pipe exits 0 once the mail is in the spool, and it waits there.
    mail.deliver(&fixture("cp1251_plain.eml"));
    mail.deliver(&fixture("utf8_base64_kk.eml"));
    // The MTA delivers the first one again (say, its exit code was lost).
    mail.deliver(&fixture("cp1251_plain.eml"));
    assert_eq!(mail.spooled(), 3);
    assert_eq!(try_stream_len(&redis.url(), "appeals.v1").await.unwrap(), 0);
    assert!(smtp.messages().is_empty());

    mail.gw.restart().await;
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 2).await;
    wait_until("the spool emptied", WAIT, || async {
        match mail.spooled() {
            0 => Ok(()),
            n => Err(format!("{n} spooled")),
        }
    })
    .await;
    // Each delivery is answered (the repeat with the first answer's Message-ID).
    let acks: Vec<Shown> = smtp.wait_for(3).await.iter().map(|m| show(m)).collect();
    mail.gw.api().wait_drained().await;
    assert_eq!(
        try_stream_len(&redis.url(), "appeals.v1").await.unwrap(),
        2,
        "the repeated delivery adds nothing: {appeals:#?}"
    );
    let to_ivanov: Vec<&Shown> = acks
        .iter()
        .filter(|a| a.to == "ivanov.cp1251@example.kz")
        .collect();
    assert_eq!(to_ivanov.len(), 2, "{acks:#?}");
    assert_eq!(to_ivanov[0].message_id, to_ivanov[1].message_id);
    assert!(acks.iter().any(|a| a.to == "aigul.kk@example.kz"));
}
