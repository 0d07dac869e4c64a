//! The domain of a citizen's email address, read as mail software reads it (issue 34).
//!
//! IDNA (UTS 46) maps what people type to one form — case folded, compatibility
//! characters mapped, punycode (`xn--…`) decoded — and refuses what no registry can hold.
//! Then each label must be in one script (UTS 39's single-script test): `маil.kz`, with
//! a Cyrillic «ма» in a Latin name, looks like `mail.kz` and is someone else's domain.
//! A label wholly Cyrillic (`пошта.қаз`, `сайт.kz`) or wholly Latin is taken; digits
//! and hyphens go with any script.

use unicode_security::MixedScript;

/// The domain as the gateway keeps it (Unicode, mapped by UTS 46), or `None` when it is
/// not a domain IDNA accepts or a label mixes scripts.
pub(crate) fn checked(domain: &str) -> Option<String> {
    let (unicode, result) = idna::domain_to_unicode(domain);
    if result.is_err() || unicode.is_empty() {
        return None;
    }
    unicode
        .split('.')
        .all(|label| {
            !label.is_empty()
                // STD3: an ASCII character of a host name is a letter, a digit or `-`.
                && label
                    .chars()
                    .all(|c| !c.is_ascii() || c.is_ascii_alphanumeric() || c == '-')
                && label.is_single_script()
        })
        .then_some(unicode)
}

#[cfg(test)]
mod tests {
    use super::checked;

    #[test]
    fn a_label_in_one_script_is_taken_and_a_mixed_one_refused() {
        assert_eq!(checked("Mail.KZ").as_deref(), Some("mail.kz"));
        assert_eq!(checked("пошта.қаз").as_deref(), Some("пошта.қаз"));
        assert_eq!(checked("СайТ.kz").as_deref(), Some("сайт.kz"));
        assert_eq!(checked("almaty-2024.kz").as_deref(), Some("almaty-2024.kz"));
        assert_eq!(checked("маil.kz"), None, "Cyrillic «ма» in a Latin label");
        assert_eq!(checked("gоogle.com"), None, "a Cyrillic «о»");
        // The same mixed label written in punycode.
        let puny = idna::domain_to_ascii("маil.kz").expect("ascii");
        assert!(puny.starts_with("xn--"), "{puny}");
        assert_eq!(checked(&puny), None);
        assert_eq!(checked("exa mple.kz"), None);
        assert_eq!(checked("a..kz"), None);
    }
}
