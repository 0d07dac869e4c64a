//! The catalogue's questions on an HTML form — the citizen's appeal form and the agents'
//! consoles (issue 29, point 2): each category's questions in a group of their own after
//! the category, named `a-<category>-<code>` (a `multivaluelist` as one box per value,
//! `a-<category>-<code>-<key>`), so that a form works without scripts — every group is
//! shown, each saying which category it is for — and a script shows only the chosen
//! category's. An emergency's stopper comes back at the top of the form with the number
//! to call and a box to file it all the same as non-urgent.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::appeal::Language;
use crate::attributes::AttributeType;
use crate::catalogue::{Catalogue, Category};

/// The form field of an answer.
pub(crate) fn field(category: &str, code: &str) -> String {
    format!("a-{category}-{code}")
}

/// The answers to `category`'s questions as typed, by question code.
pub(crate) fn answers(
    fields: &BTreeMap<String, String>,
    category: &Category,
) -> BTreeMap<String, Value> {
    let get = |name: &str| fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let mut answers = BTreeMap::new();
    for question in &category.questions {
        let name = field(&category.code, &question.code);
        let answer = if question.kind == AttributeType::Multivaluelist {
            let keys: Vec<Value> = question
                .values
                .iter()
                .filter(|v| get(&format!("{name}-{}", v.key)).is_some())
                .map(|v| Value::String(v.key.clone()))
                .collect();
            (!keys.is_empty()).then_some(Value::Array(keys))
        } else {
            get(&name).map(|v| Value::String(v.to_owned()))
        };
        if let Some(answer) = answer {
            answers.insert(question.code.clone(), answer);
        }
    }
    answers
}

/// The pipeline's `attributes.<code>` as the form's field of the chosen category.
pub(crate) fn form_field(field_name: &str, values: &BTreeMap<String, String>) -> Option<String> {
    let code = field_name.strip_prefix("attributes.")?;
    let category = values.get("category")?;
    Some(field(category, code))
}

/// The question a form field answers, for the error summary's label.
pub(crate) fn label_of(
    catalogue: &Catalogue,
    form_field: &str,
    values: &BTreeMap<String, String>,
    language: Language,
) -> Option<String> {
    let category = catalogue.get(values.get("category")?)?;
    category
        .questions
        .iter()
        .find(|q| field(&category.code, &q.code) == form_field)
        .map(|q| q.label.get(language).to_owned())
}

/// Every category's questions, notice and stoppers as the template shows them.
pub(crate) fn view(catalogue: &Catalogue, language: Language) -> Vec<Value> {
    let stopper_text = |code: Option<&str>| {
        code.and_then(|c| catalogue.emergency(c)).map(|e| {
            crate::i18n::MESSAGES.text(language, "stopper-heading", &[("number", e.number.clone())])
                + " — "
                + e.names.get(language)
        })
    };
    catalogue
        .categories
        .iter()
        .filter(|c| !c.questions.is_empty() || c.notice.is_some() || c.stopper.is_some())
        .map(|c| {
            let questions: Vec<Value> = c
                .questions
                .iter()
                .map(|q| {
                    let name = field(&c.code, &q.code);
                    json!({
                        "name": name,
                        "kind": q.kind.as_str(),
                        "label": q.label.get(language),
                        "help": q.help(language),
                        "required": q.required,
                        "values": q.values.iter().map(|v| json!({
                            "key": v.key,
                            "name": v.names.get(language),
                            "box": format!("{name}-{}", v.key),
                            "stopper": stopper_text(v.stopper.as_deref()),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            json!({
                "code": c.code,
                "name": c.name(language),
                "notice": c.notice.as_ref().map(|n| n.get(language)),
                "stopper": stopper_text(c.stopper.as_deref()),
                "questions": questions,
            })
        })
        .collect()
}

/// The stopper to show at the top of a form that came back with `emergency_call_now`:
/// its heading and text, with the number and the service.
pub(crate) fn stopper(
    catalogue: &Catalogue,
    values: &BTreeMap<String, String>,
    language: Language,
) -> Option<Value> {
    let category = catalogue.get(values.get("category")?)?;
    let answers = crate::attributes::check(
        &category.questions,
        &answers(values, category),
        &mut Vec::new(),
        &mut Vec::new(),
    );
    let emergency = catalogue.stopper(category, &answers)?;
    let args = [
        ("number", emergency.number.clone()),
        ("service", emergency.names.get(language).to_owned()),
    ];
    let text = |id: &str| crate::i18n::MESSAGES.text(language, id, &args);
    Some(json!({
        "number": emergency.number,
        "heading": text("stopper-heading"),
        "body": text("stopper-body"),
        "message": text("error-emergency_call_now"),
        "script": text("stopper-agent-script"),
    }))
}
