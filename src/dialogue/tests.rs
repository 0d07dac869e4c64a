//! The dialogue as a citizen goes through it, against a real outbox in a temporary
//! directory (no transport, no Redis: the conversation is held between turns as the
//! store would hold it; the store itself is tested with a real Redis in
//! `tests/it/telegram.rs`, `tests/it/whatsapp.rs` and `tests/it/many_instances.rs`).

use super::*;
use crate::metrics::Metrics;
use crate::outbox::Outbox;
use crate::subject::SubjectKeyer;

use crate::redis_handle::Redis;

fn gateway(dir: &std::path::Path) -> Gateway {
    Gateway::new(
        SubjectKeyer::new(b"test-secret"),
        Outbox::open(dir).expect("outbox"),
        Metrics::new(),
        crate::pipeline::Stores {
            status: crate::status::StatusBoard::new(&Redis::new(None, ""), Default::default()),
            claims: crate::idempotency::Claims::new(
                &Redis::new(None, ""),
                Duration::from_secs(3600),
                Duration::from_secs(3600),
            ),
            banner: crate::banner::Board::new(&Redis::new(None, "")),
        },
        "https://open-almaty.kz",
        std::sync::Arc::new(crate::queue::QueueStatus::default()),
    )
    .expect("gateway")
}

fn from(user: &str, event: Event) -> Inbound {
    Inbound {
        channel: Channel::Telegram,
        user: user.into(),
        language_hint: None,
        sender_phone: None,
        event,
    }
}

/// One chat, held in memory between turns.
struct Chat {
    user: &'static str,
    held: Option<Conversation>,
}

impl Chat {
    fn new(user: &'static str) -> Chat {
        Chat { user, held: None }
    }

    async fn send(&mut self, gw: &Gateway, event: Event) -> Vec<Reply> {
        let (kept, replies) = turn(gw, &from(self.user, event), self.held.take())
            .await
            .expect("handled");
        self.held = kept;
        replies
    }

    fn kept(&self) -> Conversation {
        self.held.clone().expect("kept")
    }
}

fn text(s: &str) -> Event {
    Event::Text(s.into())
}

fn button(s: &str) -> Event {
    Event::Button(s.into())
}

#[tokio::test]
async fn a_whole_conversation_ends_with_a_tracking_number() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path());
    let mut chat42 = Chat::new("42");
    let steps = [
        text("/start"),
        button("lang:kk"),
        button("consent:yes"),
        text("3"),
        text("Көшеде жарық жоқ 🌙 \u{200F}"),
        Event::Location {
            lat: 43.238,
            lon: 76.945,
            address: None,
        },
        button("photos:done"),
        Event::Contact("+7 701 123 45 67".into()),
        text("Әбілқасымова Айгүл"),
    ];
    for event in steps {
        chat42.send(&gw, event).await;
    }
    let stored = chat42.kept();
    assert_eq!(stored.step, Step::Summary);
    let draft = stored.draft.expect("draft");
    assert_eq!(draft.category.as_deref(), Some("roads"));
    assert_eq!(draft.phone.as_deref(), Some("+77011234567"));

    let replies = chat42.send(&gw, button("summary:send")).await;
    assert!(replies[0].text.contains("OA-"), "{replies:?}");
    assert_eq!(gw.outbox_depth(), 1);
    let stored = chat42.kept();
    assert!(stored.draft.is_none());
    assert_eq!(stored.appeals.len(), 1);
}

#[tokio::test]
async fn no_to_consent_keeps_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path());
    let mut chat7 = Chat::new("7");
    chat7.send(&gw, text("hi")).await;
    chat7.send(&gw, button("lang:ru")).await;
    let replies = chat7.send(&gw, button("consent:no")).await;
    assert!(
        replies[0].text.contains("ничего не сохранили"),
        "{replies:?}"
    );
    assert!(chat7.held.is_none());
    assert_eq!(gw.outbox_depth(), 0);
}

#[tokio::test]
async fn a_too_large_photo_is_refused_and_the_caption_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path());
    let mut chat9 = Chat::new("9");
    for event in [
        text("/start"),
        button("lang:en"),
        button("consent:yes"),
        button("cat:roads"),
    ] {
        chat9.send(&gw, event).await;
    }
    let replies = chat9
        .send(
            &gw,
            Event::Photo {
                photo: PhotoResult::TooLarge { limit_mb: 20 },
                caption: Some("The lamp is broken".into()),
            },
        )
        .await;
    assert!(replies[0].text.contains("larger than 20 MB"), "{replies:?}");
    let stored = chat9.kept();
    let draft = stored.draft.expect("draft");
    assert_eq!(draft.text.as_deref(), Some("The lamp is broken"));
    assert!(draft.photos.is_empty());
    assert_eq!(stored.step, Step::Location);
}

#[test]
fn commands_are_recognised_with_a_bot_name() {
    assert_eq!(
        command_of("/start@OpenAlmatyBot x").as_deref(),
        Some("/start")
    );
    assert_eq!(command_of("  /STOP").as_deref(), Some("/stop"));
    assert_eq!(command_of("hello /start"), None);
}

#[tokio::test]
async fn a_voice_note_or_an_unknown_command_is_no_answer_and_the_question_comes_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path());
    let mut chat = Chat::new("11");
    for event in [
        text("/start"),
        button("lang:en"),
        button("consent:yes"),
        button("cat:roads"),
    ] {
        chat.send(&gw, event).await;
    }
    let replies = chat
        .send(&gw, Event::Unsupported(Unsupported::VoiceOrVideo))
        .await;
    assert_eq!(replies.len(), 2, "{replies:?}");
    assert!(replies[0].text.contains("personal-data rules"));
    assert!(replies[1].text.contains("Describe the problem"));
    let replies = chat.send(&gw, text("/register HR John Doe")).await;
    assert!(replies[0].text.contains("Unknown command"), "{replies:?}");
    assert!(replies[1].text.contains("Describe the problem"));
    let kept = chat.kept();
    assert_eq!(kept.step, Step::Text);
    assert_eq!(
        kept.draft.expect("draft").text,
        None,
        "not taken as the text"
    );
}

#[tokio::test]
async fn a_category_s_two_questions_are_answered_by_buttons_and_carried() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path());
    let mut chat = Chat::new("31");
    for event in [text("/start"), button("lang:en"), button("consent:yes")] {
        chat.send(&gw, event).await;
    }
    let replies = chat.send(&gw, button("cat:lighting")).await;
    let asked = replies.last().expect("a question");
    assert!(asked.text.contains("Lamp post number"), "{replies:?}");
    assert!(asked.buttons.iter().any(|b| b.id == "q:skip"), "{asked:?}");
    let replies = chat.send(&gw, button("q:skip")).await;
    let asked = replies.last().expect("the next question");
    assert!(asked.text.contains("What is wrong?"), "{replies:?}");
    let titles: Vec<&str> = asked.buttons.iter().map(|b| b.title.as_str()).collect();
    assert!(
        titles.contains(&"Not lit") && titles.contains(&"Lit in daytime"),
        "{titles:?}"
    );
    assert!(
        asked.list.is_some(),
        "more than three choices: a list on WhatsApp"
    );
    let replies = chat.send(&gw, button("q:not_lit")).await;
    assert_eq!(chat.kept().step, Step::Text, "{replies:?}");
    for event in [
        text("The street lamp at the bus stop is out."),
        Event::Location {
            lat: 43.238,
            lon: 76.945,
            address: None,
        },
        button("photos:done"),
        Event::Contact("+7 701 123 45 67".into()),
    ] {
        chat.send(&gw, event).await;
    }
    let replies = chat.send(&gw, text("Aigul")).await;
    assert!(
        replies
            .last()
            .is_some_and(|r| r.text.contains("What is wrong?: Not lit")),
        "the summary shows the answer: {replies:?}"
    );
    let replies = chat.send(&gw, button("summary:send")).await;
    assert!(replies[0].text.contains("OA-"), "{replies:?}");
    let draft_answers = &gw.outbox_records_json();
    assert!(
        draft_answers
            .iter()
            .any(|r| r.contains("\"attributes\":{\"fault\":\"not_lit\"}")),
        "{draft_answers:?}"
    );
}

#[tokio::test]
async fn a_gas_smell_in_a_chat_says_call_104_and_files_only_as_non_urgent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path());
    let mut chat = Chat::new("104");
    for event in [text("/start"), button("lang:ru"), button("consent:yes")] {
        chat.send(&gw, event).await;
    }
    let replies = chat.send(&gw, button("cat:utilities")).await;
    assert!(
        replies[0].text.contains("almaty.gov.kz"),
        "the category's notice comes first: {replies:?}"
    );
    let replies = chat.send(&gw, button("q:gas_smell")).await;
    let stop = replies.last().expect("the stopper");
    assert!(stop.text.contains("104"), "{stop:?}");
    assert_eq!(chat.kept().step, Step::Stopper);
    // Typing anything else does not get past it.
    let replies = chat.send(&gw, text("ну и что")).await;
    assert!(replies.last().is_some_and(|r| r.text.contains("104")));
    let replies = chat.send(&gw, button("stopper:cancel")).await;
    assert!(chat.kept().draft.is_none(), "{replies:?}");
    assert_eq!(gw.outbox_depth(), 0);

    for event in [
        text("/start"),
        button("lang:ru"),
        button("consent:yes"),
        button("cat:utilities"),
        button("q:gas_smell"),
    ] {
        chat.send(&gw, event).await;
    }
    let replies = chat.send(&gw, button("stopper:file")).await;
    assert!(
        replies
            .last()
            .is_some_and(|r| r.text.contains("С какого времени")),
        "on to the next question: {replies:?}"
    );
    let replies = chat.send(&gw, text("вчера")).await;
    assert!(
        replies.iter().any(|r| r.text.contains("06.12.2026 08:30")),
        "a time it cannot read is asked again with an example: {replies:?}"
    );
    for event in [
        text("05.12.2026 21:00"),
        text("В подъезде пахнет газом, газовщики уже были, просим проверить трубы."),
        Event::Location {
            lat: 43.238,
            lon: 76.945,
            address: None,
        },
        button("photos:done"),
        Event::Contact("+7 701 123 45 67".into()),
        text("Айгүл"),
        button("summary:send"),
    ] {
        chat.send(&gw, event).await;
    }
    let records = gw.outbox_records_json();
    assert!(
        records
            .iter()
            .any(|r| r.contains("\"emergency_notice_shown\":true")
                && r.contains("\"missing\":\"gas_smell\"")
                && r.contains("\"since\":\"2026-12-05T16:00:00Z\"")),
        "{records:?}"
    );
}
