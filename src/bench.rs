//! The hot functions of an appeal's way through the gateway, for the Criterion benches in
//! `benches/` (issue 27, point 6: a regression shows as a figure). The benches are a
//! crate of their own and see only `pub` items, while these functions are the crate's
//! own (`pub(crate)`): this module hands them out behind plain types. It is not an API
//! (hidden from the documentation) and holds no logic of its own.

use crate::appeal::Channel;
use crate::catalogue::Catalogue;
use crate::free_text_guard;
use crate::intake::{self, Accepted, Context, Intake};
use crate::normalize;
use crate::policy::Policies;
use crate::subject::SubjectKeyer;

/// The pipeline's rules as a gateway has them (the shipped policy files and catalogue).
pub struct Pipeline {
    ctx: Context,
}

/// An integrator's appeal, read from its JSON body.
#[derive(Clone)]
pub struct ApiIntake(Intake);

/// An appeal accepted: normalized, filtered, guarded, with its consent and statistics.
pub struct AcceptedAppeal(Accepted);

impl Pipeline {
    /// `None` if the shipped policy files or catalogue do not load (a test fails then).
    pub fn new() -> Option<Pipeline> {
        Some(Pipeline {
            ctx: Context {
                policies: Policies::embedded().ok()?,
                catalogue: Catalogue::embedded().ok()?,
                keyer: SubjectKeyer::new(b"bench-subject-key-secret"),
            },
        })
    }

    /// `POST /api/v1/appeals`'s body read into an intake, as the handler reads it.
    pub fn read(&self, body: &[u8]) -> Option<ApiIntake> {
        crate::channels::api::appeal_of(body, "bench").map(ApiIntake)
    }

    /// The policy of the intake's channel applied to its applicant: the fields kept.
    pub fn policy(&self, intake: &ApiIntake) -> usize {
        let policy = self.ctx.policies.channel(intake.0.channel);
        let today = time::OffsetDateTime::now_utc().date();
        let filtered = policy.filter_applicant(&intake.0.applicant, today);
        filtered.applicant.present_fields().len()
    }

    /// The whole of `intake::accept`.
    pub fn accept(&self, intake: ApiIntake) -> Option<AcceptedAppeal> {
        intake::accept(&self.ctx, intake.0, time::OffsetDateTime::now_utc())
            .ok()
            .map(AcceptedAppeal)
    }
}

impl AcceptedAppeal {
    /// The `appeals.v1` message's JSON, as the outbox stores it.
    pub fn appeal_json(&self) -> Option<String> {
        serde_json::to_string(&self.0.appeal).ok()
    }

    /// The `consent.v1` and `analytics.v1` messages' JSON.
    pub fn consent_and_stats_json(&self) -> Option<(String, String)> {
        Some((
            serde_json::to_string(&self.0.consent).ok()?,
            serde_json::to_string(&self.0.stats).ok()?,
        ))
    }

    /// The appeal's text after the guard, to check a bench's input did what it should.
    pub fn text(&self) -> &str {
        &self.0.appeal.text
    }
}

/// An outbox in a directory of the bench's, appending the record of one accepted appeal
/// as the intake does: requests in flight together make one group, one `fdatasync`.
pub struct Spool {
    outbox: crate::outbox::Outbox,
    record: crate::outbox::Bundle,
    runtime: tokio::runtime::Runtime,
}

impl Spool {
    /// `None` if the outbox cannot be opened in `dir` or the record not made.
    pub fn open(dir: &std::path::Path, appeal: &AcceptedAppeal) -> Option<Spool> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        let (record, _) = crate::pipeline::appeal_record(&appeal.0).ok()?;
        Some(Spool {
            outbox: crate::outbox::Outbox::open(dir).ok()?,
            record,
            runtime,
        })
    }

    /// Appends `n` copies of the record at once and waits until they are durable, then
    /// marks them forwarded (so forwarded segments are deleted and the directory stays
    /// small over a long bench). Returns how many were stored.
    pub fn append_group(&self, n: usize) -> usize {
        self.runtime.block_on(async {
            let appends = (0..n).map(|_| self.outbox.append(self.record.clone()));
            let mut stored = Vec::with_capacity(n);
            for appended in futures_util::future::join_all(appends).await {
                if let Ok(crate::outbox::Appended::Stored(seq)) = appended {
                    stored.push((seq, std::sync::Arc::new(self.record.clone())));
                }
            }
            stored.sort_by_key(|(seq, _)| *seq);
            match self.outbox.ack(&stored) {
                Ok(()) => stored.len(),
                Err(_) => 0,
            }
        })
    }
}

/// Free text normalized (`normalize::text`).
pub fn text(input: &str) -> String {
    normalize::text(input)
}

/// A one-line value normalized (`normalize::line`).
pub fn line(input: &str) -> String {
    normalize::line(input)
}

/// A phone number in E.164, or `None`.
pub fn phone(input: &str) -> Option<String> {
    normalize::phone(input).ok()
}

/// The language detected in a text, as its code.
pub fn language(input: &str) -> Option<&'static str> {
    normalize::language(input).map(|l| l.as_str())
}

/// The free-text guard over a text, for an applicant without an IIN: the guarded text
/// and how many maskings and flags it found.
pub fn guard(input: &str) -> (String, usize) {
    let mut findings = free_text_guard::Findings::default();
    let out = free_text_guard::guard(input, None, &mut findings);
    (out, findings.redactions().len() + findings.flags().count())
}

/// The district an address names, as its code.
pub fn district(address: &str) -> Option<&'static str> {
    crate::district::District::named_in(address).map(|d| d.code())
}

/// The channel the benches' appeals come on.
pub fn channel() -> &'static str {
    Channel::Api.as_str()
}
