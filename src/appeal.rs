//! The appeal: the message on `appeals.v1` that the case system reads.
//!
//! These types *are* the queue contract (`docs/contract.md`): their JSON Schemas in
//! `schemas/` are generated from them, and a test fails when the two drift apart. Change
//! them only by adding optional fields; anything else is `appeals.v2`.

use std::collections::BTreeMap;
use std::fmt;

use rand::Rng;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The schema version every message of this major version carries.
pub const SCHEMA_VERSION: u32 = 1;

/// Where an appeal came in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    WebForm,
    BudgetPortal,
    CallCenter,
    FrontOffice,
    Telegram,
    Whatsapp,
    Email,
    Open311,
    Api,
}

impl Channel {
    /// Every channel, in the order of the contract.
    pub const ALL: [Channel; 9] = [
        Channel::WebForm,
        Channel::BudgetPortal,
        Channel::CallCenter,
        Channel::FrontOffice,
        Channel::Telegram,
        Channel::Whatsapp,
        Channel::Email,
        Channel::Open311,
        Channel::Api,
    ];

    /// The wire name, also the name of the channel's policy file and its metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::WebForm => "web_form",
            Channel::BudgetPortal => "budget_portal",
            Channel::CallCenter => "call_center",
            Channel::FrontOffice => "front_office",
            Channel::Telegram => "telegram",
            Channel::Whatsapp => "whatsapp",
            Channel::Email => "email",
            Channel::Open311 => "open311",
            Channel::Api => "api",
        }
    }

    /// The channel with this wire name.
    pub fn parse(name: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == name)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The language of an appeal; the answer is given in it (Administrative Procedural Code).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    Kk,
    Ru,
    En,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Kk => "kk",
            Language::Ru => "ru",
            Language::En => "en",
        }
    }

    /// `kk`, `ru` or `en`, also from a tag such as `ru-KZ` or `kk_KZ`; `kz` is a common
    /// mistake for Kazakh and is accepted.
    pub fn parse(tag: &str) -> Option<Language> {
        let primary = tag.split(['-', '_']).next()?.to_ascii_lowercase();
        match primary.as_str() {
            "kk" | "kz" => Some(Language::Kk),
            "ru" => Some(Language::Ru),
            "en" => Some(Language::En),
            _ => None,
        }
    }
}

/// How the citizen's consent was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConsentMethod {
    /// An unticked checkbox the citizen ticked (web forms).
    Checkbox,
    /// Read aloud from a script by a call-center agent and confirmed.
    Verbal,
    /// A signed consent form at the front office.
    Written,
    /// An "I agree" button in a messenger.
    BotButton,
    /// Sending the appeal is the consent (regulation 7.1), e.g. by email.
    BySubmission,
    /// Captured by an integrator's system and asserted through the API.
    Api,
}

impl ConsentMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentMethod::Checkbox => "checkbox",
            ConsentMethod::Verbal => "verbal",
            ConsentMethod::Written => "written",
            ConsentMethod::BotButton => "bot_button",
            ConsentMethod::BySubmission => "by_submission",
            ConsentMethod::Api => "api",
        }
    }
}

/// What the citizen consented to; the purposes of regulation 6.1.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    /// Consider the appeal and answer it.
    Appeal,
    /// Informational messages by email and SMS.
    Notifications,
    /// Analytical information (only ever depersonalized).
    Analytics,
}

/// Where the problem is. Never where the person lives: a home address is not on the
/// allowlist of regulation 5.1.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Location {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lon: Option<f64>,
}

/// What kind of file an attachment is; only photographs are allowed (regulation 5.1.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttachmentKind {
    Photo,
}

/// A file that came with the appeal, addressed by its content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Attachment {
    pub kind: AttachmentKind,
    pub content_type: String,
    pub size: u64,
    /// Lower-case hex SHA-256 of the file's bytes.
    pub sha256: String,
}

/// The applicant's personal data: only the fields of regulation 5.1, each optional;
/// absent ones are omitted, never `null`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Applicant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patronymic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// E.164, e.g. `+77011234567`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub phones: Vec<String>,
    /// 12 digits with a valid check digit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iin: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub birth_place: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nationality: Option<String>,
    /// The identity document's number, never a copy of the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_document_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub education: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speciality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub employer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qualification: Option<String>,
}

impl Applicant {
    /// The names of the fields that hold a value, for depersonalized statistics.
    pub fn present_fields(&self) -> Vec<&'static str> {
        let singles = [
            ("last_name", &self.last_name),
            ("first_name", &self.first_name),
            ("patronymic", &self.patronymic),
            ("email", &self.email),
            ("iin", &self.iin),
            ("birth_date", &self.birth_date),
            ("birth_place", &self.birth_place),
            ("nationality", &self.nationality),
            ("id_document_number", &self.id_document_number),
            ("education", &self.education),
            ("speciality", &self.speciality),
            ("position", &self.position),
            ("employer", &self.employer),
            ("qualification", &self.qualification),
        ];
        let mut names: Vec<&'static str> = singles
            .iter()
            .filter(|(_, v)| v.is_some())
            .map(|(n, _)| *n)
            .collect();
        if !self.phones.is_empty() {
            names.push("phones");
        }
        names.sort_unstable();
        names
    }

    /// True when the applicant can be neither named nor reached.
    pub fn is_anonymous(&self) -> bool {
        self.last_name.is_none()
            && self.first_name.is_none()
            && self.email.is_none()
            && self.phones.is_empty()
            && self.iin.is_none()
    }
}

/// The consent that goes with an appeal (and, as its own message, to `consent.v1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentRecord {
    /// ULID of this consent.
    pub id: String,
    /// SHA-256 (hex) of the regulation text the citizen agreed to.
    pub policy_version: String,
    pub method: ConsentMethod,
    pub purposes: Vec<Purpose>,
    /// RFC 3339, UTC.
    #[schemars(extend("format" = "date-time"))]
    pub given_at: String,
    /// The agent or operator who captured it, or the integrator for `api`; `null` when
    /// the citizen gave it themselves.
    pub captured_by: Option<String>,
    /// Pseudonymous keys of the subject (see `subject_request`), so that a later
    /// withdrawal can be matched without the raw identifier.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub subject_keys: BTreeMap<String, String>,
}

/// A route on which the citizen can be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReplyChannel {
    Telegram,
    Whatsapp,
    Email,
    Sms,
}

/// What the notifier needs to answer the citizen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyTo {
    pub channel: ReplyChannel,
    /// E.164 phone for `sms`/`whatsapp`, an email address, or a Telegram chat id.
    pub address: String,
}

/// An appeal as the case system receives it on `appeals.v1` (`type: appeal`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Appeal {
    /// Always 1 on `appeals.v1`.
    pub schema_version: u32,
    /// ULID; the key of the appeal everywhere.
    pub id: String,
    /// What the citizen is shown, e.g. `OA-7K3M-9QX2`.
    #[schemars(regex(pattern = r"^OA-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$"))]
    pub tracking_number: String,
    /// RFC 3339, UTC.
    #[schemars(extend("format" = "date-time"))]
    pub received_at: String,
    pub channel: Channel,
    pub language: Language,
    /// A code of the service catalogue (`channels/catalogue.toml`).
    pub category: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// The citizen's own words, as written.
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    pub applicant: Applicant,
    pub consent: ConsentRecord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<ReplyTo>,
    /// Who entered the appeal (call-center agent, front-office operator), else `null`.
    pub agent_id: Option<String>,
    /// Names (never values) of the fields the policy removed.
    pub dropped_fields: Vec<String>,
    /// What the case system must notice; absent when there is nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<AppealFlag>,
}

/// Something the case system must notice about an appeal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AppealFlag {
    /// No name and no contact: by the Administrative Procedural Code an anonymous appeal
    /// is not considered, except a report of a danger or a crime. The citizen said it
    /// reports a danger (a gas leak, an open manhole), so it was taken.
    AnonymousDanger,
}

/// Crockford's base-32 alphabet: no I, L, O or U, so a number read over the phone is not
/// misheard.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new random tracking number `OA-XXXX-XXXX` (40 random bits). Uniqueness within an
/// instance is enforced by the outbox, which refuses a number it has seen.
pub fn new_tracking_number() -> String {
    tracking_number(rand::rng().random())
}

/// The tracking number that spells the low 40 bits of `bits` in Crockford's base-32,
/// most significant first; the higher bits are never read.
fn tracking_number(bits: u64) -> String {
    let mut out = String::with_capacity(12);
    out.push_str("OA-");
    for i in 0..8 {
        if i == 4 {
            out.push('-');
        }
        let shift = 35 - 5 * i;
        out.push(CROCKFORD[((bits >> shift) & 31) as usize] as char);
    }
    out
}

/// The current time as RFC 3339 in UTC with second precision, as the contract shows.
pub fn now_rfc3339() -> String {
    rfc3339(time::OffsetDateTime::now_utc())
}

/// A timestamp as RFC 3339 in UTC with second precision.
pub fn rfc3339(at: time::OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    at.replace_nanosecond(0)
        .unwrap_or(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tracking_numbers_are_readable_and_vary() {
        let a = new_tracking_number();
        let b = new_tracking_number();
        assert_ne!(a, b);
        assert_eq!(a.len(), 12);
        assert!(a.starts_with("OA-"));
        assert!(
            a.chars()
                .skip(3)
                .all(|c| c == '-' || CROCKFORD.contains(&(c as u8)))
        );
    }

    #[test]
    fn timestamps_are_utc_seconds() {
        let t = time::macros::datetime!(2026-11-25 14:30:00.123 +5);
        assert_eq!(rfc3339(t), "2026-11-25T09:30:00Z");
    }

    #[test]
    fn language_tags() {
        assert_eq!(Language::parse("ru-KZ"), Some(Language::Ru));
        assert_eq!(Language::parse("kz"), Some(Language::Kk));
        assert_eq!(Language::parse("de"), None);
    }

    #[test]
    fn a_tracking_number_spells_40_bits_in_crockford_base32() {
        assert_eq!(tracking_number(0), "OA-0000-0000");
        assert_eq!(tracking_number((1 << 40) - 1), "OA-ZZZZ-ZZZZ");
        // Eight digits of five bits each, the most significant first.
        let spell = |digits: [u64; 8]| digits.iter().fold(0, |bits, d| (bits << 5) | d);
        assert_eq!(
            tracking_number(spell([0, 1, 2, 3, 4, 5, 6, 7])),
            "OA-0123-4567"
        );
        assert_eq!(
            tracking_number(spell([8, 9, 10, 11, 12, 13, 14, 15])),
            "OA-89AB-CDEF"
        );
        assert_eq!(
            tracking_number(spell([16, 17, 18, 19, 20, 21, 22, 23])),
            "OA-GHJK-MNPQ"
        );
        assert_eq!(
            tracking_number(spell([24, 25, 26, 27, 28, 29, 30, 31])),
            "OA-RSTV-WXYZ"
        );
    }

    #[test]
    fn wire_names_round_trip() {
        for channel in Channel::ALL {
            assert_eq!(Channel::parse(channel.as_str()), Some(channel));
            assert_eq!(channel.to_string(), channel.as_str());
            assert_eq!(
                serde_json::to_value(channel).expect("json"),
                serde_json::Value::from(channel.as_str())
            );
        }
        assert_eq!(Channel::parse("sms"), None);
        for language in [Language::Kk, Language::Ru, Language::En] {
            assert_eq!(Language::parse(language.as_str()), Some(language));
            assert_eq!(
                serde_json::to_value(language).expect("json"),
                serde_json::Value::from(language.as_str())
            );
        }
        for method in [
            ConsentMethod::Checkbox,
            ConsentMethod::Verbal,
            ConsentMethod::Written,
            ConsentMethod::BotButton,
            ConsentMethod::BySubmission,
            ConsentMethod::Api,
        ] {
            assert_eq!(
                serde_json::to_value(method).expect("json"),
                serde_json::Value::from(method.as_str())
            );
        }
    }

    #[test]
    fn browser_language_tags() {
        assert_eq!(Language::parse("en-GB"), Some(Language::En));
        assert_eq!(Language::parse("RU"), Some(Language::Ru));
        assert_eq!(Language::parse("kk_KZ"), Some(Language::Kk));
    }

    #[test]
    fn an_applicant_without_name_or_contact_is_anonymous() {
        assert!(Applicant::default().is_anonymous());
        let only = |set: fn(&mut Applicant)| {
            let mut applicant = Applicant::default();
            set(&mut applicant);
            applicant
        };
        // A nationality or an employer neither names nor reaches anyone.
        assert!(only(|a| a.nationality = Some("қазақ".into())).is_anonymous());
        assert!(only(|a| a.employer = Some("Акимат".into())).is_anonymous());
        for named in [
            only(|a| a.last_name = Some("Иванов".into())),
            only(|a| a.first_name = Some("Айгүл".into())),
            only(|a| a.email = Some("a@mail.kz".into())),
            only(|a| a.phones = vec!["+77011234567".into()]),
            only(|a| a.iin = Some("900101300017".into())),
        ] {
            assert!(!named.is_anonymous(), "{:?}", named.present_fields());
        }
    }

    #[test]
    fn present_fields_name_what_was_given() {
        assert!(Applicant::default().present_fields().is_empty());
        let applicant = Applicant {
            phones: vec!["+77011234567".into()],
            email: Some("a@mail.kz".into()),
            ..Applicant::default()
        };
        assert_eq!(applicant.present_fields(), vec!["email", "phones"]);
    }

    #[test]
    fn now_is_utc_to_the_second() {
        let now = now_rfc3339();
        let parsed =
            time::OffsetDateTime::parse(&now, &time::format_description::well_known::Rfc3339)
                .expect("RFC 3339");
        assert_eq!(parsed.offset(), time::UtcOffset::UTC);
        assert_eq!(parsed.nanosecond(), 0);
        assert!(now.ends_with('Z'), "{now}");
    }
}
