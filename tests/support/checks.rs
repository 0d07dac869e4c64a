//! Test data and checks: a valid appeal, the shapes of identifiers, subject keys, and
//! the search for personal data in logs and files ([`assert_none_in`]).

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::*;

/// The reference appeal of the integrators' documentation, including fields outside the
/// regulation's allowlist (religion, home address, card, passport scan).
pub fn valid_appeal() -> Value {
    json!({
        "channel": "api",
        "category": "roads",
        "subject": "Яма на дороге",
        "text": "На пр. Абая, 10 большая яма, машины объезжают по встречной.",
        "location": {"address": "пр. Абая, 10", "lat": 43.238, "lon": 76.945},
        "applicant": {
            "last_name": "Иванов",
            "first_name": "Иван",
            "patronymic": "Иванович",
            "email": "Ivan.Petrov@Mail.KZ",
            "phones": ["8 701 123 45 67"],
            "iin": "900101300017",
            "religion": "Пастафарианство-7731",
            "home_address": "ул. Толе би, 1, кв. 5",
            "bank_card": "4400 4301 2345 6789",
            "passport_scan": "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ"
        },
        "consent": {"method": "api", "purposes": ["appeal", "notifications"]},
        "reply_to": {"channel": "email", "address": "Ivan.Petrov@Mail.KZ"}
    })
}

/// A small valid appeal (only allowlisted fields) whose `subject` and `text` carry `tag`,
/// so that a stream entry can be matched to the request that made it.
pub fn tagged_appeal(tag: &str) -> Value {
    json!({
        "channel": "api",
        "category": "roads",
        "subject": format!("Яма на дороге {tag}"),
        "text": format!("Большая яма у дома, заявка {tag}, машины объезжают по встречной."),
        "location": {"address": "пр. Абая, 10", "lat": 43.238, "lon": 76.945},
        "applicant": {
            "last_name": "Иванов",
            "first_name": "Иван",
            "phones": ["+7 702 000 00 01"]
        },
        "consent": {"method": "api", "purposes": ["appeal"]}
    })
}

/// Does `dropped_fields` name `field` (as `field` or as a path ending in `.field`)?
pub fn names_dropped(dropped: &Value, field: &str) -> bool {
    dropped.as_array().is_some_and(|list| {
        list.iter()
            .filter_map(Value::as_str)
            .any(|name| name == field || name.ends_with(&format!(".{field}")))
    })
}

/// True for `OA-XXXX-XXXX` in Crockford base32 (no I, L, O, U).
pub fn is_tracking_number(s: &str) -> bool {
    let crockford = |c: char| c.is_ascii_digit() || (c.is_ascii_uppercase() && !"ILOU".contains(c));
    // `OA-XXXX-XXXX-C` (with Crockford's check symbol), or `OA-XXXX-XXXX` as issued
    // before it.
    let parts: Vec<&str> = s.split('-').collect();
    (parts.len() == 3 || (parts.len() == 4 && parts[3].chars().count() == 1))
        && parts[0] == "OA"
        && parts[1..]
            .iter()
            .enumerate()
            .all(|(i, p)| (i == 2 || p.chars().count() == 4) && p.chars().all(crockford))
}

/// True for a 26-character ULID in Crockford base32.
pub fn is_ulid(s: &str) -> bool {
    s.len() == 26
        && s.chars()
            .all(|c| c.is_ascii_digit() || (c.is_ascii_uppercase() && !"ILOU".contains(c)))
}

/// True for 64 lower-case hex digits.
pub fn is_hex64(s: &str) -> bool {
    s.len() == 64
        && s.chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// `HMAC-SHA256(GATEWAY_SUBJECT_KEY_SECRET, "<kind>:<normalized value>")` in lower-case
/// hex: the subject key the contract promises.
pub fn subject_key(kind: &str, normalized: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(SUBJECT_KEY_SECRET.as_bytes())
        .expect("hmac key");
    mac.update(format!("{kind}:{normalized}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The forms in which `value` could show up in text: as is, and JSON-escaped with
/// `\uXXXX` for every non-ASCII character (lower- and upper-case hex).
pub fn forms(value: &str) -> Vec<String> {
    let mut out = vec![value.to_string()];
    if !value.is_ascii() {
        for upper in [false, true] {
            let mut s = String::new();
            for c in value.chars() {
                if c.is_ascii() {
                    s.push(c);
                } else {
                    let mut buf = [0u16; 2];
                    for unit in c.encode_utf16(&mut buf) {
                        if upper {
                            s.push_str(&format!("\\u{unit:04X}"));
                        } else {
                            s.push_str(&format!("\\u{unit:04x}"));
                        }
                    }
                }
            }
            out.push(s);
        }
    }
    out
}

/// The values of `needles` found in `haystack` (in any of their [`forms`], ignoring
/// ASCII case).
pub fn found_in(haystack: &str, needles: &[&str]) -> Vec<String> {
    let hay = haystack.to_lowercase();
    needles
        .iter()
        .filter(|n| forms(n).iter().any(|f| hay.contains(&f.to_lowercase())))
        .map(|n| n.to_string())
        .collect()
}

/// Panics if any of `needles` occurs in `haystack`, naming the place and the values.
#[track_caller]
pub fn assert_none_in(haystack: &str, needles: &[&str], place: &str) {
    let found = found_in(haystack, needles);
    assert!(found.is_empty(), "{place} contains {found:?}");
}

/// Every file under `dir`, with its bytes.
pub fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = fs::read(&p) {
                out.push((p, bytes));
            }
        }
    }
    out
}

/// Panics if any of `needles` (in any of their [`forms`]) occurs in a file under `dir`.
#[track_caller]
pub fn assert_none_in_files(dir: &Path, needles: &[&str]) {
    let files = files_under(dir);
    let mut found = Vec::new();
    for (path, bytes) in &files {
        for n in needles {
            if forms(n)
                .iter()
                .any(|f| bytes.windows(f.len()).any(|w| w == f.as_bytes()))
            {
                found.push(format!("{} in {}", n, path.display()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the data directory holds dropped values: {found:?}"
    );
}

/// Ids of `entries` that occur more than once.
pub fn duplicate_ids(entries: &[Entry]) -> Vec<String> {
    let mut seen = HashSet::new();
    entries
        .iter()
        .filter(|e| !seen.insert(e.id.clone()))
        .map(|e| e.id.clone())
        .collect()
}
