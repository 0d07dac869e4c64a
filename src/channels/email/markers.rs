//! The regulation's three mail markers (6.2, 9.2): a citizen writes to the operator's
//! mailbox with one of them in the subject to stop notifications, to update their data
//! or to withdraw consent. The Kazakh wording is the authority:
//!
//! - «Хабарламадан бас тарту» — stop informational messages;
//! - «Дербес деректерді жаңарту» — update personal data;
//! - «Дербес деректерді өңдеуге келісімді қайтарып алу» — withdraw consent.
//!
//! People type them as they can: in another case, with extra spaces or quotes, after
//! `Re:`, without a Kazakh keyboard (`і` as Latin `i` or Russian `и`, `қ` as `к`, …), or
//! in Russian. Both sides are folded to one skeleton (lower case, Kazakh letters to their
//! nearest Russian ones, only letters and single spaces) and the subject must contain a
//! marker's skeleton.

use crate::appeal::Language;
use crate::subject::SubjectRequestKind;

/// Each marker's wordings, the Kazakh one first, with the language it is written in.
/// Withdrawal comes first: its wording is the most specific.
const MARKERS: [(SubjectRequestKind, &[(&str, Language)]); 3] = [
    (
        SubjectRequestKind::WithdrawConsent,
        &[
            (
                "Дербес деректерді өңдеуге келісімді қайтарып алу",
                Language::Kk,
            ),
            (
                "Отзыв согласия на обработку персональных данных",
                Language::Ru,
            ),
            ("Отзыв согласия", Language::Ru),
            ("Отозвать согласие", Language::Ru),
            ("Withdraw consent", Language::En),
        ],
    ),
    (
        SubjectRequestKind::OptOutNotifications,
        &[
            ("Хабарламадан бас тарту", Language::Kk),
            ("Отказ от уведомлений", Language::Ru),
            ("Отписаться от уведомлений", Language::Ru),
            ("Unsubscribe", Language::En),
        ],
    ),
    (
        SubjectRequestKind::UpdateData,
        &[
            ("Дербес деректерді жаңарту", Language::Kk),
            ("Обновление персональных данных", Language::Ru),
            ("Обновить персональные данные", Language::Ru),
            ("Update personal data", Language::En),
        ],
    ),
];

/// A marker found in a subject: the request it stands for and the language it was
/// written in (the acknowledgement answers in it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Marker {
    pub(crate) kind: SubjectRequestKind,
    pub(crate) language: Language,
}

/// The marker in `subject`, if any.
pub(crate) fn find(subject: &str) -> Option<Marker> {
    let folded = fold(subject);
    MARKERS.iter().find_map(|(kind, wordings)| {
        wordings
            .iter()
            .find(|(wording, _)| contains_words(&folded, &fold(wording)))
            .map(|(_, language)| Marker {
                kind: *kind,
                language: *language,
            })
    })
}

/// `needle` occurs in `hay` on word boundaries.
fn contains_words(hay: &str, needle: &str) -> bool {
    format!(" {hay} ").contains(&format!(" {needle} "))
}

/// The skeleton of a text: lower case; Kazakh letters and Latin look-alikes to the
/// Russian letter typed in their place; `ё` as `е`; anything not a letter is a space;
/// runs of spaces collapse.
pub(crate) fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = true;
    for c in text.chars().flat_map(char::to_lowercase) {
        let c = match c {
            'і' | 'i' => 'и',
            'ә' | 'a' => 'а',
            'ө' | 'o' => 'о',
            'ұ' | 'ү' | 'y' => 'у',
            'қ' | 'k' => 'к',
            'ғ' => 'г',
            'ң' => 'н',
            'һ' => 'х',
            'ё' => 'е',
            'e' => 'е',
            'c' => 'с',
            'p' => 'р',
            'x' => 'х',
            'm' => 'м',
            'h' => 'н',
            't' => 'т',
            'b' => 'в',
            other => other,
        };
        if c.is_alphabetic() {
            out.push(c);
            space = false;
        } else if !space {
            out.push(' ');
            space = true;
        }
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kazakh_wording_exactly() {
        let m = find("Хабарламадан бас тарту").expect("marker");
        assert_eq!(m.kind, SubjectRequestKind::OptOutNotifications);
        assert_eq!(m.language, Language::Kk);
        let m = find("Дербес деректерді жаңарту").expect("marker");
        assert_eq!(m.kind, SubjectRequestKind::UpdateData);
        let m = find("Дербес деректерді өңдеуге келісімді қайтарып алу").expect("marker");
        assert_eq!(m.kind, SubjectRequestKind::WithdrawConsent);
    }

    #[test]
    fn reasonable_variants() {
        for subject in [
            "RE:  «ХАБАРЛАМАДАН   БАС ТАРТУ»",
            "хабарламадан бас тарту!",
            "Хабарламадан бас тарту [OA-7K3M-9QX2]",
        ] {
            assert_eq!(
                find(subject).map(|m| m.kind),
                Some(SubjectRequestKind::OptOutNotifications),
                "{subject}"
            );
        }
        // Typed without a Kazakh keyboard: Latin i, Russian к and н.
        let m = find("Дербес деректерді өндеуге келiсiмдi кайтарып алу").expect("marker");
        assert_eq!(m.kind, SubjectRequestKind::WithdrawConsent);
        let m = find("Отзыв согласия на обработку персональных данных").expect("marker");
        assert_eq!(
            (m.kind, m.language),
            (SubjectRequestKind::WithdrawConsent, Language::Ru)
        );
        let m = find("отказ от уведомлений").expect("marker");
        assert_eq!(m.kind, SubjectRequestKind::OptOutNotifications);
        let m = find("Обновление персональных данных").expect("marker");
        assert_eq!(m.kind, SubjectRequestKind::UpdateData);
    }

    #[test]
    fn ordinary_subjects_are_not_markers() {
        for subject in [
            "Яма на дороге",
            "Отказ в ремонте дороги",
            "Деректер жоқ",
            "Бас тартуға болмайды",
        ] {
            assert_eq!(find(subject), None, "{subject}");
        }
    }
}
