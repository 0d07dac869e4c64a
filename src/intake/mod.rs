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
use crate::attributes::{self, AttributeValue};
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
    /// Whether an email or SMS `reply_to` is proven (see `appeal::ReplyTo::confirmed`):
    /// `Some(false)` for a contact the citizen typed, `Some(true)` when an integrator
    /// with the scope says so, `None` where the channel proves it.
    pub(crate) reply_confirmed: Option<bool>,
    pub(crate) agent_id: Option<String>,
    /// Names of fields the adapter already dropped (unknown top-level fields).
    pub(crate) dropped: Vec<String>,
    /// Flags the adapter raised (e.g. an anonymous report of a danger).
    pub(crate) flags: Vec<AppealFlag>,
    /// Answers to the category's questions, by question code, untrusted.
    pub(crate) attributes: BTreeMap<String, Value>,
    /// The citizen read the emergency stopper and files the appeal as non-urgent.
    pub(crate) emergency_notice_shown: bool,
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
            reply_confirmed: None,
            agent_id: None,
            dropped: Vec::new(),
            flags: Vec::new(),
            attributes: BTreeMap::new(),
            emergency_notice_shown: false,
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

    let attributes = match ctx.catalogue.get(&category) {
        Some(found) => {
            let mut unknown = Vec::new();
            let answers = attributes::check(
                &found.questions,
                &intake.attributes,
                &mut errors,
                &mut unknown,
            );
            dropped.extend(unknown.iter().map(|n| safe_field_name(n)));
            stop_at_emergency(
                ctx,
                found,
                &answers,
                intake.emergency_notice_shown,
                &mut errors,
            );
            answers
        }
        None => BTreeMap::new(),
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
                confirmed: match channel {
                    ReplyChannel::Email | ReplyChannel::Sms => intake.reply_confirmed,
                    ReplyChannel::Telegram | ReplyChannel::Whatsapp => None,
                },
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
    let attributes = attributes
        .into_iter()
        .map(|(code, answer)| match answer {
            AttributeValue::Text(t) => (
                code,
                AttributeValue::Text(free_text_guard::guard(&t, own_iin, &mut findings)),
            ),
            other => (code, other),
        })
        .collect();
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
        attributes,
        emergency_notice_shown: intake.emergency_notice_shown,
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

/// An emergency (a stopper of the category or of an answer) is not filed as a routine
/// appeal unless the citizen was told to call and files it all the same
/// (`emergency_notice_shown`): otherwise `emergency_call_now` on the field that raised it,
/// which every channel turns into the number to call (issue 29, point 3).
fn stop_at_emergency(
    ctx: &Context,
    category: &crate::catalogue::Category,
    answers: &BTreeMap<String, AttributeValue>,
    shown: bool,
    errors: &mut Vec<FieldError>,
) {
    if shown || ctx.catalogue.stopper(category, answers).is_none() {
        return;
    }
    let field = match attributes::stopper_of(&category.questions, answers) {
        Some((question, _)) if category.stopper.is_none() => {
            format!("attributes.{}", question.code)
        }
        _ => "category".to_owned(),
    };
    errors.push(FieldError::new(field, "emergency_call_now"));
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
mod tests;
