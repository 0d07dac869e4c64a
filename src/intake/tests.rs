use super::*;
use serde_json::json;

fn ctx() -> Context {
    Context {
        policies: Policies::embedded().expect("policies"),
        catalogue: Catalogue::embedded().expect("catalogue"),
        keyer: SubjectKeyer::new(b"test-secret"),
    }
}

fn intake() -> Intake {
    let mut intake = Intake::new(Channel::Api);
    intake.text = "Көшеде жарық жоқ, түнде қараңғы.".into();
    intake.category = Some("lighting".into());
    intake.consent = Some(RawConsent {
        method: ConsentMethod::Api,
        purposes: vec![Purpose::Notifications, Purpose::Appeal],
        given_at: None,
        captured_by: Some("crm".into()),
    });
    intake.applicant = serde_json::from_value(json!({
        "first_name": "Айгүл", "phones": ["8 701 123 45 67"], "religion": "x"
    }))
    .expect("map");
    intake
}

#[test]
fn an_appeal_is_normalized_filtered_and_consented() {
    let now = time::macros::datetime!(2026-11-25 09:30:00 UTC);
    let accepted = accept(&ctx(), intake(), now).expect("accepted");
    let appeal = &accepted.appeal;
    assert_eq!(appeal.language, Language::Kk);
    assert_eq!(appeal.applicant.phones, vec!["+77011234567"]);
    assert_eq!(appeal.dropped_fields, vec!["religion"]);
    assert_eq!(
        appeal.consent.purposes,
        vec![Purpose::Appeal, Purpose::Notifications]
    );
    assert_eq!(appeal.consent.given_at, "2026-11-25T09:30:00Z");
    assert_eq!(appeal.consent.subject_keys.len(), 1);
    assert_eq!(
        accepted.consent.appeal_id.as_deref(),
        Some(appeal.id.as_str())
    );
    assert_eq!(
        accepted.stats.applicant_fields,
        vec!["first_name", "phones"]
    );
    assert_eq!(accepted.stats.received_at_hour, "2026-11-25T09:00:00Z");
}

#[test]
fn no_consent_no_appeal() {
    let mut raw = intake();
    raw.consent = None;
    let errors = accept(&ctx(), raw, time::OffsetDateTime::now_utc()).expect_err("refused");
    assert_eq!(errors, vec![FieldError::new("consent", "consent_required")]);
}

#[test]
fn consent_must_cover_the_appeal_and_suit_the_channel() {
    let mut raw = intake();
    raw.channel = Channel::WebForm;
    raw.consent = Some(RawConsent {
        method: ConsentMethod::Verbal,
        purposes: vec![Purpose::Notifications],
        given_at: Some("2099-01-01T00:00:00Z".into()),
        captured_by: None,
    });
    let errors = accept(&ctx(), raw, time::OffsetDateTime::now_utc()).expect_err("refused");
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        vec!["consent.method", "consent.purposes", "consent.given_at"]
    );
}

#[test]
fn every_problem_is_reported_at_once() {
    let mut raw = intake();
    raw.text = " \u{200B} ".into();
    raw.category = Some("potholes".into());
    raw.location = Some(Location {
        address: None,
        lat: Some(91.0),
        lon: Some(76.9),
        district: None,
    });
    raw.reply_to = Some((ReplyChannel::Email, "not-an-email".into()));
    let errors = accept(&ctx(), raw, time::OffsetDateTime::now_utc()).expect_err("refused");
    let got: Vec<(&str, &str)> = errors.iter().map(|e| (e.field.as_str(), e.code)).collect();
    assert_eq!(
        got,
        vec![
            ("text", "required"),
            ("category", "unknown_category"),
            ("location.lat", "invalid_value"),
            ("reply_to.address", "invalid_email"),
        ]
    );
}

#[test]
fn attachments_other_than_photos_are_dropped() {
    let mut raw = intake();
    raw.attachments = vec![
        RawAttachment {
            kind: "photo".into(),
            content_type: "image/jpeg".into(),
            size: 1000,
            sha256: "a".repeat(64),
        },
        RawAttachment {
            kind: "id_document_scan".into(),
            content_type: "image/jpeg".into(),
            size: 1000,
            sha256: "b".repeat(64),
        },
    ];
    let accepted = accept(&ctx(), raw, time::OffsetDateTime::now_utc()).expect("accepted");
    assert_eq!(accepted.appeal.attachments.len(), 1);
    assert!(
        accepted
            .appeal
            .dropped_fields
            .contains(&"attachments.id_document_scan".to_owned())
    );
}

fn photo(sha256: &str) -> RawAttachment {
    RawAttachment {
        kind: "photo".into(),
        content_type: "image/jpeg".into(),
        size: 1000,
        sha256: sha256.into(),
    }
}

fn fields(errors: &[FieldError]) -> Vec<(&str, &str)> {
    errors.iter().map(|e| (e.field.as_str(), e.code)).collect()
}

#[test]
fn what_the_citizen_and_the_agent_gave_is_kept_normalized() {
    let mut raw = intake();
    raw.subject = Some("  Яма \n на дороге ".into());
    raw.agent_id = Some(" op-17 ".into());
    raw.reply_to = Some((ReplyChannel::Sms, "8 701 123 45 67".into()));
    let accepted = accept(&ctx(), raw, time::OffsetDateTime::now_utc()).expect("accepted");
    let appeal = &accepted.appeal;
    assert_eq!(appeal.category, "lighting");
    assert_eq!(appeal.subject.as_deref(), Some("Яма на дороге"));
    assert_eq!(appeal.agent_id.as_deref(), Some("op-17"));
    assert_eq!(appeal.consent.captured_by.as_deref(), Some("crm"));
    assert_eq!(
        appeal.reply_to,
        Some(ReplyTo {
            channel: ReplyChannel::Sms,
            address: "+77011234567".into(),
            confirmed: None,
        })
    );
}

#[test]
fn every_reply_route_gets_a_normalized_address() {
    for (channel, address, normalized) in [
        (ReplyChannel::Whatsapp, "+7 (701) 123-45-67", "+77011234567"),
        (ReplyChannel::Email, "Ivan@Mail.KZ", "Ivan@mail.kz"),
        (ReplyChannel::Telegram, " 123456789 ", "123456789"),
    ] {
        let mut raw = intake();
        raw.reply_to = Some((channel, address.into()));
        let accepted = accept(&ctx(), raw, time::OffsetDateTime::now_utc()).expect("accepted");
        let reply_to = accepted.appeal.reply_to.expect("reply_to");
        assert_eq!(reply_to.address, normalized);
    }
}

#[test]
fn blank_optional_values_are_absent_and_a_blank_category_is_the_default() {
    let mut raw = intake();
    raw.subject = Some(" \u{200B} ".into());
    raw.category = Some("  ".into());
    raw.agent_id = Some(" ".into());
    raw.location = Some(Location {
        address: Some("  ".into()),
        lat: None,
        lon: None,
        district: None,
    });
    if let Some(consent) = raw.consent.as_mut() {
        consent.captured_by = Some(" ".into());
    }
    let accepted = accept(&ctx(), raw, time::OffsetDateTime::now_utc()).expect("accepted");
    let appeal = &accepted.appeal;
    assert_eq!(appeal.subject, None);
    assert_eq!(appeal.category, DEFAULT_CATEGORY);
    assert_eq!(appeal.agent_id, None);
    assert_eq!(appeal.location, None);
    assert_eq!(appeal.consent.captured_by, None);
}

#[test]
fn every_length_limit_holds_at_its_edge() {
    let at_limits = || {
        let mut raw = intake();
        raw.text = "ж".repeat(MAX_TEXT_CHARS);
        raw.subject = Some("ж".repeat(MAX_LINE_CHARS));
        raw.location = Some(Location {
            address: Some("ж".repeat(MAX_LINE_CHARS)),
            lat: None,
            lon: None,
            district: None,
        });
        // The api channel keeps up to ten photos.
        raw.attachments = (0..10).map(|_| photo(&"a".repeat(64))).collect();
        raw.agent_id = Some("a".repeat(64));
        if let Some(consent) = raw.consent.as_mut() {
            consent.captured_by = Some("c".repeat(64));
        }
        raw
    };
    let now = time::OffsetDateTime::now_utc();
    let accepted = accept(&ctx(), at_limits(), now).expect("everything at its limit");
    assert_eq!(accepted.appeal.attachments.len(), 10);

    let mut over = at_limits();
    over.text.push('ж');
    over.subject = Some("ж".repeat(MAX_LINE_CHARS + 1));
    over.location = Some(Location {
        address: Some("ж".repeat(MAX_LINE_CHARS + 1)),
        lat: None,
        lon: None,
        district: None,
    });
    over.attachments.push(photo(&"a".repeat(64)));
    over.agent_id = Some("a".repeat(65));
    if let Some(consent) = over.consent.as_mut() {
        consent.captured_by = Some("c".repeat(65));
    }
    let errors = accept(&ctx(), over, now).expect_err("each one over");
    assert_eq!(
        fields(&errors),
        vec![
            ("consent.captured_by", "too_long"),
            ("text", "too_long"),
            ("subject", "too_long"),
            ("location.address", "too_long"),
            ("attachments", "too_long"),
            ("agent_id", "too_long"),
        ]
    );
}

#[test]
fn consent_may_be_dated_earlier_or_up_to_five_minutes_ahead() {
    let now = time::macros::datetime!(2026-11-25 09:30:00 UTC);
    let given_at = |at: &str| {
        let mut raw = intake();
        if let Some(consent) = raw.consent.as_mut() {
            consent.given_at = Some(at.into());
        }
        accept(&ctx(), raw, now)
    };
    let earlier = given_at("2026-11-24T15:00:00+05:00").expect("given yesterday");
    assert_eq!(earlier.appeal.consent.given_at, "2026-11-24T10:00:00Z");
    let skewed = given_at("2026-11-25T09:35:00Z").expect("a clock five minutes ahead");
    assert_eq!(skewed.appeal.consent.given_at, "2026-11-25T09:35:00Z");
    assert_eq!(
        fields(&given_at("2026-11-25T09:35:01Z").expect_err("in the future")),
        vec![("consent.given_at", "consent_in_future")]
    );
    // Before the regulation in force was approved there was nothing to consent to.
    let first_day = given_at("2024-09-25T00:00:00+05:00").expect("the first day");
    assert_eq!(first_day.appeal.consent.given_at, "2024-09-24T19:00:00Z");
    assert_eq!(
        fields(&given_at("2024-09-24T23:59:59+05:00").expect_err("before the edition")),
        vec![("consent.given_at", "consent_before_regulation")]
    );
    assert_eq!(
        fields(&given_at("yesterday").expect_err("not a time")),
        vec![("consent.given_at", "invalid_date")]
    );
}

#[test]
fn a_location_is_an_address_or_coordinates_or_both() {
    let located = |address: Option<&str>, lat: Option<f64>, lon: Option<f64>| {
        let mut raw = intake();
        raw.location = Some(Location {
            address: address.map(str::to_owned),
            lat,
            lon,
            district: None,
        });
        accept(&ctx(), raw, time::OffsetDateTime::now_utc())
    };
    let address = located(Some(" пр. Абая,  10 "), None, None).expect("an address");
    assert_eq!(
        address.appeal.location,
        Some(Location {
            address: Some("пр. Абая, 10".into()),
            lat: None,
            lon: None,
            district: None
        })
    );
    let point = located(None, Some(43.238), Some(76.945)).expect("a point in Almaty");
    assert_eq!(
        point.appeal.location,
        Some(Location {
            address: None,
            lat: Some(43.238),
            lon: Some(76.945),
            district: None
        })
    );
    located(None, Some(-90.0), Some(-180.0)).expect("the far corner of the map");
    assert_eq!(
        fields(&located(None, Some(43.2), None).expect_err("half a point")),
        vec![("location.lon", "required")]
    );
    assert_eq!(
        fields(&located(None, None, Some(76.9)).expect_err("half a point")),
        vec![("location.lat", "required")]
    );
    assert_eq!(
        fields(&located(None, Some(43.2), Some(180.5)).expect_err("off the map")),
        vec![("location.lon", "invalid_value")]
    );
}

#[test]
fn only_photos_with_a_content_hash_and_bytes_are_kept() {
    let mut raw = intake();
    let mut upper = photo(&"AB".repeat(32));
    upper.content_type = "Image/PNG".into();
    let mut gif = photo(&"a".repeat(64));
    gif.content_type = "image/gif".into();
    let mut empty = photo(&"a".repeat(64));
    empty.size = 0;
    raw.attachments = vec![
        upper,
        gif,
        empty,
        photo(&"z".repeat(64)),
        photo(&"a".repeat(63)),
    ];
    let errors = accept(&ctx(), raw, time::OffsetDateTime::now_utc()).expect_err("refused");
    assert_eq!(
        fields(&errors),
        vec![
            ("attachments[1]", "invalid_value"),
            ("attachments[2]", "invalid_value"),
            ("attachments[3]", "invalid_value"),
            ("attachments[4]", "invalid_value"),
        ]
    );
    let mut raw = intake();
    let mut upper = photo(&"AB".repeat(32));
    upper.content_type = "Image/PNG".into();
    raw.attachments = vec![upper];
    let accepted = accept(&ctx(), raw, time::OffsetDateTime::now_utc()).expect("accepted");
    assert_eq!(
        accepted.appeal.attachments,
        vec![Attachment {
            kind: AttachmentKind::Photo,
            content_type: "image/png".into(),
            size: 1000,
            sha256: "ab".repeat(32),
        }]
    );
}
