//! JSON Schemas of every stream message, generated from the Rust types into `schemas/`
//! (`appeal-gateway schemas`). A test fails when the committed files and the types
//! drift apart, so the contract downstream teams code against is always the real one.

use std::path::Path;

use schemars::{JsonSchema, generate::SchemaSettings};

use crate::aggregates::AppealAggregate;
use crate::analytics::AppealStats;
use crate::appeal::Appeal;
use crate::consent::ConsentEvent;
use crate::message::{AppealAddition, AutomaticMail, MailBounced, QuarantinedMessage};
use crate::subject::SubjectRequest;

/// `(file name, schema as pretty JSON)` for every message type.
pub(crate) fn all() -> Vec<(&'static str, String)> {
    vec![
        (
            "appeal.schema.json",
            render::<Appeal>("appeal", "A citizen's appeal on appeals.v1."),
        ),
        (
            "consent_event.schema.json",
            render::<ConsentEvent>(
                "consent_event",
                "A consent_given or consent_withdrawn entry on consent.v1.",
            ),
        ),
        (
            "subject_request.schema.json",
            render::<SubjectRequest>("subject_request", "A data subject's request on subject.v1."),
        ),
        (
            "reply.schema.json",
            render::<crate::reply::Reply>(
                "reply",
                "A case-system reply on replies.v1, delivered to the citizen.",
            ),
        ),
        (
            "delivery.schema.json",
            render::<crate::reply::Delivery>("delivery", "A delivery receipt on deliveries.v1."),
        ),
        (
            "acknowledgement.schema.json",
            render::<crate::notify::acknowledgement::AcknowledgementReceipt>(
                "acknowledgement",
                "The receipt of an appeal's acknowledgement to a contact the citizen typed, on deliveries.v1 (no address, no text, no code).",
            ),
        ),
        (
            "undeliverable.schema.json",
            render::<crate::reply::Undeliverable>(
                "undeliverable",
                "A reply that could not be delivered, on deadletter.v1 (no text, no address).",
            ),
        ),
        (
            "appeal_addition.schema.json",
            render::<AppealAddition>(
                "appeal_addition",
                "More to an appeal already registered, from the citizen or an agent, on appeals.v1 (same id as the appeal).",
            ),
        ),
        (
            "quarantined_message.schema.json",
            render::<QuarantinedMessage>(
                "quarantined_message",
                "A message that could not be read, kept in quarantine, on deadletter.v1.",
            ),
        ),
        (
            "automatic_mail.schema.json",
            render::<AutomaticMail>(
                "automatic_mail",
                "Mail a machine wrote (auto-reply, report, list), recorded on deadletter.v1 (no content).",
            ),
        ),
        (
            "mail_bounced.schema.json",
            render::<MailBounced>(
                "mail_bounced",
                "A bounce of one of the gateway's own mails: a failed delivery on deliveries.v1.",
            ),
        ),
        (
            "appeal_stats.schema.json",
            render::<AppealStats>(
                "appeal_stats",
                "Statistics of one appeal on analytics.v1 (deprecated: analytics.v2 replaces it).",
            ),
        ),
        (
            "subject_report.schema.json",
            render::<crate::subject_fulfilment::SubjectReport>(
                "subject_report",
                "What the gateway did for a subject request (erasure_done, access_report) on subject.v1.",
            ),
        ),
        (
            "reconciliation.schema.json",
            render::<crate::queue::Reconciliation>(
                "reconciliation",
                "What the forwarder noted on deadletter.v1 when it did not add a record as it came: an idempotent_duplicate, an idempotency_conflict or a tracking_collision (ids and numbers only).",
            ),
        ),
        (
            "appeal_aggregate.schema.json",
            render_version::<AppealAggregate>(
                "appeal_aggregate",
                2,
                "Counts of appeals per period and dimension with k-anonymity, on analytics.v2.",
            ),
        ),
        (
            "consultation_aggregate.schema.json",
            render_version::<AppealAggregate>(
                "consultation_aggregate",
                2,
                "Counts of consultations (calls to 1308 answered on the spot, never appeals) per period and dimension with k-anonymity, on analytics.v2.",
            ),
        ),
    ]
}

fn render<T: JsonSchema>(name: &str, description: &str) -> String {
    render_version::<T>(name, 1, description)
}

fn render_version<T: JsonSchema>(name: &str, version: u32, description: &str) -> String {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.into_root_schema_for::<T>();
    schema.insert(
        "$id".into(),
        format!("https://open-almaty.kz/schemas/{name}.v{version}.json").into(),
    );
    schema.insert("description".into(), description.into());
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

/// Writes every schema into `dir`.
pub fn write(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    for (name, text) in all() {
        std::fs::write(dir.join(name), text)?;
    }
    Ok(())
}

/// The names of the schemas in `dir` that differ from the types.
pub fn stale(dir: &Path) -> Vec<&'static str> {
    all()
        .into_iter()
        .filter(|(name, text)| {
            std::fs::read_to_string(dir.join(name)).ok().as_deref() != Some(text.as_str())
        })
        .map(|(name, _)| name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_schemas_match_the_types() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
        let stale = stale(&dir);
        assert!(
            stale.is_empty(),
            "schemas/ is out of date for {stale:?}: run `cargo run -- schemas` and review the diff"
        );
    }

    #[test]
    fn the_applicant_admits_only_the_allowlist() {
        let schema: serde_json::Value =
            serde_json::from_str(&render::<Appeal>("appeal", "")).expect("json");
        let applicant = &schema["$defs"]["Applicant"];
        assert_eq!(
            applicant["additionalProperties"],
            serde_json::Value::Bool(false)
        );
        let fields: Vec<&String> = applicant["properties"]
            .as_object()
            .expect("properties")
            .keys()
            .collect();
        assert_eq!(fields.len(), 15);
        assert!(!fields.iter().any(|f| f.contains("address")));
    }
}
