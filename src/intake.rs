//! The intake: what a channel adapter hands in ([`Intake`]) and the one function,
//! [`accept`], that turns it into an accepted appeal — normalized, filtered by the
//! policy, with its consent — or into field errors. It knows nothing of channels'
//! protocols and nothing of storage.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::analytics::AppealStats;
use crate::appeal::{
    self, Appeal, AppealFlag, Attachment, AttachmentKind, Channel, ConsentMethod, ConsentRecord,
    Language, Location, Purpose, ReplyChannel, ReplyTo,
};
use crate::catalogue::{Catalogue, DEFAULT_CATEGORY};
use crate::consent::{ConsentEvent, POLICY_VERSION};
use crate::field_error::FieldError;
use crate::free_text_guard;
use crate::normalize;
use crate::policy::{Policies, safe_field_name};
use crate::subject::{Identifiers, SubjectKeyer};

/// Longest appeal text, in characters (a long letter; beyond it is not an appeal).
pub(crate) const MAX_TEXT_CHARS: usize = 20_000;
/// Longest subject line and address, in characters.
pub(crate) const MAX_LINE_CHARS: usize = 300;
/// How far in the future a consent time may be (clock skew between systems).
const CLOCK_SKEW: time::Duration = time::Duration::minutes(5);
/// The day the regulation in force was approved (25 September 2024, Almaty time): no
/// consent under it can be older (issue 17, point 8).
pub(crate) const REGULATION_EDITION: time::OffsetDateTime =
    time::macros::datetime!(2024-09-25 00:00:00 +05:00);

/// Consent as the channel captured it.
#[derive(Debug, Clone)]
pub(crate) struct RawConsent {
    pub(crate) method: ConsentMethod,
    pub(crate) purposes: Vec<Purpose>,
    /// RFC 3339; the time of receipt when absent.
    pub(crate) given_at: Option<String>,
    /// The agent, operator or integrator that captured it.
    pub(crate) captured_by: Option<String>,
}

/// An attachment as described by the channel.
#[derive(Debug, Clone)]
pub(crate) struct RawAttachment {
    pub(crate) kind: String,
    pub(crate) content_type: String,
    pub(crate) size: u64,
    pub(crate) sha256: String,
}

/// A channel-neutral appeal as an adapter produces it: typed where the channel's
/// protocol already settles the type, raw where the policy must decide.
#[derive(Debug, Clone)]
pub(crate) struct Intake {
    pub(crate) channel: Channel,
    /// The language the channel knows the citizen uses; detected from the text if absent.
    pub(crate) language: Option<Language>,
    pub(crate) category: Option<String>,
    pub(crate) subject: Option<String>,
    pub(crate) text: String,
    pub(crate) location: Option<Location>,
    pub(crate) attachments: Vec<RawAttachment>,
    /// Everything the citizen said about themselves, by field name, untrusted.
    pub(crate) applicant: BTreeMap<String, Value>,
    pub(crate) consent: Option<RawConsent>,
    /// Where to answer: a reply channel and a raw address.
    pub(crate) reply_to: Option<(ReplyChannel, String)>,
    pub(crate) agent_id: Option<String>,
    /// Names of fields the adapter already dropped (unknown top-level fields).
    pub(crate) dropped: Vec<String>,
    /// Flags the adapter raised (e.g. an anonymous report of a danger).
    pub(crate) flags: Vec<AppealFlag>,
}

impl Intake {
    /// An empty intake on a channel, to be filled by an adapter.
    pub(crate) fn new(channel: Channel) -> Intake {
        Intake {
            channel,
            language: None,
            category: None,
            subject: None,
            text: String::new(),
            location: None,
            attachments: Vec::new(),
            applicant: BTreeMap::new(),
            consent: None,
            reply_to: None,
            agent_id: None,
            dropped: Vec::new(),
            flags: Vec::new(),
        }
    }
}

/// What the pipeline needs besides the intake.
#[derive(Debug, Clone)]
pub(crate) struct Context {
    pub(crate) policies: Policies,
    pub(crate) catalogue: Catalogue,
    pub(crate) keyer: SubjectKeyer,
}

/// An accepted appeal and the messages that go with it.
#[derive(Debug, Clone)]
pub(crate) struct Accepted {
    pub(crate) appeal: Appeal,
    pub(crate) consent: ConsentEvent,
    pub(crate) stats: AppealStats,
}

/// Normalizes an intake, applies the channel's policy and records consent. Either the
/// whole appeal is acceptable or every problem found is returned, each by field.
pub(crate) fn accept(
    ctx: &Context,
    intake: Intake,
    now: time::OffsetDateTime,
) -> Result<Accepted, Vec<FieldError>> {
    let policy = ctx.policies.channel(intake.channel);
    let mut errors = Vec::new();
    let mut dropped: Vec<String> = intake.dropped.iter().map(|n| safe_field_name(n)).collect();

    let consent = match &intake.consent {
        None => {
            errors.push(FieldError::new("consent", "consent_required"));
            None
        }
        Some(raw) => check_consent(raw, &policy.consent_methods, now, &mut errors),
    };

    let text = normalize::text(&intake.text);
    if text.is_empty() {
        errors.push(FieldError::new("text", "required"));
    } else if text.chars().count() > MAX_TEXT_CHARS {
        errors.push(FieldError::new("text", "too_long"));
    }
    let subject = intake
        .subject
        .as_deref()
        .map(normalize::line)
        .filter(|s| !s.is_empty());
    if subject
        .as_ref()
        .is_some_and(|s| s.chars().count() > MAX_LINE_CHARS)
    {
        errors.push(FieldError::new("subject", "too_long"));
    }

    let category = match intake.category.as_deref().map(normalize::line) {
        None => DEFAULT_CATEGORY.to_owned(),
        Some(code) if code.is_empty() => DEFAULT_CATEGORY.to_owned(),
        Some(code) => {
            if ctx.catalogue.get(&code).is_none() {
                errors.push(FieldError::new("category", "unknown_category"));
            }
            code
        }
    };

    let location = intake
        .location
        .as_ref()
        .and_then(|l| check_location(l, &mut errors));

    let mut attachments = Vec::new();
    for (i, raw) in intake.attachments.iter().enumerate() {
        if !policy.attachment_kinds.contains(raw.kind.as_str()) {
            dropped.push(format!("attachments.{}", safe_field_name(&raw.kind)));
            continue;
        }
        match check_attachment(raw) {
            Some(a) => attachments.push(a),
            None => errors.push(FieldError::new(
                format!("attachments[{i}]"),
                "invalid_value",
            )),
        }
    }
    if attachments.len() > policy.max_attachments {
        errors.push(FieldError::new("attachments", "too_long"));
    }

    let filtered = policy.filter_applicant(&intake.applicant, now.date());
    errors.extend(filtered.errors);
    dropped.extend(filtered.dropped);
    dropped.sort();
    dropped.dedup();

    let reply_to = match &intake.reply_to {
        None => None,
        Some((channel, address)) => match reply_address(*channel, address) {
            Ok(address) => Some(ReplyTo {
                channel: *channel,
                address,
            }),
            Err(code) => {
                errors.push(FieldError::new("reply_to.address", code));
                None
            }
        },
    };

    let agent_id = intake
        .agent_id
        .as_deref()
        .map(normalize::line)
        .filter(|a| !a.is_empty());
    if agent_id.as_ref().is_some_and(|a| a.len() > 64) {
        errors.push(FieldError::new("agent_id", "too_long"));
    }

    let (Some(mut consent), true) = (consent, errors.is_empty()) else {
        return Err(errors);
    };
    consent.subject_keys = ctx
        .keyer
        .keys(&Identifiers::of_applicant(&filtered.applicant));

    let language = intake
        .language
        .or_else(|| normalize::language_of(&[subject.as_deref().unwrap_or(""), &text]))
        .unwrap_or(Language::Ru);
    // Issue 16, point 4: after the policy, so that "the applicant's own IIN" is the one
    // the channel kept; the length checks above saw the text as written.
    let mut findings = free_text_guard::Findings::default();
    let own_iin = filtered.applicant.iin.as_deref();
    let subject = subject.map(|s| free_text_guard::guard(&s, own_iin, &mut findings));
    let text = free_text_guard::guard(&text, own_iin, &mut findings);
    let mut flags = intake.flags.clone();
    flags.extend(findings.flags());
    flags.sort();
    flags.dedup();
    let id = ulid::Ulid::new().to_string();
    let appeal = Appeal {
        schema_version: appeal::SCHEMA_VERSION,
        id: id.clone(),
        // Issued by the pipeline when it stores the appeal (see `crate::tracking`).
        tracking_number: String::new(),
        received_at: appeal::rfc3339(now),
        // Set by the pipeline in the deployment's working calendar (`crate::deadline`).
        answer_by: None,
        forward_by: None,
        channel: intake.channel,
        language,
        category,
        subject,
        text,
        location,
        attachments,
        applicant: filtered.applicant,
        consent,
        reply_to,
        agent_id,
        dropped_fields: dropped,
        flags,
        redactions: findings.redactions(),
    };
    let consent = ConsentEvent::given(&appeal.consent, &id, appeal.channel);
    let stats = AppealStats::of(&appeal, ulid::Ulid::new().to_string());
    Ok(Accepted {
        appeal,
        consent,
        stats,
    })
}

fn check_consent(
    raw: &RawConsent,
    allowed: &[ConsentMethod],
    now: time::OffsetDateTime,
    errors: &mut Vec<FieldError>,
) -> Option<ConsentRecord> {
    let before = errors.len();
    if !allowed.contains(&raw.method) {
        errors.push(FieldError::new(
            "consent.method",
            "method_not_allowed_for_channel",
        ));
    }
    if !raw.purposes.contains(&Purpose::Appeal) {
        errors.push(FieldError::new("consent.purposes", "consent_required"));
    }
    let given_at = match raw.given_at.as_deref() {
        None => appeal::rfc3339(now),
        Some(text) => {
            match time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
            {
                Ok(at) if at > now + CLOCK_SKEW => {
                    errors.push(FieldError::new("consent.given_at", "consent_in_future"));
                    String::new()
                }
                Ok(at) if at < REGULATION_EDITION => {
                    errors.push(FieldError::new(
                        "consent.given_at",
                        "consent_before_regulation",
                    ));
                    String::new()
                }
                Ok(at) => appeal::rfc3339(at),
                Err(_) => {
                    errors.push(FieldError::new("consent.given_at", "invalid_date"));
                    String::new()
                }
            }
        }
    };
    let captured_by = raw
        .captured_by
        .as_deref()
        .map(normalize::line)
        .filter(|c| !c.is_empty());
    if captured_by.as_ref().is_some_and(|c| c.len() > 64) {
        errors.push(FieldError::new("consent.captured_by", "too_long"));
    }
    if errors.len() != before {
        return None;
    }
    let mut purposes = raw.purposes.clone();
    purposes.sort();
    purposes.dedup();
    Some(ConsentRecord {
        id: ulid::Ulid::new().to_string(),
        policy_version: POLICY_VERSION.clone(),
        method: raw.method,
        purposes,
        given_at,
        captured_by,
        subject_keys: BTreeMap::new(),
    })
}

fn check_location(raw: &Location, errors: &mut Vec<FieldError>) -> Option<Location> {
    let address = raw
        .address
        .as_deref()
        .map(normalize::line)
        .filter(|a| !a.is_empty());
    if address
        .as_ref()
        .is_some_and(|a| a.chars().count() > MAX_LINE_CHARS)
    {
        errors.push(FieldError::new("location.address", "too_long"));
    }
    match (raw.lat, raw.lon) {
        (Some(lat), Some(lon)) => {
            if !(-90.0..=90.0).contains(&lat) {
                errors.push(FieldError::new("location.lat", "invalid_value"));
            }
            if !(-180.0..=180.0).contains(&lon) {
                errors.push(FieldError::new("location.lon", "invalid_value"));
            }
        }
        (None, None) => {}
        (None, Some(_)) => errors.push(FieldError::new("location.lat", "required")),
        (Some(_), None) => errors.push(FieldError::new("location.lon", "required")),
    }
    if address.is_none() && raw.lat.is_none() && raw.district.is_none() {
        return None;
    }
    let district = raw.district.or_else(|| {
        address
            .as_deref()
            .and_then(crate::district::District::named_in)
    });
    Some(Location {
        address,
        lat: raw.lat,
        lon: raw.lon,
        district,
    })
}

/// Photographs the gateway accepts, by media type.
const PHOTO_TYPES: [&str; 4] = ["image/jpeg", "image/png", "image/webp", "image/heic"];

fn check_attachment(raw: &RawAttachment) -> Option<Attachment> {
    let sha256 = raw.sha256.to_ascii_lowercase();
    let hex_ok = sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit());
    let content_type = raw.content_type.to_ascii_lowercase();
    if !hex_ok || !PHOTO_TYPES.contains(&content_type.as_str()) || raw.size == 0 {
        return None;
    }
    Some(Attachment {
        kind: AttachmentKind::Photo,
        content_type,
        size: raw.size,
        sha256,
    })
}

fn reply_address(channel: ReplyChannel, raw: &str) -> Result<String, &'static str> {
    let result = match channel {
        ReplyChannel::Email => normalize::email(raw),
        ReplyChannel::Sms | ReplyChannel::Whatsapp => normalize::phone(raw),
        ReplyChannel::Telegram => normalize::chat_id(raw),
    };
    result.map_err(|e| e.code())
}

#[cfg(test)]
mod tests {
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
                address: "+77011234567".into()
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
}
