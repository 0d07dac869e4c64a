//! The citizen forms of open-almaty.kz (`web_form`) and budget.open-almaty.kz
//! (`budget_portal`): the submitted fields in, an [`Intake`] out. The pages, CSRF, the
//! rate limit and the photos' bytes are the HTTP side's (`http::web`); this adapter
//! knows only what the fields mean.
//!
//! The anonymous-appeal rule lives here: by the Administrative Procedural Code an appeal
//! without a name and a way to answer is not considered, except a report of a danger. A
//! form without name and contact is refused with that explanation, unless the citizen
//! ticked "this is a danger": then it is taken and flagged `anonymous_danger`.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::appeal::{
    AppealFlag, Channel, ConsentMethod, Language, Location, Purpose, ReplyChannel,
};
use crate::attachments::CleanPhoto;
use crate::field_error::FieldError;
use crate::intake::{Intake, RawAttachment, RawConsent};
use crate::normalize;

/// A district's name in a page's language.
pub(crate) fn district_name(
    district: crate::district::District,
    language: Language,
) -> &'static str {
    let (kk, ru, en) = district.names();
    match language {
        Language::Kk => kk,
        Language::Ru => ru,
        Language::En => en,
    }
}

/// A submitted form: its text fields by name and its photos, already cleaned.
#[derive(Debug, Default, Clone)]
pub(crate) struct FormInput {
    pub(crate) fields: BTreeMap<String, String>,
    pub(crate) photos: Vec<CleanPhoto>,
}

impl FormInput {
    /// A field's value, trimmed; `None` when absent or blank.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.fields
            .get(name)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// True when a checkbox was ticked.
    pub(crate) fn ticked(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

/// The fields about the applicant every form has.
const PERSON: [&str; 3] = ["last_name", "first_name", "patronymic"];

fn applicant_of(form: &FormInput, extra: &[&str]) -> BTreeMap<String, Value> {
    let mut applicant = BTreeMap::new();
    for name in PERSON.iter().chain(["email"].iter()).chain(extra.iter()) {
        if let Some(v) = form.get(name) {
            applicant.insert((*name).to_owned(), Value::String(v.to_owned()));
        }
    }
    if let Some(phone) = form.get("phone") {
        applicant.insert("phones".into(), Value::Array(vec![phone.into()]));
    }
    applicant
}

fn consent_of(form: &FormInput) -> Option<RawConsent> {
    if !form.ticked("consent") {
        return None;
    }
    let mut purposes = vec![Purpose::Appeal];
    if form.ticked("notifications") {
        purposes.push(Purpose::Notifications);
    }
    Some(RawConsent {
        method: ConsentMethod::Checkbox,
        purposes,
        given_at: None,
        // The citizen gave it themselves.
        captured_by: None,
    })
}

/// Where to answer: email when given, else SMS to the phone.
fn reply_of(form: &FormInput) -> Option<(ReplyChannel, String)> {
    form.get("email")
        .map(|e| (ReplyChannel::Email, e.to_owned()))
        .or_else(|| form.get("phone").map(|p| (ReplyChannel::Sms, p.to_owned())))
}

fn attachments_of(photos: &[CleanPhoto]) -> Vec<RawAttachment> {
    photos
        .iter()
        .map(|p| RawAttachment {
            kind: "photo".into(),
            content_type: p.image_type.content_type().into(),
            size: p.size,
            sha256: p.sha256.clone(),
        })
        .collect()
}

/// A coordinate field: absent, or a number (a comma is taken as the decimal point).
fn coordinate(form: &FormInput, name: &str, errors: &mut Vec<FieldError>) -> Option<f64> {
    let raw = form.get(name)?;
    match raw.replace(',', ".").parse::<f64>() {
        Ok(v) if v.is_finite() => Some(v),
        _ => {
            errors.push(FieldError::new(name, "invalid_value"));
            None
        }
    }
}

/// The language of the appeal: the text's own, else the page's.
fn language_of(text: &str, page: Language) -> Language {
    normalize::language(text).unwrap_or(page)
}

/// The open-almaty.kz appeal form as an intake, with the problems only this adapter can
/// see (the anonymous rule, a malformed map point); the pipeline finds the rest. The
/// intake comes back even with problems, so that all of them are shown at once.
pub(crate) fn appeal_intake(form: &FormInput, page: Language) -> (Intake, Vec<FieldError>) {
    let mut errors = Vec::new();
    let mut intake = Intake::new(Channel::WebForm);
    intake.text = form.fields.get("text").cloned().unwrap_or_default();
    intake.language = Some(language_of(&intake.text, page));
    intake.category = form.get("category").map(str::to_owned);
    intake.applicant = applicant_of(form, &[]);
    intake.consent = consent_of(form);
    intake.reply_to = reply_of(form);
    // A typed address or number proves nothing: answers wait for its confirmation.
    intake.reply_confirmed = Some(false);
    intake.attachments = attachments_of(&form.photos);
    let lat = coordinate(form, "lat", &mut errors);
    let lon = coordinate(form, "lon", &mut errors);
    let address = form.get("address").map(str::to_owned);
    if address.is_some() || lat.is_some() || lon.is_some() {
        intake.location = Some(Location {
            address,
            lat,
            lon,
            district: None,
        });
    }
    // The category starts on "— choose —": no silent default (issue 18, point 4).
    if intake.category.is_none() {
        errors.push(FieldError::new("category", "required"));
    }
    let anonymous = ["last_name", "first_name", "email", "phone"]
        .iter()
        .all(|f| form.get(f).is_none());
    if form.ticked("danger") {
        if anonymous {
            intake.flags.push(AppealFlag::AnonymousDanger);
            // Nobody to answer: the consent covers the appeal only.
        }
    } else if anonymous {
        errors.push(FieldError::new("applicant", "anonymous"));
    } else if !answerable(form) {
        // A surname alone is no more answerable than nothing (issue 18, point 3).
        errors.push(FieldError::new("applicant", "name_and_contact"));
    }
    (intake, errors)
}

/// What the law needs to consider an appeal: a surname, a first name and a way to
/// answer (a phone or an email).
fn answerable(form: &FormInput) -> bool {
    let named = form.get("last_name").is_some() && form.get("first_name").is_some();
    let reachable = form.get("email").is_some() || form.get("phone").is_some();
    named && reachable
}

/// The fields at fault of an error about the applicant as a whole: the name fields left
/// blank, and the phone and the email when both are.
pub(crate) fn applicant_fields_at_fault<'a>(values: &BTreeMap<String, String>) -> Vec<&'a str> {
    let blank = |name: &str| values.get(name).is_none_or(|v| v.trim().is_empty());
    let mut fields: Vec<&str> = ["last_name", "first_name"]
        .into_iter()
        .filter(|f| blank(f))
        .collect();
    if blank("phone") && blank("email") {
        fields.extend(["phone", "email"]);
    }
    fields
}

/// The budget-portal proposal as an intake: one author (named, with a contact), one
/// proposal, one site. The district and the cost estimate have no place of their own
/// on `appeals.v1`, so they are written into the text, in the page's language, after
/// the citizen's description; the site goes into `location`.
pub(crate) fn proposal_intake(form: &FormInput, page: Language) -> (Intake, Vec<FieldError>) {
    let mut errors = Vec::new();
    let mut intake = Intake::new(Channel::BudgetPortal);
    let description = form.get("description").unwrap_or_default().to_owned();
    if description.is_empty() {
        errors.push(FieldError::new("description", "required"));
    }
    let title = form.get("title").map(str::to_owned);
    if title.is_none() {
        errors.push(FieldError::new("title", "required"));
    }
    let code = form
        .get("district")
        .and_then(crate::district::District::from_code);
    let district = code.map(|d| district_name(d, page));
    if district.is_none() {
        errors.push(FieldError::new("district", "required"));
    }
    let address = form.get("address").map(str::to_owned);
    if address.is_none() {
        errors.push(FieldError::new("address", "required"));
    }
    let cost: Option<u64> = match form.get("cost") {
        None => {
            errors.push(FieldError::new("cost", "required"));
            None
        }
        Some(raw) => {
            let digits: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
            match digits.parse::<u64>() {
                Ok(v) if v > 0 => Some(v),
                _ => {
                    errors.push(FieldError::new("cost", "invalid_value"));
                    None
                }
            }
        }
    };
    if !answerable(form) {
        errors.push(FieldError::new("applicant", "budget_author"));
    }
    let (labels_district, labels_cost) = match page {
        Language::Kk => ("Аудан", "Құнының бағасы, теңге"),
        Language::Ru => ("Район", "Оценка стоимости, тенге"),
        Language::En => ("District", "Cost estimate, tenge"),
    };
    intake.text = format!(
        "{description}\n\n{labels_district}: {}\n{labels_cost}: {}",
        district.unwrap_or_default(),
        cost.unwrap_or_default()
    );
    intake.subject = title;
    intake.language = Some(page);
    intake.category = Some("other".into());
    intake.applicant = applicant_of(form, &["iin"]);
    intake.consent = consent_of(form);
    intake.reply_to = reply_of(form);
    // A typed address or number proves nothing: answers wait for its confirmation.
    intake.reply_confirmed = Some(false);
    intake.attachments = attachments_of(&form.photos);
    intake.location = match (address, code) {
        (None, None) => None,
        (address, code) => Some(Location {
            address: address.map(|a| match district {
                Some(d) => format!("{a}, {d}"),
                None => a,
            }),
            lat: None,
            lon: None,
            district: code,
        }),
    };
    (intake, errors)
}

/// The form field a pipeline error belongs next to (`applicant.phones[0]` → `phone`).
pub(crate) fn form_field(path: &str) -> &str {
    let head = path.split(['[', '.']).next().unwrap_or(path);
    match head {
        "applicant" => match path.strip_prefix("applicant.") {
            Some(rest) if rest.starts_with("phones") => "phone",
            Some(rest) => rest.split('[').next().unwrap_or(rest),
            None => "applicant",
        },
        "location" => match path {
            "location.lat" => "lat",
            "location.lon" => "lon",
            _ => "address",
        },
        "consent" => "consent",
        "attachments" => "photos",
        "reply_to" => "email",
        "subject" => "title",
        _ => head,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> FormInput {
        FormInput {
            fields: pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            photos: Vec::new(),
        }
    }

    #[test]
    fn an_anonymous_appeal_is_refused_unless_it_reports_a_danger() {
        let plain = form(&[
            ("text", "Открытый люк у школы"),
            ("category", "utilities"),
            ("consent", "on"),
        ]);
        let (_, errors) = appeal_intake(&plain, Language::Ru);
        assert_eq!(errors, vec![FieldError::new("applicant", "anonymous")]);
        let danger = form(&[
            ("text", "Открытый люк у школы"),
            ("consent", "on"),
            ("danger", "on"),
        ]);
        let (intake, errors) = appeal_intake(&danger, Language::Ru);
        assert_eq!(errors, vec![FieldError::new("category", "required")]);
        assert_eq!(intake.flags, vec![AppealFlag::AnonymousDanger]);
    }

    #[test]
    fn a_surname_without_a_way_to_answer_is_refused_and_the_category_is_required() {
        let surname_only = form(&[
            ("text", "Открытый люк у школы"),
            ("last_name", "Иванов"),
            ("category", "utilities"),
            ("consent", "on"),
        ]);
        let (_, errors) = appeal_intake(&surname_only, Language::Ru);
        assert_eq!(
            errors,
            vec![FieldError::new("applicant", "name_and_contact")]
        );
        assert_eq!(
            applicant_fields_at_fault(&surname_only.fields),
            vec!["first_name", "phone", "email"]
        );
        let mut named = surname_only.clone();
        named.fields.insert("first_name".into(), "Иван".into());
        named.fields.insert("email".into(), "ivan@mail.kz".into());
        named.fields.remove("category");
        let (_, errors) = appeal_intake(&named, Language::Ru);
        assert_eq!(errors, vec![FieldError::new("category", "required")]);
        assert!(applicant_fields_at_fault(&named.fields).is_empty());
    }

    #[test]
    fn the_form_becomes_an_intake_with_a_checkbox_consent() {
        let f = form(&[
            ("text", "Көшеде жарық жоқ"),
            ("last_name", "Серікова"),
            ("first_name", "Айгүл"),
            ("phone", "8 701 123 45 67"),
            ("category", "lighting"),
            ("address", "Абай даңғылы, 10"),
            ("lat", "43,238"),
            ("consent", "on"),
        ]);
        let (intake, errors) = appeal_intake(&f, Language::Ru);
        assert!(errors.is_empty());
        assert_eq!(intake.language, Some(Language::Kk));
        let consent = intake.consent.expect("consent");
        assert_eq!(consent.method, ConsentMethod::Checkbox);
        assert_eq!(consent.purposes, vec![Purpose::Appeal]);
        assert_eq!(
            intake.applicant["phones"],
            Value::Array(vec!["8 701 123 45 67".into()])
        );
        assert_eq!(intake.location.and_then(|l| l.lat), Some(43.238));
        assert_eq!(intake.reply_to.map(|r| r.0), Some(ReplyChannel::Sms));
    }

    #[test]
    fn pipeline_errors_land_next_to_their_field() {
        assert_eq!(form_field("applicant.phones[0]"), "phone");
        assert_eq!(form_field("applicant.email"), "email");
        assert_eq!(form_field("location.address"), "address");
        assert_eq!(form_field("consent.purposes"), "consent");
        assert_eq!(form_field("attachments[2]"), "photos");
        assert_eq!(form_field("text"), "text");
    }

    #[test]
    fn a_proposal_needs_its_author_site_and_cost() {
        let f = form(&[("description", "Скамейки"), ("consent", "on")]);
        let (_, errors) = proposal_intake(&f, Language::Ru);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["title", "district", "address", "cost", "applicant"]
        );
        let f = form(&[
            ("description", "Скамейки и фонари в сквере"),
            ("title", "Сквер на Абая"),
            ("district", "almaly"),
            ("address", "пр. Абая, 10"),
            ("cost", "1 500 000"),
            ("last_name", "Иванов"),
            ("first_name", "Иван"),
            ("email", "ivan@mail.kz"),
            ("consent", "on"),
        ]);
        let (intake, errors) = proposal_intake(&f, Language::Ru);
        assert!(errors.is_empty());
        assert!(
            intake
                .text
                .ends_with("Район: Алмалинский\nОценка стоимости, тенге: 1500000")
        );
        assert_eq!(intake.channel, Channel::BudgetPortal);
    }
}
