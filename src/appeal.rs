//! The appeal: the message on `appeals.v1` that the case system reads.
//!
//! These types *are* the queue contract (`docs/contract.md`): their JSON Schemas in
//! `schemas/` are generated from them, and a test fails when the two drift apart. Change
//! them only by adding optional fields; anything else is `appeals.v2`.

use std::collections::BTreeMap;
use std::fmt;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The schema version every message of this major version carries.
pub(crate) const SCHEMA_VERSION: u32 = 1;

/// Where an appeal came in.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Channel {
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
    pub(crate) const ALL: [Channel; 9] = [
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
    pub(crate) fn as_str(self) -> &'static str {
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
    pub(crate) fn parse(name: &str) -> Option<Channel> {
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
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Language {
    Kk,
    Ru,
    En,
}

impl Language {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Language::Kk => "kk",
            Language::Ru => "ru",
            Language::En => "en",
        }
    }

    /// `kk`, `ru` or `en`, also from a tag such as `ru-KZ` or `kk_KZ`; `kz` is a common
    /// mistake for Kazakh and is accepted.
    pub(crate) fn parse(tag: &str) -> Option<Language> {
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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ConsentMethod {
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

/// What the citizen consented to; the purposes of regulation 6.1.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Purpose {
    /// Consider the appeal and answer it.
    Appeal,
    /// Informational messages by email and SMS.
    Notifications,
    /// Analytical information (only ever depersonalized).
    Analytics,
}

/// Where the problem is. Never where the person lives: a home address is not on the
/// allowlist of regulation 5.1.
#[derive(
    Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub(crate) struct Location {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) lat: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) lon: Option<f64>,
    /// The district of Almaty, where known: chosen on the budget form, sent by an
    /// integrator, or named as a district by the address ([`crate::district`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) district: Option<crate::district::District>,
}

/// What kind of file an attachment is; only photographs are allowed (regulation 5.1.8).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AttachmentKind {
    Photo,
}

/// A file that came with the appeal, addressed by its content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Attachment {
    pub(crate) kind: AttachmentKind,
    pub(crate) content_type: String,
    pub(crate) size: u64,
    /// Lower-case hex SHA-256 of the file's bytes.
    pub(crate) sha256: String,
}

/// The applicant's personal data: only the fields of regulation 5.1, each optional;
/// absent ones are omitted, never `null`.
#[derive(
    Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub(crate) struct Applicant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) last_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) first_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) patronymic: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) email: Option<String>,
    /// E.164, e.g. `+77011234567`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) phones: Vec<String>,
    /// 12 digits with a valid check digit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) iin: Option<String>,
    /// `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) birth_date: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) birth_place: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) nationality: Option<String>,
    /// The identity document's number, never a copy of the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id_document_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) education: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) speciality: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) position: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) employer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) qualification: Option<String>,
}

impl Applicant {
    /// The names of the fields that hold a value, for depersonalized statistics.
    pub(crate) fn present_fields(&self) -> Vec<&'static str> {
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
}

/// The consent that goes with an appeal (and, as its own message, to `consent.v1`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsentRecord {
    /// ULID of this consent.
    pub(crate) id: String,
    /// SHA-256 (hex) of the regulation text the citizen agreed to.
    pub(crate) policy_version: String,
    pub(crate) method: ConsentMethod,
    pub(crate) purposes: Vec<Purpose>,
    /// RFC 3339, UTC.
    #[schemars(extend("format" = "date-time"))]
    pub(crate) given_at: String,
    /// The agent or operator who captured it, or the integrator for `api`; `null` when
    /// the citizen gave it themselves.
    pub(crate) captured_by: Option<String>,
    /// Pseudonymous keys of the subject (see `subject_request`), so that a later
    /// withdrawal can be matched without the raw identifier.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) subject_keys: BTreeMap<String, String>,
}

/// A route on which the citizen can be answered.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ReplyChannel {
    Telegram,
    Whatsapp,
    Email,
    Sms,
}

/// What the notifier needs to answer the citizen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReplyTo {
    pub(crate) channel: ReplyChannel,
    /// E.164 phone for `sms`/`whatsapp`, an email address, or a Telegram chat id.
    pub(crate) address: String,
    /// `false`: an email address or a phone number typed by the citizen (web form,
    /// budget form, an integrator without the `confirmed_contacts` scope) and not proven
    /// yet: answers with content wait until the citizen confirms it (regulation 9.2,
    /// never to a third party). `true` or absent: proven by the channel (Telegram,
    /// WhatsApp, a 1308 call, the front office) or by the integrator. The case system
    /// carries it back in its reply as it came.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) confirmed: Option<bool>,
}

/// An appeal as the case system receives it on `appeals.v1` (`type: appeal`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Appeal {
    /// Always 1 on `appeals.v1`.
    pub(crate) schema_version: u32,
    /// ULID; the key of the appeal everywhere.
    pub(crate) id: String,
    /// What the citizen is shown, e.g. `OA-7K3M-9QX8-5`: Crockford base32 with a check
    /// symbol; numbers issued before the check symbol have none (`OA-7K3M-9QX2`).
    #[schemars(regex(
        pattern = r"^OA-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z])?$"
    ))]
    pub(crate) tracking_number: String,
    /// RFC 3339, UTC.
    #[schemars(extend("format" = "date-time"))]
    pub(crate) received_at: String,
    /// The date the answer is due (Almaty): fifteen working days after registration
    /// (Administrative Procedural Code, art. 76 p. 1), counted in the deployment's working
    /// calendar (`src/deadline.rs`). Later only when the body extends the term (up to two
    /// months, with notice to the applicant). Absent on appeals accepted before the
    /// gateway set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date"))]
    pub(crate) answer_by: Option<String>,
    /// The date (Almaty) by which an appeal the city is not competent to answer must be
    /// forwarded to the competent body, the applicant told: three working days after
    /// registration, in the same calendar. Absent as `answer_by`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("format" = "date"))]
    pub(crate) forward_by: Option<String>,
    pub(crate) channel: Channel,
    pub(crate) language: Language,
    /// A code of the service catalogue (`channels/catalogue.toml`).
    pub(crate) category: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) subject: Option<String>,
    /// The citizen's own words, as written, but for card numbers, IBANs and other
    /// people's IINs, which are masked (see `redactions`).
    pub(crate) text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) location: Option<Location>,
    #[serde(default)]
    pub(crate) attachments: Vec<Attachment>,
    /// The answers to the category's questions (`channels/catalogue.toml`), by question
    /// code: text, a number, or a list's keys; never a person's data (issue 29).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) attributes: BTreeMap<String, AttributeValue>,
    /// The citizen was told that this is an emergency to call about (a stopper: gas 104,
    /// 112, …) and filed it all the same, as non-urgent. Absent when no stopper was shown.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) emergency_notice_shown: bool,
    pub(crate) applicant: Applicant,
    pub(crate) consent: ConsentRecord,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reply_to: Option<ReplyTo>,
    /// Who entered the appeal (call-center agent, front-office operator), else `null`.
    pub(crate) agent_id: Option<String>,
    /// Names (never values) of the fields the policy removed.
    pub(crate) dropped_fields: Vec<String>,
    /// What the case system must notice; absent when there is nothing.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) flags: Vec<AppealFlag>,
    /// What the free-text guard masked in `subject` and `text`, counted by kind (never
    /// the values); absent when nothing was masked (`crate::free_text_guard`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) redactions: Vec<Redaction>,
}

/// Something the case system must notice about an appeal.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AppealFlag {
    /// No name and no contact: by the Administrative Procedural Code an anonymous appeal
    /// is not considered, except a report of a danger or a crime. The citizen said it
    /// reports a danger (a gas leak, an open manhole), so it was taken.
    AnonymousDanger,
    /// The text speaks of someone's health (a diagnosis, a disability, a pregnancy).
    /// The text is kept; the case system decides who may read it.
    SpecialCategoryHealth,
    /// The text speaks of someone's religion or belief.
    SpecialCategoryReligion,
    /// The text speaks of someone's political views.
    SpecialCategoryPoliticalViews,
    /// The text speaks of someone's criminal record.
    SpecialCategoryCriminalRecord,
}

/// What the free-text guard masks.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RedactionKind {
    /// A payment card number (Luhn-valid), masked to its last four digits.
    Card,
    /// A Kazakhstan IBAN (valid mod 97), masked but for its last four characters.
    Iban,
    /// An IIN that is not the applicant's own, masked whole.
    Iin,
}

/// How many values of one kind the free-text guard masked in an appeal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Redaction {
    pub(crate) kind: RedactionKind,
    pub(crate) count: u32,
}

/// The current time as RFC 3339 in UTC with second precision, as the contract shows.
/// One answer to a category's question ([`crate::attributes`]) as the appeal carries it: text for `string`, `text`, `datetime` (RFC
/// 3339) and `singlevaluelist` (the value's key), a number for `number`, the keys for
/// `multivaluelist`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub(crate) enum AttributeValue {
    Number(f64),
    Text(String),
    Keys(Vec<String>),
}

pub(crate) fn now_rfc3339() -> String {
    rfc3339(time::OffsetDateTime::now_utc())
}

/// A timestamp as RFC 3339 in UTC with second precision.
pub(crate) fn rfc3339(at: time::OffsetDateTime) -> String {
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
    }

    #[test]
    fn browser_language_tags() {
        assert_eq!(Language::parse("en-GB"), Some(Language::En));
        assert_eq!(Language::parse("RU"), Some(Language::Ru));
        assert_eq!(Language::parse("kk_KZ"), Some(Language::Kk));
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
