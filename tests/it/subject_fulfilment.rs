//! The gateway carries out a data subject's requests on what it holds itself (issue 16,
//! points 2 and 3): an erasure clears the subject's bot conversation and reports what
//! went on `subject.v1` (`erasure_done`, counts only); an access request gets an
//! `access_report` listing that subject's appeals and consent entries, and nobody
//! else's.

use crate::support::fake_telegram::{self as tg, FakeBotApi};
use crate::support::form_session::FormSession;
use crate::support::*;
use serde_json::{Value, json};

/// Waits for the report of type `kind` answering `request_id` on `subject.v1`: the one
/// about Redis (no `instance`).
async fn report(redis: &RedisServer, kind: &str, request_id: &str) -> Entry {
    report_of(redis, kind, request_id, false).await
}

/// Waits for the report of type `kind` answering `request_id`: with `instance`, the one
/// of an instance's data directory.
async fn report_of(redis: &RedisServer, kind: &str, request_id: &str, instance: bool) -> Entry {
    wait_until(&format!("{kind} for {request_id}"), WAIT, || async {
        read_stream(&redis.url(), "subject.v1")
            .await
            .into_iter()
            .find(|e| {
                e.kind == kind
                    && e.data["request_id"] == request_id
                    && e.data["instance"].is_string() == instance
            })
            .ok_or_else(|| "not yet".to_owned())
    })
    .await
}

async fn post_appeal_from(gw: &Gateway, phone: &str, tag: &str) -> String {
    let mut appeal = tagged_appeal(tag);
    appeal["applicant"]["phones"] = json!([phone]);
    let reply = gw.api().post_appeal(CRM_TOKEN, &appeal, None).await;
    reply.expect_status(202);
    reply.json()["tracking_number"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_access_request_lists_that_subjects_appeals_and_consents_only() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let mine = [
        post_appeal_from(&gw, "+7 701 111 11 11", "a1").await,
        post_appeal_from(&gw, "+7 701 111 11 11", "a2").await,
    ];
    let theirs = post_appeal_from(&gw, "+7 701 222 22 22", "b1").await;
    wait_for_stream_len(&redis.url(), "appeals.v1", 3).await;

    let reply = gw
        .api()
        .post_subject_request(&json!({
            "kind": "access", "channel": "api", "subject": {"phone": "+7 701 111 11 11"}
        }))
        .await;
    reply.expect_status(202);
    let request_id = reply.json()["id"].as_str().unwrap_or_default().to_owned();
    let entry = report(&redis, "access_report", &request_id).await;
    let r = &entry.data;
    assert_eq!(r["request_kind"], "access", "{r}");
    let mut listed: Vec<&str> = r["appeals"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["tracking_number"].as_str())
        .collect();
    listed.sort_unstable();
    let mut expected = mine.iter().map(String::as_str).collect::<Vec<_>>();
    expected.sort_unstable();
    assert_eq!(listed, expected, "{r}");
    let consents = r["consents"].as_array().cloned().unwrap_or_default();
    assert_eq!(consents.len(), 2, "{r}");
    for c in &consents {
        assert_eq!(c["type"], "consent_given");
        assert_eq!(c["policy_version"], POLICY_VERSION);
        assert!(c["at"].is_string());
    }
    assert!(
        r["stores"].as_array().is_some_and(
            |s| s.contains(&json!({"store": "appeals.v1", "items": 2, "erased": false}))
        ),
        "{r}"
    );
    assert_none_in(
        &entry.raw,
        &[theirs.as_str(), "7012222222", "+77011111111", "Иванов"],
        "the access report",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_erasure_clears_the_bot_conversation_and_reports_counts_only() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    // A Telegram draft the citizen abandoned, and what the bot remembers of them.
    let user = subject_key("messenger_id", "telegram:555001");
    let draft = "Черновик: сосед Аскаров Серик шумит";
    let mut conn = redis_conn(&redis.url()).await.expect("redis");
    for (key, value) in [
        (
            format!("{PREFIX}gateway:conversation:{user}"),
            json!({"draft": draft}).to_string(),
        ),
        (
            format!("{PREFIX}gateway:conversation-memory:{user}"),
            json!({"language": "ru"}).to_string(),
        ),
    ] {
        redis::cmd("SET")
            .arg(key)
            .arg(value)
            .arg("EX")
            .arg(3600)
            .query_async::<()>(&mut conn)
            .await
            .expect("SET");
    }
    // An answer of the case system held for them (WhatsApp, outside the window).
    let held = "Ответ: проверка по жалобе на Аскарова назначена";
    redis::cmd("RPUSH")
        .arg(format!("{PREFIX}gateway:held-answers:{user}"))
        .arg(json!({"text": held}).to_string())
        .query_async::<()>(&mut conn)
        .await
        .expect("RPUSH");
    // Someone else's conversation stays.
    let other = subject_key("messenger_id", "telegram:555002");
    redis::cmd("SET")
        .arg(format!("{PREFIX}gateway:conversation:{other}"))
        .arg("{}")
        .query_async::<()>(&mut conn)
        .await
        .expect("SET");

    let reply = gw
        .api()
        .post_subject_request(&json!({
            "kind": "erasure", "channel": "api", "subject": {"messenger_id": "telegram:555001"}
        }))
        .await;
    reply.expect_status(202);
    let request_id = reply.json()["id"].as_str().unwrap_or_default().to_owned();
    let entry = report(&redis, "erasure_done", &request_id).await;
    let r: &Value = &entry.data;
    let stores = r["stores"].as_array().cloned().unwrap_or_default();
    assert!(
        stores.contains(&json!({"store": "bot_conversation", "items": 1, "erased": true})),
        "{r}"
    );
    assert!(
        stores.contains(&json!({"store": "bot_memory", "items": 1, "erased": true})),
        "{r}"
    );
    assert!(
        stores.contains(&json!({"store": "appeals.v1", "items": 0, "erased": false})),
        "{r}"
    );
    assert!(
        stores.contains(&json!({"store": "held_answers", "items": 1, "erased": true})),
        "{r}"
    );

    let dump = redis_dump(&redis.url()).await;
    assert_none_in(&dump, &[draft, held, "Аскаров"], "Redis after the erasure");
    assert_none_in_files(gw.data_dir(), &[draft, "Аскаров"]);
    assert!(
        dump.contains(&other),
        "another subject's conversation is kept"
    );
    assert_none_in(&entry.raw, &["555001", "Аскаров"], "the erasure report");
}

/// Whether `needle` occurs in `bytes`.
fn holds(bytes: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && bytes.windows(needle.len()).any(|w| w == needle)
}

/// Delivers Telegram updates to the webhook, each answered 200.
async fn deliver(gw: &Gateway, updates: &[Value]) {
    for update in updates {
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
}

/// The citizen's side of a Telegram conversation from `/start` to the summary, with
/// update ids from `first`.
fn dialogue(
    first: i64,
    chat: i64,
    text: &str,
    photo: Option<(&str, u64)>,
    name: &str,
) -> Vec<Value> {
    let mut updates = vec![
        tg::text(first, chat, "ru", "/start"),
        tg::callback(first + 1, chat, "ru", "lang:ru"),
        tg::callback(first + 2, chat, "ru", "consent:yes"),
        tg::callback(first + 3, chat, "ru", "cat:roads"),
        tg::text(first + 4, chat, "ru", text),
        tg::location(first + 5, chat, "ru", 43.238949, 76.889709),
    ];
    if let Some((file_id, size)) = photo {
        updates.push(tg::photo(first + 6, chat, "ru", file_id, size, None));
    }
    updates.extend([
        tg::callback(first + 7, chat, "ru", "photos:done"),
        tg::contact(first + 8, chat, "ru", "77019876543"),
        tg::text(first + 9, chat, "ru", name),
    ]);
    updates
}

/// Messages the bot sent to `chat` that offer "Send".
fn summaries(api: &FakeBotApi, chat: i64) -> usize {
    api.texts_to(chat)
        .iter()
        .filter(|t| t.contains("summary:send"))
        .count()
}

/// Issue 16, point 6, through the channels as a citizen uses them: a form with a photo
/// and a Telegram appeal (accepted, forwarded), then a Telegram draft with a photo left
/// before "Send"; an erasure request for the subject. Afterwards none of the subject's
/// values is in any file under the data directory (the forwarded appeals' records were
/// in a segment of the outbox, the form's photo in `attachments/`), and nothing of
/// the draft is in Redis. The accepted appeals stay on `appeals.v1` (their legal
/// course), so only the draft's values are looked for there.
#[tokio::test(flavor = "multi_thread")]
async fn after_an_erasure_no_value_of_the_subjects_dialogue_is_in_the_files_or_redis() {
    let redis = RedisServer::new();
    let api = FakeBotApi::start();
    let gw = Gateway::start_with(
        GatewayOptions::new(&redis.url())
            .env("GATEWAY_TELEGRAM_BOT_TOKEN", tg::TOKEN)
            .env("GATEWAY_TELEGRAM_WEBHOOK_SECRET", tg::SECRET)
            .env("GATEWAY_TELEGRAM_API_URL", &api.api_url()),
    )
    .await;
    let unique = ulid::Ulid::new().to_string();
    let form_text = format!("Форма-{unique}: сломан светофор у дома 12");
    let sent_text = format!("Отправлено-{unique}: яма у подъезда");
    let draft_text = format!("Черновик-{unique}: шумит сосед");
    let name = "Жұмабекова Сәуле";
    let chat = 612_345_678;

    // A form with a photo from the subject's phone: accepted, its photo kept.
    let form = FormSession::open(&gw, "/ru/").await;
    let page = form
        .post_multipart(
            "/ru/",
            &[
                ("last_name", "Жұмабекова"),
                ("first_name", "Сәуле"),
                ("phone", "+7 701 987 65 43"),
                ("category", "roads"),
                ("address", "пр. Абая, 10"),
                ("text", &form_text),
                ("consent", "on"),
            ],
            &[&crate::support::photos::plain_jpeg(96, 64)],
        )
        .await;
    assert_eq!(page.status, 303, "{}", page.html);
    // A Telegram appeal, sent.
    deliver(&gw, &dialogue(1, chat, &sent_text, None, name)).await;
    wait_until("the first summary", WAIT, || async {
        (summaries(&api, chat) == 1)
            .then_some(())
            .ok_or_else(|| "not yet".to_owned())
    })
    .await;
    deliver(&gw, &[tg::callback(20, chat, "ru", "summary:send")]).await;
    api.wait_text(chat, "Номер для отслеживания").await;
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 2).await;
    gw.api().wait_drained().await;
    let form_photo = appeals
        .iter()
        .find_map(|a| {
            a.data["attachments"][0]["sha256"]
                .as_str()
                .map(str::to_owned)
        })
        .expect("the form's photo on its appeal");
    let photo_url = gw.url(&format!("/api/v1/attachments/{form_photo}"));
    let client = reqwest::Client::new();
    let served = client
        .get(&photo_url)
        .bearer_auth(CRM_TOKEN)
        .send()
        .await
        .expect("GET");
    assert_eq!(served.status(), 200);
    let form_photo_bytes = served.bytes().await.expect("body").to_vec();
    assert!(
        files_under(gw.data_dir())
            .iter()
            .any(|(_, b)| *b == form_photo_bytes),
        "the form's photo is kept in the data directory (else this test proves nothing)"
    );

    // A second conversation with a photo, left at the summary.
    let draft_photo =
        b"\xFF\xD8\xFF\xE0 the draft's own photo, a neighbour's window \xFF\xD9".to_vec();
    let draft_photo_sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&draft_photo));
    api.add_file(
        "AgACdraftphoto",
        draft_photo.len() as u64,
        draft_photo.clone(),
    );
    deliver(
        &gw,
        &dialogue(
            101,
            chat,
            &draft_text,
            Some(("AgACdraftphoto", draft_photo.len() as u64)),
            name,
        ),
    )
    .await;
    wait_until("the draft's summary", WAIT, || async {
        (summaries(&api, chat) == 2)
            .then_some(())
            .ok_or_else(|| "not yet".to_owned())
    })
    .await;
    assert!(
        redis_dump(&redis.url()).await.contains(&draft_photo_sha),
        "the draft holds its photo (else this test proves nothing)"
    );

    // The subject asks for erasure, as the contract says requests arrive.
    let reply = gw
        .api()
        .post_subject_request(&json!({
            "kind": "erasure", "channel": "api",
            "subject": {"phone": "+7 701 987 65 43", "messenger_id": format!("telegram:{chat}")}
        }))
        .await;
    reply.expect_status(202);
    let request_id = reply.json()["id"].as_str().unwrap_or_default().to_owned();
    let in_redis = report(&redis, "erasure_done", &request_id).await;
    let in_files = report_of(&redis, "erasure_done", &request_id, true).await;
    let stores = in_redis.data["stores"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        stores.contains(&json!({"store": "bot_conversation", "items": 1, "erased": true})),
        "{}",
        in_redis.data
    );
    assert!(
        stores.contains(&json!({"store": "appeals.v1", "items": 2, "erased": false})),
        "{}",
        in_redis.data
    );
    assert!(
        stores.contains(&json!({"store": "status_entries", "items": 2, "erased": true})),
        "{}",
        in_redis.data
    );
    let stores = in_files.data["stores"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(
        stores.contains(&json!({"store": "attachments", "items": 1, "erased": true})),
        "{}",
        in_files.data
    );
    assert!(
        stores.contains(&json!({"store": "outbox", "items": 1, "erased": true})),
        "{}",
        in_files.data
    );
    // The form's and the bot's idempotent answers, kept in Redis for every instance
    // (each names its tracking number); none waits in this instance's outbox any more.
    assert!(
        stores.contains(&json!({"store": "idempotency_answers", "items": 0, "erased": true})),
        "{}",
        in_files.data
    );
    assert!(
        in_redis.data["stores"]
            .as_array()
            .is_some_and(|s| s
                .contains(&json!({"store": "idempotency_answers", "items": 2, "erased": true}))),
        "{}",
        in_redis.data
    );
    assert_none_in(&in_files.raw, &[&form_photo, "77019876543"], "the report");

    // The photo is gone for the case system too, with a reason and nothing else.
    let gone = client
        .get(&photo_url)
        .bearer_auth(CRM_TOKEN)
        .send()
        .await
        .expect("GET");
    assert_eq!(gone.status(), 410);
    let problem: Value = gone.json().await.expect("a problem document");
    assert_eq!(
        problem["errors"][0]["code"], "attachment_erased",
        "{problem}"
    );
    assert_none_in(&problem.to_string(), &[&form_photo], "the 410 answer");

    // Every file under the data directory, byte by byte.
    let values = [
        form_text.as_str(),
        sent_text.as_str(),
        draft_text.as_str(),
        unique.as_str(),
        name,
        "Жұмабекова",
        "77019876543",
        "701 987 65 43",
        &form_photo,
        &draft_photo_sha,
    ];
    assert_none_in_files(gw.data_dir(), &values);
    for (path, bytes) in files_under(gw.data_dir()) {
        assert!(
            !holds(&bytes, &form_photo_bytes) && !holds(&bytes, &draft_photo),
            "a photo's bytes are still in {}",
            path.display()
        );
    }
    // Redis: nothing of the draft (the accepted appeals keep their legal course on
    // appeals.v1, and the report names no value).
    let dump = redis_dump(&redis.url()).await;
    assert_none_in(
        &dump,
        &[draft_text.as_str(), &draft_photo_sha, "AgACdraftphoto"],
        "Redis after the erasure",
    );
}

/// Each instance erases the photos in its own data directory and says so in a report of
/// its own: two gateways, each holding one photo of the subject's appeals, and a third
/// photo of someone else.
#[tokio::test(flavor = "multi_thread")]
async fn every_instance_erases_the_subjects_photos_it_holds_and_reports_them() {
    let redis = RedisServer::new();
    let start = |n: u8| {
        Gateway::start_with(
            GatewayOptions::new(&redis.url()).env("GATEWAY_INSTANCE", &format!("gateway-{n}")),
        )
    };
    let (one, two) = (start(1).await, start(2).await);
    let sha = |n: u8| format!("{:02x}{}", 0xa0 + n, format!("{n}").repeat(62));
    let kept =
        |gw: &Gateway, sha: &str| gw.data_dir().join("attachments").join(&sha[..2]).join(sha);
    // Each instance took an appeal with a photo; the other's photo is someone else's.
    for (gw, photo, phone) in [
        (&one, sha(1), "+7 701 333 44 55"),
        (&two, sha(2), "+7 701 333 44 55"),
        (&two, sha(3), "+7 701 999 00 11"),
    ] {
        let path = kept(gw, &photo);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("dir");
        std::fs::write(&path, b"\xFF\xD8\xFF\xE0 a kept photo").expect("write");
        let mut appeal = tagged_appeal(&photo[..8]);
        appeal["applicant"]["phones"] = json!([phone]);
        appeal["attachments"] =
            json!([{"kind": "photo", "content_type": "image/jpeg", "size": 21, "sha256": photo}]);
        gw.api()
            .post_appeal(CRM_TOKEN, &appeal, None)
            .await
            .expect_status(202);
    }
    wait_for_stream_len(&redis.url(), "appeals.v1", 3).await;

    let reply = one
        .api()
        .post_subject_request(&json!({
            "kind": "withdraw_consent", "channel": "api", "subject": {"phone": "+7 701 333 44 55"}
        }))
        .await;
    reply.expect_status(202);
    let request_id = reply.json()["id"].as_str().unwrap_or_default().to_owned();
    for instance in ["gateway-1", "gateway-2"] {
        let entry = wait_until(&format!("the report of {instance}"), WAIT, || async {
            read_stream(&redis.url(), "subject.v1")
                .await
                .into_iter()
                .find(|e| {
                    e.data["request_id"] == request_id.as_str() && e.data["instance"] == instance
                })
                .ok_or_else(|| "not yet".to_owned())
        })
        .await;
        assert_eq!(entry.kind, "erasure_done");
        assert!(
            entry.data["stores"].as_array().is_some_and(
                |s| s.contains(&json!({"store": "attachments", "items": 1, "erased": true}))
            ),
            "{}",
            entry.data
        );
    }
    assert!(!kept(&one, &sha(1)).exists() && !kept(&two, &sha(2)).exists());
    assert!(kept(&two, &sha(3)).exists(), "someone else's photo stays");
}
