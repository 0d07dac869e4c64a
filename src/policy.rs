//! The policy: the allowlist of regulation 5.1 and each channel's narrower one, read from
//! `channels/*.toml`. Every applicant field not allowed is dropped and only its *name* is
//! recorded (regulation 6.6–6.7: no excess data); its value goes nowhere.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

use crate::appeal::{Applicant, Channel, ConsentMethod};
use crate::catalogue::toml_from_str;
use crate::field_error::FieldError;
use crate::normalize::{self, Invalid};

/// Longest one-line applicant field (a name, a place of birth, an employer).
const MAX_LINE_CHARS: usize = 200;
/// Most phone numbers one applicant may give.
const MAX_PHONES: usize = 5;

/// How an allowed field is normalized. Which fields exist is data (`channels/base.toml`);
/// how each is checked is code, so a field the code does not know stops the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    Line,
    Email,
    Phones,
    Iin,
    BirthDate,
    DocumentNumber,
}

fn kind_of(field: &str) -> Option<FieldKind> {
    Some(match field {
        "last_name" | "first_name" | "patronymic" | "birth_place" | "nationality" | "education"
        | "speciality" | "position" | "employer" | "qualification" => FieldKind::Line,
        "email" => FieldKind::Email,
        "phones" => FieldKind::Phones,
        "iin" => FieldKind::Iin,
        "birth_date" => FieldKind::BirthDate,
        "id_document_number" => FieldKind::DocumentNumber,
        _ => return None,
    })
}

#[derive(Debug, Deserialize)]
struct FieldList {
    fields: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct AttachmentRules {
    kinds: Vec<String>,
    #[serde(default)]
    max_count: Option<usize>,
}

#[derive(Debug, Deserialize)]
struct BaseFile {
    applicant: FieldList,
    attachments: AttachmentRules,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelFile {
    channel: String,
    consent_methods: Vec<ConsentMethod>,
    applicant: FieldList,
    attachments: AttachmentRules,
}

/// One channel's rules.
#[derive(Debug, Clone)]
pub(crate) struct ChannelPolicy {
    /// Applicant fields this channel may keep (a subset of regulation 5.1).
    pub(crate) fields: BTreeSet<String>,
    /// How consent may be captured on this channel.
    pub(crate) consent_methods: Vec<ConsentMethod>,
    /// Attachment kinds this channel may keep (`photo`, or none).
    pub(crate) attachment_kinds: BTreeSet<String>,
    pub(crate) max_attachments: usize,
}

/// The rules of every channel.
#[derive(Debug, Clone)]
pub(crate) struct Policies {
    by_channel: BTreeMap<Channel, ChannelPolicy>,
}

/// What the policy kept of an applicant and what it dropped.
#[derive(Debug, Default)]
pub(crate) struct Filtered {
    pub(crate) applicant: Applicant,
    pub(crate) dropped: Vec<String>,
    pub(crate) errors: Vec<FieldError>,
}

/// The policy files shipped with the binary: reviewed with the code, versioned with it.
const FILES: [(&str, &str); 9] = [
    ("web_form", include_str!("../channels/web_form.toml")),
    (
        "budget_portal",
        include_str!("../channels/budget_portal.toml"),
    ),
    ("call_center", include_str!("../channels/call_center.toml")),
    (
        "front_office",
        include_str!("../channels/front_office.toml"),
    ),
    ("telegram", include_str!("../channels/telegram.toml")),
    ("whatsapp", include_str!("../channels/whatsapp.toml")),
    ("email", include_str!("../channels/email.toml")),
    ("open311", include_str!("../channels/open311.toml")),
    ("api", include_str!("../channels/api.toml")),
];

impl Policies {
    /// The policies shipped in `channels/`.
    pub(crate) fn embedded() -> Result<Policies, String> {
        Policies::parse(include_str!("../channels/base.toml"), &FILES)
    }

    /// Policies from a base list and one file per channel. Refuses a channel field that
    /// is not in the base list, a base field the code cannot check, and a missing channel.
    fn parse(base: &str, files: &[(&str, &str)]) -> Result<Policies, String> {
        let base: BaseFile = toml_from_str(base).map_err(|e| format!("channels/base.toml: {e}"))?;
        for field in &base.applicant.fields {
            if kind_of(field).is_none() {
                return Err(format!(
                    "channels/base.toml: no normalization for field `{field}`"
                ));
            }
        }
        let allowed: BTreeSet<&String> = base.applicant.fields.iter().collect();
        let allowed_kinds: BTreeSet<&String> = base.attachments.kinds.iter().collect();
        let mut by_channel = BTreeMap::new();
        for (name, source) in files {
            let file: ChannelFile =
                toml_from_str(source).map_err(|e| format!("channels/{name}.toml: {e}"))?;
            let channel = Channel::parse(&file.channel)
                .filter(|c| c.as_str() == *name)
                .ok_or_else(|| format!("channels/{name}.toml: `channel` must be `{name}`"))?;
            for field in &file.applicant.fields {
                if !allowed.contains(field) {
                    return Err(format!(
                        "channels/{name}.toml: field `{field}` is not on the allowlist of regulation 5.1 (channels/base.toml)"
                    ));
                }
            }
            for kind in &file.attachments.kinds {
                if !allowed_kinds.contains(kind) {
                    return Err(format!(
                        "channels/{name}.toml: attachment kind `{kind}` is not allowed"
                    ));
                }
            }
            if file.consent_methods.is_empty() {
                return Err(format!("channels/{name}.toml: `consent_methods` is empty"));
            }
            let Some(max_attachments) = file.attachments.max_count else {
                return Err(format!(
                    "channels/{name}.toml: `attachments.max_count` is missing"
                ));
            };
            by_channel.insert(
                channel,
                ChannelPolicy {
                    fields: file.applicant.fields.into_iter().collect(),
                    consent_methods: file.consent_methods,
                    attachment_kinds: file.attachments.kinds.into_iter().collect(),
                    max_attachments,
                },
            );
        }
        for channel in Channel::ALL {
            if !by_channel.contains_key(&channel) {
                return Err(format!("channels/{channel}.toml is missing"));
            }
        }
        Ok(Policies { by_channel })
    }

    /// The rules of one channel.
    pub(crate) fn channel(&self, channel: Channel) -> &ChannelPolicy {
        // Every channel is present: `parse` refuses a set without one.
        &self.by_channel[&channel]
    }
}

/// A field name as it may be recorded in `dropped_fields`. Names come from whoever sent
/// the data, so a name that is not a plain identifier (it could itself be a phone
/// number) is recorded as `unnamed_field`. A plain name needs a letter, which also
/// refuses the empty name.
pub(crate) fn safe_field_name(name: &str) -> String {
    let plain = name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && name.bytes().any(|b| b.is_ascii_alphabetic());
    if plain {
        name.to_ascii_lowercase()
    } else {
        "unnamed_field".to_owned()
    }
}

impl ChannelPolicy {
    /// Keeps the allowed applicant fields, normalized; drops the rest by name.
    /// Empty values count as absent. `today` bounds a date of birth.
    pub(crate) fn filter_applicant(
        &self,
        raw: &BTreeMap<String, Value>,
        today: time::Date,
    ) -> Filtered {
        let mut out = Filtered::default();
        for (name, value) in raw {
            if !self.fields.contains(name.as_str()) {
                out.dropped.push(safe_field_name(name));
                continue;
            }
            let Some(kind) = kind_of(name) else {
                out.dropped.push(safe_field_name(name));
                continue;
            };
            // The error's path, made only when there is an error.
            let path = || format!("applicant.{name}");
            if kind == FieldKind::Phones {
                match phones(value) {
                    Ok(list) => out.applicant.phones = list,
                    Err((index, invalid)) => out.errors.push(FieldError::new(
                        index.map_or_else(path, |i| format!("{}[{i}]", path())),
                        invalid.code(),
                    )),
                }
                continue;
            }
            let Some(text) = single(value) else {
                out.errors
                    .push(FieldError::new(path(), Invalid::Value.code()));
                continue;
            };
            if text.trim().is_empty() {
                continue;
            }
            let normalized = match kind {
                FieldKind::Line => {
                    let v = normalize::line(&text);
                    if v.chars().count() > MAX_LINE_CHARS {
                        Err(Invalid::TooLong)
                    } else {
                        Ok(v)
                    }
                }
                FieldKind::Email => normalize::email(&text),
                FieldKind::Iin => normalize::iin(&text),
                FieldKind::BirthDate => normalize::birth_date(&text, today),
                FieldKind::DocumentNumber => normalize::document_number(&text),
                FieldKind::Phones => continue,
            };
            match normalized {
                Ok(v) if v.is_empty() => {}
                Ok(v) => set_field(&mut out.applicant, name, v),
                Err(invalid) => out.errors.push(FieldError::new(path(), invalid.code())),
            }
        }
        out.dropped.sort();
        out.dropped.dedup();
        out
    }
}

/// A scalar as text: strings as they are (borrowed: each is normalized into a new
/// string anyway), numbers as digits (an IIN sent as a number).
fn single(value: &Value) -> Option<Cow<'_, str>> {
    match value {
        Value::String(s) => Some(Cow::Borrowed(s)),
        Value::Number(n) => Some(Cow::Owned(n.to_string())),
        Value::Null => Some(Cow::Borrowed("")),
        _ => None,
    }
}

/// A list of phones (or one phone as a string), normalized and de-duplicated.
fn phones(value: &Value) -> Result<Vec<String>, (Option<usize>, Invalid)> {
    let items: &[Value] = match value {
        Value::Array(items) => items,
        Value::Null => &[],
        other => std::slice::from_ref(other),
    };
    if items.len() > MAX_PHONES {
        return Err((None, Invalid::TooLong));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let text = single(item).ok_or((Some(i), Invalid::Phone))?;
        if text.trim().is_empty() {
            continue;
        }
        let e164 = normalize::phone(&text).map_err(|e| (Some(i), e))?;
        if !out.contains(&e164) {
            out.push(e164);
        }
    }
    Ok(out)
}

fn set_field(applicant: &mut Applicant, name: &str, value: String) {
    let slot = match name {
        "last_name" => &mut applicant.last_name,
        "first_name" => &mut applicant.first_name,
        "patronymic" => &mut applicant.patronymic,
        "email" => &mut applicant.email,
        "iin" => &mut applicant.iin,
        "birth_date" => &mut applicant.birth_date,
        "birth_place" => &mut applicant.birth_place,
        "nationality" => &mut applicant.nationality,
        "id_document_number" => &mut applicant.id_document_number,
        "education" => &mut applicant.education,
        "speciality" => &mut applicant.speciality,
        "position" => &mut applicant.position,
        "employer" => &mut applicant.employer,
        "qualification" => &mut applicant.qualification,
        _ => return,
    };
    *slot = Some(value);
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn raw(value: Value) -> BTreeMap<String, Value> {
        serde_json::from_value(value).expect("object")
    }

    const TODAY: time::Date = time::macros::date!(2026 - 11 - 25);

    #[test]
    fn shipped_policies_load_and_narrow_the_base_list() {
        let policies = Policies::embedded().expect("policies load");
        let web = policies.channel(Channel::WebForm);
        assert!(web.fields.contains("phones"));
        assert!(!web.fields.contains("iin"));
        assert_eq!(web.consent_methods, vec![ConsentMethod::Checkbox]);
        assert!(
            policies
                .channel(Channel::FrontOffice)
                .fields
                .contains("id_document_number")
        );
    }

    #[test]
    fn a_channel_cannot_widen_the_regulation() {
        let base = include_str!("../channels/base.toml");
        let mut files = FILES.to_vec();
        files[0] = (
            "web_form",
            "channel = \"web_form\"\nconsent_methods = [\"checkbox\"]\n[applicant]\nfields = [\"religion\"]\n[attachments]\nkinds = []\n",
        );
        let err = Policies::parse(base, &files).expect_err("religion is not allowed");
        assert!(err.contains("religion"), "{err}");
    }

    #[test]
    fn forbidden_fields_are_dropped_by_name_and_allowed_ones_normalized() {
        let policies = Policies::embedded().expect("policies load");
        let filtered = policies.channel(Channel::Api).filter_applicant(
            &raw(json!({
                "last_name": " Иванов ",
                "phones": ["8 701 123 45 67", "+7 (701) 123-45-67"],
                "email": "Ivan@Mail.KZ",
                "religion": "secret-religion",
                "health": "secret-diagnosis",
                "home_address": "ул. Толе би, 1, кв. 5",
                "bank_card": "4400 4301 2345 6789",
                "passport_scan": "data:image/jpeg;base64,AAAA",
                "+77015550000": "a phone as a key",
            })),
            TODAY,
        );
        assert!(filtered.errors.is_empty(), "{:?}", filtered.errors);
        assert_eq!(filtered.applicant.last_name.as_deref(), Some("Иванов"));
        assert_eq!(filtered.applicant.phones, vec!["+77011234567"]);
        assert_eq!(filtered.applicant.email.as_deref(), Some("Ivan@mail.kz"));
        assert_eq!(
            filtered.dropped,
            vec![
                "bank_card",
                "health",
                "home_address",
                "passport_scan",
                "religion",
                "unnamed_field"
            ]
        );
        let stored = serde_json::to_string(&filtered.applicant).expect("json");
        for secret in [
            "secret-religion",
            "secret-diagnosis",
            "Толе би",
            "4400",
            "base64",
            "5550000",
        ] {
            assert!(!stored.contains(secret), "{secret} leaked into {stored}");
        }
    }

    #[test]
    fn a_narrower_channel_drops_allowed_but_unneeded_fields() {
        let policies = Policies::embedded().expect("policies load");
        let filtered = policies.channel(Channel::WebForm).filter_applicant(
            &raw(json!({"iin": "900101300017", "first_name": "Айгүл"})),
            TODAY,
        );
        assert_eq!(filtered.applicant.iin, None);
        assert_eq!(filtered.dropped, vec!["iin"]);
    }

    #[test]
    fn invalid_values_are_reported_by_path_without_the_value() {
        let policies = Policies::embedded().expect("policies load");
        let filtered = policies.channel(Channel::Api).filter_applicant(
            &raw(json!({"iin": "821214240092", "phones": ["87011234567", "12"], "email": ""})),
            TODAY,
        );
        let got: Vec<(String, &str)> = filtered
            .errors
            .iter()
            .map(|e| (e.field.clone(), e.code))
            .collect();
        assert_eq!(
            got,
            vec![
                ("applicant.iin".to_owned(), "invalid_iin"),
                ("applicant.phones[1]".to_owned(), "invalid_phone")
            ]
        );
        assert_eq!(filtered.applicant.email, None, "empty means absent");
    }

    #[test]
    fn a_field_name_that_could_be_personal_data_is_recorded_as_unnamed_field() {
        for name in [
            "ivan@mail.kz",
            "+77015550000",
            "900101300017",
            "Иванов",
            "home address",
            "",
        ] {
            assert_eq!(safe_field_name(name), "unnamed_field", "{name:?}");
        }
        assert_eq!(safe_field_name("Home_Address"), "home_address");
        assert_eq!(safe_field_name("passport.series-no"), "passport.series-no");
        let longest = "x".repeat(64);
        assert_eq!(safe_field_name(&longest), longest);
        assert_eq!(safe_field_name(&"x".repeat(65)), "unnamed_field");
    }

    #[test]
    fn a_forbidden_key_that_looks_like_an_email_is_recorded_as_unnamed_field() {
        let policies = Policies::embedded().expect("policies load");
        let filtered = policies
            .channel(Channel::Api)
            .filter_applicant(&raw(json!({"ivan@mail.kz": "yes", "religion": "x"})), TODAY);
        assert_eq!(filtered.dropped, vec!["religion", "unnamed_field"]);
    }

    #[test]
    fn every_allowlisted_field_given_is_stored() {
        let policies = Policies::embedded().expect("policies load");
        let given = json!({
            "last_name": "Иванов",
            "first_name": "Иван",
            "patronymic": "Иванович",
            "email": "ivan@mail.kz",
            "phones": ["+77011234567"],
            "iin": "900101300017",
            "birth_date": "1990-01-01",
            "birth_place": "Алматы",
            "nationality": "қазақ",
            "id_document_number": "N12345678",
            "education": "высшее",
            "speciality": "инженер-строитель",
            "position": "прораб",
            "employer": "ТОО «Құрылыс»",
            "qualification": "категория B",
        });
        let filtered = policies
            .channel(Channel::Api)
            .filter_applicant(&raw(given.clone()), TODAY);
        assert!(filtered.errors.is_empty(), "{:?}", filtered.errors);
        assert!(filtered.dropped.is_empty(), "{:?}", filtered.dropped);
        let stored = serde_json::to_value(&filtered.applicant).expect("json");
        assert_eq!(stored, given);
        // And the list is the whole of regulation 5.1 as shipped in channels/base.toml.
        let base: BaseFile =
            toml_from_str(include_str!("../channels/base.toml")).expect("base.toml");
        let mut allowlist = base.applicant.fields.clone();
        allowlist.sort();
        assert_eq!(filtered.applicant.present_fields(), allowlist);
    }

    #[test]
    fn an_iin_or_a_phone_sent_as_a_json_number_is_accepted() {
        let policies = Policies::embedded().expect("policies load");
        let filtered = policies.channel(Channel::Api).filter_applicant(
            &raw(json!({"iin": 900101300017_u64, "phones": [87011234567_u64]})),
            TODAY,
        );
        assert!(filtered.errors.is_empty(), "{:?}", filtered.errors);
        assert_eq!(filtered.applicant.iin.as_deref(), Some("900101300017"));
        assert_eq!(filtered.applicant.phones, vec!["+77011234567"]);
    }

    #[test]
    fn null_means_absent() {
        let policies = Policies::embedded().expect("policies load");
        let filtered = policies.channel(Channel::Api).filter_applicant(
            &raw(json!({"first_name": null, "iin": null, "phones": null, "email": null})),
            TODAY,
        );
        assert!(filtered.errors.is_empty(), "{:?}", filtered.errors);
        assert!(filtered.dropped.is_empty());
        assert_eq!(filtered.applicant, Applicant::default());
    }

    #[test]
    fn a_name_of_invisible_characters_only_is_absent() {
        let policies = Policies::embedded().expect("policies load");
        let filtered = policies.channel(Channel::Api).filter_applicant(
            &raw(json!({"first_name": "\u{200B}\u{2066}", "last_name": "Иванов"})),
            TODAY,
        );
        assert!(filtered.errors.is_empty(), "{:?}", filtered.errors);
        assert_eq!(filtered.applicant.first_name, None);
        assert_eq!(filtered.applicant.last_name.as_deref(), Some("Иванов"));
    }

    #[test]
    fn a_list_or_an_object_where_one_value_is_expected_is_invalid() {
        let policies = Policies::embedded().expect("policies load");
        let filtered = policies.channel(Channel::Api).filter_applicant(
            &raw(json!({"first_name": ["Иван"], "phones": [{"n": "87011234567"}]})),
            TODAY,
        );
        let got: Vec<(String, &str)> = filtered
            .errors
            .iter()
            .map(|e| (e.field.clone(), e.code))
            .collect();
        assert_eq!(
            got,
            vec![
                ("applicant.first_name".to_owned(), "invalid_value"),
                ("applicant.phones[0]".to_owned(), "invalid_phone")
            ]
        );
    }

    #[test]
    fn one_phone_may_be_given_as_a_string_and_up_to_five_as_a_list() {
        let policies = Policies::embedded().expect("policies load");
        let api = policies.channel(Channel::Api);
        let one = api.filter_applicant(&raw(json!({"phones": "8 701 123 45 67"})), TODAY);
        assert_eq!(one.applicant.phones, vec!["+77011234567"]);
        let five: Vec<String> = (1..=5).map(|i| format!("8 701 123 45 6{i}")).collect();
        let kept = api.filter_applicant(&raw(json!({ "phones": five })), TODAY);
        assert!(kept.errors.is_empty(), "{:?}", kept.errors);
        assert_eq!(kept.applicant.phones.len(), 5);
        let six: Vec<String> = (1..=6).map(|i| format!("8 701 123 45 6{i}")).collect();
        let refused = api.filter_applicant(&raw(json!({ "phones": six })), TODAY);
        assert_eq!(
            refused.errors,
            vec![FieldError::new("applicant.phones", "too_long")]
        );
        assert!(refused.applicant.phones.is_empty());
    }

    #[test]
    fn a_one_line_field_holds_up_to_200_characters() {
        let policies = Policies::embedded().expect("policies load");
        let api = policies.channel(Channel::Api);
        // Counted in characters, not bytes: Cyrillic takes two bytes each.
        let longest = "ж".repeat(200);
        let kept = api.filter_applicant(&raw(json!({ "employer": longest })), TODAY);
        assert!(kept.errors.is_empty(), "{:?}", kept.errors);
        assert_eq!(kept.applicant.employer, Some(longest));
        let refused = api.filter_applicant(&raw(json!({ "employer": "ж".repeat(201) })), TODAY);
        assert_eq!(
            refused.errors,
            vec![FieldError::new("applicant.employer", "too_long")]
        );
        assert_eq!(refused.applicant.employer, None);
    }
}
