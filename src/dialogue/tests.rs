//! The dialogue as a citizen goes through it, against a real outbox and store in a
//! temporary directory (no transport, no Redis).

use super::*;
use crate::catalogue::Catalogue;
use crate::intake::Context;
use crate::metrics::Metrics;
use crate::outbox::Outbox;
use crate::policy::Policies;
use crate::subject::SubjectKeyer;

fn gateway(dir: &std::path::Path) -> Gateway {
    Gateway {
        ctx: Context {
            policies: Policies::embedded().expect("policies"),
            catalogue: Catalogue::embedded().expect("catalogue"),
            keyer: SubjectKeyer::new(b"test-secret"),
        },
        outbox: Outbox::open(dir, Duration::from_secs(3600)).expect("outbox"),
        metrics: Metrics::new(),
        status: crate::status::StatusBoard::new(None, "", Default::default()),
        regulation_url: "https://open-almaty.kz/regulation".to_owned(),
        tracking: (crate::tracking::PermutationKey::derive(b"test-secret"), 0),
    }
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
    let engine = Engine::new(Store::open(dir.path()).expect("store"));
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
        engine
            .handle(&gw, from("42", event))
            .await
            .expect("handled");
    }
    let stored = engine
        .store()
        .load("telegram:42")
        .expect("load")
        .expect("kept");
    assert_eq!(stored.step, Step::Summary);
    let draft = stored.draft.expect("draft");
    assert_eq!(draft.category.as_deref(), Some("roads"));
    assert_eq!(draft.phone.as_deref(), Some("+77011234567"));

    let replies = engine
        .handle(&gw, from("42", button("summary:send")))
        .await
        .expect("sent");
    assert!(replies[0].text.contains("OA-"), "{replies:?}");
    assert_eq!(gw.outbox.depth(), 1);
    let stored = engine
        .store()
        .load("telegram:42")
        .expect("load")
        .expect("kept");
    assert!(stored.draft.is_none());
    assert_eq!(stored.appeals.len(), 1);
}

#[tokio::test]
async fn no_to_consent_keeps_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path());
    let engine = Engine::new(Store::open(dir.path()).expect("store"));
    engine
        .handle(&gw, from("7", text("hi")))
        .await
        .expect("greeting");
    engine
        .handle(&gw, from("7", button("lang:ru")))
        .await
        .expect("language");
    let replies = engine
        .handle(&gw, from("7", button("consent:no")))
        .await
        .expect("declined");
    assert!(
        replies[0].text.contains("ничего не сохранили"),
        "{replies:?}"
    );
    assert!(engine.store().load("telegram:7").expect("load").is_none());
    assert_eq!(gw.outbox.depth(), 0);
}

#[tokio::test]
async fn a_too_large_photo_is_refused_and_the_caption_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let gw = gateway(dir.path());
    let engine = Engine::new(Store::open(dir.path()).expect("store"));
    for event in [
        text("/start"),
        button("lang:en"),
        button("consent:yes"),
        button("cat:lighting"),
    ] {
        engine.handle(&gw, from("9", event)).await.expect("handled");
    }
    let replies = engine
        .handle(
            &gw,
            from(
                "9",
                Event::Photo {
                    photo: PhotoResult::TooLarge { limit_mb: 20 },
                    caption: Some("The lamp is broken".into()),
                },
            ),
        )
        .await
        .expect("handled");
    assert!(replies[0].text.contains("larger than 20 MB"), "{replies:?}");
    let stored = engine
        .store()
        .load("telegram:9")
        .expect("load")
        .expect("kept");
    let draft = stored.draft.expect("draft");
    assert_eq!(draft.text.as_deref(), Some("The lamp is broken"));
    assert!(draft.photos.is_empty());
    assert_eq!(stored.step, Step::Location);
}

#[tokio::test]
async fn an_abandoned_draft_is_erased_after_a_day() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    let day_ago = unix_now() - ABANDONED_AFTER.as_secs() - 60;
    let abandoned = Conversation {
        language: Some(Language::Ru),
        step: Step::Text,
        draft: Some(Draft {
            id: "x".into(),
            text: Some("личное".into()),
            ..Draft::default()
        }),
        updated_at: day_ago,
        ..Conversation::default()
    };
    let with_appeals = Conversation {
        appeals: vec!["OA-AAAA-BBBB".into()],
        ..abandoned.clone()
    };
    let fresh = Conversation {
        updated_at: unix_now(),
        ..abandoned.clone()
    };
    store.save("telegram:1", Some(&abandoned)).expect("save");
    store.save("telegram:2", Some(&with_appeals)).expect("save");
    store.save("telegram:3", Some(&fresh)).expect("save");
    let cutoff = unix_now() - ABANDONED_AFTER.as_secs();
    assert_eq!(store.sweep(cutoff, 0).expect("sweep"), 2);
    assert!(store.load("telegram:1").expect("load").is_none());
    let kept = store.load("telegram:2").expect("load").expect("kept");
    assert!(kept.draft.is_none() && kept.appeals.len() == 1);
    assert!(
        store
            .load("telegram:3")
            .expect("load")
            .expect("kept")
            .draft
            .is_some()
    );
}

#[test]
fn a_delivery_is_claimed_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    assert!(store.claim("telegram:1", 1).expect("claim"));
    assert!(!store.claim("telegram:1", 2).expect("claim"));
    store.release("telegram:1").expect("release");
    assert!(store.claim("telegram:1", 3).expect("claim"));
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
