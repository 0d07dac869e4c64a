//! Telegram: a citizen talks to the bot, the case system finds the appeal on
//! `appeals.v1`. The Bot API is a stand-in on loopback (`crate::support::fake_telegram`), set
//! by `GATEWAY_TELEGRAM_API_URL` as a closed network would set a proxy.

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::case_system::send_reply;
use crate::support::fake_telegram::{self as tg, FakeBotApi};
use crate::support::*;

fn options(redis: &RedisServer, api: &FakeBotApi) -> GatewayOptions {
    api.configure(GatewayOptions::new(&redis.url()))
}

/// Delivers an update to the webhook as Telegram does; returns the HTTP status.
async fn deliver(gw: &Gateway, update: &Value) -> u16 {
    deliver_with(gw, update, Some(tg::SECRET)).await
}

async fn deliver_with(gw: &Gateway, update: &Value, secret: Option<&str>) -> u16 {
    let headers: Vec<(&str, &str)> = secret
        .map(|s| ("X-Telegram-Bot-Api-Secret-Token", s))
        .into_iter()
        .collect();
    gw.api()
        .try_post(
            "/telegram/webhook",
            None,
            Some(JSON),
            serde_json::to_vec(update).unwrap(),
            &headers,
        )
        .await
        .expect("POST /telegram/webhook")
        .status
}

/// The bot conversations held in Redis (drafts and what outlives them).
async fn conversation_keys(redis: &RedisServer) -> Vec<String> {
    let mut conn = redis_conn(&redis.url()).await.expect("redis");
    let mut keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{PREFIX}gateway:conversation*"))
        .query_async(&mut conn)
        .await
        .expect("KEYS");
    keys.sort();
    keys
}

/// The conversation up to the question "where is it?", in `lang`.
fn until_location(chat: i64, lang: &str, text: &str) -> Vec<Value> {
    vec![
        tg::text(1, chat, lang, "/start"),
        tg::callback(2, chat, lang, &format!("lang:{lang}")),
        tg::callback(3, chat, lang, "consent:yes"),
        tg::callback(4, chat, lang, "cat:roads"),
        tg::text(5, chat, lang, text),
    ]
}

/// From the location to "Send".
fn from_location(chat: i64, lang: &str, name: &str) -> Vec<Value> {
    vec![
        tg::location(10, chat, lang, 43.238949, 76.889709),
        tg::callback(11, chat, lang, "photos:done"),
        tg::contact(12, chat, lang, "77011234567"),
        tg::text(13, chat, lang, name),
        tg::callback(14, chat, lang, "summary:send"),
    ]
}

fn assert_bot_appeal(appeal: &Value, chat: i64, language: &str) {
    assert_eq!(appeal["channel"], "telegram");
    assert_eq!(appeal["language"], language);
    assert_eq!(appeal["category"], "roads");
    assert_eq!(appeal["consent"]["method"], "bot_button");
    assert_eq!(appeal["consent"]["policy_version"], POLICY_VERSION);
    assert_eq!(appeal["reply_to"]["channel"], "telegram");
    assert_eq!(appeal["reply_to"]["address"], chat.to_string());
    assert_eq!(appeal["applicant"]["phones"][0], "+77011234567");
    let fields: Vec<&str> = appeal["applicant"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for field in &fields {
        assert!(
            ["last_name", "first_name", "phones"].contains(field),
            "{field} is not allowed on Telegram: {appeal}"
        );
    }
    assert!((appeal["location"]["lat"].as_f64().unwrap() - 43.238949).abs() < 1e-9);
}

#[tokio::test]
async fn a_whole_conversation_in_russian_ends_with_a_tracking_number_and_an_appeal() {
    let redis = RedisServer::new();
    let api = FakeBotApi::start();
    let jpeg = b"\xFF\xD8\xFF\xE0 a small photo of a pothole \xFF\xD9".to_vec();
    api.add_file("AgACAgIAAxkBAAIBpothole", jpeg.len() as u64, jpeg.clone());
    let gw = Gateway::start_with(options(&redis, &api)).await;
    let chat = 501_234_567;
    let text = "Яма на дороге 🕳️🚗, ул. Сәтбаев \u{200F}";
    let mut updates = until_location(chat, "ru", text);
    updates.push(tg::photo(
        6,
        chat,
        "ru",
        "AgACAgIAAxkBAAIBpothole",
        jpeg.len() as u64,
        None,
    ));
    updates.extend(from_location(chat, "ru", "Иванов Иван"));
    // The photo arrives while the bot asks for the place: it is attached all the same.
    for update in &updates {
        assert_eq!(deliver(&gw, update).await, 200);
    }
    let sent = api.wait_text(chat, "Номер для отслеживания").await;
    let tracking = sent
        .split_whitespace()
        .find(|w| w.starts_with("OA-"))
        .unwrap()
        .trim_end_matches('.')
        .to_owned();
    assert!(is_tracking_number(&tracking), "{sent}");
    let texts = api.texts_to(chat);
    assert!(
        texts[0].contains("Выберите язык") && texts[0].contains("[Қазақша|lang:kk]"),
        "{texts:?}"
    );
    assert!(
        texts
            .iter()
            .any(|t| t.contains("https://open-almaty.kz/regulation")
                && t.contains("[Согласен|consent:yes]"))
    );
    assert!(
        texts.iter().any(|t| t.contains("<location>")),
        "a share-location button: {texts:?}"
    );
    assert!(
        texts.iter().any(|t| t.contains("<contact>")),
        "a share-phone button: {texts:?}"
    );

    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    let appeal = &appeals[0].data;
    assert_bot_appeal(appeal, chat, "ru");
    assert_eq!(appeal["tracking_number"], tracking.as_str());
    // The acknowledgement states what a receipt does, as far as a chat needs it: when,
    // in which category, until when (issue 33, point 2).
    let answer_by: Vec<&str> = appeal["answer_by"]
        .as_str()
        .unwrap_or_default()
        .split('-')
        .rev()
        .collect();
    for fact in [
        "(время Алматы)",
        "категория: Дороги и тротуары",
        &answer_by.join("."),
    ] {
        assert!(sent.contains(fact), "{fact:?} in {sent}");
    }
    assert_eq!(appeal["text"], "Яма на дороге 🕳️🚗, ул. Сәтбаев");
    assert_eq!(appeal["applicant"]["last_name"], "Иванов");
    assert_eq!(appeal["applicant"]["first_name"], "Иван");
    assert_eq!(
        appeal["attachments"][0]["sha256"],
        hex::encode(Sha256::digest(&jpeg))
    );
    assert_eq!(appeal["attachments"][0]["size"], jpeg.len());
    // Every inline button pressed was answered (the spinner stops).
    assert_eq!(api.calls("answerCallbackQuery").len(), 5);
}

#[tokio::test]
async fn a_kazakh_conversation_delivered_twice_makes_one_appeal() {
    let redis = RedisServer::new();
    let api = FakeBotApi::start();
    let gw = Gateway::start_with(options(&redis, &api)).await;
    let chat = 777_000_111;
    let mut updates = until_location(chat, "kk", "Аулада жарық жоқ, балалар қараңғыда жүреді 🙏");
    updates.extend(from_location(chat, "kk", "Сейітова Айгүл Нұрланқызы"));
    // Telegram retries: every update arrives twice, the second right after the first.
    for update in &updates {
        assert_eq!(deliver(&gw, update).await, 200);
        assert_eq!(deliver(&gw, update).await, 200);
    }
    api.wait_text(chat, "Бақылау нөмірі").await;
    gw.api().wait_drained().await;
    let appeals = read_stream(&redis.url(), "appeals.v1").await;
    assert_eq!(
        appeals.len(),
        1,
        "one appeal for a twice-delivered conversation"
    );
    let appeal = &appeals[0].data;
    assert_bot_appeal(appeal, chat, "kk");
    assert_eq!(
        appeal["text"],
        "Аулада жарық жоқ, балалар қараңғыда жүреді 🙏"
    );
    assert_eq!(appeal["applicant"]["first_name"], "Айгүл");
    // The patronymic is not on Telegram's list: dropped by name, its value nowhere.
    assert!(
        names_dropped(&appeal["dropped_fields"], "patronymic"),
        "{appeal}"
    );
    assert!(!appeals[0].raw.contains("Нұрланқызы"));
    // Each answer was sent once: the replay was not taken for a new message.
    let texts = api.texts_to(chat);
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("Бақылау нөмірі"))
            .count(),
        1,
        "{texts:?}"
    );
    assert_eq!(
        texts
            .iter()
            .filter(|t| t.contains("Тілді таңдаңыз"))
            .count(),
        1,
        "{texts:?}"
    );
    // The operator sees the provider's retries counted.
    let metrics = gw.api().metrics().await;
    let duplicates = format!(
        "gateway_webhook_duplicates_total{{channel=\"telegram\"}} {}",
        updates.len()
    );
    assert!(metrics.contains(&duplicates), "{duplicates}:\n{metrics}");
}

#[tokio::test]
async fn no_to_consent_keeps_nothing() {
    let redis = RedisServer::new();
    let api = FakeBotApi::start();
    let gw = Gateway::start_with(options(&redis, &api)).await;
    let chat = 42_424_242;
    for update in [
        tg::text(1, chat, "ru", "/start"),
        tg::callback(2, chat, "ru", "lang:ru"),
        tg::callback(3, chat, "ru", "consent:no"),
    ] {
        assert_eq!(deliver(&gw, &update).await, 200);
    }
    api.wait_text(chat, "ничего не сохранили").await;
    gw.api().wait_drained().await;
    for stream in ["appeals.v1", "consent.v1", "subject.v1"] {
        assert_eq!(
            try_stream_len(&redis.url(), stream).await.unwrap(),
            0,
            "{stream}"
        );
    }
    assert_eq!(
        conversation_keys(&redis).await,
        Vec::<String>::new(),
        "the conversation is erased"
    );
}

#[tokio::test]
async fn revoke_and_stop_produce_their_subject_requests() {
    let redis = RedisServer::new();
    let api = FakeBotApi::start();
    let gw = Gateway::start_with(options(&redis, &api)).await;
    let chat = 9_000_001;
    for update in &until_location(chat, "en", "Broken bench in the park") {
        assert_eq!(deliver(&gw, update).await, 200);
    }
    // Issue 34: a number typed into the draft is anyone's; the requests are the chat's.
    for update in [
        tg::location(10, chat, "en", 43.238949, 76.889709),
        tg::callback(11, chat, "en", "photos:done"),
        tg::text(12, chat, "en", "+7 701 999 88 77"),
    ] {
        assert_eq!(deliver(&gw, &update).await, 200);
    }
    assert_eq!(deliver(&gw, &tg::text(20, chat, "en", "/stop")).await, 200);
    assert_eq!(
        deliver(&gw, &tg::text(21, chat, "en", "/revoke")).await,
        200
    );
    api.wait_text(chat, "Notifications are turned off").await;
    api.wait_text(chat, "Consent withdrawn").await;
    let requests = wait_for_entries_of(&redis.url(), "subject.v1", "subject_request", 2).await;
    let kinds: Vec<&str> = requests
        .iter()
        .map(|r| r.data["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["opt_out_notifications", "withdraw_consent"]);
    let messenger_key = subject_key("messenger_id", &format!("telegram:{chat}"));
    for r in &requests {
        assert_eq!(r.data["channel"], "telegram");
        assert_eq!(
            r.data["subject_keys"]["messenger_id"],
            messenger_key.as_str()
        );
        assert!(r.data["subject_keys"].get("phone").is_none(), "{}", r.data);
        assert_eq!(r.data["verified_by"], "channel_session");
        assert!(
            !r.raw.contains(&chat.to_string()),
            "no raw chat id on subject.v1"
        );
    }
    let consent = wait_for_stream_len(&redis.url(), "consent.v1", 1).await;
    assert_eq!(consent[0].kind, "consent_withdrawn");
    assert_eq!(try_stream_len(&redis.url(), "appeals.v1").await.unwrap(), 0);
    assert_eq!(
        conversation_keys(&redis).await,
        Vec::<String>::new(),
        "the dialogue's data is erased"
    );
}

#[tokio::test]
async fn a_restart_mid_conversation_resumes_it() {
    let redis = RedisServer::new();
    let api = FakeBotApi::start();
    let mut gw = Gateway::start_with(options(&redis, &api)).await;
    let chat = 31_337;
    for update in &until_location(chat, "ru", "Не работает светофор") {
        assert_eq!(deliver(&gw, update).await, 200);
    }
    api.wait_text(chat, "Где это?").await;
    gw.kill9();
    gw.restart().await;
    for update in &from_location(chat, "ru", "Петрова Анна") {
        assert_eq!(deliver(&gw, update).await, 200);
    }
    api.wait_text(chat, "Номер для отслеживания").await;
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    assert_eq!(appeals[0].data["text"], "Не работает светофор");
    assert_bot_appeal(&appeals[0].data, chat, "ru");
}

#[tokio::test]
async fn with_redis_away_an_update_is_refused_for_a_retry_and_nothing_is_lost() {
    let mut redis = RedisServer::new();
    let api = FakeBotApi::start();
    let gw = Gateway::start_with(options(&redis, &api)).await;
    let chat = 27_182_818;
    for update in &until_location(chat, "ru", "Упало дерево на Жандосова") {
        assert_eq!(deliver(&gw, update).await, 200);
    }
    api.wait_text(chat, "Где это?").await;
    // The draft is held in Redis for a day at most, under a key that names no chat.
    let keys = conversation_keys(&redis).await;
    assert!(!keys.is_empty());
    let mut conn = redis_conn(&redis.url()).await.expect("redis");
    for key in &keys {
        assert!(!key.contains(&chat.to_string()), "{key}");
        let ttl: i64 = redis::cmd("TTL")
            .arg(key)
            .query_async(&mut conn)
            .await
            .expect("TTL");
        assert!(ttl > 0, "{key} has no time to live");
        if key.contains("gateway:conversation:") {
            assert!(ttl <= 24 * 3600, "{key}: a draft outlives a day ({ttl} s)");
        }
    }

    redis.stop();
    let location = &from_location(chat, "ru", "Сидоров Павел")[0];
    let status = deliver(&gw, location).await;
    assert_eq!(status, 503, "Telegram must deliver the update again later");
    redis.start();
    // Telegram's retry of the same update, once Redis is back.
    wait_until("the retried update is taken", WAIT, || async {
        match deliver(&gw, location).await {
            200 => Ok(()),
            other => Err(format!("status {other}")),
        }
    })
    .await;
    for update in &from_location(chat, "ru", "Сидоров Павел")[1..] {
        assert_eq!(deliver(&gw, update).await, 200);
    }
    api.wait_text(chat, "Номер для отслеживания").await;
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    assert_eq!(appeals[0].data["text"], "Упало дерево на Жандосова");
    assert_bot_appeal(&appeals[0].data, chat, "ru");
}

#[tokio::test]
async fn a_25_mb_photo_is_refused_politely_and_the_text_kept() {
    let redis = RedisServer::new();
    let api = FakeBotApi::start();
    let big = 25 * 1024 * 1024;
    api.add_file("BQACAgIAAxkBAAIBbig", big, b"\xFF\xD8 truncated".to_vec());
    let gw = Gateway::start_with(options(&redis, &api)).await;
    let chat = 8_080_808;
    let caption = "Свалка мусора во дворе, Қонаев 12";
    let mut updates = until_location(chat, "ru", "");
    updates.pop();
    updates.push(tg::photo_document(
        5,
        chat,
        "ru",
        "BQACAgIAAxkBAAIBbig",
        big,
        Some(caption),
    ));
    for update in &updates {
        assert_eq!(deliver(&gw, update).await, 200);
    }
    api.wait_text(chat, "больше 20 МБ").await;
    for update in &from_location(chat, "ru", "Ким Ольга") {
        assert_eq!(deliver(&gw, update).await, 200);
    }
    api.wait_text(chat, "Номер для отслеживания").await;
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    assert_eq!(appeals[0].data["text"], caption);
    assert!(
        appeals[0]
            .data
            .get("attachments")
            .is_none_or(|a| a.as_array().is_some_and(Vec::is_empty))
    );
}

#[tokio::test]
async fn a_wrong_secret_is_refused_and_logged_without_the_payload() {
    let redis = RedisServer::new();
    let api = FakeBotApi::start();
    let gw = Gateway::start_with(options(&redis, &api)).await;
    let forged = tg::text(1, 66, "ru", "/revoke injected-payload-marker");
    assert_eq!(
        deliver_with(&gw, &forged, Some("not-the-secret")).await,
        401
    );
    assert_eq!(deliver_with(&gw, &forged, None).await, 401);
    // A genuine update afterwards is answered; the forged ones never were.
    assert_eq!(deliver(&gw, &tg::text(2, 67, "ru", "/start")).await, 200);
    api.wait_text(67, "Выберите язык").await;
    assert!(api.texts_to(66).is_empty());
    assert!(gw.logs().contains("telegram webhook refused"));
    assert!(!gw.logs().contains("injected-payload-marker"));
}

#[test]
fn a_webhook_without_its_secret_refuses_to_start() {
    let opts = GatewayOptions::new("redis://127.0.0.1:1")
        .env("GATEWAY_TELEGRAM_BOT_TOKEN", tg::TOKEN)
        .env("GATEWAY_DATA_DIR", "data");
    let (status, _, stderr) = run_to_exit(&opts, WAIT);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("GATEWAY_TELEGRAM_WEBHOOK_SECRET"),
        "{stderr}"
    );
    assert!(
        !stderr.contains(tg::TOKEN),
        "the token is never printed: {stderr}"
    );
}

#[tokio::test]
async fn long_polling_takes_updates_without_a_webhook() {
    let redis = RedisServer::new();
    let api = FakeBotApi::start();
    let chat = 5_550_555;
    api.queue_update(tg::text(900, chat, "en", "/start"));
    api.queue_update(tg::callback(901, chat, "en", "lang:en"));
    let opts = GatewayOptions::new(&redis.url())
        .env("GATEWAY_TELEGRAM_BOT_TOKEN", tg::TOKEN)
        .env("GATEWAY_TELEGRAM_MODE", "polling")
        .env("GATEWAY_TELEGRAM_API_URL", &api.api_url());
    let gw = Gateway::start_with(opts).await;
    api.wait_text(chat, "Do you agree?").await;
    assert_eq!(api.texts_to(chat).len(), 2, "each polled update taken once");
    // No webhook in polling mode.
    assert_eq!(deliver(&gw, &tg::text(1, chat, "en", "/start")).await, 404);
}

/// The bot's counter of ignored updates of `kind`, as `/metrics` shows it.
async fn ignored(gw: &Gateway, kind: &str) -> u64 {
    let metrics = gw.api().metrics().await;
    let series = format!("gateway_bot_ignored_total{{channel=\"telegram\",kind=\"{kind}\"}} ");
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&series))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn in_a_group_the_bot_invites_members_to_write_privately_once_and_keeps_nothing() {
    let redis = RedisServer::new();
    let api = FakeBotApi::start();
    let gw = Gateway::start_with(options(&redis, &api)).await;
    let group = -1_001_234_567_890;
    for update in [
        tg::group_text(1, group, 501, "/start"),
        tg::group_text(2, group, 502, "/start@OpenAlmatyBot"),
        tg::group_text(3, group, 503, "+7 701 123 45 67 Иванов Иван"),
    ] {
        assert_eq!(deliver(&gw, &update).await, 200);
    }
    api.wait_text(group, "только в личном чате").await;
    wait_until("every group message counted", WAIT, || async {
        match ignored(&gw, "group_chat").await {
            3 => Ok(()),
            n => Err(format!("{n}")),
        }
    })
    .await;
    let sent = api.calls("sendMessage");
    assert_eq!(sent.len(), 1, "answered at most once: {sent:?}");
    assert!(sent[0]["reply_markup"].is_null(), "no buttons in a group");
    assert_eq!(conversation_keys(&redis).await, Vec::<String>::new());
}

#[tokio::test]
async fn voice_notes_videos_and_stickers_are_answered_with_why_and_the_question_again() {
    let redis = RedisServer::new();
    let api = FakeBotApi::start();
    let gw = Gateway::start_with(options(&redis, &api)).await;
    let chat = 6_060_606;
    let mut updates = until_location(chat, "en", "");
    updates.pop();
    updates.push(tg::voice(5, chat, "en"));
    updates.push(tg::video_note(6, chat, "en"));
    updates.push(tg::sticker(7, chat, "en"));
    for update in &updates {
        assert_eq!(deliver(&gw, update).await, 200);
    }
    // Three answers, each followed by the question again: six messages after the first
    // question (the last pair's second message may come a moment after its first).
    let after_question = |texts: &[String]| -> Vec<String> {
        texts
            .iter()
            .skip_while(|t| !t.contains("Describe the problem"))
            .skip(1)
            .cloned()
            .collect()
    };
    let after = wait_until("three answers after the category", WAIT, || async {
        let after = after_question(&api.texts_to(chat));
        if after.len() >= 6 {
            Ok(after)
        } else {
            Err(format!("{after:?}"))
        }
    })
    .await;
    assert_eq!(after.len(), 6, "{after:?}");
    for pair in [&after[0..2], &after[2..4]] {
        assert!(
            pair[0].contains("Voice and video messages can't be accepted")
                && pair[0].contains("send a photo"),
            "{pair:?}"
        );
        assert!(pair[1].contains("Describe the problem"), "{pair:?}");
    }
    assert!(after[4].contains("This kind of message can't be accepted"));
    assert!(after[5].contains("Describe the problem"));
    // The conversation goes on where it was.
    assert_eq!(
        deliver(&gw, &tg::text(8, chat, "en", "A bench is broken")).await,
        200
    );
    api.wait_text(chat, "Where is it?").await;
}

#[tokio::test]
async fn unknown_commands_and_commands_for_other_bots_are_not_taken_as_answers() {
    let redis = RedisServer::new();
    let api = FakeBotApi::start();
    let gw = Gateway::start_with(options(&redis, &api)).await;
    let chat = 7_070_707;
    let mut updates = until_location(chat, "ru", "");
    updates.pop();
    updates.push(tg::text(5, chat, "ru", "/register HR John Doe"));
    for update in &updates {
        assert_eq!(deliver(&gw, update).await, 200);
    }
    api.wait_text(chat, "Неизвестная команда").await;
    assert_eq!(
        deliver(&gw, &tg::text(6, chat, "ru", "Сломан светофор")).await,
        200
    );
    api.wait_text(chat, "Где это?").await;
    let before = api.texts_to(chat).len();
    assert_eq!(
        deliver(&gw, &tg::text(7, chat, "ru", "/test@other_bot")).await,
        200
    );
    wait_until("the command for another bot counted", WAIT, || async {
        match ignored(&gw, "command_for_other_bot").await {
            1 => Ok(()),
            n => Err(format!("{n}")),
        }
    })
    .await;
    assert_eq!(api.texts_to(chat).len(), before, "not answered");
    for update in &from_location(chat, "ru", "Петрова Анна") {
        assert_eq!(deliver(&gw, update).await, 200);
    }
    api.wait_text(chat, "Номер для отслеживания").await;
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    assert_eq!(appeals[0].data["text"], "Сломан светофор");
    assert!(appeals[0].data["location"].get("address").is_none());
}

#[tokio::test]
async fn edits_reactions_and_unreadable_updates_are_counted_never_answered() {
    let redis = RedisServer::new();
    let api = FakeBotApi::start();
    let gw = Gateway::start_with(options(&redis, &api)).await;
    let chat = 8_181_818;
    for update in until_location(chat, "en", "A lamp is out").iter().take(5) {
        assert_eq!(deliver(&gw, update).await, 200);
    }
    api.wait_text(chat, "Where is it?").await;
    let before = api.texts_to(chat).len();
    assert_eq!(
        deliver(
            &gw,
            &tg::edited_text(6, chat, "en", "A lamp is out, secret-edit")
        )
        .await,
        200
    );
    assert_eq!(deliver(&gw, &tg::reaction(7, chat, "en")).await, 200);
    // A message the Bot API types do not describe (no `chat`): logged by kind and id.
    let mut broken = tg::text(8, chat, "en", "unparsable-marker");
    broken["message"].as_object_mut().unwrap().remove("chat");
    assert_eq!(deliver(&gw, &broken).await, 200);
    wait_until("each kind counted", WAIT, || async {
        let counts = (
            ignored(&gw, "edited_message").await,
            ignored(&gw, "message_reaction").await,
            ignored(&gw, "unparsable").await,
        );
        if counts == (1, 1, 1) {
            Ok(())
        } else {
            Err(format!("{counts:?}"))
        }
    })
    .await;
    assert_eq!(api.texts_to(chat).len(), before, "nothing answered");
    let logs = gw.logs();
    assert!(logs.contains("telegram update not understood"), "{logs}");
    assert!(logs.contains("\"update_id\":8"), "{logs}");
    assert!(logs.contains("\"kind\":\"message\""), "{logs}");
    assert!(!logs.contains("unparsable-marker") && !logs.contains("secret-edit"));
}

#[tokio::test]
async fn a_redelivered_photo_is_fetched_once_after_the_webhook_answered() {
    let redis = RedisServer::new();
    let api = FakeBotApi::start();
    let jpeg = b"\xFF\xD8\xFF\xE0 a photo of a broken swing \xFF\xD9".to_vec();
    api.add_file("AgACAgIAAxkBAAIBswing", jpeg.len() as u64, jpeg.clone());
    let gw = Gateway::start_with(options(&redis, &api)).await;
    let chat = 9_191_919;
    for update in until_location(chat, "en", "A swing is broken") {
        assert_eq!(deliver(&gw, &update).await, 200);
    }
    api.wait_text(chat, "Where is it?").await;
    // The file server is slow: the webhook answers all the same, and Telegram's
    // redelivery of the update is not fetched again.
    api.hold_downloads();
    let photo = tg::photo(
        6,
        chat,
        "en",
        "AgACAgIAAxkBAAIBswing",
        jpeg.len() as u64,
        None,
    );
    assert_eq!(deliver(&gw, &photo).await, 200);
    assert_eq!(deliver(&gw, &photo).await, 200);
    wait_until("the download started", WAIT, || async {
        match api.downloads() {
            0 => Err("none yet".to_owned()),
            n => Ok(n),
        }
    })
    .await;
    api.release_downloads();
    api.wait_text(chat, "Photo added (1)").await;
    for update in &from_location(chat, "en", "Smith John") {
        assert_eq!(deliver(&gw, update).await, 200);
    }
    api.wait_text(chat, "Tracking number").await;
    assert_eq!(api.downloads(), 1);
    assert_eq!(api.calls("getFile").len(), 1);
    let appeals = wait_for_stream_len(&redis.url(), "appeals.v1", 1).await;
    assert_eq!(
        appeals[0].data["attachments"][0]["sha256"],
        hex::encode(Sha256::digest(&jpeg))
    );
    assert_eq!(appeals[0].data["attachments"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn status_shows_what_the_case_system_last_said_and_the_deadline() {
    use appeal_gateway::notify::deadline::Calendar;
    let redis = RedisServer::new();
    let api = FakeBotApi::start();
    let gw = Gateway::start_with(options(&redis, &api)).await;
    let chat = 4_040_404;
    let mut updates = until_location(chat, "ru", "Не вывозят мусор");
    updates.extend(from_location(chat, "ru", "Ким Ольга"));
    for update in &updates {
        assert_eq!(deliver(&gw, update).await, 200);
    }
    api.wait_text(chat, "Номер для отслеживания").await;
    let appeal = wait_for_stream_len(&redis.url(), "appeals.v1", 1)
        .await
        .remove(0)
        .data;
    let tracking = appeal["tracking_number"].as_str().unwrap().to_owned();
    // The case system says it is in progress.
    let reply = serde_json::json!({
        "schema_version": 1, "id": appeal["id"], "tracking_number": tracking,
        "reply_to": appeal["reply_to"], "status": "in_progress", "language": "ru",
        "text": "Передано в управление коммунального хозяйства.", "notify": false
    });
    send_reply(&redis, &reply).await;
    wait_for_stream_len(&redis.url(), "deliveries.v1", 1).await;
    assert_eq!(
        deliver(&gw, &tg::text(30, chat, "ru", "/status")).await,
        200
    );
    let status = api.wait_text(chat, "рассматривается").await;
    let today = time::OffsetDateTime::now_utc()
        .to_offset(time::UtcOffset::from_hms(5, 0, 0).unwrap())
        .date();
    let due = Calendar::default()
        .deadline(today, false)
        .format(time::macros::format_description!("[day].[month].[year]"))
        .unwrap();
    assert!(status.contains(&tracking), "{status}");
    assert!(status.contains(&due), "the deadline {due}: {status}");
}
