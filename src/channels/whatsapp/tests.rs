//! The webhook's signature check and the Graph API bodies of long choices.

use hmac::{KeyInit, Mac};

use super::body::{list_message, message_body};
use super::webhook::signature_valid;
use crate::dialogue::{Ask, Button, ListLabels, Reply};

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

#[test]
fn signatures_are_checked_over_the_raw_body() {
    let body = br#"{"object":"whatsapp_business_account"}"#;
    let mut mac = HmacSha256::new_from_slice(b"app-secret").expect("key");
    mac.update(body);
    let good = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert!(signature_valid(b"app-secret", body, Some(&good)));
    assert!(!signature_valid(b"other-secret", body, Some(&good)));
    assert!(!signature_valid(b"app-secret", b"{}", Some(&good)));
    assert!(!signature_valid(b"app-secret", body, None));
    assert!(!signature_valid(b"app-secret", body, Some("sha256=zz")));
}

#[test]
fn a_long_choice_is_a_list_of_nine_rows_and_other() {
    let labels = ListLabels {
        open: "Categories".into(),
        more: "Other…".into(),
        first_number: 1,
    };
    let buttons: Vec<Button> = (1..=14)
        .map(|i| Button {
            id: format!("cat:{i}"),
            title: format!("Construction quality and safety {i}"),
        })
        .collect();
    let list = list_message("Choose", &buttons, &labels);
    let rows = list["action"]["sections"][0]["rows"]
        .as_array()
        .expect("rows");
    assert_eq!(rows.len(), 10);
    assert_eq!(rows[0]["title"], "1. Construction quality…");
    assert_eq!(rows[0]["description"], "Construction quality and safety 1");
    assert_eq!(rows[9]["id"], "more:9");
    let rest = ListLabels {
        first_number: 10,
        ..labels
    };
    let page = list_message("Choose", &buttons[9..], &rest);
    let rows = page["action"]["sections"][0]["rows"]
        .as_array()
        .expect("rows");
    assert_eq!(rows.len(), 5);
    assert!(
        rows[4]["title"]
            .as_str()
            .unwrap_or_default()
            .starts_with("14.")
    );
}

#[test]
fn more_choices_than_buttons_become_a_numbered_list() {
    let reply = Reply {
        text: "Choose".into(),
        buttons: (1..=5)
            .map(|i| crate::dialogue::Button {
                id: format!("cat:{i}"),
                title: format!("Category {i}"),
            })
            .collect(),
        ask: Ask::Nothing,
        list: None,
    };
    let body = message_body("77011234567", &reply);
    assert_eq!(body["type"], "text");
    assert!(
        body["text"]["body"]
            .as_str()
            .unwrap_or_default()
            .contains("\n5. Category 5")
    );
}
