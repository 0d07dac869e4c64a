//! Every Redis key the gateway reads or writes, built in one place.
//!
//! Why one module: the names are a contract between instances (and, for the streams,
//! with the city's other systems), a key's time to live decides what survives how long,
//! and on a Redis Cluster the keys of one command must share a hash slot. Seeing them
//! all together is the only way to check that.
//!
//! Every key is `<prefix><name>`, the prefix being `GATEWAY_STREAM_PREFIX`. On a Redis
//! Cluster the prefix must carry a hash tag (e.g. `{oa}`, checked at start): Redis then
//! hashes only the tag, so every key below lives in one slot and the forwarder's script
//! (dedupe key + several streams + subject marks), the notifier's lease and receipt, and
//! any future multi-key command stay legal. The price is that one shard holds the
//! gateway's keys; their volume is the appeals' volume, which one Redis primary carries
//! easily, and the streams of one appeal must be written atomically anyway.
//!
//! | key (after the prefix) | type | TTL | written by | read by |
//! | --- | --- | --- | --- | --- |
//! | `appeals.v1`, `consent.v1`, `subject.v1`, `analytics.v1` | stream; entries trimmed by [`crate::retention`] past `GATEWAY_STREAM_RETENTION_DAYS` (`consent.v1`: `GATEWAY_CONSENT_RETENTION_DAYS`) once every group acknowledged them | none | forwarder ([`crate::queue`]) | the case system, audit, DPO, analytics |
//! | `subject.v1`, consumer group `gateway-subject` | the gateway's own reading of subject requests | — | [`crate::subject_fulfilment`] (adds `erasure_done`, `access_report`) | DPO |
//! | `subject.v1`, consumer group `gateway-files:<instance>` | each instance's reading of erasures, for its own photos and `outbox.redb` | — (remove a retired instance's group: it holds back trimming) | [`crate::subject_fulfilment`] (adds `erasure_done` with `instance`) | DPO |
//! | `gateway:consent-checkpoint:<chain>` | hash `entry_id`, `hash`, `at`: the last trimmed entry of a consent chain | none (the ledger's anchor) | retention sweep | auditors |
//! | `gateway:retention-lease` | string: the sweeping instance | 5 minutes, given back when done | retention sweep | retention sweep of every instance |
//! | `replies.v1` | stream, group `gateway` | none | the case system | notifier ([`crate::notify`]) |
//! | `deadletter.v1`, `deliveries.v1` | stream | none | notifier; forwarder (the email channel's `quarantined_message`, `automatic_mail`, `mail_bounced`) | operators, the case system |
//! | `gateway:sent:<record id>` | string | `GATEWAY_DEDUPE_TTL_SECS` | forwarder (in its script, with the `XADD`s) | forwarder, `outbox drain` |
//! | `gateway:inbound:<channel>:<message id>` | string | `GATEWAY_DEDUPE_TTL_SECS` | webhooks ([`crate::dialogue::dedupe`]) | webhooks |
//! | `gateway:inbound-pending:<subject key>` | list: a chat's messages waiting to be taken after the webhook answered (a photo to fetch, and what follows it) | 1 day; popped within seconds | webhooks ([`crate::dialogue::deferred`]) | bots' workers of every instance |
//! | `gateway:inbound-pending-lock:<subject key>` | string: the worker draining the list | 80 s | bots' workers | bots' workers |
//! | `gateway:inbound-media:<channel>` | stream (field `user`: a subject key with waiting messages), group `gateway` | none: each entry is deleted once taken | webhooks | bots' workers of every instance |
//! | `gateway:group-invited:<subject key of the group>` | string | 90 days | Telegram webhook (a group was told once to write privately) | Telegram webhook |
//! | `gateway:status:<tracking number>` | hash `status`, `at`, `appeal_id` (never replaced: a second appeal under a number is a collision, reported), `alias_of` (instead of `appeal_id`: the number of the appeal a repeat of its `Idempotency-Key` turned out to be), `idempotency` (the key's name, for an erasure), `extended` | 400 days after the last change (`crate::status::STATUS_TTL`) | forwarder (`appeal_id`, with the appeal: every instance finds the number), notifier | status page, bots' `/status`, Open311 ([`crate::status`]) |
//! | `gateway:idempotency:<SHA-256 of scope and key>` | hash `record` (the outbox record that holds the key), `fp` (SHA-256 of the request), `answer` (the JSON answer), `tracking` | `GATEWAY_IDEMPOTENCY_TTL_SECS` | the pipeline (claim after the durable write), forwarder (claim of a record spooled while Redis was away) | the pipeline of every instance ([`crate::idempotency`]) |
//! | `gateway:tracking-blocks` | string: a counter | none (never reset: a block is never leased twice) | every instance, at start and when its block runs low ([`crate::tracking::issuer`]) | the same |
//! | `gateway:open311:requests` | sorted set: tracking numbers of Open311 requests by time received (ms) | none (a member per request: a number and a time) | forwarder (an index mark of the request's record) | Open311 `GET requests` of every instance |
//! | `gateway:open311:request:<tracking number>` | hash `appeal_id`, `service_code`, `requested_datetime`, `district` (a district code, where known), `media` (the photos' SHA-256s, comma-separated), `media_public` (`1` once a reply let them be shown; the Open311 channel's `history`); `address`, `lat`, `long` only when the deployment names private readers | 400 days, as the status | forwarder | Open311 of every instance |
//! | `replies.v1`, consumer group `gateway-open311` | the Open311 channel's reading of the case system's statuses | — | the Open311 channel's `history` | — |
//! | `gateway:open311:updates` | sorted set: `<replies.v1 entry id>\|<tracking number>\|<case status>` by the entry's time (ms), one member per status change of an Open311 request | none; members older than 400 days removed as new ones come | the Open311 channel's `history` (from `replies.v1`) | Open311 `GET servicerequestupdates` |
//! | `gateway:open311:request-updates:<tracking number>` | sorted set: the same members, of one request | 400 days after the last change | the same | the same, by `service_request_id` |
//! | `gateway:delivery:<reply id>` | string: a lease (the consumer's name) then `done` | lease: claim timeout; `done`: 7 days | notifier | notifier of every instance |
//! | `gateway:delivery-parts:<reply id>` | string `<route>:<parts sent>` | 7 days | notifier, after each part of a long answer | notifier (a reclaimed reply sends only the parts not yet sent) |
//! | `gateway:acknowledgements` | stream (the appeal's id, its number, language and the typed contact), group `gateway` | none: each entry is deleted once handled | forwarder (with an appeal whose contact awaits confirmation) | notifier of every instance ([`crate::notify::acknowledgement`]) |
//! | `gateway:acknowledged:<subject key>` | string: acknowledgements sent to one typed contact | a day from the first | notifier (`INCR` before each) | notifier: more than [`crate::notify::acknowledgement::PER_CONTACT_A_DAY`] are not sent |
//! | `gateway:delivery:ack.<appeal id>` | string: a lease then `done`, as for a reply | as for a reply | notifier | notifier of every instance |
//! | `gateway:contact-code:<tracking number>` | string: the six-digit code that confirms the typed contact | 30 days; deleted once confirmed | notifier (the acknowledgement, or the first held answer: `SET NX`) | the confirmation page ([`crate::notify::unconfirmed`]) |
//! | `gateway:contact-notified:<tracking number>` | string | a day | notifier (the acknowledgement sent; a notice of a held answer, `SET NX`) | notifier: no second message with the code that day |
//! | `gateway:contact-code-tries:<tracking number>` | string: wrong codes counted | an hour | the confirmation page | the same |
//! | `gateway:contact-confirmed:<tracking number>` | string | a year | the confirmation page | notifier |
//! | `gateway:held-unconfirmed:<tracking number>` | list: the held replies as the case system wrote them | 30 days; deleted once confirmed | notifier | the confirmation page (sends them again on `replies.v1`) |
//! | `gateway:held-answers:<subject key>` | list of JSON answers (text, heading, ids; no address) | 90 days after the last added; deleted once delivered | notifier (WhatsApp outside the window, answer too long for the template) | WhatsApp webhook (the citizen taps "Show answer" or writes) |
//! | `gateway:subject:<subject key>` | hash `withdrawn`, `opted_out` | none (a withdrawal stands) | forwarder (marks of a subject request) | notifier |
//! | `gateway:whatsapp-window:<subject key>` | string | 24 hours | WhatsApp webhook | notifier |
//! | `gateway:agent-session:<session id>` | hash `agent`, `seen` (ms), `ended` (`logout`, `idle`, `disabled`) | until the signed cookie expires | agent consoles ([`crate::channels::agent_console`]'s `sessions`) | agent consoles of every instance |
//! | `gateway:recent:<SHA-256 of place and category>` | sorted set: tracking number, appeal id and the text's first words (guarded) by time (ms) | 30 days after the last write | agent consoles, `POST /api/v1/agent/appeals` | the same (the duplicates hint) |
//! | `gateway:conversation:<subject key>` | string: a bot conversation (JSON) | 24 hours after its last change | bots ([`crate::dialogue::store`]) | bots of every instance |
//! | `gateway:conversation-memory:<subject key>` | string: the chat's language, tracking numbers and the last banner's fingerprint | 90 days after the last change | bots | bots (`/status`) |
//! | `gateway:conversation-lock:<subject key>` | string: a lease token | 30 s | bots | bots |
//! | `gateway:agent:<agent id>` | hash `role`, `password` (Argon2id), `token` (SHA-256 of the API token), `disabled`, `locked`, `name` (the display name receipts print) | none (an account stays until disabled, and then as a record) | `appeal-gateway agents …`, the import of `agents.redb` | agent consoles, `POST /api/v1/agent/appeals` ([`crate::channels::agent_console`]'s `accounts`) |
//! | `gateway:agent-token:<SHA-256 of the token>` | string: the agent id | none | the same, with the account (one script) | `POST /api/v1/agent/appeals` |
//! | `gateway:agents` | set of agent ids | none | the same, with the account | `agents list` |
//! | `gateway:rate:<limit>:<HMAC of the address or form session>` | string: the limit's next free time (µs, Redis clock; GCRA) | until that time | the citizen forms, the status lookup, the agent login ([`crate::http::ratelimit`]) | the same, on every instance |
//! | `gateway:login-throttle:<HMAC of agent id and address>` | hash `failures`, `not_before` (ms, Redis clock) | twice the longest delay after the last failure | agent login (the consoles' `throttle`) | the same |
//! | `analytics.v2` | stream | none (consumers trim) | the aggregates' publisher ([`crate::aggregates`]) | analytics |
//! | `gateway:analytics:hour:<YYYY-MM-DDTHH>`, `gateway:analytics:day:<YYYY-MM-DD>` | hash: counts `all`, `channel:<c>`, `category:<c>`, `language:<l>`; `_published` (time) | 3 days (hours), 10 days (days) after the last count | forwarder (counter marks of an appeal's record) | the aggregates' publisher |
//! | `gateway:analytics:consultation:hour:<YYYY-MM-DDTHH>`, `gateway:analytics:consultation:day:<YYYY-MM-DD>` | hash: counts of consultations `all`, `channel:<c>`, `category:<c>`, `language:<l>`, `topic:<t>` (down by one when a consultation became an appeal); `_published` | as above | forwarder (counter marks of a consultation's record, [`crate::consultation`]) | the aggregates' publisher |
//! | `gateway:mail-confirm:<SHA-256 of the token>` | string: a subject request by mail waiting for its sender's confirmation (JSON: kind, language, the sender's email subject key, the request's text for `update_data`) | 72 hours ([`crate::channels::email`]'s `confirm`); deleted when confirmed | email channel | email channel, when the sender replies |
//! | `gateway:banner` | string: the city-wide banner (JSON: `until`, `kk`, `ru`, `en`) | expires at its `until` | `appeal-gateway banner set` (`clear` deletes it) | every instance, at most every 5 s ([`crate::banner`]) |
//! | `gateway:calls:<agent id>`, `gateway:calls:*` (anyone's) | list of `<ms>\|<caller E.164>` | 10 minutes after the last announce | `POST /api/v1/calls/incoming` | the call desk's console |
//!
//! Marks are stored in the outbox without the prefix (the name functions below), so a
//! record accepted under one prefix is forwarded under the prefix of whoever forwards it.

/// The stream of delivery receipts (an addition to the contract).
pub(crate) const DELIVERIES: &str = "deliveries.v1";

/// Names without the prefix: what the outbox stores and what [`Keyspace::key`] prefixes.
pub(crate) mod name {
    /// The dedupe key of an outbox record.
    pub(crate) fn sent(record_id: &str) -> String {
        format!("gateway:sent:{record_id}")
    }

    /// A subject request by mail waiting for its sender's confirmation, by the SHA-256
    /// (hex) of the token mailed to the sender.
    pub(crate) fn mail_confirm(token_digest: &str) -> String {
        format!("gateway:mail-confirm:{token_digest}")
    }

    /// The claim of a provider delivery, `claim` being `<channel>:<message id>`.
    pub(crate) fn inbound(claim: &str) -> String {
        format!("gateway:inbound:{claim}")
    }

    /// The messages of a bot waiting for their media to be fetched (see
    /// [`crate::dialogue::deferred`]).
    pub(crate) fn inbound_media(channel: &str) -> String {
        format!("gateway:inbound-media:{channel}")
    }

    /// The mark that a group chat was invited once to write privately.
    pub(crate) fn group_invited(group_key: &str) -> String {
        format!("gateway:group-invited:{group_key}")
    }

    /// A chat's messages waiting to be taken after the webhook answered.
    pub(crate) fn inbound_pending(user: &str) -> String {
        format!("gateway:inbound-pending:{user}")
    }

    /// The worker draining a chat's waiting messages.
    pub(crate) fn inbound_pending_lock(user: &str) -> String {
        format!("gateway:inbound-pending-lock:{user}")
    }

    /// How many parts of a long reply a route took (`<route>:<count>`).
    pub(crate) fn delivery_parts(reply_id: &str) -> String {
        format!("gateway:delivery-parts:{reply_id}")
    }

    /// Where a reply's receipts stand after a provider took it (`state`, `appeal_id`,
    /// `channel`, `attempts`).
    pub(crate) fn receipt(reply_id: &str) -> String {
        format!("gateway:receipt:{reply_id}")
    }

    /// The reply a provider's message id belongs to (`<route>:<provider's id>`).
    pub(crate) fn provider_message(route: &str, provider_id: &str) -> String {
        format!("gateway:provider-message:{route}:{provider_id}")
    }

    /// Answers held until the citizen confirms the typed contact of an appeal (the
    /// replies' `data`, oldest first).
    pub(crate) fn held_unconfirmed(tracking_number: &str) -> String {
        format!("gateway:held-unconfirmed:{tracking_number}")
    }

    /// The code that confirms the typed contact of an appeal.
    pub(crate) fn contact_code(tracking_number: &str) -> String {
        format!("gateway:contact-code:{tracking_number}")
    }

    /// Set for a day when the typed contact of an appeal was sent its code (the
    /// acknowledgement, or a notice that an answer waits): one such message a day.
    pub(crate) fn contact_notified(tracking_number: &str) -> String {
        format!("gateway:contact-notified:{tracking_number}")
    }

    /// Wrong codes typed for an appeal in the last hour.
    pub(crate) fn contact_code_tries(tracking_number: &str) -> String {
        format!("gateway:contact-code-tries:{tracking_number}")
    }

    /// Set once the citizen confirmed the typed contact of an appeal.
    pub(crate) fn contact_confirmed(tracking_number: &str) -> String {
        format!("gateway:contact-confirmed:{tracking_number}")
    }

    /// Answers held for a WhatsApp citizen outside the 24-hour window.
    pub(crate) fn held_answers(subject_key: &str) -> String {
        format!("gateway:held-answers:{subject_key}")
    }

    /// The public status of a tracking number.
    pub(crate) fn status(tracking_number: &str) -> String {
        format!("gateway:status:{tracking_number}")
    }

    /// The claim of an `Idempotency-Key` (`digest`: the SHA-256 of the integrator's
    /// scope and key; see [`crate::idempotency`]).
    pub(crate) fn idempotency(digest: &str) -> String {
        format!("gateway:idempotency:{digest}")
    }

    /// The counter from which blocks of tracking numbers are leased
    /// ([`crate::tracking::issuer`]).
    pub(crate) const TRACKING_BLOCKS: &str = "gateway:tracking-blocks";

    /// Every Open311 request of every instance, by time (see the Open311 channel's
    /// `index`).
    pub(crate) const OPEN311_REQUESTS: &str = "gateway:open311:requests";

    /// What the Open311 channel keeps of one request.
    pub(crate) fn open311_request(tracking_number: &str) -> String {
        format!("gateway:open311:request:{tracking_number}")
    }

    /// The status changes of every Open311 request, by time (the Open311 channel's
    /// `history`).
    pub(crate) const OPEN311_UPDATES: &str = "gateway:open311:updates";

    /// The status changes of one Open311 request, by time.
    pub(crate) fn open311_request_updates(tracking_number: &str) -> String {
        format!("gateway:open311:request-updates:{tracking_number}")
    }

    /// The notifier's lease (then `done` marker) of a reply.
    pub(crate) fn delivery(reply_id: &str) -> String {
        format!("gateway:delivery:{reply_id}")
    }

    /// Acknowledgements sent to one typed contact (its subject key) this day.
    pub(crate) fn acknowledged_contact(subject_key: &str) -> String {
        format!("gateway:acknowledged:{subject_key}")
    }

    /// The marks a subject's requests leave (withdrawal, opt-out).
    pub(crate) fn subject(subject_key: &str) -> String {
        format!("gateway:subject:{subject_key}")
    }

    /// An agent's console session (see the consoles' `sessions` module).
    pub(crate) fn agent_session(sid: &str) -> String {
        format!("gateway:agent-session:{sid}")
    }

    /// An agent's account (see the consoles' `accounts` module).
    pub(crate) fn agent(agent_id: &str) -> String {
        format!("gateway:agent:{agent_id}")
    }

    /// The agent id of an API token, by the token's SHA-256 (hex).
    pub(crate) fn agent_token(digest: &str) -> String {
        format!("gateway:agent-token:{digest}")
    }

    /// Every agent id.
    pub(crate) const AGENTS: &str = "gateway:agents";

    /// One subject's state under a shared rate limit (`subject`: a keyed hash, never an
    /// address or a session id itself; see [`crate::http::ratelimit`]).
    pub(crate) fn rate(limit: &str, subject: &str) -> String {
        format!("gateway:rate:{limit}:{subject}")
    }

    /// The failed logins of one (agent id, address) pair, by a keyed hash of both.
    pub(crate) fn login_throttle(pair: &str) -> String {
        format!("gateway:login-throttle:{pair}")
    }

    /// Announced calls waiting for one agent (`Some`) or for anyone (`None`: `*`, which
    /// no agent id can be).
    pub(crate) fn calls(agent_id: Option<&str>) -> String {
        format!("gateway:calls:{}", agent_id.unwrap_or("*"))
    }

    /// The duplicates hint's entries at one place (`key`: a SHA-256, see the consoles'
    /// `recent` module).
    pub(crate) fn recent(key: &str) -> String {
        format!("gateway:recent:{key}")
    }

    /// A bot conversation (`user`: the subject key of the messenger id; see
    /// [`crate::dialogue::store`]).
    pub(crate) fn conversation(user: &str) -> String {
        format!("gateway:conversation:{user}")
    }

    /// What a bot conversation remembers beyond its draft (language, tracking numbers).
    pub(crate) fn conversation_memory(user: &str) -> String {
        format!("gateway:conversation-memory:{user}")
    }

    /// The lease that lets one instance at a time take a turn of a conversation.
    pub(crate) fn conversation_lock(user: &str) -> String {
        format!("gateway:conversation-lock:{user}")
    }

    /// An open session window of a subject on a channel (WhatsApp's 24-hour
    /// customer-service window: `gateway:whatsapp-window:…`).
    pub(crate) fn session_window(channel: &str, subject_key: &str) -> String {
        format!("gateway:{channel}-window:{subject_key}")
    }
}

/// The deployment's keys: every name behind `GATEWAY_STREAM_PREFIX`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Keyspace {
    prefix: String,
}

impl Keyspace {
    pub(crate) fn new(prefix: &str) -> Keyspace {
        Keyspace {
            prefix: prefix.to_owned(),
        }
    }

    /// `name` behind the prefix (for names from [`name`] or stored in the outbox).
    pub(crate) fn key(&self, name: &str) -> String {
        // Not `format!`: the forwarder names some twenty keys a record (issue 27).
        let mut key = String::with_capacity(self.prefix.len() + name.len());
        key.push_str(&self.prefix);
        key.push_str(name);
        key
    }

    pub(crate) fn sent(&self, record_id: &str) -> String {
        self.key(&name::sent(record_id))
    }

    pub(crate) fn inbound(&self, claim: &str) -> String {
        self.key(&name::inbound(claim))
    }

    pub(crate) fn status(&self, tracking_number: &str) -> String {
        self.key(&name::status(tracking_number))
    }

    pub(crate) fn delivery(&self, reply_id: &str) -> String {
        self.key(&name::delivery(reply_id))
    }

    pub(crate) fn subject(&self, subject_key: &str) -> String {
        self.key(&name::subject(subject_key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stream::Stream;

    /// The slot Redis Cluster computes for a key: CRC16 (XMODEM) of the hash tag if
    /// there is one, else of the whole key, modulo 16384. Hand-written for the test
    /// (a dozen lines; the crate's own slot function is not public).
    fn slot(key: &str) -> u16 {
        let bytes = key.as_bytes();
        let hashed = match key.find('{') {
            Some(open) => match key[open + 1..].find('}') {
                Some(len) if len > 0 => &bytes[open + 1..open + 1 + len],
                _ => bytes,
            },
            None => bytes,
        };
        let mut crc: u16 = 0;
        for &b in hashed {
            crc ^= u16::from(b) << 8;
            for _ in 0..8 {
                crc = if crc & 0x8000 != 0 {
                    (crc << 1) ^ 0x1021
                } else {
                    crc << 1
                };
            }
        }
        crc % 16384
    }

    #[test]
    fn with_a_hash_tag_every_key_shares_one_slot() {
        let ks = Keyspace::new("{oa}");
        let keys = [
            ks.key(Stream::Appeals.name()),
            ks.key(Stream::Consent.name()),
            ks.key(Stream::Replies.name()),
            ks.key(DELIVERIES),
            ks.sent("01JDQ3V8W6Y4Q0Q3J5A1Y9K7M2"),
            ks.inbound("telegram:42"),
            ks.status("OA-7K3M-9QX2"),
            ks.delivery("01JDQ3V8W6Y4Q0Q3J5A1Y9K7M3"),
            ks.subject("abc"),
            ks.key(&name::session_window("whatsapp", "abc")),
            ks.key(&name::agent_session("00ff")),
            ks.key(&name::calls(Some("aigerim"))),
            ks.key(&name::calls(None)),
            ks.key(&name::recent("ab12")),
            ks.key(&name::conversation("ab12")),
            ks.key(&name::conversation_memory("ab12")),
            ks.key(&name::conversation_lock("ab12")),
            ks.key(&name::agent("aigerim")),
            ks.key(&name::agent_token("ab12")),
            ks.key(name::AGENTS),
            ks.key(&name::rate("form-address", "ab12")),
            ks.key(&name::login_throttle("ab12")),
            ks.key(&name::idempotency("ab12")),
            ks.key(name::TRACKING_BLOCKS),
            ks.key(name::OPEN311_REQUESTS),
            ks.key(&name::open311_request("OA-1")),
        ];
        let first = slot(&keys[0]);
        for key in &keys {
            assert_eq!(slot(key), first, "{key}");
        }
        // Without a tag they scatter (so the check above can fail).
        let plain = Keyspace::new("oa:");
        assert_ne!(
            slot(&plain.key(Stream::Appeals.name())),
            slot(&plain.sent("01JDQ3V8W6Y4Q0Q3J5A1Y9K7M2"))
        );
    }

    #[test]
    fn the_slot_function_agrees_with_redis() {
        // Values from the Redis Cluster specification and `CLUSTER KEYSLOT`.
        assert_eq!(slot("123456789"), 0x31C3);
        assert_eq!(slot("{user1000}.following"), slot("{user1000}.followers"));
    }

    #[test]
    fn names_are_the_documented_ones() {
        let ks = Keyspace::new("t:");
        assert_eq!(ks.key(Stream::Appeals.name()), "t:appeals.v1");
        assert_eq!(ks.sent("X"), "t:gateway:sent:X");
        assert_eq!(
            ks.inbound("whatsapp:wamid"),
            "t:gateway:inbound:whatsapp:wamid"
        );
        assert_eq!(ks.status("OA-1"), "t:gateway:status:OA-1");
        assert_eq!(ks.delivery("R"), "t:gateway:delivery:R");
        assert_eq!(ks.subject("S"), "t:gateway:subject:S");
        assert_eq!(
            ks.key(&name::session_window("whatsapp", "S")),
            "t:gateway:whatsapp-window:S"
        );
    }
}
