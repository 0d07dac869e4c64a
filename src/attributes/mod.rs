//! A category's questions and the citizen's answers (issue 29, point 1): the facts a
//! case needs that every citizen would otherwise be asked back — the bus route, the lamp
//! post's number, what is missing at home. The questions are data in
//! `channels/catalogue.toml`, typed as Open311 GeoReport v2 service-definition
//! attributes (`string`, `text`, `number`, `datetime`, `singlevaluelist`,
//! `multivaluelist`), so the same definition is published at
//! `GET /open311/v2/services/{code}.json` and asked by every channel.
//!
//! An answer is about the problem, never about a person: [`Question::asks_for_a_person`]
//! is refused when the catalogue is loaded, and free-text answers pass the free-text
//! guard like the appeal's text.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub(crate) use crate::appeal::AttributeValue;
use crate::appeal::Language;
use crate::field_error::FieldError;
use crate::normalize;

/// Longest answer to a `string` question, in characters.
pub(crate) const MAX_STRING_CHARS: usize = 200;
/// Longest answer to a `text` question, in characters.
pub(crate) const MAX_TEXT_CHARS: usize = 2_000;

/// The type of a question, as Open311 GeoReport v2 names it (`datatype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum AttributeType {
    String,
    Text,
    Number,
    Datetime,
    Singlevaluelist,
    Multivaluelist,
}

impl AttributeType {
    /// The Open311 `datatype`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AttributeType::String => "string",
            AttributeType::Text => "text",
            AttributeType::Number => "number",
            AttributeType::Datetime => "datetime",
            AttributeType::Singlevaluelist => "singlevaluelist",
            AttributeType::Multivaluelist => "multivaluelist",
        }
    }

    /// Whether the citizen chooses among [`Question::values`].
    pub(crate) fn is_list(self) -> bool {
        matches!(
            self,
            AttributeType::Singlevaluelist | AttributeType::Multivaluelist
        )
    }
}

/// A text in the three languages.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct Names {
    pub(crate) kk: String,
    pub(crate) ru: String,
    pub(crate) en: String,
}

impl Names {
    pub(crate) fn get(&self, language: Language) -> &str {
        match language {
            Language::Kk => &self.kk,
            Language::Ru => &self.ru,
            Language::En => &self.en,
        }
    }
}

/// One allowed answer of a list question.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct ListValue {
    /// The answer as stored (`attributes.<code>` on the appeal) and as Open311 `key`.
    pub(crate) key: String,
    #[serde(flatten)]
    pub(crate) names: Names,
    /// An emergency service's code (`[[emergency]]`): this answer stops a routine
    /// appeal (e.g. "gas smell": call 104 now).
    #[serde(default)]
    pub(crate) stopper: Option<String>,
}

/// One question of a category.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Question {
    /// The answer's key under `attributes`; Open311's attribute `code`.
    pub(crate) code: String,
    #[serde(rename = "type")]
    pub(crate) kind: AttributeType,
    #[serde(default)]
    pub(crate) required: bool,
    /// The short label.
    #[serde(flatten)]
    pub(crate) label: Names,
    #[serde(default)]
    help_kk: Option<String>,
    #[serde(default)]
    help_ru: Option<String>,
    #[serde(default)]
    help_en: Option<String>,
    /// The allowed answers of a list question, in the order they are offered.
    #[serde(default, rename = "value")]
    pub(crate) values: Vec<ListValue>,
}

/// Words of a question that would ask for a person's data (regulation 5.1: only the
/// applicant fields of the allowlist are kept, and only there): in codes, and in the
/// labels of the three languages, lower-cased.
const PERSONAL_WORDS: [&str; 30] = [
    "name",
    "surname",
    "phone",
    "email",
    "e-mail",
    "iin",
    "passport",
    "birth",
    "apartment",
    "flat",
    "telephone",
    "patronymic",
    "имя",
    "фамили",
    "отчеств",
    "телефон",
    "почт",
    "иин",
    "паспорт",
    "рожден",
    "квартир",
    "аты",
    "тегі",
    "әкесінің",
    "жсн",
    "пәтер",
    "туған",
    "телефоны",
    "поштасы",
    "төлқұжат",
];

impl Question {
    /// The help text in a language, if the catalogue gives one.
    pub(crate) fn help(&self, language: Language) -> Option<&str> {
        match language {
            Language::Kk => self.help_kk.as_deref(),
            Language::Ru => self.help_ru.as_deref(),
            Language::En => self.help_en.as_deref(),
        }
    }

    /// The list value with this key.
    pub(crate) fn value(&self, key: &str) -> Option<&ListValue> {
        self.values.iter().find(|v| v.key == key)
    }

    /// Whether the code or a label asks for a person's data (refused at start).
    pub(crate) fn asks_for_a_person(&self) -> bool {
        let code_words = self.code.to_lowercase();
        let code_words: Vec<&str> = code_words.split(['_', '-']).collect();
        let labels = [&self.label.kk, &self.label.ru, &self.label.en]
            .map(|l| l.to_lowercase())
            .join(" ");
        PERSONAL_WORDS.iter().any(|word| {
            code_words.contains(word)
                || labels
                    .split(|c: char| !c.is_alphanumeric() && c != '-')
                    .any(|w| w.starts_with(word))
        })
    }

    /// What is wrong with the question as data, if anything.
    pub(crate) fn problem(&self) -> Option<String> {
        let code = &self.code;
        if code.is_empty()
            || !code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Some(format!(
                "question `{code}`: a code is lower-case ASCII and `_`"
            ));
        }
        if self.asks_for_a_person() {
            return Some(format!(
                "question `{code}` asks for a person's data (regulation 5.1): ask about the problem"
            ));
        }
        if self.kind.is_list() == self.values.is_empty() {
            return Some(format!(
                "question `{code}`: a list question has values, another has none"
            ));
        }
        let mut keys: Vec<&str> = self.values.iter().map(|v| v.key.as_str()).collect();
        keys.sort_unstable();
        if keys.windows(2).any(|w| w[0] == w[1]) {
            return Some(format!("question `{code}`: a value appears twice"));
        }
        None
    }
}

/// The answers of an intake checked against the category's questions: every required
/// one present, each of its type; unknown codes are dropped and named
/// (`attributes.<code>` in `dropped_fields`). Free text is not yet guarded: the intake
/// does that with the applicant's own IIN known.
pub(crate) fn check(
    questions: &[Question],
    raw: &BTreeMap<String, Value>,
    errors: &mut Vec<FieldError>,
    dropped: &mut Vec<String>,
) -> BTreeMap<String, AttributeValue> {
    let mut answers = BTreeMap::new();
    for code in raw.keys() {
        if !questions.iter().any(|q| &q.code == code) {
            // Named as the citizen or client wrote it: the intake makes every dropped
            // name safe to record.
            dropped.push(format!("attributes.{code}"));
        }
    }
    for question in questions {
        let field = format!("attributes.{}", question.code);
        let answer = raw.get(&question.code).filter(|v| !is_blank(v));
        match answer {
            None if question.required => errors.push(FieldError::new(field, "required")),
            None => {}
            Some(value) => match answer_of(question, value) {
                Ok(answer) => {
                    answers.insert(question.code.clone(), answer);
                }
                Err(code) => errors.push(FieldError::new(field, code)),
            },
        }
    }
    answers
}

fn is_blank(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(items) => items.is_empty(),
        _ => false,
    }
}

/// One answer of its question's type, or the error code.
fn answer_of(question: &Question, value: &Value) -> Result<AttributeValue, &'static str> {
    match question.kind {
        AttributeType::String | AttributeType::Text => {
            let Value::String(text) = value else {
                return Err("invalid_value");
            };
            let (text, limit) = if question.kind == AttributeType::String {
                (normalize::line(text), MAX_STRING_CHARS)
            } else {
                (normalize::text(text), MAX_TEXT_CHARS)
            };
            if text.chars().count() > limit {
                return Err("too_long");
            }
            Ok(AttributeValue::Text(text))
        }
        AttributeType::Number => {
            let number = match value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().replace(',', ".").parse::<f64>().ok(),
                _ => None,
            };
            match number {
                Some(n) if n.is_finite() => Ok(AttributeValue::Number(n)),
                _ => Err("invalid_number"),
            }
        }
        AttributeType::Datetime => {
            let Value::String(text) = value else {
                return Err("invalid_datetime");
            };
            datetime(text)
                .map(AttributeValue::Text)
                .ok_or("invalid_datetime")
        }
        AttributeType::Singlevaluelist => {
            let key = match value {
                Value::String(s) => s.trim(),
                Value::Array(items) if items.len() == 1 => items[0].as_str().unwrap_or(""),
                _ => "",
            };
            question
                .value(key)
                .map(|v| AttributeValue::Text(v.key.clone()))
                .ok_or("invalid_value")
        }
        AttributeType::Multivaluelist => {
            let keys: Vec<&str> = match value {
                Value::String(s) => s.split(',').map(str::trim).collect(),
                Value::Array(items) => items.iter().map(|v| v.as_str().unwrap_or("")).collect(),
                _ => return Err("invalid_value"),
            };
            let mut chosen: Vec<String> = Vec::new();
            for key in keys {
                let Some(v) = question.value(key) else {
                    return Err("invalid_value");
                };
                if !chosen.contains(&v.key) {
                    chosen.push(v.key.clone());
                }
            }
            // In the catalogue's order, so equal answers are equal JSON.
            chosen.sort_by_key(|k| question.values.iter().position(|v| &v.key == k));
            Ok(AttributeValue::Keys(chosen))
        }
    }
}

/// A time as RFC 3339 (UTC), from RFC 3339 or the `dd.mm.yyyy HH:MM` citizens type
/// (Almaty time, UTC+5), or `yyyy-mm-ddTHH:MM` as a browser's `datetime-local` sends it.
fn datetime(text: &str) -> Option<String> {
    use time::format_description::well_known::Rfc3339;
    use time::macros::{format_description, offset};
    let text = text.trim();
    if let Ok(at) = time::OffsetDateTime::parse(text, &Rfc3339) {
        return Some(crate::appeal::rfc3339(at));
    }
    let formats = [
        format_description!("[day].[month].[year] [hour]:[minute]"),
        format_description!("[year]-[month]-[day]T[hour]:[minute]"),
        format_description!("[year]-[month]-[day] [hour]:[minute]"),
    ];
    formats.iter().find_map(|format| {
        time::PrimitiveDateTime::parse(text, format)
            .ok()
            .map(|at| crate::appeal::rfc3339(at.assume_offset(offset!(+5))))
    })
}

/// The stopper an answer raises, if any: the emergency code of a chosen list value.
pub(crate) fn stopper_of<'q>(
    questions: &'q [Question],
    answers: &BTreeMap<String, AttributeValue>,
) -> Option<(&'q Question, &'q str)> {
    questions.iter().find_map(|q| {
        let keys: Vec<&str> = match answers.get(&q.code)? {
            AttributeValue::Text(k) => vec![k.as_str()],
            AttributeValue::Keys(ks) => ks.iter().map(String::as_str).collect(),
            AttributeValue::Number(_) => return None,
        };
        keys.iter()
            .find_map(|k| q.value(k)?.stopper.as_deref())
            .map(|s| (q, s))
    })
}

#[cfg(test)]
mod tests;
