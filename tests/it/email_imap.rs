//! The gateway reads the city's mailbox over IMAP (a real Dovecot): each mail becomes a
//! durable record and only then leaves the INBOX for the processed folder; a mail seen
//! again (a crash between "durable" and "moved") is not a second appeal.

use crate::support::mail::*;
use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn mail_is_moved_to_processed_once_its_appeal_is_durable_and_never_doubled() {
    let redis = RedisServer::new();
    let smtp = SmtpSink::start();
    let imap = Dovecot::start();
    imap.deliver("1.eml", &fixture("cp1251_plain.eml"));
    imap.deliver("2.eml", &fixture("marker_optout_kk.eml"));
    let gw = Gateway::start_with(
        GatewayOptions::new(&redis.url())
            .env("GATEWAY_IMAP_URL", &imap.url())
            .env("GATEWAY_SMTP_URL", &smtp.url())
            .env("GATEWAY_MAIL_FROM", MAIL_FROM),
    )
    .await;

    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    assert_eq!(appeals[0].data["consent"]["method"], "by_submission");
    wait_for_stream_len(&redis.url(), "subject.v1", 1).await;
    wait_until("both mails in Processed", WAIT, || async {
        match (imap.count(""), imap.count("Processed")) {
            (0, 2) => Ok(()),
            other => Err(format!("(inbox, processed) = {other:?}")),
        }
    })
    .await;

    // The same mail again, as after a crash before the move: moved, not a new appeal.
    imap.deliver("1-again.eml", &fixture("cp1251_plain.eml"));
    wait_until("the repeat in Processed", WAIT, || async {
        match (imap.count(""), imap.count("Processed")) {
            (0, 3) => Ok(()),
            other => Err(format!("(inbox, processed) = {other:?}")),
        }
    })
    .await;
    gw.api().wait_drained().await;
    assert_eq!(try_stream_len(&redis.url(), "appeals.v1").await.unwrap(), 1);
    assert!(smtp.messages().len() >= 2, "acknowledged");
    assert_none_in(
        &gw.logs(),
        &["ivanov.cp1251", "Иванов", "intake-secret"],
        "the gateway's log",
    );
    // The operator sees the mail counted by what became of it.
    let metrics = gw.api().metrics().await;
    for line in [
        "gateway_email_messages_total{disposition=\"subject_request\"} 1",
        "gateway_email_messages_total{disposition=\"quarantined\"} 0",
    ] {
        assert!(metrics.contains(line), "{line}:\n{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn imap_over_starttls_with_the_citys_own_ca() {
    let redis = RedisServer::new();
    let imap = Dovecot::start_starttls();
    imap.deliver("1.eml", &fixture("koi8r_qp.eml"));
    // Without the CA, the server's certificate is not trusted: nothing is read, and
    // verification is not turned off.
    let untrusting =
        Gateway::start_with(GatewayOptions::new(&redis.url()).env("GATEWAY_IMAP_URL", &imap.url()))
            .await;
    wait_until("the untrusted certificate refused", WAIT, || async {
        let logs = untrusting.logs();
        if logs.contains("tls") && logs.contains("imap: will retry") {
            Ok(())
        } else {
            Err(logs)
        }
    })
    .await;
    assert_eq!(
        imap.count(""),
        1,
        "nothing read over an untrusted connection"
    );
    drop(untrusting);

    let gw = Gateway::start_with(
        GatewayOptions::new(&redis.url())
            .env("GATEWAY_IMAP_URL", &imap.url())
            .env("GATEWAY_IMAP_CA_FILE", imap.ca_file().to_str().unwrap()),
    )
    .await;
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    assert!(
        appeals[0].data["text"]
            .as_str()
            .unwrap()
            .contains("вода течёт вторые сутки")
    );
    wait_until("the mail in Processed", WAIT, || async {
        match (imap.count(""), imap.count("Processed")) {
            (0, 1) => Ok(()),
            other => Err(format!("(inbox, processed) = {other:?}")),
        }
    })
    .await;
    // Dovecot requires TLS before a login from this address; its log says it was so.
    let log = imap.log();
    assert!(
        log.lines()
            .any(|l| l.contains("Login: user=<intake>") && l.contains("TLS")),
        "{log}"
    );
    assert_none_in(&gw.logs(), &[IMAP_PASSWORD], "the gateway's log");
}
