//! Localized messages (kk, ru, en) from `templates/i18n/<language>/*.ftl`, in Fluent:
//! CLDR plural rules matter for Russian and Kazakh, and translators can edit the files
//! without code. One file per concern (errors, web pages, bot dialogue, mail); a new
//! file is added to [`SOURCES`] for each of the three languages.

use std::collections::HashMap;
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource};

use crate::appeal::Language;

/// Every message file, by language.
const SOURCES: [(&str, &[&str]); 3] = [
    (
        "kk",
        &[
            include_str!("../templates/i18n/kk/errors.ftl"),
            include_str!("../templates/i18n/kk/web.ftl"),
            include_str!("../templates/i18n/kk/bot.ftl"),
            include_str!("../templates/i18n/kk/mail.ftl"),
            include_str!("../templates/i18n/kk/notify.ftl"),
            include_str!("../templates/i18n/kk/confirm_contact.ftl"),
            include_str!("../templates/i18n/kk/agent.ftl"),
            include_str!("../templates/i18n/kk/catalogue.ftl"),
            include_str!("../templates/i18n/kk/fields.ftl"),
            include_str!("../templates/i18n/kk/open311.ftl"),
        ],
    ),
    (
        "ru",
        &[
            include_str!("../templates/i18n/ru/errors.ftl"),
            include_str!("../templates/i18n/ru/web.ftl"),
            include_str!("../templates/i18n/ru/bot.ftl"),
            include_str!("../templates/i18n/ru/mail.ftl"),
            include_str!("../templates/i18n/ru/notify.ftl"),
            include_str!("../templates/i18n/ru/confirm_contact.ftl"),
            include_str!("../templates/i18n/ru/agent.ftl"),
            include_str!("../templates/i18n/ru/catalogue.ftl"),
            include_str!("../templates/i18n/ru/fields.ftl"),
            include_str!("../templates/i18n/ru/open311.ftl"),
        ],
    ),
    (
        "en",
        &[
            include_str!("../templates/i18n/en/errors.ftl"),
            include_str!("../templates/i18n/en/web.ftl"),
            include_str!("../templates/i18n/en/bot.ftl"),
            include_str!("../templates/i18n/en/mail.ftl"),
            include_str!("../templates/i18n/en/notify.ftl"),
            include_str!("../templates/i18n/en/confirm_contact.ftl"),
            include_str!("../templates/i18n/en/agent.ftl"),
            include_str!("../templates/i18n/en/catalogue.ftl"),
            include_str!("../templates/i18n/en/fields.ftl"),
            include_str!("../templates/i18n/en/open311.ftl"),
        ],
    ),
];

/// The message bundles, one per language.
pub(crate) struct I18n {
    bundles: HashMap<&'static str, FluentBundle<FluentResource>>,
}

/// The bundles shipped with the binary, parsed once.
pub(crate) static MESSAGES: LazyLock<I18n> = LazyLock::new(I18n::embedded);

impl I18n {
    fn embedded() -> I18n {
        let mut bundles = HashMap::new();
        for (tag, sources) in SOURCES {
            let locale = tag.parse().unwrap_or_default();
            let mut bundle = FluentBundle::new_concurrent(vec![locale]);
            // No Unicode isolation marks: these texts go into JSON and plain text.
            bundle.set_use_isolating(false);
            for source in sources {
                let resource = match FluentResource::try_new((*source).to_owned()) {
                    Ok(r) => r,
                    // A broken file still yields what parsed; the test below keeps them whole.
                    Err((r, _)) => r,
                };
                let _ = bundle.add_resource(resource);
            }
            bundles.insert(tag, bundle);
        }
        I18n { bundles }
    }

    /// The message `id` in `language`, with arguments; falls back to Russian, then to
    /// the id itself, so a missing translation never hides an error.
    pub(crate) fn text(&self, language: Language, id: &str, args: &[(&str, String)]) -> String {
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            fluent_args.set(*name, value.clone());
        }
        for tag in [language.as_str(), "ru"] {
            let Some(bundle) = self.bundles.get(tag) else {
                continue;
            };
            let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) else {
                continue;
            };
            let mut errors = Vec::new();
            return bundle
                .format_pattern(pattern, Some(&fluent_args), &mut errors)
                .into_owned();
        }
        id.to_owned()
    }

    /// The message of a form's error: the field's own wording of the rule
    /// (`error-{code}-{field}`, e.g. "Choose a category" for a category left on
    /// "— choose —", `fields.ftl`) when there is one, else the rule's (`error-{code}`).
    /// Issue 28, point 2: a specific message per field and per rule.
    pub(crate) fn field_error(&self, language: Language, field: &str, code: &str) -> String {
        let own = format!("error-{code}-{field}");
        let has_own = self
            .bundles
            .get("ru")
            .is_some_and(|bundle| bundle.has_message(&own));
        let id = if has_own {
            own
        } else {
            format!("error-{code}")
        };
        self.text(language, &id, &[])
    }
}

/// Picks kk, ru or en from an `Accept-Language` value by quality; `None` if none fits.
pub(crate) fn negotiate(accept_language: &str) -> Option<Language> {
    // Parsed by hand: actix-web's typed `AcceptLanguage` header needs a request and this
    // is also used for cookies and tests; the grammar is `tag;q=0.8, tag`.
    let mut best: Option<(f32, Language)> = None;
    for item in accept_language.split(',') {
        let mut parts = item.split(';');
        let Some(language) = parts.next().map(str::trim).and_then(Language::parse) else {
            continue;
        };
        let quality = parts
            .find_map(|p| p.trim().strip_prefix("q="))
            .and_then(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if quality > 0.0 && best.is_none_or(|(q, _)| quality > q) {
            best = Some((quality, language));
        }
    }
    best.map(|(_, l)| l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_message() {
        let ids = |source: &str| -> Vec<String> {
            source
                .lines()
                .filter(|l| !l.starts_with('#') && l.contains(" = "))
                .filter_map(|l| l.split(" = ").next().map(str::to_owned))
                .collect()
        };
        let (_, russian) = SOURCES[1];
        for (tag, sources) in SOURCES {
            assert_eq!(
                sources.len(),
                russian.len(),
                "{tag} has as many files as ru"
            );
            for (source, reference) in sources.iter().zip(russian) {
                assert!(
                    FluentResource::try_new((*source).to_owned()).is_ok(),
                    "a {tag} file parses"
                );
                assert_eq!(
                    ids(source),
                    ids(reference),
                    "a {tag} file has the same messages as in ru"
                );
            }
        }
    }

    #[test]
    fn messages_differ_by_language_and_take_arguments() {
        let kk = MESSAGES.text(Language::Kk, "error-consent_required", &[]);
        let en = MESSAGES.text(Language::En, "error-consent_required", &[]);
        assert!(kk.contains("келісім"), "{kk}");
        assert!(en.starts_with("Without consent"), "{en}");
        let limit = MESSAGES.text(
            Language::En,
            "error-payload_too_large",
            &[("limit", "1048576".into())],
        );
        assert_eq!(limit, "The request is larger than 1048576 bytes.");
    }

    #[test]
    fn accept_language_by_quality() {
        assert_eq!(negotiate("en;q=0.5, kk"), Some(Language::Kk));
        assert_eq!(
            negotiate("de-DE, en-US;q=0.9, ru;q=0.8"),
            Some(Language::En)
        );
        assert_eq!(negotiate("fr, de"), None);
        assert_eq!(negotiate("ru;q=0, en;q=0.1"), Some(Language::En));
    }
}
