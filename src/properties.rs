//! The parsers under random input (issue 17, point 9): whatever a citizen or a provider
//! writes, nothing panics and the invariants the rest of the gateway relies on hold —
//! normalized text is NFC, free of control and invisible characters, and normalizing it
//! again changes nothing; the policy keeps only the fields its channel allows; a
//! tracking number found or parsed has the shape of one and parses to itself. Unit tests
//! because these modules are the crate's own (`pub(crate)`); the parsers behind HTTP
//! (the forms' multipart reader, the webhooks) are driven through a running gateway in
//! `tests/it/properties.rs`. Case counts are fixed (`CASES`) so this runs in seconds; a
//! failure prints the shrunk input that caused it.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::{Value, json};
use unicode_normalization::UnicodeNormalization;

use crate::appeal::Channel;
use crate::channels::email::{self, markers, parse};
use crate::free_text_guard;
use crate::normalize;
use crate::policy::Policies;
use crate::tracking::TrackingNumber;

/// Cases of each pure property.
const CASES: u32 = 256;

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // No regression files in the tree: a failure prints its input.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text as citizens and attackers write it: any Unicode, with the troublesome parts
/// (combining marks, bidi controls, zero-width characters, CR, NUL) over-represented.
fn hostile_text() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        any::<char>().prop_map(String::from),
        "[a-zA-Zа-яА-ЯәіңғүұқөһӘІҢҒҮҰҚӨҺ0-9 ]{1,8}",
        Just("\u{0301}".to_owned()),
        Just("e\u{0301}".to_owned()),
        Just("\u{202E}".to_owned()),
        Just("\u{200B}".to_owned()),
        Just("\u{FEFF}".to_owned()),
        Just("\r\n".to_owned()),
        Just("\r".to_owned()),
        Just("\u{2028}".to_owned()),
        Just("\0".to_owned()),
        Just("\t".to_owned()),
        Just("\u{E0041}".to_owned()),
        Just("\u{1F469}\u{200D}\u{1F692}".to_owned()),
    ];
    proptest::collection::vec(pieces, 0..24).prop_map(|p| p.concat())
}

fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{061C}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{E0000}'..='\u{E007F}')
}

fn is_nfc(s: &str) -> bool {
    s.nfc().collect::<String>() == s
}

/// Issue 27: the fast path decides by the first four digits after `+7 7` (the rest are
/// any digits in both the plan and the crate's metadata), so every one of those
/// prefixes is checked against the crate, each with another tail.
#[test]
fn the_kazakh_fast_path_agrees_with_the_phone_library_on_every_prefix() {
    let mut taken = 0;
    for prefix in 0..10_000u32 {
        let digits = format!("77{prefix:04}{:05}", (prefix * 7919) % 100_000);
        if !normalize::kazakh_by_plan(&digits) {
            continue;
        }
        taken += 1;
        let parsed = phonenumber::parse(None, format!("+{digits}")).expect("parses");
        assert!(phonenumber::is_valid(&parsed), "{digits}");
        assert_eq!(
            parsed.format().mode(phonenumber::Mode::E164).to_string(),
            format!("+{digits}")
        );
    }
    // 19 mobile prefixes of a hundred numbers each, and Almaty's 727 ranges.
    assert_eq!(taken, 19 * 100 + 4 * 10 + 1 + 3);
}

proptest! {
    #![proptest_config(config(CASES))]

    #[test]
    fn normalized_text_is_nfc_clean_and_stable(input in hostile_text()) {
        let out = normalize::text(&input);
        prop_assert!(is_nfc(&out), "not NFC: {out:?}");
        prop_assert!(
            !out.chars().any(|c| (c.is_control() && c != '\n' && c != '\t') || invisible(c)),
            "a control or invisible character survived: {out:?}"
        );
        prop_assert!(!out.contains('\r'));
        prop_assert_eq!(out.trim(), out.as_str());
        prop_assert_eq!(normalize::text(&out), out.clone(), "normalizing twice changes it");
    }

    /// Issue 16, point 4: the guard never panics on what a citizen writes, and guarding
    /// its own output finds nothing more (a mask is never mistaken for a number).
    #[test]
    fn the_free_text_guard_is_stable(
        pieces in proptest::collection::vec(prop_oneof![
            hostile_text(),
            "[0-9]{4}[ -][0-9]{4}[ -][0-9]{4}[ -][0-9]{1,4}",
            "KZ[0-9]{2}[ ]?[0-9A-Z]{4}[ ]?[0-9A-Z]{4}[ ]?[0-9A-Z]{4}[ ]?[0-9A-Z]{4}",
            "[0-9]{12}",
            "[+]?[0-9]{1,3}",
        ], 0..8)
    ) {
        let input = normalize::text(&pieces.concat());
        let mut first = free_text_guard::Findings::default();
        let once = free_text_guard::guard(&input, None, &mut first);
        let mut second = free_text_guard::Findings::default();
        let twice = free_text_guard::guard(&once, None, &mut second);
        prop_assert_eq!(&twice, &once, "guarding twice changes it");
        prop_assert!(second.redactions().is_empty(), "{once:?}");
    }

    /// Issue 27: the guard that scans by byte and reads the words lower-cased as it goes
    /// masks and flags exactly what the one before it did (kept as the oracle), on text
    /// built of what it looks for: cards, IBANs (any case, any separator), IINs, company
    /// markers, numbers after `+`, words of the special categories in any case, the
    /// letters whose lower case is longer or depends on the word (İ, Σ), and runs of
    /// candidates.
    #[test]
    fn the_free_text_guard_agrees_with_the_one_before_it(
        pieces in proptest::collection::vec(prop_oneof![
            hostile_text(),
            "[0-9]{4}[ \u{A0}\u{202F}-]?[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{1,4}",
            "[Kk][Zz][0-9]{2}[ \u{A0}-]?[0-9A-Za-z]{4}[ -]?[0-9A-Z]{4}[ -]?[0-9A-Z]{4}[ ]?[0-9A-Z]{4}",
            "KZ86125KZT5004100100",
            "4400 4301 2345 6789",
            "[0-9]{6}[ -]?[0-9]{6}",
            "900101300017|061211600012|850501300011",
            "(БИН|БСН|BIN|бин)[:№ -]{0,2}",
            "[+]?[0-9]{1,3}[ ,./-]?",
            "(ДИАГНОЗ|Инвалид|дін|Дінге|İ|Σ|ς|HIV|Political|сотталған|Дінмұхамед)[ .,]?",
            "([Kk] ){1,12}",
            "[а-яА-ЯәіңғүұқөһӘІҢҒҮҰҚӨҺa-zA-Z]{1,12}",
        ], 0..10),
        own in proptest::option::of(prop_oneof![Just("900101300017"), Just("061211600012")]),
    ) {
        let input = pieces.concat();
        let mut fast = free_text_guard::Findings::default();
        let out = free_text_guard::guard(&input, own, &mut fast);
        let mut before = free_text_guard::Findings::default();
        let expected = free_text_guard::reference::guard(&input, own, &mut before);
        prop_assert_eq!(&out, &expected, "{:?}", input);
        prop_assert_eq!(&fast, &before, "{:?}", input);
    }

    /// Issue 27: text and lines copied in runs normalize exactly as the character by
    /// character versions did (kept as the oracle), white space and controls of every
    /// kind included.
    #[test]
    fn text_and_lines_normalize_as_before(
        pieces in proptest::collection::vec(prop_oneof![
            hostile_text(),
            "[ \t\n\r\u{0B}\u{0C}\u{1C}-\u{1F}\u{85}\u{A0}\u{2000}-\u{200F}\u{2028}\u{2029}\u{202F}\u{3000}]{1,4}",
            "[\u{0300}-\u{036F}\u{0483}-\u{0489}]{1,3}",
            "[a-zа-яәіңғүұқөһ№—«»]{1,6}",
        ], 0..12),
    ) {
        let input = pieces.concat();
        prop_assert_eq!(normalize::text(&input), normalize::reference::text(&input), "{:?}", input);
        prop_assert_eq!(normalize::line(&input), normalize::reference::line(&input), "{:?}", input);
        prop_assert_eq!(normalize::language(&input), normalize::reference::language(&input), "{:?}", input);
    }

    /// Issue 27: the language of a subject and a text read as one is the language of the
    /// two joined by a space, as it was found before; Russian and Kazakh words of the
    /// lists over-represented, in any case.
    #[test]
    fn the_language_of_a_subject_and_a_text_is_found_as_before(
        subject in proptest::collection::vec(prop_oneof![
            hostile_text(),
            "(и|на|Не|ЧТО|улица|прошу|және|МЕН|жоқ|керек|Үй|су|Σ|İ|ә|[a-z]{1,5})[ ,.]",
        ], 0..6),
        text in proptest::collection::vec(prop_oneof![
            hostile_text(),
            "(и|на|Не|ЧТО|улица|прошу|және|МЕН|жоқ|керек|Үй|су|Σ|İ|ә|[a-z]{1,5})[ ,.]",
        ], 0..12),
    ) {
        let (subject, text) = (subject.concat(), text.concat());
        prop_assert_eq!(
            normalize::language_of(&[&subject, &text]),
            normalize::reference::language(&format!("{subject} {text}")),
            "{:?} {:?}", subject, text
        );
    }

    #[test]
    fn a_normalized_line_is_one_nfc_line_and_stable(input in hostile_text()) {
        let out = normalize::line(&input);
        prop_assert!(is_nfc(&out), "not NFC: {out:?}");
        prop_assert!(!out.chars().any(|c| c.is_control() || invisible(c)), "{out:?}");
        prop_assert!(!out.contains("  ") && out.trim() == out, "spaces collapsed: {out:?}");
        prop_assert_eq!(normalize::line(&out), out.clone());
    }

    #[test]
    fn a_phone_number_normalizes_to_e164_or_is_refused(
        input in prop_oneof![
            hostile_text(),
            "[+8]?[ (]?[0-9]{3}[) -]?[0-9]{3}[ -]?[0-9]{2}[ -]?[0-9]{2}",
            "\\+?[0-9 ()-]{0,20}",
        ]
    ) {
        if let Ok(phone) = normalize::phone(&input) {
            prop_assert!(phone.starts_with('+'), "{phone}");
            prop_assert!(phone[1..].bytes().all(|b| b.is_ascii_digit()), "{phone}");
            prop_assert!((8..=16).contains(&phone.len()), "{phone}");
            prop_assert_eq!(normalize::phone(&phone).ok(), Some(phone.clone()));
        }
    }

    /// Issue 27: the numbering-plan fast path for Kazakh numbers agrees with the
    /// `phonenumber` crate on every number it takes, however it was typed. Every
    /// `+7 7xx` prefix is drawn (the mobile ranges, Almaty's 727 and the others, which
    /// the fast path must leave to the crate).
    #[test]
    fn the_kazakh_fast_path_agrees_with_the_phone_library(
        prefix in 700u32..800,
        rest in "[0-9]{7}",
        typed in 0usize..4,
    ) {
        let national = format!("{prefix}{rest}");
        let digits = format!("7{national}");
        let by_crate = phonenumber::parse(None, format!("+{digits}"))
            .ok()
            .filter(phonenumber::is_valid)
            .map(|n| n.format().mode(phonenumber::Mode::E164).to_string());
        if normalize::kazakh_by_plan(&digits) {
            prop_assert_eq!(by_crate.clone(), Some(format!("+{digits}")), "{}", digits);
        }
        let (a, b, c, d) = (&national[..3], &national[3..6], &national[6..8], &national[8..]);
        let input = match typed {
            0 => format!("8 {a} {b} {c} {d}"),
            1 => format!("+7 ({a}) {b}-{c}-{d}"),
            2 => national.clone(),
            _ => format!("7{national}"),
        };
        prop_assert_eq!(normalize::phone(&input).ok(), by_crate, "{}", input);
    }

    #[test]
    fn an_email_address_normalizes_stably_or_is_refused(
        input in prop_oneof![hostile_text(), "[a-zA-Z0-9._%+-]{1,20}@[a-zA-Z0-9.-]{1,20}\\.[a-z]{2,6}"]
    ) {
        if let Ok(address) = normalize::email(&input) {
            prop_assert!(address.contains('@'));
            prop_assert!(!address.chars().any(|c| c.is_control() || c.is_whitespace()));
            prop_assert_eq!(normalize::email(&address).ok(), Some(address.clone()));
        }
    }

    #[test]
    fn identifiers_never_panic(input in hostile_text()) {
        if let Ok(iin) = normalize::iin(&input) {
            prop_assert!(iin.len() == 12 && iin.bytes().all(|b| b.is_ascii_digit()));
        }
        let _ = normalize::document_number(&input);
        let _ = normalize::chat_id(&input);
        let _ = normalize::language(&input);
    }

    #[test]
    fn the_policy_keeps_only_what_the_channel_allows(
        fields in proptest::collection::btree_map(
            prop_oneof![
                Just("last_name".to_owned()), Just("first_name".to_owned()),
                Just("patronymic".to_owned()), Just("email".to_owned()),
                Just("phones".to_owned()), Just("iin".to_owned()),
                Just("birth_date".to_owned()), Just("id_document_number".to_owned()),
                Just("home_address".to_owned()), Just("passport_scan".to_owned()),
                "[a-z_]{1,12}", hostile_text(),
            ],
            prop_oneof![
                hostile_text().prop_map(Value::from),
                Just(json!(["+7 701 555 12 34", "8 (727) 250-00-00"])),
                Just(json!("arman@example.kz")),
                Just(json!("900101300123")),
                Just(json!({"nested": "object"})),
                Just(json!(12345)),
                Just(Value::Null),
            ],
            0..8,
        ),
        channel in proptest::sample::select(Channel::ALL.to_vec()),
    ) {
        let policies = Policies::embedded().map_err(TestCaseError::fail)?;
        let policy = policies.channel(channel);
        let raw: BTreeMap<String, Value> = fields;
        let today = time::macros::date!(2026 - 12 - 01);
        let filtered = policy.filter_applicant(&raw, today);
        let kept = serde_json::to_value(&filtered.applicant).map_err(|e| TestCaseError::fail(e.to_string()))?;
        for (name, value) in kept.as_object().into_iter().flatten() {
            prop_assert!(policy.fields.contains(name), "{channel:?} kept {name}");
            prop_assert!(raw.contains_key(name), "{name} kept without being sent");
            for text in value.as_str().into_iter().chain(value.as_array().into_iter().flatten().filter_map(Value::as_str)) {
                prop_assert!(is_nfc(text) && !text.chars().any(char::is_control), "{text:?}");
            }
        }
        for (name, _) in raw.iter().filter(|(n, _)| !policy.fields.contains(n.as_str())) {
            prop_assert!(kept.get(name).is_none(), "{name} not allowed yet kept");
        }
        for dropped in &filtered.dropped {
            prop_assert!(!dropped.chars().any(|c| c.is_control() || invisible(c)), "{dropped:?}");
        }
    }

    #[test]
    fn a_tracking_number_found_in_a_subject_has_its_shape(subject in hostile_text()) {
        if let Some(t) = TrackingNumber::find_in(&subject) {
            prop_assert_eq!(TrackingNumber::parse(t.as_str()).map(TrackingNumber::into_string), Some(t.as_str().to_owned()));
            prop_assert!(subject.to_ascii_uppercase().contains(t.as_str()));
        }
        if let Some(t) = TrackingNumber::parse(&subject) {
            let shown = t.as_str();
            prop_assert!(shown.len() == 12 && shown.starts_with("OA-") && shown.as_bytes()[7] == b'-', "{shown}");
            prop_assert_eq!(TrackingNumber::parse(shown).map(TrackingNumber::into_string), Some(shown.to_owned()));
        }
        let _ = markers::find(&subject);
        let _ = email::strip_reply_prefixes(&subject);
    }

    #[test]
    fn a_tracking_number_in_a_reply_subject_is_found(
        number in "OA-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}",
        before in "[а-яё :\\[]{0,20}",
        after in "[а-яё :\\]]{0,20}",
        lower in any::<bool>(),
    ) {
        let written = if lower { number.to_lowercase() } else { number.clone() };
        let subject = format!("Re: {before}{written}{after}");
        prop_assert_eq!(TrackingNumber::find_in(&subject).map(TrackingNumber::into_string), Some(number.clone()));
        prop_assert_eq!(TrackingNumber::parse(&written).map(TrackingNumber::into_string), Some(number));
    }

    #[test]
    fn any_bytes_as_a_mail_never_panic(raw in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = parse::parse(&raw);
    }

    #[test]
    fn any_mail_with_hostile_headers_and_parts_never_panics(
        from in hostile_text(),
        subject in hostile_text(),
        body in hostile_text(),
        charset in prop_oneof![Just("utf-8".to_owned()), Just("windows-1251".to_owned()), Just("koi8-r".to_owned()), Just("ibm866".to_owned()), "[a-z0-9-]{1,12}"],
        encoding in prop_oneof![Just("8bit".to_owned()), Just("base64".to_owned()), Just("quoted-printable".to_owned()), "[a-z0-9-]{1,10}"],
        attachment in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let raw = format!(
            "From: {from}\r\nTo: open-almaty@almatydc.kz\r\nSubject: {subject}\r\nMIME-Version: 1.0\r\n\
             Content-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\n\
             Content-Type: text/plain; charset={charset}\r\nContent-Transfer-Encoding: {encoding}\r\n\r\n\
             {body}\r\n--B\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename=\"{subject}.jpg\"\r\n\r\n"
        );
        let raw = [raw.as_bytes(), &attachment, b"\r\n--B--\r\n"].concat();
        if let Ok(mail) = parse::parse(&raw) {
            prop_assert!(is_nfc(&normalize::text(&mail.text)));
        }
    }
}
