use super::*;
use crate::catalogue::Catalogue;
use serde_json::json;

fn questions(category: &str) -> Vec<Question> {
    let catalogue = Catalogue::embedded().expect("catalogue parses");
    catalogue.get(category).expect("category").questions.clone()
}

fn raw(value: Value) -> BTreeMap<String, Value> {
    serde_json::from_value(value).expect("an object")
}

#[test]
fn a_missing_required_answer_is_named_and_unknown_ones_are_dropped() {
    let mut errors = Vec::new();
    let mut dropped = Vec::new();
    let answers = check(
        &questions("public_transport"),
        &raw(json!({"stop": "Абай – Достық", "driver_name": "x"})),
        &mut errors,
        &mut dropped,
    );
    assert_eq!(
        errors,
        vec![FieldError::new("attributes.route", "required")]
    );
    assert_eq!(dropped, vec!["attributes.driver_name".to_owned()]);
    assert_eq!(
        answers.get("stop"),
        Some(&AttributeValue::Text("Абай – Достық".into()))
    );
}

#[test]
fn answers_take_their_types() {
    let mut errors = Vec::new();
    let mut dropped = Vec::new();
    let answers = check(
        &questions("utilities"),
        &raw(json!({"missing": "heating", "since": "05.12.2026 21:30"})),
        &mut errors,
        &mut dropped,
    );
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(answers["missing"], AttributeValue::Text("heating".into()));
    assert_eq!(
        answers["since"],
        AttributeValue::Text("2026-12-05T16:30:00Z".into()),
        "Almaty time to UTC"
    );
    let answers = check(
        &questions("yards"),
        &raw(json!({"building": "пр. Абая, 10", "entrance": "3"})),
        &mut errors,
        &mut dropped,
    );
    assert_eq!(answers["entrance"], AttributeValue::Number(3.0));
    for (category, answer, code) in [
        (
            "utilities",
            json!({"missing": "electricity"}),
            "invalid_value",
        ),
        (
            "utilities",
            json!({"missing": "water", "since": "yesterday"}),
            "invalid_datetime",
        ),
        (
            "yards",
            json!({"building": "1", "entrance": "third"}),
            "invalid_number",
        ),
        (
            "public_transport",
            json!({"route": "9".repeat(201)}),
            "too_long",
        ),
    ] {
        let mut errors = Vec::new();
        check(
            &questions(category),
            &raw(answer),
            &mut errors,
            &mut Vec::new(),
        );
        assert_eq!(errors.len(), 1, "{category}");
        assert_eq!(errors[0].code, code, "{category}");
    }
}

#[test]
fn a_gas_smell_stops_at_104_and_a_question_for_a_person_is_refused() {
    let catalogue = Catalogue::embedded().expect("catalogue parses");
    let utilities = catalogue.get("utilities").expect("utilities");
    let mut errors = Vec::new();
    let answers = check(
        &utilities.questions,
        &raw(json!({"missing": "gas_smell"})),
        &mut errors,
        &mut Vec::new(),
    );
    let stopper = catalogue.stopper(utilities, &answers).expect("a stopper");
    assert_eq!(stopper.number, "104");
    let answers = check(
        &utilities.questions,
        &raw(json!({"missing": "water"})),
        &mut errors,
        &mut Vec::new(),
    );
    assert!(catalogue.stopper(utilities, &answers).is_none());

    let source = include_str!("../../channels/catalogue.toml")
        .replace("code = \"lamp_post\"", "code = \"caller_phone\"");
    let refused = Catalogue::parse(&source).expect_err("a question for a phone number");
    assert!(refused.contains("caller_phone"), "{refused}");
    let source = include_str!("../../channels/catalogue.toml")
        .replace("ru = \"Номер опоры освещения\"", "ru = \"Ваша фамилия\"");
    assert!(
        Catalogue::parse(&source).is_err(),
        "a label asking a surname"
    );
    let source = include_str!("../../channels/catalogue.toml")
        .replace("stopper = \"gas\"", "stopper = \"plumber\"");
    assert!(
        Catalogue::parse(&source).is_err(),
        "a stopper naming nobody"
    );
}
