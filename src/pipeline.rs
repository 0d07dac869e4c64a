//! The gateway's one entry point for every channel: [`Gateway::submit_appeal`] and
//! [`Gateway::submit_subject_request`] take a channel-neutral intake, run it through
//! [`crate::intake::accept`] (or [`crate::subject::request`]), write it durably to the
//! outbox and count it. A channel adapter calls these and turns the result into its own
//! kind of answer (a JSON body, a page, a bot message, an email).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::appeal::Channel;
use crate::catalogue::{Catalogue, Category};
use crate::clock::now_us;
use crate::deadline::Calendar;
use crate::field_error::FieldError;
/// A submission's `Idempotency-Key` and its fingerprint: the pipeline claims and
/// settles it with the record, so a channel only hands it over.
pub(crate) use crate::idempotency::IdempotencyClaim;
use crate::idempotency::{Claims, Verdict};
use crate::intake::{self, Accepted, Context, Intake};
use crate::message::Message;
use crate::metrics::Metrics;
use crate::outbox::{Appended, Bundle, Envelope, Outbox, Settled};
/// What a channel's own index sets in Redis with an appeal
/// ([`Gateway::submit_appeal_indexed`]), forwarded atomically with it.
pub(crate) use crate::outbox::{Mark, MarkOp};
use crate::policy::ChannelPolicy;
use crate::queue::QueueStatus;
use crate::redis_handle::Unavailable;
use crate::status::{PublicStatus, StatusBoard};
use crate::stream::Stream;
use crate::subject::{self, Identifiers, SubjectIntake, SubjectKeyer};
use crate::tracking::TrackingNumber;
use crate::tracking::issuer::Issuer;

/// Why a submission was not stored.
#[derive(Debug)]
pub(crate) enum SubmitError {
    /// The intake is not acceptable; every problem, by field.
    Invalid(Vec<FieldError>),
    /// The idempotency key was used before with another request.
    KeyReused,
    /// A request with the same idempotency key is being taken right now (409: try again
    /// in a moment, the first one's answer is then given).
    InProgress,
    /// The outbox could not store it, or the key's claim could not be settled; the
    /// caller should try again later.
    Unavailable,
}

/// The answer kept for an `Idempotency-Key` replay: the status and the JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredResponse {
    pub(crate) status: u16,
    pub(crate) body: String,
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

/// The pipeline's shared parts. Private: a channel asks the gateway by name
/// ([`Gateway::validate`], [`Gateway::policy`], [`Gateway::public_status`],
/// [`Gateway::subject_key`], [`Gateway::submit`] …) and never reaches the outbox, the
/// policies or the keyer itself, so that every way in runs the same checks (issue 31).
pub(crate) struct Gateway {
    ctx: Context,
    outbox: Outbox,
    metrics: Metrics,
    /// What the case system last said of each appeal, and the legal deadline.
    status: StatusBoard,
    /// Where citizens read the regulation (`GATEWAY_PUBLIC_URL/regulation`): the link a
    /// consent question and an acknowledgement give.
    regulation_url: String,
    /// Where new tracking numbers come from (blocks no two processes share).
    tracking: Arc<Issuer>,
    /// `Idempotency-Key` claims in Redis, shared by every instance.
    claims: Arc<Claims>,
    /// Whether Redis answered the forwarder last: when it did not, a key is claimed
    /// only here, at once, without waiting for Redis.
    queue: Arc<QueueStatus>,
    /// The city-wide banner every channel shows (issue 29, point 4).
    banner: crate::banner::Board,
}

/// The gateway's stores in Redis, shared by every instance.
pub(crate) struct Stores {
    pub(crate) status: StatusBoard,
    pub(crate) claims: Claims,
    pub(crate) banner: crate::banner::Board,
}

/// How a stored request was answered.
enum Stored {
    /// As a new request: its own answer.
    Fresh,
    /// As a repeat of an earlier one: that one's answer.
    Replayed(StoredResponse),
}

impl Gateway {
    /// The pipeline with the shipped policy files and catalogue. `Err` names what is
    /// wrong with the policy files.
    pub(crate) fn new(
        keyer: SubjectKeyer,
        outbox: Outbox,
        metrics: Metrics,
        stores: Stores,
        public_url: &str,
        queue: Arc<QueueStatus>,
    ) -> Result<Gateway, String> {
        let Stores {
            status,
            claims,
            banner,
        } = stores;
        let tracking = Arc::new(Issuer::new(crate::tracking::PermutationKey::derive(
            keyer.secret(),
        )));
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
            claims: Arc::new(claims),
            queue,
            banner,
        })
    }

    /// A token that proves this deployment issued `number` (carried by the address a
    /// form or a console redirects to after the submission): the confirmation then
    /// shows on whichever instance the citizen's next request reaches, before the
    /// appeal is forwarded, and no lookup is needed (no number is confirmed to whoever
    /// guesses it).
    pub(crate) fn receipt_token(&self, number: &str) -> String {
        let mac = crate::mac::hmac(
            self.ctx.keyer.secret(),
            format!("receipt:{number}").as_bytes(),
        );
        hex::encode(&mac[..12])
    }

    /// Whether `token` is [`Gateway::receipt_token`] of `number` (compared in constant
    /// time).
    pub(crate) fn receipt_token_valid(&self, number: &str, token: &str) -> bool {
        use subtle::ConstantTimeEq;
        let expected = self.receipt_token(number);
        !expected.is_empty() && bool::from(expected.as_bytes().ct_eq(token.as_bytes()))
    }

    /// What the pipeline would say of `intake` without storing it: the accepted appeal,
    /// or every problem by field. A form that already found problems of its own asks
    /// this to show all of them at once.
    pub(crate) fn validate(&self, intake: Intake) -> Result<Accepted, Vec<FieldError>> {
        intake::accept(&self.ctx, intake, time::OffsetDateTime::now_utc())
    }

    /// The policy of `channel` (`channels/<name>.toml`): its fields, its limits.
    pub(crate) fn policy(&self, channel: Channel) -> &ChannelPolicy {
        self.ctx.policies.channel(channel)
    }

    /// The categories and consultation topics (`channels/catalogue.toml`).
    pub(crate) fn catalogue(&self) -> &Catalogue {
        &self.ctx.catalogue
    }

    /// The city-wide banner shown now, if an operator set one.
    pub(crate) async fn banner(&self) -> Option<crate::banner::Banner> {
        self.banner.current().await
    }

    /// The emergency an intake stops at (its category's or an answer's stopper), if any:
    /// what a channel tells the citizen to call instead of filing (issue 29, point 3).
    pub(crate) fn emergency(&self, intake: &Intake) -> Option<&crate::catalogue::Emergency> {
        let code = intake.category.as_deref().map(crate::normalize::line)?;
        let category = self.ctx.catalogue.get(&code)?;
        let answers = crate::attributes::check(
            &category.questions,
            &intake.attributes,
            &mut Vec::new(),
            &mut Vec::new(),
        );
        self.ctx.catalogue.stopper(category, &answers)
    }

    /// The error of an intake whose category's problem is somewhere (`place = true` in
    /// the catalogue) but that names no place, an address or a position. Asked where a
    /// person can give one (the web form, the consoles, the agent API); a mail or a
    /// chat has no such field, and its appeal is taken as it is.
    pub(crate) fn place_missing(&self, intake: &Intake) -> Option<FieldError> {
        let code = intake.category.as_deref().map(crate::normalize::line)?;
        let place_bound = self.ctx.catalogue.get(&code)?.place;
        (place_bound && intake.location.is_none())
            .then(|| FieldError::new("address", "place_required"))
    }

    /// Reads the city-wide banner from Redis now (the background task that keeps
    /// [`Gateway::banner_shown`] fresh).
    pub(crate) async fn refresh_banner(&self) {
        self.banner.refresh().await;
    }

    /// The city-wide banner as last read, without waiting (pages).
    pub(crate) fn banner_shown(&self) -> Option<crate::banner::Banner> {
        self.banner.shown()
    }

    /// The category of `code`, if the catalogue has it.
    pub(crate) fn category(&self, code: &str) -> Option<&Category> {
        self.ctx.catalogue.get(code)
    }

    /// The pseudonymous subject key of an identifier of `kind` (normalized already):
    /// what every record carries instead of the identifier.
    pub(crate) fn subject_key(&self, kind: &str, normalized: &str) -> String {
        self.ctx.keyer.key(kind, normalized)
    }

    /// The subject keys of every identifier given, by kind.
    pub(crate) fn subject_keys(&self, ids: &Identifiers) -> BTreeMap<String, String> {
        self.ctx.keyer.keys(ids)
    }

    /// The deployment's secret (`GATEWAY_SUBJECT_KEY_SECRET`), from which the keys of
    /// form sessions, CSRF tokens and shared counters are derived, each for its purpose.
    pub(crate) fn deployment_secret(&self) -> &[u8] {
        self.ctx.keyer.secret()
    }

    /// The working calendar of the legal terms (registration day, answer date).
    pub(crate) fn calendar(&self) -> &Calendar {
        self.status.calendar()
    }

    /// The legal deadline of an appeal just received (not extended), without asking
    /// Redis: what an acknowledgement promises.
    pub(crate) fn first_deadline(&self, appeal_id: &str) -> Option<time::Date> {
        self.status.first_deadline(appeal_id)
    }

    /// Where citizens read the regulation: the link a consent question gives.
    pub(crate) fn regulation_url(&self) -> &str {
        &self.regulation_url
    }

    /// The service's counters.
    pub(crate) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// How many records wait in the outbox for the forwarder.
    pub(crate) fn outbox_depth(&self) -> u64 {
        self.outbox.depth()
    }

    /// The messages of every record in the outbox, as stored (JSON), for unit tests that
    /// check what a conversation filed.
    #[cfg(test)]
    pub(crate) fn outbox_records_json(&self) -> Vec<String> {
        self.outbox
            .read(0, 1000, &mut crate::outbox::Cursor::default())
            .unwrap_or_default()
            .iter()
            .flat_map(|(_, bundle)| bundle.messages.iter().map(|m| m.data.clone()))
            .collect()
    }

    /// When the oldest record waiting in the outbox was accepted, in ms since the epoch.
    pub(crate) fn outbox_oldest_ms(&self) -> Option<u64> {
        // A failed read leaves the age unknown rather than failing a scrape; the outbox
        // error is in the log of whoever hit it first.
        self.outbox.oldest_accepted_at_ms().ok().flatten()
    }

    /// Where tracking numbers come from: the issuer leases its blocks in Redis.
    pub(crate) fn tracking_issuer(&self) -> Arc<Issuer> {
        Arc::clone(&self.tracking)
    }

    /// What a citizen may see of a tracking number: from Redis (every instance's
    /// appeals), or from this instance's own records while Redis is away. `Err` when
    /// the number cannot be looked up now (issue 26, point 3).
    pub(crate) async fn public_status(
        &self,
        number: &TrackingNumber,
    ) -> Result<PublicStatus, Unavailable> {
        self.status
            .lookup(number.as_str(), || self.outbox.waiting_since(number))
            .await
    }

    /// Accepts an appeal from any channel: normalized, filtered, consented, durable.
    pub(crate) async fn submit_appeal(
        &self,
        intake: Intake,
        claim: Option<IdempotencyClaim>,
    ) -> Result<Receipt, SubmitError> {
        self.submit_appeal_indexed(intake, claim, |_| Vec::new())
            .await
    }

    /// [`Gateway::submit_appeal`], with what a channel's own index sets in Redis with
    /// the appeal (`index`: marks made of the accepted appeal, such as the Open311
    /// request index), forwarded atomically with it.
    pub(crate) async fn submit_appeal_indexed(
        &self,
        intake: Intake,
        claim: Option<IdempotencyClaim>,
        index: impl FnOnce(&crate::appeal::Appeal) -> Vec<Mark>,
    ) -> Result<Receipt, SubmitError> {
        let channel = intake.channel;
        let mut accepted = intake::accept(&self.ctx, intake, time::OffsetDateTime::now_utc())
            .map_err(|errors| {
                self.refused(channel, errors.first().map_or("invalid", |e| e.code));
                SubmitError::Invalid(errors)
            })?;
        self.status.calendar().stamp(&mut accepted.appeal);
        accepted.appeal.tracking_number = self.tracking.issue().into_string();
        let (mut bundle, fresh) = appeal_record(&accepted).map_err(|_| SubmitError::Unavailable)?;
        bundle.marks.extend(index(&accepted.appeal));
        match self.store(bundle, claim.as_ref(), &fresh).await {
            Ok(Stored::Fresh) => {
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
                Ok(receipt(fresh, false))
            }
            Ok(Stored::Replayed(first)) => {
                tracing::debug!(channel = channel.as_str(), "idempotent replay");
                Ok(receipt(first, true))
            }
            Err(e) => {
                if matches!(e, SubmitError::KeyReused) {
                    self.refused(channel, "idempotency_key_reused");
                }
                Err(e)
            }
        }
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
                    .map(|key| Mark::set(crate::keyspace::name::subject(key), field, "1", None))
                    .collect()
            })
            .unwrap_or_default();
        let bundle = Bundle {
            id: request.id.clone(),
            messages,
            accepted_at_us: now_us(),
            marks,
            tracking: None,
            claim: None,
        };
        match self.store(bundle, claim.as_ref(), &response).await? {
            Stored::Fresh => {
                self.metrics
                    .subject_requests
                    .with_label_values(&[request.kind.as_str()])
                    .inc();
                tracing::info!(request_id = %request.id, kind = request.kind.as_str(), "subject request accepted");
                Ok(receipt(response, false))
            }
            Stored::Replayed(first) => Ok(receipt(first, true)),
        }
    }

    /// Stores one message that is neither an appeal nor a subject request — an email's
    /// addition to an appeal, the record of a quarantined message — under `claim` (a
    /// repeat finds the first answer). Its stream, type and ids follow from the
    /// [`Message`]; it is counted by its type.
    pub(crate) async fn submit(
        &self,
        message: Message,
        claim: IdempotencyClaim,
    ) -> Result<Receipt, SubmitError> {
        let envelope = message.envelope().map_err(|_| SubmitError::Unavailable)?;
        let response = StoredResponse {
            status: 202,
            body: message.answer(),
        };
        let bundle = Bundle {
            id: message.record_id().to_owned(),
            messages: vec![envelope],
            accepted_at_us: now_us(),
            marks: Vec::new(),
            tracking: None,
            claim: None,
        };
        match self.store(bundle, Some(&claim), &response).await? {
            Stored::Fresh => {
                self.metrics
                    .messages
                    .with_label_values(&[message.kind()])
                    .inc();
                Ok(receipt(response, false))
            }
            Stored::Replayed(first) => Ok(receipt(first, true)),
        }
    }

    /// Writes a record of the caller's making (a consultation's counting marks) under
    /// `claim`, answering `response` (or the first answer to a repeat).
    pub(crate) async fn submit_record(
        &self,
        bundle: Bundle,
        claim: Option<&IdempotencyClaim>,
        response: &StoredResponse,
    ) -> Result<Receipt, SubmitError> {
        match self.store(bundle, claim, response).await? {
            Stored::Fresh => Ok(receipt(response.clone(), false)),
            Stored::Replayed(first) => Ok(receipt(first, true)),
        }
    }

    /// Writes a record durably and settles its `Idempotency-Key` (see
    /// [`crate::idempotency`]): claimed in Redis after the write, so that the key
    /// always names a record that exists; claimed here only while Redis is away.
    async fn store(
        &self,
        mut bundle: Bundle,
        claim: Option<&IdempotencyClaim>,
        own: &StoredResponse,
    ) -> Result<Stored, SubmitError> {
        let record = claim.map(|c| c.record(own.body.clone()));
        if let (Some(record), Some(number)) = (&record, &bundle.tracking) {
            // Found by the erasure of the appeal's subject, which forgets the answer too.
            bundle.marks.push(Mark::set(
                crate::keyspace::name::status(number),
                "idempotency",
                &record.key,
                Some(crate::status::STATUS_TTL),
            ));
        }
        bundle.claim = record.clone();
        let record_id = bundle.id.clone();
        let tracking = bundle.tracking.clone();
        let appended = self.outbox.append(bundle).await.map_err(|e| {
            tracing::error!(error = %e, "outbox write failed");
            SubmitError::Unavailable
        })?;
        let (Some(claim), Some(record)) = (claim, record) else {
            return Ok(Stored::Fresh);
        };
        match appended {
            Appended::Stored(seq) => {
                // Claimed and settled in a task of its own: a client that hangs up does
                // not leave the claim halfway (the forwarder waits for it).
                let (claims, outbox, up) = (
                    Arc::clone(&self.claims),
                    self.outbox.clone(),
                    !self.queue.known_down(),
                );
                let settling = tokio::spawn(async move {
                    let verdict = if up {
                        claims.claim(&record_id, &record, tracking.as_deref()).await
                    } else {
                        Verdict::NotReached
                    };
                    let settled = match verdict {
                        Verdict::Holds | Verdict::NotReached => Settled::Holds,
                        Verdict::Replay(_) | Verdict::Reused => Settled::Superseded,
                        // The forwarder settles the key in Redis either way; a repeat
                        // here waits (409) until then.
                        Verdict::Unknown => Settled::Unknown,
                    };
                    outbox.settle(&record.key, seq, settled);
                    verdict
                });
                match settling.await.unwrap_or(Verdict::Unknown) {
                    Verdict::Holds | Verdict::NotReached => Ok(Stored::Fresh),
                    Verdict::Replay(answer) => Ok(Stored::Replayed(StoredResponse {
                        status: own.status,
                        body: answer,
                    })),
                    Verdict::Reused => Err(SubmitError::KeyReused),
                    Verdict::Unknown => Err(SubmitError::Unavailable),
                }
            }
            Appended::Held { settled: false, .. } => Err(SubmitError::InProgress),
            Appended::Held { seq, settled: true } => {
                let outbox = self.outbox.clone();
                let held = tokio::task::spawn_blocking(move || outbox.record(seq))
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .flatten();
                let first = match held.as_ref().and_then(|b| b.claim.as_ref()) {
                    Some(first) => Some((first.fingerprint.clone(), first.answer.clone())),
                    // Forwarded and gone from the disk meanwhile: its key is in Redis.
                    None => self.claims.lookup(&record).await,
                };
                match first {
                    Some((fingerprint, answer)) if fingerprint == claim.fingerprint => {
                        Ok(Stored::Replayed(StoredResponse {
                            status: own.status,
                            body: answer,
                        }))
                    }
                    Some(_) => Err(SubmitError::KeyReused),
                    None => Err(SubmitError::InProgress),
                }
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
pub(crate) fn appeal_record(
    accepted: &Accepted,
) -> Result<(Bundle, StoredResponse), serde_json::Error> {
    let appeal = &accepted.appeal;
    let response = Answer::stored(&appeal.id, Some(&appeal.tracking_number))?;
    let mut messages = vec![
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
    // A contact the citizen typed is acknowledged at once, with a way to confirm it.
    if let Some(ack) = crate::notify::acknowledgement::Acknowledgement::of(appeal) {
        messages.push(Envelope::new(
            Stream::Acknowledgements,
            &appeal.id,
            "acknowledgement",
            &ack,
        )?);
    }
    let bundle = Bundle {
        id: appeal.id.clone(),
        messages,
        accepted_at_us: now_us(),
        // The tracking number's appeal, for the status lookups of every instance (never
        // replaced: another appeal under the same number is a collision, reported);
        // then the depersonalized counts of `analytics.v2`.
        marks: std::iter::once(Mark {
            key: crate::keyspace::name::status(&appeal.tracking_number),
            op: MarkOp::First,
            field: "appeal_id".to_owned(),
            value: appeal.id.clone(),
            ttl_secs: Some(crate::status::STATUS_TTL.as_secs()),
        })
        // Its category, which the status page names (a catalogue code, nothing personal).
        .chain(std::iter::once(Mark::set(
            crate::keyspace::name::status(&appeal.tracking_number),
            "category",
            &appeal.category,
            Some(crate::status::STATUS_TTL),
        )))
        .chain(crate::aggregates::count_marks(appeal, received_at(appeal)))
        .collect(),
        tracking: Some(appeal.tracking_number.clone()),
        claim: None,
    };
    Ok((bundle, response))
}
