//! The service catalogue: the categories an appeal is filed under and the topics of a
//! consultation, read from `channels/catalogue.toml` (policy is data, reviewed like code).

use serde::Deserialize;

use crate::appeal::Language;

/// One category of the catalogue.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Category {
    /// The code carried on `appeals.v1`.
    pub(crate) code: String,
    pub(crate) kk: String,
    pub(crate) ru: String,
    pub(crate) en: String,
    /// The problem is somewhere (a road, a lamp, a yard): the web form requires its
    /// address or position (issue 28, point 5). Absent: `false`.
    #[serde(default)]
    pub(crate) place: bool,
}

impl Category {
    /// The category's name in a language.
    pub(crate) fn name(&self, language: Language) -> &str {
        match language {
            Language::Kk => &self.kk,
            Language::Ru => &self.ru,
            Language::En => &self.en,
        }
    }
}

/// The whole catalogue, in the order citizens see it.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Catalogue {
    #[serde(rename = "category")]
    pub(crate) categories: Vec<Category>,
    /// What a consultation at 1308 was about ([`crate::consultation`]): a closed list,
    /// named as categories are.
    #[serde(rename = "consultation_topic", default)]
    pub(crate) topics: Vec<Category>,
}

/// The code used when a channel does not say.
pub(crate) const DEFAULT_CATEGORY: &str = "other";

impl Catalogue {
    /// The catalogue shipped in `channels/catalogue.toml`.
    pub(crate) fn embedded() -> Result<Catalogue, String> {
        Catalogue::parse(include_str!("../channels/catalogue.toml"))
    }

    /// A catalogue from TOML; codes must be unique and `other` must exist.
    pub(crate) fn parse(source: &str) -> Result<Catalogue, String> {
        let catalogue: Catalogue =
            toml_from_str(source).map_err(|e| format!("channels/catalogue.toml: {e}"))?;
        let mut codes: Vec<&str> = catalogue
            .categories
            .iter()
            .map(|c| c.code.as_str())
            .collect();
        codes.sort_unstable();
        if codes.windows(2).any(|w| w[0] == w[1]) {
            return Err("channels/catalogue.toml: a category code appears twice".into());
        }
        let mut topics: Vec<&str> = catalogue.topics.iter().map(|t| t.code.as_str()).collect();
        topics.sort_unstable();
        if topics.windows(2).any(|w| w[0] == w[1]) {
            return Err("channels/catalogue.toml: a consultation topic appears twice".into());
        }
        if catalogue.get(DEFAULT_CATEGORY).is_none() {
            return Err("channels/catalogue.toml: the category `other` is missing".into());
        }
        Ok(catalogue)
    }

    /// The category with this code.
    pub(crate) fn get(&self, code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }

    /// The consultation topic with this code.
    pub(crate) fn topic(&self, code: &str) -> Option<&Category> {
        self.topics.iter().find(|t| t.code == code)
    }
}

/// TOML through figment's parser, so the crate carries one TOML implementation.
pub(crate) fn toml_from_str<T: serde::de::DeserializeOwned>(source: &str) -> Result<T, String> {
    use figment::providers::{Format, Toml};
    figment::Figment::from(Toml::string(source))
        .extract()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_catalogue_has_the_default_list() {
        let catalogue = Catalogue::embedded().expect("catalogue parses");
        assert_eq!(catalogue.categories.len(), 14);
        let roads = catalogue.get("roads").expect("roads");
        assert_eq!(roads.name(Language::Ru), "Дороги и тротуары");
        assert!(catalogue.get("potholes").is_none());
        assert_eq!(catalogue.topics.len(), 6);
        let topic = catalogue.topic("procedure").expect("procedure");
        assert!(topic.name(Language::Kk).contains("құжаттар"));
        assert!(catalogue.topic("roads").is_none());
        // The problems that are somewhere need a place; the others do not.
        assert!(roads.place && catalogue.get("lighting").is_some_and(|c| c.place));
        assert!(!catalogue.get("other").is_some_and(|c| c.place));
        assert!(!catalogue.get("public_order").is_some_and(|c| c.place));
    }
}
