//! The service catalogue: the categories an appeal is filed under and the topics of a
//! consultation, read from `channels/catalogue.toml` (policy is data, reviewed like code).

use serde::Deserialize;

use crate::appeal::Language;
use crate::attributes::{Names, Question};

/// One category of the catalogue.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Category {
    /// The code carried on `appeals.v1`.
    pub(crate) code: String,
    pub(crate) kk: String,
    pub(crate) ru: String,
    pub(crate) en: String,
    /// What the category asks besides the text (issue 29), in the order asked.
    #[serde(default, rename = "question")]
    pub(crate) questions: Vec<Question>,
    /// A notice shown before the citizen goes on (e.g. where outages are published).
    #[serde(default)]
    pub(crate) notice: Option<Names>,
    /// An emergency service's code (`[[emergency]]`): the whole category is one to call
    /// about, not to file.
    #[serde(default)]
    pub(crate) stopper: Option<String>,
    /// The problem is somewhere (a road, a lamp, a yard): the web form requires its
    /// address or position (issue 28, point 5). Absent: `false`.
    #[serde(default)]
    pub(crate) place: bool,
}

/// An emergency service a stopper sends the citizen to (issue 29, point 3).
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Emergency {
    pub(crate) code: String,
    /// The number to call, as dialled in Kazakhstan (`104`, `112`).
    pub(crate) number: String,
    /// The service's name.
    #[serde(flatten)]
    pub(crate) names: Names,
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
    /// The emergency services stoppers name.
    #[serde(rename = "emergency", default)]
    pub(crate) emergencies: Vec<Emergency>,
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
        if let Some(problem) = catalogue.problem() {
            return Err(format!("channels/catalogue.toml: {problem}"));
        }
        Ok(catalogue)
    }

    /// The category with this code.
    pub(crate) fn get(&self, code: &str) -> Option<&Category> {
        self.categories.iter().find(|c| c.code == code)
    }

    /// The emergency service with this code.
    pub(crate) fn emergency(&self, code: &str) -> Option<&Emergency> {
        self.emergencies.iter().find(|e| e.code == code)
    }

    /// The emergency a category, or an answer to one of its questions, stops at: the
    /// citizen is told to call it now (issue 29, point 3).
    pub(crate) fn stopper(
        &self,
        category: &Category,
        answers: &std::collections::BTreeMap<String, crate::attributes::AttributeValue>,
    ) -> Option<&Emergency> {
        let code = category.stopper.as_deref().or_else(|| {
            crate::attributes::stopper_of(&category.questions, answers).map(|(_, code)| code)
        })?;
        self.emergency(code)
    }

    /// The first thing wrong with the questions and stoppers, if any: a question that
    /// would ask for a person's data, a list without values, a stopper naming no
    /// emergency service.
    fn problem(&self) -> Option<String> {
        let known = |code: &Option<String>| {
            code.as_deref()
                .is_none_or(|c| self.emergencies.iter().any(|e| e.code == c))
        };
        for category in &self.categories {
            let name = &category.code;
            if !known(&category.stopper) {
                return Some(format!(
                    "category `{name}`: its stopper names no [[emergency]]"
                ));
            }
            let mut codes: Vec<&str> = category.questions.iter().map(|q| q.code.as_str()).collect();
            codes.sort_unstable();
            if codes.windows(2).any(|w| w[0] == w[1]) {
                return Some(format!("category `{name}`: a question code appears twice"));
            }
            for question in &category.questions {
                if let Some(problem) = question.problem() {
                    return Some(format!("category `{name}`, {problem}"));
                }
                if question.values.iter().any(|v| !known(&v.stopper)) {
                    return Some(format!(
                        "category `{name}`, question `{}`: a stopper names no [[emergency]]",
                        question.code
                    ));
                }
            }
        }
        None
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
        assert_eq!(catalogue.categories.len(), 15);
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
