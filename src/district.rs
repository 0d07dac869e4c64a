//! The eight districts of Almaty, as an appeal's `location.district` (issue 16, point 5:
//! `analytics.v2` counts appeals by district where it is known). Known from the budget
//! form, which asks for it, from an integrator that sends it, or from an address that
//! names exactly one district as a district: «Алмалинский район», «Алмалы ауданы»,
//! «Almaly district» (the Russian adjective alone, «Алмалинский», names only the
//! district). A bare name is not enough: «Медеу» is also a skating rink, «Алатау» a
//! street and a mountain range. Hand-written: no crate knows Almaty's districts.

use std::sync::LazyLock;

use aho_corasick::AhoCorasick;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A district of Almaty, by its code.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum District {
    Alatau,
    Almaly,
    Auezov,
    Bostandyk,
    Zhetysu,
    Medeu,
    Nauryzbay,
    Turksib,
}

/// Every district: its code and its name in Kazakh, Russian and English, as the budget
/// form shows it. An address is matched against their lower case; the Russian name is
/// the adjective («Алатауский»), and its stem («алатауск») also matches its other forms.
const NAMES: [(District, &str, &str, &str, &str); 8] = [
    (District::Alatau, "alatau", "Алатау", "Алатауский", "Alatau"),
    (
        District::Almaly,
        "almaly",
        "Алмалы",
        "Алмалинский",
        "Almaly",
    ),
    (District::Auezov, "auezov", "Әуезов", "Ауэзовский", "Auezov"),
    (
        District::Bostandyk,
        "bostandyk",
        "Бостандық",
        "Бостандыкский",
        "Bostandyk",
    ),
    (
        District::Zhetysu,
        "zhetysu",
        "Жетісу",
        "Жетысуский",
        "Zhetysu",
    ),
    (District::Medeu, "medeu", "Медеу", "Медеуский", "Medeu"),
    (
        District::Nauryzbay,
        "nauryzbay",
        "Наурызбай",
        "Наурызбайский",
        "Nauryzbay",
    ),
    (
        District::Turksib,
        "turksib",
        "Түрксіб",
        "Турксибский",
        "Turksib",
    ),
];

/// What follows a Kazakh or English name when it names the district.
const KK_DISTRICT: [&str; 2] = [" ауданы", " ауд."];
const EN_DISTRICT: [&str; 2] = [" district", " dist."];

impl District {
    /// The code, as on the appeal and in `analytics.v2`.
    pub(crate) fn code(self) -> &'static str {
        NAMES.iter().find(|n| n.0 == self).map_or("", |n| n.1)
    }

    /// The district of a code.
    pub(crate) fn from_code(code: &str) -> Option<District> {
        NAMES.iter().find(|n| n.1 == code).map(|n| n.0)
    }

    /// Every district, in the order the budget form lists them.
    pub(crate) fn all() -> impl Iterator<Item = District> {
        NAMES.iter().map(|n| n.0)
    }

    /// The district's name in Kazakh, Russian and English (the caller picks by its
    /// language; this module stays below `appeal`, which uses it).
    pub(crate) fn names(self) -> (&'static str, &'static str, &'static str) {
        NAMES
            .iter()
            .find(|n| n.0 == self)
            .map_or(("", "", ""), |n| (n.2, n.3, n.4))
    }

    /// The one district `address` names as a district; `None` when it names none or
    /// more than one.
    pub(crate) fn named_in(address: &str) -> Option<District> {
        // The address is lower-cased once and searched for every name at once (issue 27:
        // lower-casing the names and formatting each form per call was 6% of an appeal).
        let text = address.to_lowercase();
        let (searcher, districts) = &*SEARCHER;
        let mut found = searcher
            .find_overlapping_iter(&text)
            .map(|m| districts[m.pattern().as_usize()]);
        let first = found.next()?;
        found.all(|d| d == first).then_some(first)
    }
}

/// Every form a district is named by, in lower case, with the district of each: the
/// Russian stem (the adjective less `ий`, which its other cases share), and the Kazakh
/// and English names followed by the word for district («ауданы», «р-н», «district», …).
/// One Aho–Corasick automaton finds them all in one pass over the address.
static SEARCHER: LazyLock<(AhoCorasick, Vec<District>)> = LazyLock::new(|| {
    let mut patterns = Vec::new();
    let mut districts = Vec::new();
    for (district, _, kk, ru, en) in NAMES {
        let (kk, ru, en) = (kk.to_lowercase(), ru.to_lowercase(), en.to_lowercase());
        let ru_stem = ru.strip_suffix("ий").unwrap_or(&ru).to_owned();
        let forms = std::iter::once(ru_stem)
            .chain(KK_DISTRICT.iter().map(|s| format!("{kk}{s}")))
            .chain(EN_DISTRICT.iter().map(|s| format!("{en}{s}")))
            .chain([format!("{kk} р-н"), format!("{kk} район")]);
        for form in forms {
            patterns.push(form);
            districts.push(district);
        }
    }
    // Plain literal patterns: building cannot fail but for a size limit these few names
    // are far below.
    let searcher = AhoCorasick::new(&patterns).expect("district names build an automaton");
    (searcher, districts)
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_naming_one_district_gives_it() {
        for (address, district) in [
            ("ул. Жандосова 55, Ауэзовский район", District::Auezov),
            ("Алмалинский р-н, Толе би 100", District::Almaly),
            ("Бостандық ауданы, Тимирязев к-сі 42", District::Bostandyk),
            ("Zhetysu district, Rayymbek ave 200", District::Zhetysu),
            ("МЕДЕУСКИЙ РАЙОН, пр. Достык", District::Medeu),
            ("Турксибский район, Сейфуллина 1", District::Turksib),
        ] {
            assert_eq!(District::named_in(address), Some(district), "{address}");
        }
    }

    #[test]
    fn a_bare_name_or_two_districts_give_none() {
        for address in [
            "каток Медеу",
            "ул. Алатау 5",
            "мкр. Айнабулак-3, 15",
            "Abay ave 10",
            "на границе Алмалинского и Бостандыкского районов",
            "",
        ] {
            assert_eq!(District::named_in(address), None, "{address}");
        }
    }

    #[test]
    fn every_form_of_every_name_is_found_in_any_case() {
        for (district, _, kk, ru, en) in NAMES {
            let ru_stem = ru.strip_suffix("ий").unwrap_or(ru);
            for address in [
                format!("ул. Абая 1, {ru} район"),
                format!("{}ого района", ru_stem.to_uppercase()),
                format!("{kk} ауданы, 5"),
                format!("{kk} ауд. 5"),
                format!("{} District", en.to_uppercase()),
                format!("{en} dist. 5"),
                format!("{kk} р-н"),
                format!("{} РАЙОН", kk.to_uppercase()),
            ] {
                assert_eq!(District::named_in(&address), Some(district), "{address}");
            }
        }
    }

    #[test]
    fn codes_go_both_ways() {
        for (district, code, ..) in NAMES {
            assert_eq!(district.code(), code);
            assert_eq!(District::from_code(code), Some(district));
            assert_eq!(
                serde_json::to_value(district).ok(),
                Some(serde_json::Value::String(code.to_owned()))
            );
        }
        assert_eq!(District::from_code("astana"), None);
    }
}
