//! Nobody is trusted on their word alone (issue 34): what an outside security test did
//! to the gateway, done again. A forged `From` cannot withdraw a citizen's consent or
//! pass for them on an appeal; one citizen's erasure does not take another's photo; an
//! integrator's token does not act on a person's data, announce calls or claim an
//! agent's consent without the right to.

use crate::support::mail::*;
use crate::support::*;
use serde_json::{Value, json};

/// A mail from `from` with `subject` and `body`, `extra` headers on top (where an MTA
/// puts its `Authentication-Results`).
fn mail(extra: &str, from: &str, id: &str, subject: &str, body: &str) -> Vec<u8> {
    format!(
        "{extra}From: {from}\r\nTo: open-almaty@almatydc.kz\r\nSubject: {subject}\r\n\
         Message-ID: <{id}>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    )
    .into_bytes()
}

/// The verdict of the test deployment's MTA: DMARC pass for `domain`.
fn vouched(domain: &str) -> String {
    format!(
        "Authentication-Results: {MTA_AUTHSERV};\r\n dkim=pass header.d={domain};\r\n dmarc=pass header.from={domain}\r\n"
    )
}

async fn entries_of(redis: &RedisServer, stream: &str, kind: &str) -> Vec<Entry> {
    read_stream(&redis.url(), stream)
        .await
        .into_iter()
        .filter(|e| e.kind == kind)
        .collect()
}

/// Point 1, the review's attack: «Отзыв согласия» from a forged `From` erased the
/// victim's photos and silenced the city's answers. Now it is only a question mailed to
/// the victim; nothing is recorded until the owner of the address answers it, once.
#[tokio::test(flavor = "multi_thread")]
async fn a_forged_withdrawal_acts_only_once_the_address_owner_confirms_it() {
    let redis = RedisServer::new();
    let smtp = SmtpSink::start();
    let mail_gw = MailGateway::start(&redis.url(), Some(&smtp)).await;

    // No verdict at all, and a verdict from a server the deployment does not trust.
    mail_gw.deliver(&mail(
        "",
        "petrov@mail.kz",
        "forged-1@attacker.example",
        "Отзыв согласия на обработку персональных данных",
        "Удалите всё. Оплатите сбор http://pay-almaty.example/kaspi",
    ));
    mail_gw.deliver(&mail(
        "Authentication-Results: attacker.example; dmarc=pass header.from=mail.kz\r\n",
        "petrov@mail.kz",
        "forged-2@attacker.example",
        "Отзыв согласия",
        "ещё раз",
    ));
    let asked = smtp.wait_for(2).await;
    let asked: Vec<Shown> = asked.iter().map(|m| show(m)).collect();
    for question in &asked {
        assert_eq!(question.to, "petrov@mail.kz", "{question:?}");
        assert!(question.subject.contains("Подтвердите"), "{question:?}");
        assert!(
            question
                .body
                .contains("«Отзыв согласия на обработку персональных данных»"),
            "{question:?}"
        );
        assert!(question.message_id.starts_with("confirm."), "{question:?}");
        assert_none_in(
            &format!("{} {}", question.subject, question.body),
            &["pay-almaty", "Удалите", "ещё раз"],
            "the confirmation question",
        );
    }
    // Nothing done: no request, no withdrawal, no mark for the notifier.
    assert!(
        entries_of(&redis, "subject.v1", "subject_request")
            .await
            .is_empty()
    );
    assert!(
        entries_of(&redis, "consent.v1", "consent_withdrawn")
            .await
            .is_empty()
    );

    // The owner answers the first question: the withdrawal is carried out, proven.
    let question = &asked[0];
    let confirm = format!(
        "From: petrov@mail.kz\r\nTo: open-almaty@almatydc.kz\r\nSubject: Re: {}\r\n\
         Message-ID: <yes-1@mail.kz>\r\nIn-Reply-To: <{}>\r\nReferences: <{}>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nДа, это я.\r\n",
        question.subject, question.message_id, question.message_id
    );
    mail_gw.deliver(confirm.as_bytes());
    let requests = wait_for_entries_of(&redis.url(), "subject.v1", "subject_request", 1).await;
    assert_eq!(requests[0].data["kind"], "withdraw_consent");
    assert_eq!(requests[0].data["verified_by"], "email_confirmed");
    assert_eq!(
        requests[0].data["subject_keys"]["email"],
        subject_key("email", "petrov@mail.kz")
    );
    wait_for_entries_of(&redis.url(), "consent.v1", "consent_withdrawn", 1).await;

    // Single use: the same question answered again, or from another address, does
    // nothing more (the sender is told so).
    let again = confirm.replace("yes-1@mail.kz", "yes-2@mail.kz");
    mail_gw.deliver(again.as_bytes());
    let other = confirm
        .replace("From: petrov@mail.kz", "From: someone@else.kz")
        .replace("yes-1@mail.kz", "yes-3@else.kz")
        .replace(&asked[0].message_id, &asked[1].message_id);
    mail_gw.deliver(other.as_bytes());
    let answers = smtp.wait_for(5).await;
    let answers: Vec<Shown> = answers[2..].iter().map(|m| show(m)).collect();
    assert_eq!(
        answers
            .iter()
            .filter(|a| a.subject.contains("не принято"))
            .count(),
        2,
        "{answers:#?}"
    );
    assert_eq!(
        entries_of(&redis, "subject.v1", "subject_request")
            .await
            .len(),
        1
    );

    // A mail the city's MTA vouches for acts at once, and says how it was proven.
    mail_gw.deliver(&mail(
        &vouched("mail.kz"),
        "ivanova@mail.kz",
        "optout-1@mail.kz",
        "Хабарламадан бас тарту",
        "",
    ));
    let requests = wait_for_entries_of(&redis.url(), "subject.v1", "subject_request", 2).await;
    let optout = requests
        .iter()
        .find(|e| e.data["kind"] == "opt_out_notifications")
        .expect("the opt-out");
    assert_eq!(optout.data["verified_by"], "email_authenticated");
}

/// Point 1 and the rest of point 7: a forged addition is kept but marked unproven; an
/// acknowledgement quotes nothing the sender wrote but the tracking number (the review's
/// phishing attachment name was quoted to the forged victim, from the city's address).
#[tokio::test(flavor = "multi_thread")]
async fn an_addition_says_whether_its_sender_is_proven_and_no_answer_quotes_the_sender() {
    let redis = RedisServer::new();
    let smtp = SmtpSink::start();
    let mail_gw = MailGateway::start(&redis.url(), Some(&smtp)).await;
    let phishing = "ВНИМАНИЕ! Оплатите сбор http://pay-almaty.example/kaspi.pdf";
    let encoded: String = phishing.bytes().map(|b| format!("%{b:02X}")).collect();
    let appeal = format!(
        "{}From: Пётр Петров <petrov@mail.kz>\r\nTo: open-almaty@almatydc.kz\r\n\
         Subject: Не горит фонарь\r\nMessage-ID: <appeal-1@mail.kz>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nФонарь у дома 5 не горит.\r\n--B\r\n\
         Content-Type: application/pdf\r\nContent-Disposition: attachment; filename*=utf-8''{encoded}\r\n\r\n\
         %PDF-1.4 not much\r\n--B--\r\n",
        vouched("mail.kz")
    );
    mail_gw.deliver(appeal.as_bytes());
    let entries = wait_for_entries_of(&redis.url(), "appeals.v1", "appeal", 1).await;
    let tracking = entries[0].data["tracking_number"]
        .as_str()
        .expect("tracking")
        .to_owned();
    let ack = show(&smtp.wait_for(1).await[0]);
    assert!(ack.body.contains(&tracking), "{ack:?}");
    assert!(
        ack.body.contains("document"),
        "the file is listed by kind: {ack:?}"
    );
    assert_none_in(
        &format!("{} {}", ack.subject, ack.body),
        &["pay-almaty", "ВНИМАНИЕ", "Оплатите", "Не горит фонарь"],
        "the acknowledgement",
    );

    // The attacker read the number off the public Open311 list and forged the From.
    mail_gw.deliver(&mail(
        "",
        "petrov@mail.kz",
        "forged-addition@attacker.example",
        &format!("Re: [{tracking}] дополнение"),
        "Заявитель просит закрыть обращение.",
    ));
    // The owner's own addition, vouched for by the city's MTA.
    mail_gw.deliver(&mail(
        &vouched("mail.kz"),
        "petrov@mail.kz",
        "real-addition@mail.kz",
        &format!("Re: [{tracking}] дополнение"),
        "Фонарь так и не горит.",
    ));
    let additions = wait_for_entries_of(&redis.url(), "appeals.v1", "appeal_addition", 2).await;
    let by_text = |needle: &str| -> Value {
        additions
            .iter()
            .find(|e| e.data["text"].as_str().is_some_and(|t| t.contains(needle)))
            .map(|e| e.data.clone())
            .unwrap_or_else(|| panic!("no addition with {needle}: {additions:#?}"))
    };
    assert_eq!(by_text("закрыть")["sender_verified"], false);
    assert_eq!(by_text("так и не горит")["sender_verified"], true);
}

/// The MIME text of a mail from `from` with the photo of `photo_rfc2231.eml` (the same
/// picture, so the same stored file).
fn photo_mail(from: &str, id: &str) -> Vec<u8> {
    let fixture = String::from_utf8(fixture("photo_rfc2231.eml")).expect("utf-8 fixture");
    fixture
        .replace("Photo Sender <photo.sender@example.kz>", from)
        .replace("photo-0005@example.kz", id)
        .into_bytes()
}

/// The DPO's erasure for the holder of `email`, and this instance's report of it.
async fn erase(gw: &Gateway, redis: &RedisServer, email: &str) -> Entry {
    let reply = gw
        .api()
        .post_subject_request(&json!({
            "kind": "erasure", "channel": "api", "subject": {"email": email},
            "verified_by": "front_office_document"
        }))
        .await;
    reply.expect_status(202);
    let request_id = reply.json()["id"].as_str().unwrap_or_default().to_owned();
    wait_until("the instance's erasure report", WAIT, || async {
        read_stream(&redis.url(), "subject.v1")
            .await
            .into_iter()
            .find(|e| e.data["request_id"] == request_id.as_str() && e.data["instance"].is_string())
            .ok_or_else(|| "not yet".to_owned())
    })
    .await
}

/// Point 2: photos are stored once by content. Two citizens mail the same photo; the
/// first withdraws consent; the second's appeal keeps its photo (it answered 410 before).
#[tokio::test(flavor = "multi_thread")]
async fn one_citizens_erasure_keeps_the_photo_another_citizen_sent_too() {
    let redis = RedisServer::new();
    let smtp = SmtpSink::start();
    let mail_gw = MailGateway::start(&redis.url(), Some(&smtp)).await;
    mail_gw.deliver(&photo_mail("first@example.kz", "photo-a@example.kz"));
    mail_gw.deliver(&photo_mail("second@example.kz", "photo-b@example.kz"));
    let appeals = wait_for_entries_of(&redis.url(), "appeals.v1", "appeal", 2).await;
    let shas: Vec<&str> = appeals
        .iter()
        .map(|e| {
            e.data["attachments"][0]["sha256"]
                .as_str()
                .expect("a photo")
        })
        .collect();
    assert_eq!(shas[0], shas[1], "the same photo, stored once");
    let url = mail_gw.gw.url(&format!("/api/v1/attachments/{}", shas[0]));
    let fetch = || async {
        reqwest::Client::new()
            .get(&url)
            .bearer_auth(CRM_TOKEN)
            .send()
            .await
            .expect("GET")
            .status()
            .as_u16()
    };
    assert_eq!(fetch().await, 200);

    let report = erase(&mail_gw.gw, &redis, "first@example.kz").await;
    assert!(
        report.data["stores"].as_array().is_some_and(
            |s| s.contains(&json!({"store": "attachments", "items": 0, "erased": true}))
        ),
        "{}",
        report.data
    );
    assert_eq!(
        fetch().await,
        200,
        "the second citizen's appeal keeps its photo"
    );

    // Once the second citizen withdraws too, no one holds it: it goes.
    erase(&mail_gw.gw, &redis, "second@example.kz").await;
    assert_eq!(fetch().await, 410);
}

/// Point 5 and the rest of point 7: a token without the right to is refused before
/// anything is stored — subject requests (`subject_requests`), call announcements
/// (`calls`) — a subject request names how the person was identified, and no
/// integrator records an agent's kind of consent.
#[tokio::test(flavor = "multi_thread")]
async fn tokens_act_on_a_persons_data_or_announce_calls_only_with_the_right_to() {
    let redis = RedisServer::new();
    let gw = Gateway::start_with(GatewayOptions::new(&redis.url()).env(
        "GATEWAY_API_TOKENS",
        &format!(
            "crm:{CRM_TOKEN}:scopes=subject_requests+calls,portal:{PORTAL_TOKEN}:channels=budget_portal+api"
        ),
    ))
    .await;
    let api = gw.api();
    let post = |path: &'static str, token: &'static str, body: Value| {
        let api = gw.api();
        async move {
            api.try_post(
                path,
                Some(token),
                Some("application/json"),
                serde_json::to_vec(&body).expect("json"),
                &[("Accept-Language", "en")],
            )
            .await
            .expect("post")
        }
    };
    // The review's attack: a budget-portal token erasing the data held for a phone.
    let erasure = json!({"kind": "erasure", "channel": "api",
                         "subject": {"phone": "+7 701 123 45 67"}, "verified_by": "egov"});
    let refused = post("/api/v1/subject-requests", PORTAL_TOKEN, erasure.clone()).await;
    let problem = refused.expect_problem(403, Some("Authorization"), "scope_required");
    assert!(
        problem.to_string().contains("subject_requests"),
        "{problem}"
    );
    // With the right, the request must say how the person was identified, and only by
    // a check an integrator can make.
    let mut unproven = erasure.clone();
    unproven
        .as_object_mut()
        .expect("object")
        .remove("verified_by");
    post("/api/v1/subject-requests", CRM_TOKEN, unproven)
        .await
        .expect_problem(422, Some("verified_by"), "required");
    let mut claimed = erasure.clone();
    claimed["verified_by"] = json!("email_confirmed");
    post("/api/v1/subject-requests", CRM_TOKEN, claimed)
        .await
        .expect_problem(422, Some("verified_by"), "verified_by_not_accepted");
    post("/api/v1/subject-requests", CRM_TOKEN, erasure)
        .await
        .expect_status(202);

    // Any token announced a caller to an agent; now only telephony's.
    let call = json!({"caller": "+7 701 555 66 77"});
    post("/api/v1/calls/incoming", PORTAL_TOKEN, call.clone())
        .await
        .expect_problem(403, Some("Authorization"), "scope_required");
    post("/api/v1/calls/incoming", CRM_TOKEN, call)
        .await
        .expect_status(202);

    // Consent read aloud or signed is an agent's record, not an integrator's claim.
    for method in ["verbal", "written"] {
        let mut appeal = valid_appeal();
        appeal["consent"]["method"] = json!(method);
        post("/api/v1/appeals", CRM_TOKEN, appeal)
            .await
            .expect_problem(403, Some("consent.method"), "consent_method_agent_only");
    }
    let requests = wait_for_entries_of(&redis.url(), "subject.v1", "subject_request", 1).await;
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].data["verified_by"], "egov");
    api.wait_drained().await;
    assert_eq!(
        try_stream_len(&redis.url(), "appeals.v1")
            .await
            .unwrap_or(0),
        0
    );
}

/// Point 3: one limit for every way to test a tracking number, and an IPv6 client is
/// its /64. The review guessed 8,232 numbers a second through Open311's list, got 200
/// against 404 from `/{lang}/received/` unlimited, and rotated addresses in one /64.
#[tokio::test(flavor = "multi_thread")]
async fn every_lookup_of_a_tracking_number_counts_against_one_limit_per_ipv6_network() {
    let redis = RedisServer::new();
    let gw = Gateway::start_with(
        GatewayOptions::new(&redis.url())
            .env("GATEWAY_STATUS_RATE_PER_MINUTE", "5")
            // The tests' HAProxy would name the client; here the test names it itself.
            .env("GATEWAY_TRUSTED_PROXIES", "127.0.0.1"),
    )
    .await;
    let client = reqwest::Client::new();
    let number = "OA-7K3M-9QX2";
    // Each lookup from another address of one /64, through every door.
    let doors = [
        format!("/status/{number}"),
        format!("/ru/received/{number}"),
        format!("/open311/v2/requests/{number}.json"),
        format!("/open311/v2/requests.json?service_request_id={number},OA-AAAA-BBBB"),
    ];
    let mut statuses = Vec::new();
    for (i, door) in doors.iter().enumerate() {
        let response = client
            .get(gw.url(door))
            .header("X-Forwarded-For", format!("2001:db8:7:7::{:x}", i + 1))
            .send()
            .await
            .expect("GET");
        statuses.push(response.status().as_u16());
    }
    // 1 + 1 + 1 + 2 = 5 lookups: the limit, and none was refused …
    assert!(statuses.iter().all(|s| *s != 429), "{statuses:?}");
    // … so the next one from the same /64, through any door, is.
    for door in &doors[..3] {
        let refused = client
            .get(gw.url(door))
            .header("X-Forwarded-For", "2001:db8:7:7:ffff::9")
            .send()
            .await
            .expect("GET");
        assert_eq!(refused.status(), 429, "{door}");
        assert_eq!(
            refused
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok()),
            Some("60"),
            "{door}"
        );
    }
    // Another network is another client.
    let other = client
        .get(gw.url(&doors[0]))
        .header("X-Forwarded-For", "2001:db8:7:8::1")
        .send()
        .await
        .expect("GET");
    assert_eq!(other.status(), 404);
    // A list of ids is capped: 51 ids are refused whole, before any is looked up.
    let many: Vec<String> = (0..51).map(|i| format!("OA-AAAA-{i:04}")).collect();
    let capped = client
        .get(gw.url(&format!(
            "/open311/v2/requests.json?service_request_id={}",
            many.join(",")
        )))
        .header("X-Forwarded-For", "2001:db8:7:9::1")
        .header("Accept-Language", "en")
        .send()
        .await
        .expect("GET");
    assert_eq!(capped.status(), 400);
    assert!(
        capped
            .text()
            .await
            .unwrap_or_default()
            .contains("At most 50")
    );
}

/// A raw upload of the citizen form that declares `length` bytes and then trickles,
/// from `client` (named by the trusted proxy's `X-Forwarded-For`); returns the status
/// line the gateway answered with, if it answered while the upload was held.
fn slow_upload(
    port: u16,
    client: &str,
    session: &crate::support::form_session::FormSession,
    length: usize,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Option<String>> {
    use std::io::{Read, Write};
    let client = client.to_owned();
    // A genuine form (its session and token first, as the page sends them), so the
    // gateway reads on into the photo.
    let (cookie, csrf) = (session.cookie.clone(), session.csrf.clone());
    std::thread::spawn(move || {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        let head = format!(
            "POST /ru/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: {client}\r\nCookie: {cookie}\r\n\
             Content-Type: multipart/form-data; boundary=slowslowslow\r\nContent-Length: {length}\r\n\r\n\
             --slowslowslow\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
             --slowslowslow\r\nContent-Disposition: form-data; name=\"photos\"; filename=\"a.jpg\"\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).ok()?;
        stream
            .set_read_timeout(Some(std::time::Duration::from_millis(200)))
            .ok()?;
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    break;
                }
                // No answer yet: a few more bytes, as a slow phone would send them.
                Err(_) => {
                    if stream.write_all(&[0x55; 512]).is_err() {
                        break;
                    }
                }
            }
        }
        let text = String::from_utf8_lossy(&answer).into_owned();
        text.lines().next().map(str::to_owned)
    })
}

/// Point 4: eight slow uploads from one address held the whole budget of bytes in
/// flight, and a citizen's photo got 503. Now one client has two uploads in flight at
/// most; the other six are turned away at once and the ninth client's photo is taken.
#[tokio::test(flavor = "multi_thread")]
async fn eight_slow_uploads_from_one_client_leave_room_for_a_ninth_clients_photo() {
    const SHARE: usize = 3 * 1024 * 1024;
    let redis = RedisServer::new();
    let gw = Gateway::start_with(
        GatewayOptions::new(&redis.url())
            .env("GATEWAY_TRUSTED_PROXIES", "127.0.0.1")
            // Exactly eight shares: before, the eight slow uploads took all of it.
            .env("GATEWAY_UPLOAD_BYTES_IN_FLIGHT", &(8 * SHARE).to_string())
            // Slow, but not slow enough to be cut off while this test runs.
            .env("GATEWAY_UPLOAD_MIN_BYTES_PER_SEC", "100")
            .env("GATEWAY_COOKIE_SECURE", "false"),
    )
    .await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let attacker = crate::support::form_session::FormSession::open(&gw, "/ru/").await;
    let slow: Vec<_> = (0..8)
        .map(|_| {
            slow_upload(
                gw.port(),
                "10.9.9.9",
                &attacker,
                SHARE,
                std::sync::Arc::clone(&stop),
            )
        })
        .collect();
    let api = gw.api();
    // Every slow upload is either holding its share or has been turned away.
    wait_until("the eight slow uploads to be seen", WAIT, || async {
        let metrics = api.metrics().await;
        let held = metrics
            .lines()
            .find_map(|l| l.strip_prefix("gateway_upload_bytes_in_flight "))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        let refused = slow.iter().filter(|h| h.is_finished()).count();
        if held / SHARE + refused == 8 {
            Ok(held)
        } else {
            Err(format!("{held} bytes held, {refused} refused"))
        }
    })
    .await;

    let session = crate::support::form_session::FormSession::open(&gw, "/ru/").await;
    let photo = crate::support::photos::plain_jpeg(120, 80);
    let page = session
        .post_multipart(
            "/ru/",
            &[
                ("last_name", "Садыкова"),
                ("first_name", "Айгерим"),
                ("phone", "+7 701 222 33 44"),
                ("category", "roads"),
                ("address", "пр. Абая, 10"),
                ("text", "Яма у остановки, фото прилагаю."),
                ("consent", "on"),
            ],
            &[&photo],
        )
        .await;
    assert_eq!(page.status, 303, "the ninth client's form: {}", page.html);
    let appeals = wait_for_entries_of(&redis.url(), "appeals.v1", "appeal", 1).await;
    assert_eq!(appeals[0].data["attachments"][0]["kind"], "photo");

    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let answers: Vec<Option<String>> = slow
        .into_iter()
        .map(|h| h.join().expect("slow upload thread"))
        .collect();
    let turned_away = answers
        .iter()
        .filter(|a| a.as_deref().is_some_and(|l| l.contains(" 503 ")))
        .count();
    assert_eq!(
        turned_away, 6,
        "two uploads of one client in flight: {answers:?}"
    );
}

/// The rest of point 7: `/metrics` is not on the service's port; every answer says
/// `nosniff`; Open311 takes posts only from the integrators named; an email domain that
/// mixes scripts is refused; the form's session cookie is `__Host-` under HTTPS.
#[tokio::test(flavor = "multi_thread")]
async fn metrics_stay_private_answers_say_nosniff_and_names_are_what_they_seem() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let api = gw.api();
    api.get("/metrics").await.expect_status(404);
    let metrics = api.metrics_reply().await;
    metrics.expect_status(200);
    assert!(metrics.text.contains("gateway_upload_bytes_in_flight"));
    assert_eq!(
        metrics.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    for path in [
        "/readyz",
        "/open311/v2/services.xml",
        "/open311/v2/services.json",
        "/no/such/page",
        "/ru/",
    ] {
        let reply = api.get(path).await;
        assert_eq!(
            reply.header("x-content-type-options").as_deref(),
            Some("nosniff"),
            "{path}"
        );
    }
    let refused = api
        .try_post(
            "/api/v1/appeals",
            Some(CRM_TOKEN),
            Some(JSON),
            serde_json::to_vec(&{
                let mut a = valid_appeal();
                a["applicant"]["email"] = json!("petrov@маil.kz");
                a
            })
            .expect("json"),
            &[],
        )
        .await
        .expect("post");
    refused.expect_problem(422, Some("applicant.email"), "invalid_email");

    // Open311: no `GATEWAY_OPEN311_INTEGRATORS`, no one posts, whatever the token.
    let posted = reqwest::Client::new()
        .post(gw.url("/open311/v2/requests.json"))
        .form(&[
            ("api_key", CRM_TOKEN),
            ("service_code", "roads"),
            ("lat", "43.238949"),
            ("long", "76.945465"),
            ("description", "Яма на Абая"),
            ("attribute[consent]", "agree"),
        ])
        .send()
        .await
        .expect("POST");
    assert_eq!(posted.status(), 403);

    // HTTPS (GATEWAY_COOKIE_SECURE, on by default): the session is bound to this host.
    let page = reqwest::Client::new()
        .get(gw.url("/ru/"))
        .send()
        .await
        .expect("GET");
    let set = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.contains("oa_sid="))
        .expect("a session cookie")
        .to_owned();
    assert!(set.starts_with("__Host-oa_sid="), "{set}");
    assert!(
        set.contains("Path=/") && set.contains("Secure") && !set.contains("Domain"),
        "{set}"
    );
    // The same signed value planted under the plain name is no session: a new one comes.
    let value = set
        .split(';')
        .next()
        .unwrap_or_default()
        .trim_start_matches("__Host-");
    let planted = reqwest::Client::new()
        .get(gw.url("/ru/"))
        .header("Cookie", value)
        .send()
        .await
        .expect("GET");
    assert!(
        planted
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .any(|c| c.starts_with("__Host-oa_sid=")),
        "a planted oa_sid is ignored"
    );
}
