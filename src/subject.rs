//! Data subjects: pseudonymous subject keys and the subject's requests (regulation 4.1:
//! withdraw consent, stop notifications, update, access, erase).
//!
//! A subject key is `HMAC-SHA256(secret, "<kind>:<normalized value>")` in hex: stable for
//! the same person and identifier whatever form it was typed in, useless without the
//! secret. Requests travel on `subject.v1` with keys, not identifiers; only the kinds
//! that need an answer to the person carry a contact.

use std::collections::BTreeMap;

use hmac::{KeyInit, Mac};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::appeal::{Applicant, Channel};
use crate::consent::ConsentEvent;
use crate::field_error::FieldError;
use crate::normalize;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Computes subject keys under the deployment's secret.
#[derive(Clone)]
pub(crate) struct SubjectKeyer {
    secret: Vec<u8>,
    /// The HMAC keyed once: each key clones it instead of hashing the padded secret
    /// again (half of an HMAC's compressions; issue 19).
    /// `None` only if the HMAC refused the key, which it does for none.
    mac: Option<HmacSha256>,
}

impl std::fmt::Debug for SubjectKeyer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SubjectKeyer(..)")
    }
}

impl SubjectKeyer {
    pub(crate) fn new(secret: &[u8]) -> SubjectKeyer {
        let mac = HmacSha256::new_from_slice(secret).ok();
        SubjectKeyer {
            secret: secret.to_vec(),
            mac,
        }
    }

    /// The deployment's secret, from which the pages' CSRF keys are derived.
    pub(crate) fn secret(&self) -> &[u8] {
        &self.secret
    }

    /// The key of one normalized identifier.
    pub(crate) fn key(&self, kind: &str, normalized: &str) -> String {
        // HMAC accepts a key of any length; this cannot fail.
        let Some(mut mac) = self.mac.clone() else {
            return String::new();
        };
        mac.update(kind.as_bytes());
        mac.update(b":");
        mac.update(normalized.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// The keys of every identifier given, by kind.
    pub(crate) fn keys(&self, ids: &Identifiers) -> BTreeMap<String, String> {
        let mut keys = BTreeMap::new();
        let pairs = [
            ("phone", &ids.phone),
            ("email", &ids.email),
            ("iin", &ids.iin),
            ("messenger_id", &ids.messenger_id),
        ];
        for (kind, value) in pairs {
            if let Some(value) = value {
                keys.insert(
                    kind.to_owned(),
                    self.key(kind, &identifier_form(kind, value)),
                );
            }
        }
        keys
    }
}

/// Emails match whatever their case; other identifiers are compared as normalized.
fn identifier_form(kind: &str, value: &str) -> String {
    if kind == "email" {
        value.to_lowercase()
    } else {
        value.to_owned()
    }
}

/// Normalized identifiers of one subject.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Identifiers {
    pub(crate) phone: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) iin: Option<String>,
    pub(crate) messenger_id: Option<String>,
}

impl Identifiers {
    /// The identifiers an appeal's applicant gave (the first phone stands for them).
    pub(crate) fn of_applicant(applicant: &Applicant) -> Identifiers {
        Identifiers {
            phone: applicant.phones.first().cloned(),
            email: applicant.email.clone(),
            iin: applicant.iin.clone(),
            messenger_id: None,
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.phone.is_none()
            && self.email.is_none()
            && self.iin.is_none()
            && self.messenger_id.is_none()
    }
}

/// The five requests a subject can make.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum SubjectRequestKind {
    WithdrawConsent,
    OptOutNotifications,
    UpdateData,
    Access,
    Erasure,
}

impl SubjectRequestKind {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            SubjectRequestKind::WithdrawConsent => "withdraw_consent",
            SubjectRequestKind::OptOutNotifications => "opt_out_notifications",
            SubjectRequestKind::UpdateData => "update_data",
            SubjectRequestKind::Access => "access",
            SubjectRequestKind::Erasure => "erasure",
        }
    }

    /// Whether the operator must answer the person (and so needs a contact).
    pub(crate) fn needs_contact(self) -> bool {
        matches!(
            self,
            SubjectRequestKind::UpdateData | SubjectRequestKind::Access
        )
    }

    /// Whether the person's own words are needed to carry the request out.
    pub(crate) fn keeps_text(self) -> bool {
        matches!(
            self,
            SubjectRequestKind::UpdateData
                | SubjectRequestKind::Access
                | SubjectRequestKind::Erasure
        )
    }
}

/// How the person asking was shown to be the subject (issue 34, point 5): a request
/// about someone's data is carried out only on proof that they ask. Integrators name
/// the check they made (`egov`, `digital_signature`, `front_office_document`,
/// `channel_session`); the gateway's channels record their own (`channel_session` for a
/// Telegram chat or a WhatsApp number, which only their owner writes from;
/// `email_authenticated` when the city's mail server vouched for the sender,
/// `email_confirmed` when the sender answered the confirmation mailed to them).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub(crate) enum VerifiedBy {
    /// eGov (egov.kz sign-in or eGov Mobile): the state's identity service.
    Egov,
    /// A request signed with the person's digital signature (ЭЦП / ЭЦҚ, NCA RK).
    DigitalSignature,
    /// The person showed an identity document to an operator of the front office.
    FrontOfficeDocument,
    /// The request came in a session only the person holds: a portal account signed
    /// in with the identifier named, a Telegram chat, a WhatsApp number.
    ChannelSession,
    /// The city's mail server vouched for the sender (DMARC, or aligned DKIM).
    EmailAuthenticated,
    /// The sender answered a confirmation mailed to their address.
    EmailConfirmed,
}

impl VerifiedBy {
    /// Whether an integrator may name this check; the email ones are the gateway's own
    /// findings, never an integrator's word.
    pub(crate) fn integrator_may_claim(self) -> bool {
        !matches!(
            self,
            VerifiedBy::EmailAuthenticated | VerifiedBy::EmailConfirmed
        )
    }
}

/// How to answer the subject, for the kinds that need an answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Contact {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) phone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) email: Option<String>,
}

/// A message on `subject.v1` (`type: subject_request`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubjectRequest {
    pub(crate) schema_version: u32,
    /// ULID.
    pub(crate) id: String,
    pub(crate) kind: SubjectRequestKind,
    pub(crate) channel: Channel,
    /// RFC 3339, UTC.
    #[schemars(extend("format" = "date-time"))]
    pub(crate) received_at: String,
    /// HMAC-SHA256 subject keys by identifier kind (`phone`, `email`, `iin`,
    /// `messenger_id`).
    pub(crate) subject_keys: BTreeMap<String, String>,
    /// Only for `access` and `update_data`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) contact: Option<Contact>,
    /// The subject's own words; only for `update_data`, `access` and `erasure`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) text: Option<String>,
    /// How the person asking was shown to be the subject (issue 34); absent only on
    /// requests recorded before it was asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) verified_by: Option<VerifiedBy>,
}

/// Identifiers as the subject typed them.
#[derive(Debug, Clone, Default)]
pub(crate) struct RawIdentifiers {
    pub(crate) phone: Option<String>,
    pub(crate) email: Option<String>,
    pub(crate) iin: Option<String>,
    pub(crate) messenger_id: Option<String>,
}

/// A subject request as a channel received it.
#[derive(Debug, Clone)]
pub(crate) struct SubjectIntake {
    pub(crate) kind: SubjectRequestKind,
    pub(crate) channel: Channel,
    pub(crate) identifiers: RawIdentifiers,
    pub(crate) text: Option<String>,
    /// How the channel or the integrator checked who asks.
    pub(crate) verified_by: Option<VerifiedBy>,
}

/// Longest messenger id and request text.
const MAX_MESSENGER_ID: usize = 128;
const MAX_TEXT_CHARS: usize = 5_000;

/// Normalizes the identifiers and builds the `subject_request` message, plus a
/// `consent_withdrawn` ledger entry for a withdrawal. Raw identifiers stay only in
/// `contact`, and only for the kinds that need an answer.
pub(crate) fn request(
    keyer: &SubjectKeyer,
    intake: SubjectIntake,
    now: time::OffsetDateTime,
) -> Result<(SubjectRequest, Option<ConsentEvent>), Vec<FieldError>> {
    let mut errors = Vec::new();
    let raw = &intake.identifiers;
    let mut check =
        |path: &str, value: &Option<String>, f: fn(&str) -> Result<String, normalize::Invalid>| {
            let value = value.as_deref().filter(|v| !v.trim().is_empty())?;
            f(value)
                .map_err(|e| errors.push(FieldError::new(path, e.code())))
                .ok()
        };
    let ids = Identifiers {
        phone: check("subject.phone", &raw.phone, normalize::phone),
        email: check("subject.email", &raw.email, normalize::email),
        iin: check("subject.iin", &raw.iin, normalize::iin),
        messenger_id: check("subject.messenger_id", &raw.messenger_id, |v| {
            let v = normalize::line(v);
            if v.chars().count() > MAX_MESSENGER_ID {
                Err(normalize::Invalid::TooLong)
            } else {
                Ok(v)
            }
        }),
    };
    if errors.is_empty() && ids.is_empty() {
        errors.push(FieldError::new("subject", "required"));
    }
    let text = intake
        .text
        .as_deref()
        .map(normalize::text)
        .filter(|t| !t.is_empty() && intake.kind.keeps_text());
    if text
        .as_ref()
        .is_some_and(|t| t.chars().count() > MAX_TEXT_CHARS)
    {
        errors.push(FieldError::new("text", "too_long"));
    }
    let contact = intake.kind.needs_contact().then(|| Contact {
        phone: ids.phone.clone(),
        email: ids.email.clone(),
    });
    if contact
        .as_ref()
        .is_some_and(|c| c.phone.is_none() && c.email.is_none())
        && errors.is_empty()
    {
        errors.push(FieldError::new("subject.email", "required"));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let subject_keys = keyer.keys(&ids);
    let received_at = crate::appeal::rfc3339(now);
    let withdrawal = (intake.kind == SubjectRequestKind::WithdrawConsent).then(|| {
        ConsentEvent::withdrawn(
            ulid::Ulid::new().to_string(),
            intake.channel,
            subject_keys.clone(),
            received_at.clone(),
        )
    });
    let message = SubjectRequest {
        schema_version: crate::appeal::SCHEMA_VERSION,
        id: ulid::Ulid::new().to_string(),
        kind: intake.kind,
        channel: intake.channel,
        received_at,
        subject_keys,
        contact,
        text,
        verified_by: intake.verified_by,
    };
    Ok((message, withdrawal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_stable_per_identifier_and_secret() {
        let keyer = SubjectKeyer::new(b"secret-one");
        let ids = Identifiers {
            phone: Some("+77011234567".into()),
            email: Some("Ivan@mail.kz".into()),
            ..Identifiers::default()
        };
        let keys = keyer.keys(&ids);
        assert_eq!(keys.len(), 2);
        assert_eq!(keys["phone"].len(), 64);
        assert_eq!(keys["email"], keyer.key("email", "ivan@mail.kz"));
        assert_ne!(
            keys["phone"],
            SubjectKeyer::new(b"secret-two").keys(&ids)["phone"]
        );
        assert!(!keys["phone"].contains("7011234567"));
    }

    fn intake(kind: SubjectRequestKind, phone: &str) -> SubjectIntake {
        SubjectIntake {
            kind,
            channel: Channel::Api,
            identifiers: RawIdentifiers {
                phone: Some(phone.into()),
                ..RawIdentifiers::default()
            },
            text: Some("Удалите мои данные".into()),
            verified_by: None,
        }
    }

    #[test]
    fn a_withdrawal_carries_keys_only_and_enters_the_ledger() {
        let keyer = SubjectKeyer::new(b"secret-one");
        let now = time::OffsetDateTime::now_utc();
        let (message, withdrawal) = request(
            &keyer,
            intake(SubjectRequestKind::WithdrawConsent, "8 701 123 45 67"),
            now,
        )
        .expect("ok");
        let (other, _) = request(
            &keyer,
            intake(SubjectRequestKind::Erasure, "+7 (701) 123-45-67"),
            now,
        )
        .expect("ok");
        assert_eq!(
            message.subject_keys, other.subject_keys,
            "the same phone, the same key"
        );
        assert_eq!(message.contact, None);
        assert_eq!(message.text, None);
        assert_eq!(other.text.as_deref(), Some("Удалите мои данные"));
        let withdrawal = withdrawal.expect("a ledger entry");
        assert_eq!(withdrawal.subject_keys, message.subject_keys);
        let json = serde_json::to_string(&message).expect("json");
        assert!(!json.contains("7011234567"), "{json}");
    }

    #[test]
    fn access_requests_keep_a_contact() {
        let keyer = SubjectKeyer::new(b"secret-one");
        let (message, withdrawal) = request(
            &keyer,
            intake(SubjectRequestKind::Access, "87011234567"),
            time::OffsetDateTime::now_utc(),
        )
        .expect("ok");
        assert_eq!(
            message.contact.and_then(|c| c.phone).as_deref(),
            Some("+77011234567")
        );
        assert!(withdrawal.is_none());
    }

    #[test]
    fn an_invalid_identifier_is_refused_by_path() {
        let keyer = SubjectKeyer::new(b"secret-one");
        let errors = request(
            &keyer,
            intake(SubjectRequestKind::Erasure, "12"),
            time::OffsetDateTime::now_utc(),
        )
        .expect_err("refused");
        assert_eq!(
            errors,
            vec![FieldError::new("subject.phone", "invalid_phone")]
        );
    }

    #[test]
    fn the_deployments_secret_is_kept_for_the_keys_derived_from_it() {
        // The forms' CSRF keys and the tracking numbers' permutation are derived from
        // the same secret on every instance.
        let keyer = SubjectKeyer::new(b"a deployment's subject-key secret");
        assert_eq!(keyer.secret(), b"a deployment's subject-key secret");
    }

    #[test]
    fn the_secret_never_shows_in_debug_output() {
        let keyer = SubjectKeyer::new(b"very-secret-key");
        assert_eq!(format!("{keyer:?}"), "SubjectKeyer(..)");
    }

    #[test]
    fn any_one_identifier_is_enough_to_find_the_subject() {
        let keyer = SubjectKeyer::new(b"secret-one");
        let cases = [
            (
                "phone",
                RawIdentifiers {
                    phone: Some("8 701 123 45 67".into()),
                    ..RawIdentifiers::default()
                },
            ),
            (
                "email",
                RawIdentifiers {
                    email: Some("Ivan@Mail.kz".into()),
                    ..RawIdentifiers::default()
                },
            ),
            (
                "iin",
                RawIdentifiers {
                    iin: Some("900101300017".into()),
                    ..RawIdentifiers::default()
                },
            ),
            (
                "messenger_id",
                RawIdentifiers {
                    messenger_id: Some("telegram:123456789".into()),
                    ..RawIdentifiers::default()
                },
            ),
        ];
        for (kind, identifiers) in cases {
            let (message, _) = request(
                &keyer,
                SubjectIntake {
                    kind: SubjectRequestKind::Erasure,
                    channel: Channel::Api,
                    identifiers,
                    text: None,
                    verified_by: None,
                },
                time::OffsetDateTime::now_utc(),
            )
            .unwrap_or_else(|e| panic!("{kind}: {e:?}"));
            let kinds: Vec<&str> = message.subject_keys.keys().map(String::as_str).collect();
            assert_eq!(kinds, vec![kind]);
        }
    }

    #[test]
    fn a_request_without_any_identifier_is_refused() {
        let keyer = SubjectKeyer::new(b"secret-one");
        let errors = request(
            &keyer,
            SubjectIntake {
                kind: SubjectRequestKind::Erasure,
                channel: Channel::Api,
                identifiers: RawIdentifiers {
                    phone: Some("  ".into()),
                    ..RawIdentifiers::default()
                },
                text: None,
                verified_by: None,
            },
            time::OffsetDateTime::now_utc(),
        )
        .expect_err("refused");
        assert_eq!(errors, vec![FieldError::new("subject", "required")]);
    }

    #[test]
    fn an_access_request_needs_a_phone_or_email_to_answer_to() {
        let keyer = SubjectKeyer::new(b"secret-one");
        let access = |identifiers| {
            request(
                &keyer,
                SubjectIntake {
                    kind: SubjectRequestKind::Access,
                    channel: Channel::Api,
                    identifiers,
                    text: None,
                    verified_by: None,
                },
                time::OffsetDateTime::now_utc(),
            )
        };
        let only_iin = access(RawIdentifiers {
            iin: Some("900101300017".into()),
            ..RawIdentifiers::default()
        });
        assert_eq!(
            only_iin.expect_err("nowhere to answer"),
            vec![FieldError::new("subject.email", "required")]
        );
        // A wrong email is reported as wrong, not also as missing.
        let bad_email = access(RawIdentifiers {
            email: Some("not-an-email".into()),
            ..RawIdentifiers::default()
        });
        assert_eq!(
            bad_email.expect_err("refused"),
            vec![FieldError::new("subject.email", "invalid_email")]
        );
        let (message, _) = access(RawIdentifiers {
            email: Some("Ivan@Mail.KZ".into()),
            ..RawIdentifiers::default()
        })
        .expect("ok");
        assert_eq!(
            message.contact,
            Some(Contact {
                phone: None,
                email: Some("Ivan@mail.kz".into())
            })
        );
    }

    #[test]
    fn limits_of_the_request_text_and_the_messenger_id() {
        let keyer = SubjectKeyer::new(b"secret-one");
        let erase = |messenger_id: String, text: String| {
            request(
                &keyer,
                SubjectIntake {
                    kind: SubjectRequestKind::Erasure,
                    channel: Channel::Telegram,
                    identifiers: RawIdentifiers {
                        messenger_id: Some(messenger_id),
                        ..RawIdentifiers::default()
                    },
                    text: Some(text),
                    verified_by: None,
                },
                time::OffsetDateTime::now_utc(),
            )
        };
        let (message, _) = erase("7".repeat(128), "ж".repeat(5_000)).expect("at the limits");
        assert_eq!(message.text.map(|t| t.chars().count()), Some(5_000));
        assert_eq!(
            erase("7".repeat(129), "ж".repeat(5_001)).expect_err("over the limits"),
            vec![
                FieldError::new("subject.messenger_id", "too_long"),
                FieldError::new("text", "too_long")
            ]
        );
    }

    #[test]
    fn request_kinds_and_what_each_keeps() {
        use SubjectRequestKind::*;
        let table = [
            (WithdrawConsent, "withdraw_consent", false, false),
            (OptOutNotifications, "opt_out_notifications", false, false),
            (UpdateData, "update_data", true, true),
            (Access, "access", true, true),
            (Erasure, "erasure", false, true),
        ];
        for (kind, name, contact, text) in table {
            assert_eq!(kind.as_str(), name);
            assert_eq!(
                serde_json::to_value(kind).expect("json"),
                serde_json::Value::from(name)
            );
            assert_eq!(kind.needs_contact(), contact, "{name}");
            assert_eq!(kind.keeps_text(), text, "{name}");
        }
    }
}
