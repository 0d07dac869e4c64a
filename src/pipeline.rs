//! The gateway's one entry point for every channel: [`Gateway::submit_appeal`] and
//! [`Gateway::submit_subject_request`] take a channel-neutral intake, run it through
//! [`crate::intake::accept`] (or [`crate::subject::request`]), write it durably to the
//! outbox and count it. A channel adapter calls these and turns the result into its own
//! kind of answer (a JSON body, a page, a bot message, an email).

use serde::{Deserialize, Serialize};

use crate::appeal::Channel;
use crate::clock::{now_ms, now_us};
use crate::field_error::FieldError;
use crate::intake::{self, Accepted, Context, Intake};
use crate::metrics::Metrics;
use crate::outbox::{
    Bundle, Envelope, IdempotencyClaim, Mark, Outbox, Outcome, StoredResponse, Submission,
};
use crate::status::StatusBoard;
use crate::stream::Stream;
use crate::subject::{self, SubjectIntake, SubjectKeyer};
use crate::tracking::{PermutationKey, TrackingNumber};

/// Attempts at storing under a free tracking number: a new number can only meet one
/// issued before the scheme of [`crate::tracking`] (random), and rarely.
const TRACKING_ATTEMPTS: usize = 5;

/// Why a submission was not stored.
#[derive(Debug)]
pub(crate) enum SubmitError {
    /// The intake is not acceptable; every problem, by field.
    Invalid(Vec<FieldError>),
    /// The idempotency key was used before with another request.
    KeyReused,
    /// The outbox could not store it; the caller should try again later.
    Unavailable,
}

/// The JSON answer to a stored submission (`202 Accepted`): durable on disk, not yet on
/// Redis. Kept with an idempotency key and given again for a repeat, so its shape is
/// part of the HTTP contract (the OpenAPI document describes this type).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub(crate) struct Answer {
    /// The ULID of the appeal or request.
    pub(crate) id: String,
    /// Appeals only: what the citizen is told, e.g. `OA-7K3M-9QX2`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tracking_number: Option<String>,
    pub(crate) status: AnswerStatus,
}

/// The state of an answered submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub(crate) enum AnswerStatus {
    /// Stored durably; forwarded to the case system's stream next.
    Accepted,
}

impl Answer {
    fn stored(
        id: &str,
        tracking_number: Option<&str>,
    ) -> Result<StoredResponse, serde_json::Error> {
        let answer = Answer {
            id: id.to_owned(),
            tracking_number: tracking_number.map(str::to_owned),
            status: AnswerStatus::Accepted,
        };
        Ok(StoredResponse {
            status: 202,
            body: serde_json::to_string(&answer)?,
        })
    }
}

/// What the citizen (or the integrator) is told.
#[derive(Debug, Clone)]
pub(crate) struct Receipt {
    /// The id of the appeal or request.
    pub(crate) id: String,
    /// The tracking number, for appeals.
    pub(crate) tracking_number: Option<String>,
    /// True when this is the answer to an earlier request with the same key.
    pub(crate) replayed: bool,
    /// The stored answer, as JSON, for replays.
    pub(crate) response: StoredResponse,
}

/// The pipeline's shared parts.
pub(crate) struct Gateway {
    pub(crate) ctx: Context,
    pub(crate) outbox: Outbox,
    pub(crate) metrics: Metrics,
    /// What the case system last said of each appeal, and the legal deadline.
    pub(crate) status: StatusBoard,
    /// Where citizens read the regulation (`GATEWAY_PUBLIC_URL/regulation`): the link a
    /// consent question and an acknowledgement give.
    pub(crate) regulation_url: String,
    /// The tracking-number issuer: the deployment's permutation key and this instance's
    /// slot (`GATEWAY_INSTANCE_NUMBER`).
    pub(crate) tracking: (PermutationKey, u8),
}

impl Gateway {
    /// The pipeline with the shipped policy files and catalogue. `Err` names what is
    /// wrong with the policy files.
    pub(crate) fn new(
        keyer: SubjectKeyer,
        outbox: Outbox,
        metrics: Metrics,
        status: StatusBoard,
        public_url: &str,
        instance_number: u8,
    ) -> Result<Gateway, String> {
        let tracking = (PermutationKey::derive(keyer.secret()), instance_number);
        let policies = crate::policy::Policies::embedded()?;
        let catalogue = crate::catalogue::Catalogue::embedded()?;
        Ok(Gateway {
            ctx: Context {
                policies,
                catalogue,
                keyer,
            },
            outbox,
            metrics,
            status,
            regulation_url: format!("{}/regulation", public_url.trim_end_matches('/')),
            tracking,
        })
    }

    /// Accepts an appeal from any channel: normalized, filtered, consented, durable.
    pub(crate) async fn submit_appeal(
        &self,
        intake: Intake,
        claim: Option<IdempotencyClaim>,
    ) -> Result<Receipt, SubmitError> {
        let channel = intake.channel;
        let mut accepted = intake::accept(&self.ctx, intake, time::OffsetDateTime::now_utc())
            .map_err(|errors| {
                self.refused(channel, errors.first().map_or("invalid", |e| e.code));
                SubmitError::Invalid(errors)
            })?;
        self.status.calendar().stamp(&mut accepted.appeal);
        for _ in 0..TRACKING_ATTEMPTS {
            accepted.appeal.tracking_number = self.issue_tracking_number().into_string();
            let (submission, fresh) = appeal_submission(&accepted, claim.clone())
                .map_err(|_| SubmitError::Unavailable)?;
            match self.store(submission).await? {
                Outcome::TrackingTaken => {}
                Outcome::Stored => {
                    self.metrics
                        .accepted
                        .with_label_values(&[channel.as_str()])
                        .inc();
                    tracing::info!(
                        appeal_id = %accepted.appeal.id,
                        channel = channel.as_str(),
                        category = %accepted.appeal.category,
                        dropped = accepted.appeal.dropped_fields.len(),
                        "appeal accepted"
                    );
                    return Ok(receipt(fresh, false));
                }
                Outcome::Replayed(first) => {
                    tracing::debug!(channel = channel.as_str(), "idempotent replay");
                    return Ok(receipt(first, true));
                }
                Outcome::KeyReused => {
                    self.refused(channel, "idempotency_key_reused");
                    return Err(SubmitError::KeyReused);
                }
            }
        }
        Err(SubmitError::Unavailable)
    }

    /// Accepts a data subject's request; a withdrawal also enters the consent ledger.
    pub(crate) async fn submit_subject_request(
        &self,
        intake: SubjectIntake,
        claim: Option<IdempotencyClaim>,
    ) -> Result<Receipt, SubmitError> {
        let (request, withdrawal) =
            subject::request(&self.ctx.keyer, intake, time::OffsetDateTime::now_utc())
                .map_err(SubmitError::Invalid)?;
        let response = Answer::stored(&request.id, None).map_err(|_| SubmitError::Unavailable)?;
        let mut messages = vec![
            Envelope::new(Stream::Subject, &request.id, "subject_request", &request)
                .map_err(|_| SubmitError::Unavailable)?,
        ];
        if let Some(event) = &withdrawal {
            messages.push(
                Envelope::new(Stream::Consent, &event.id, event.event.as_str(), event)
                    .map_err(|_| SubmitError::Unavailable)?,
            );
        }
        // The notifier of every instance honours these (see `notify`).
        let field = match request.kind {
            subject::SubjectRequestKind::WithdrawConsent => Some("withdrawn"),
            subject::SubjectRequestKind::OptOutNotifications => Some("opted_out"),
            _ => None,
        };
        let marks = field
            .map(|field| {
                request
                    .subject_keys
                    .values()
                    .map(|key| Mark {
                        key: crate::keyspace::name::subject(key),
                        field: field.to_owned(),
                        value: None,
                        count: false,
                        ttl_secs: None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let submission = Submission {
            bundle: Bundle {
                id: request.id.clone(),
                messages,
                accepted_at_ms: now_ms(),
                accepted_at_us: now_us(),
                marks,
            },
            idempotency: claim,
            tracking: None,
            response: response.clone(),
        };
        match self.store(submission).await? {
            Outcome::Stored => {
                self.metrics
                    .subject_requests
                    .with_label_values(&[request.kind.as_str()])
                    .inc();
                tracing::info!(request_id = %request.id, kind = request.kind.as_str(), "subject request accepted");
                Ok(receipt(response, false))
            }
            Outcome::Replayed(first) => Ok(receipt(first, true)),
            Outcome::KeyReused => Err(SubmitError::KeyReused),
            Outcome::TrackingTaken => Err(SubmitError::Unavailable),
        }
    }

    /// Stores one message that is neither an appeal nor a subject request — an email's
    /// addition to an appeal, the record of a quarantined message — on `stream`, under
    /// `claim` (a repeat finds the first answer). Counted by its type. `record_id` is the
    /// outbox record's own id (the forwarder's dedupe key); `entry_id` the stream entry's
    /// `id` field (an addition carries its appeal's).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn submit_message<T: serde::Serialize>(
        &self,
        stream: Stream,
        message_type: &'static str,
        record_id: &str,
        entry_id: &str,
        message: &T,
        claim: IdempotencyClaim,
        response: StoredResponse,
    ) -> Result<Receipt, SubmitError> {
        let envelope = Envelope::new(stream, entry_id, message_type, message)
            .map_err(|_| SubmitError::Unavailable)?;
        let submission = Submission {
            bundle: Bundle {
                id: record_id.to_owned(),
                messages: vec![envelope],
                accepted_at_ms: now_ms(),
                accepted_at_us: now_us(),
                marks: Vec::new(),
            },
            idempotency: Some(claim),
            tracking: None,
            response: response.clone(),
        };
        match self.store(submission).await? {
            Outcome::Stored => {
                self.metrics
                    .messages
                    .with_label_values(&[message_type])
                    .inc();
                Ok(receipt(response, false))
            }
            Outcome::Replayed(first) => Ok(receipt(first, true)),
            Outcome::KeyReused => Err(SubmitError::KeyReused),
            Outcome::TrackingTaken => Err(SubmitError::Unavailable),
        }
    }

    async fn store(&self, submission: Submission) -> Result<Outcome, SubmitError> {
        self.outbox.submit(submission).await.map_err(|e| {
            tracing::error!(error = %e, "outbox write failed");
            SubmitError::Unavailable
        })
    }

    /// This instance's next tracking number (see [`crate::tracking`]).
    fn issue_tracking_number(&self) -> TrackingNumber {
        let (key, slot) = &self.tracking;
        loop {
            if let Some(number) = TrackingNumber::issue(key, *slot, self.outbox.next_tracking_seq())
            {
                return number;
            }
        }
    }

    /// Counts a refusal under a code (never a value).
    pub(crate) fn refused(&self, channel: Channel, reason: &str) {
        self.metrics
            .refused
            .with_label_values(&[channel.as_str(), reason])
            .inc();
    }

    /// Counts a bot update or message of `kind` that no conversation takes (a code,
    /// never content: see [`crate::metrics::label`]).
    pub(crate) fn bot_ignored(&self, channel: Channel, kind: &str) {
        self.metrics
            .bot_ignored
            .with_label_values(&[channel.as_str(), crate::metrics::label(kind)])
            .inc();
    }
}

fn receipt(response: StoredResponse, replayed: bool) -> Receipt {
    let body: serde_json::Value = serde_json::from_str(&response.body).unwrap_or_default();
    Receipt {
        id: body["id"].as_str().unwrap_or_default().to_owned(),
        tracking_number: body["tracking_number"].as_str().map(str::to_owned),
        replayed,
        response,
    }
}

/// When the appeal was received, from its `received_at` (now if it cannot be read).
fn received_at(appeal: &crate::appeal::Appeal) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(
        &appeal.received_at,
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
}

/// The outbox record of an accepted appeal and the answer to give.
fn appeal_submission(
    accepted: &Accepted,
    claim: Option<IdempotencyClaim>,
) -> Result<(Submission, StoredResponse), serde_json::Error> {
    let appeal = &accepted.appeal;
    let response = Answer::stored(&appeal.id, Some(&appeal.tracking_number))?;
    let messages = vec![
        Envelope::new(Stream::Appeals, &appeal.id, "appeal", appeal)?,
        Envelope::new(
            Stream::Consent,
            &accepted.consent.id,
            accepted.consent.event.as_str(),
            &accepted.consent,
        )?,
        Envelope::new(
            Stream::Analytics,
            &accepted.stats.id,
            "appeal_stats",
            &accepted.stats,
        )?,
    ];
    let submission = Submission {
        bundle: Bundle {
            id: appeal.id.clone(),
            messages,
            accepted_at_ms: now_ms(),
            accepted_at_us: now_us(),
            // The tracking number's appeal, for the status lookups of every instance;
            // then the depersonalized counts of `analytics.v2`.
            marks: std::iter::once(Mark {
                key: crate::keyspace::name::status(&appeal.tracking_number),
                field: "appeal_id".to_owned(),
                value: Some(appeal.id.clone()),
                count: false,
                ttl_secs: Some(crate::status::STATUS_TTL.as_secs()),
            })
            .chain(crate::aggregates::count_marks(appeal, received_at(appeal)))
            .collect(),
        },
        idempotency: claim,
        tracking: Some((appeal.tracking_number.clone(), appeal.id.clone())),
        response: response.clone(),
    };
    Ok((submission, response))
}
