//! Consent: "no consent, no appeal". The consent record travels with the appeal and, as
//! its own `consent_given` message, to `consent.v1`; withdrawals go there too. The
//! outbox chains the ledger's entries by hash so that a removed or edited one shows.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::appeal::{Channel, ConsentMethod, ConsentRecord, Purpose};

/// The regulation as shipped: the Kazakh original is the authority (DIGEST.md).
pub(crate) const REGULATION_KK: &str = include_str!("../templates/regulation/regulation-kk.md");

/// The policy version recorded with every consent: the SHA-256 (hex) of the Kazakh
/// regulation text the citizen was shown. A new edition gets a new hash; a consent given
/// under an old edition keeps the old one.
pub(crate) static POLICY_VERSION: LazyLock<String> =
    LazyLock::new(|| hex::encode(Sha256::digest(REGULATION_KK.as_bytes())));

/// The two kinds of ledger entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ConsentEventType {
    ConsentGiven,
    ConsentWithdrawn,
}

impl ConsentEventType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            ConsentEventType::ConsentGiven => "consent_given",
            ConsentEventType::ConsentWithdrawn => "consent_withdrawn",
        }
    }
}

/// A message on `consent.v1`. The stream entry adds `chain`, `prev_hash` and `hash`
/// (see the outbox) around this data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConsentEvent {
    pub(crate) schema_version: u32,
    /// ULID; for `consent_given`, the id of the appeal's consent record.
    pub(crate) id: String,
    #[serde(rename = "type")]
    pub(crate) event: ConsentEventType,
    /// The appeal the consent was given with, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) appeal_id: Option<String>,
    pub(crate) channel: Channel,
    /// Pseudonymous subject keys (HMAC-SHA256), by identifier kind.
    pub(crate) subject_keys: BTreeMap<String, String>,
    /// SHA-256 of the regulation text in force.
    pub(crate) policy_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) method: Option<ConsentMethod>,
    /// What was consented to, or withdrawn (all purposes for a withdrawal).
    pub(crate) purposes: Vec<Purpose>,
    /// RFC 3339, UTC.
    #[schemars(extend("format" = "date-time"))]
    pub(crate) at: String,
    pub(crate) captured_by: Option<String>,
}

impl ConsentEvent {
    /// The `consent_given` entry for an appeal's consent record.
    pub(crate) fn given(record: &ConsentRecord, appeal_id: &str, channel: Channel) -> ConsentEvent {
        ConsentEvent {
            schema_version: crate::appeal::SCHEMA_VERSION,
            id: record.id.clone(),
            event: ConsentEventType::ConsentGiven,
            appeal_id: Some(appeal_id.to_owned()),
            channel,
            subject_keys: record.subject_keys.clone(),
            policy_version: record.policy_version.clone(),
            method: Some(record.method),
            purposes: record.purposes.clone(),
            at: record.given_at.clone(),
            captured_by: record.captured_by.clone(),
        }
    }

    /// A `consent_withdrawn` entry: every purpose, from now on (regulation 4.1, 9.2).
    pub(crate) fn withdrawn(
        id: String,
        channel: Channel,
        subject_keys: BTreeMap<String, String>,
        at: String,
    ) -> ConsentEvent {
        ConsentEvent {
            schema_version: crate::appeal::SCHEMA_VERSION,
            id,
            event: ConsentEventType::ConsentWithdrawn,
            appeal_id: None,
            channel,
            subject_keys,
            policy_version: POLICY_VERSION.clone(),
            method: None,
            purposes: vec![Purpose::Appeal, Purpose::Notifications, Purpose::Analytics],
            at,
            captured_by: None,
        }
    }
}

/// The hash that links a ledger entry to the one before it:
/// `sha256(prev_hash ‖ data)`, hex.
pub(crate) fn chain_hash(prev_hash: &str, data: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(data);
    hex::encode(hasher.finalize())
}

/// The `prev_hash` of the first entry of a chain.
pub(crate) const GENESIS_HASH: &str =
    "0000000000000000000000000000000000000000000000000000000000000000";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_version_is_the_hash_of_the_shipped_regulation() {
        assert_eq!(
            POLICY_VERSION.as_str(),
            "73e3bd59d670ca758d91f21378b2b2847e6eb3d75046dd5bbabb64d4a67dfd0f"
        );
    }

    #[test]
    fn chain_hash_depends_on_both_links() {
        let a = chain_hash(GENESIS_HASH, b"{}");
        assert_ne!(a, chain_hash(GENESIS_HASH, b"{ }"));
        assert_ne!(a, chain_hash(&a, b"{}"));
        assert_eq!(a.len(), 64);
    }

    #[test]
    fn event_type_names_are_the_stream_contract() {
        for (event, name) in [
            (ConsentEventType::ConsentGiven, "consent_given"),
            (ConsentEventType::ConsentWithdrawn, "consent_withdrawn"),
        ] {
            assert_eq!(event.as_str(), name);
            // The `type` field of the stream entry and the JSON's `type` agree.
            assert_eq!(
                serde_json::to_value(event).expect("json"),
                serde_json::Value::from(name)
            );
        }
    }

    #[test]
    fn chain_hash_is_sha256_of_the_previous_hash_then_the_data() {
        // An auditor recomputes the chain with any SHA-256 tool:
        // printf '%s%s' "$prev_hash" "$data" | sha256sum
        let mut joined = GENESIS_HASH.as_bytes().to_vec();
        joined.extend_from_slice(b"{\"a\":1}");
        assert_eq!(
            chain_hash(GENESIS_HASH, b"{\"a\":1}"),
            hex::encode(Sha256::digest(&joined))
        );
    }
}
