//! Answers only to a confirmed contact (issue 30; regulation 9.2: never to a third
//! party). An email address or a phone number the citizen typed (`reply_to.confirmed:
//! false`) may be mistyped: an answer carries the complaint, its address and the city's
//! decision, so it is not sent there until the citizen proves the contact is theirs.
//!
//! The notifier holds such an answer (`held_unconfirmed` on `deliveries.v1`) and sends
//! the contact, instead, a notice without any of the appeal's content: the tracking
//! number, that an answer waits, and a six-digit code — in an email as a link to the
//! page with the code in its box (a press confirms), in an SMS to type on the page
//! (`/status/{tracking number}/confirm`). Whoever confirms gets every held answer
//! sent again through `replies.v1` (same reply ids), now to a confirmed contact.
//!
//! In Redis, per tracking number: `gateway:held-unconfirmed:<tn>` (the held replies as
//! the case system wrote them), `gateway:contact-code:<tn>` (the code, 30 days),
//! `gateway:contact-code-tries:<tn>` (wrong codes in the last hour, at most
//! [`MAX_TRIES`]), `gateway:contact-confirmed:<tn>` (set once confirmed, a year),
//! `gateway:contact-notified:<tn>` (the code was sent today: one such message a day).

use std::time::Duration;

use rand::Rng;

use crate::keyspace::{Keyspace, name};
use crate::redis_target::RedisConn;

/// How long a held answer and its code wait for the citizen.
pub(crate) const HELD_FOR: Duration = Duration::from_secs(30 * 24 * 3600);
/// How long a confirmation counts.
const CONFIRMED_FOR: Duration = Duration::from_secs(365 * 24 * 3600);
/// Wrong codes allowed per appeal and hour (six digits: a million codes).
pub(crate) const MAX_TRIES: i64 = 5;

/// Whether the typed contact of the appeal `tracking_number` was confirmed.
pub(crate) async fn is_confirmed(
    conn: &mut RedisConn,
    keys: &Keyspace,
    tracking_number: &str,
) -> redis::RedisResult<bool> {
    redis::cmd("EXISTS")
        .arg(keys.key(&name::contact_confirmed(tracking_number)))
        .query_async(conn)
        .await
}

/// The code that confirms the contact of the appeal `tracking_number`: the one already
/// issued (by its acknowledgement or a held answer), or a new one. Whichever instance
/// asks, an appeal has one code at a time (`SET NX`).
pub(crate) async fn code(
    conn: &mut RedisConn,
    keys: &Keyspace,
    tracking_number: &str,
) -> redis::RedisResult<String> {
    let code_key = keys.key(&name::contact_code(tracking_number));
    let fresh = format!("{:06}", rand::rng().random_range(0..1_000_000));
    let (code,): (String,) = redis::pipe()
        .atomic()
        .cmd("SET")
        .arg(&code_key)
        .arg(&fresh)
        .arg("NX")
        .arg("EX")
        .arg(HELD_FOR.as_secs())
        .ignore()
        .cmd("GET")
        .arg(&code_key)
        .query_async(conn)
        .await?;
    Ok(code)
}

/// Holds the reply `data` (as the case system wrote it) and returns the code that
/// confirms the contact (the one already issued for the appeal, if any).
pub(crate) async fn hold(
    conn: &mut RedisConn,
    keys: &Keyspace,
    tracking_number: &str,
    data: &str,
) -> redis::RedisResult<String> {
    let code = code(conn, keys, tracking_number).await?;
    let held = keys.key(&name::held_unconfirmed(tracking_number));
    let _: () = redis::pipe()
        .atomic()
        .cmd("RPUSH")
        .arg(&held)
        .arg(data)
        .ignore()
        .cmd("EXPIRE")
        .arg(&held)
        .arg(HELD_FOR.as_secs())
        .ignore()
        .query_async(conn)
        .await?;
    Ok(code)
}

/// How long one message with the code (the acknowledgement, a notice) stands for the
/// next: an answer held that day sends none (the case system's `registered` right
/// after intake would otherwise text the citizen twice in a minute).
pub(crate) const NOTIFIED_FOR: Duration = Duration::from_secs(24 * 3600);

/// Records that the contact of `tracking_number` was sent its code now; with `first`,
/// only if none was that day: whether it was recorded (the message may go).
pub(crate) async fn notified(
    conn: &mut RedisConn,
    keys: &Keyspace,
    tracking_number: &str,
    first: bool,
) -> redis::RedisResult<bool> {
    let mut set = redis::cmd("SET");
    set.arg(keys.key(&name::contact_notified(tracking_number)))
        .arg(1)
        .arg("EX")
        .arg(NOTIFIED_FOR.as_secs());
    if first {
        set.arg("NX");
    }
    let answer: Option<String> = set.query_async(conn).await?;
    Ok(answer.is_some())
}

/// What became of a code typed (or followed in a link).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Confirmation {
    /// Confirmed (now or before): held answers go out.
    Confirmed,
    /// Not the code.
    Wrong,
    /// Too many wrong codes for this appeal in the last hour.
    TooManyTries,
    /// No code was issued for this appeal (or it expired).
    Unknown,
}

/// Checks `code` for the appeal `tracking_number`; when right, marks the contact
/// confirmed and puts its held answers back on `replies` (the stream's key). Returns
/// the texts of the answers released now, for the status page to show to whoever has
/// the number and the code (issue 30: the code proves the contact is theirs).
pub(crate) async fn confirm(
    conn: &mut RedisConn,
    keys: &Keyspace,
    tracking_number: &str,
    code: &str,
    replies: &str,
) -> redis::RedisResult<(Confirmation, Vec<String>)> {
    let (confirmation, released) = check(conn, keys, tracking_number, code, replies).await?;
    Ok((
        confirmation,
        released.iter().filter_map(|e| held_text(e)).collect(),
    ))
}

/// The answer's text of a held entry (`{"id","data"}`, `data` the case system's reply).
fn held_text(entry: &str) -> Option<String> {
    let entry: serde_json::Value = serde_json::from_str(entry).ok()?;
    let reply: crate::reply::Reply = serde_json::from_str(entry["data"].as_str()?).ok()?;
    reply.text_for().map(str::to_owned)
}

async fn check(
    conn: &mut RedisConn,
    keys: &Keyspace,
    tracking_number: &str,
    code: &str,
    replies: &str,
) -> redis::RedisResult<(Confirmation, Vec<String>)> {
    let tries_key = keys.key(&name::contact_code_tries(tracking_number));
    let tries: Option<i64> = redis::cmd("GET").arg(&tries_key).query_async(conn).await?;
    if tries.unwrap_or(0) >= MAX_TRIES {
        return Ok((Confirmation::TooManyTries, Vec::new()));
    }
    let code_key = keys.key(&name::contact_code(tracking_number));
    let issued: Option<String> = redis::cmd("GET").arg(&code_key).query_async(conn).await?;
    let Some(issued) = issued else {
        return Ok((
            if is_confirmed(conn, keys, tracking_number).await? {
                Confirmation::Confirmed
            } else {
                Confirmation::Unknown
            },
            Vec::new(),
        ));
    };
    let typed: String = code.chars().filter(char::is_ascii_digit).collect();
    use subtle::ConstantTimeEq;
    if typed.len() != issued.len() || !bool::from(typed.as_bytes().ct_eq(issued.as_bytes())) {
        let _: () = redis::pipe()
            .atomic()
            .cmd("INCR")
            .arg(&tries_key)
            .ignore()
            .cmd("EXPIRE")
            .arg(&tries_key)
            .arg(3600)
            .ignore()
            .query_async(conn)
            .await?;
        return Ok((Confirmation::Wrong, Vec::new()));
    }
    // One script: whoever confirms first takes the held answers, once.
    let released: Vec<String> = redis::Script::new(RELEASE)
        .key(keys.key(&name::contact_confirmed(tracking_number)))
        .key(keys.key(&name::held_unconfirmed(tracking_number)))
        .key(&code_key)
        .key(replies)
        .arg(CONFIRMED_FOR.as_secs())
        .invoke_async(conn)
        .await?;
    tracing::info!(released = released.len(), "a typed contact was confirmed");
    Ok((Confirmation::Confirmed, released))
}

/// `KEYS`: the confirmed mark, the held list, the code, `replies.v1`; each held reply
/// goes back to `replies.v1` with its own id; the held entries are returned.
const RELEASE: &str = r"
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
local held = redis.call('LRANGE', KEYS[2], 0, -1)
for _, entry in ipairs(held) do
  local data = cjson.decode(entry)
  redis.call('XADD', KEYS[4], '*', 'id', data['id'], 'type', 'reply', 'data', data['data'])
end
redis.call('DEL', KEYS[2], KEYS[3])
return held
";

/// What holding a reply needs besides Redis: the routes (for the notice), the status
/// page's base, the reply's id and its `data` as the case system wrote it.
pub(crate) struct Held<'a> {
    pub(crate) routes: &'a super::route::Routes,
    pub(crate) public_url: &'a str,
    pub(crate) reply_id: &'a str,
    pub(crate) data: &'a str,
}

/// The reply as it may go now: to its confirmed contacts only, or `None` when it is
/// held until the citizen confirms the contact they typed — the contact then gets a
/// notice without content and the code.
pub(crate) async fn route_or_hold(
    conn: &mut RedisConn,
    keys: &Keyspace,
    held: &Held<'_>,
    reply: &crate::reply::Reply,
) -> redis::RedisResult<Option<crate::reply::Reply>> {
    let mut contacts = std::iter::once(&reply.reply_to).chain(&reply.fallback);
    if !contacts.any(awaits_confirmation) {
        return Ok(Some(reply.clone()));
    }
    let confirmed = is_confirmed(conn, keys, &reply.tracking_number).await?;
    if let Some((first, rest)) = usable(reply, confirmed).split_first() {
        let mut reply = reply.clone();
        reply.reply_to = first.clone();
        reply.fallback = rest.to_vec();
        return Ok(Some(reply));
    }
    let code = hold(
        conn,
        keys,
        &reply.tracking_number,
        &entry(held.reply_id, held.data),
    )
    .await?;
    if !notified(conn, keys, &reply.tracking_number, true).await? {
        // The code went out today (the acknowledgement, or a notice): the answer waits.
        return Ok(None);
    }
    let notice = notice_text(reply, &code, held.public_url);
    let link = format!(
        "{}/status/{}",
        held.public_url.trim_end_matches('/'),
        reply.tracking_number
    );
    let ctx = super::route::Context::new(
        held.reply_id,
        &reply.id,
        &reply.tracking_number,
        reply.language.unwrap_or(crate::appeal::Language::Kk),
        &link,
    );
    if let Err(e) = held.routes.send(&reply.reply_to, &notice, &ctx).await {
        // The answer stays held; the status page links to the code's page.
        tracing::warn!(reply_id = %held.reply_id, reason = e.reason(), "notifier: confirmation notice not sent");
    }
    Ok(None)
}

/// A held reply as it waits: its id and the case system's `data`.
pub(crate) fn entry(reply_id: &str, data: &str) -> String {
    serde_json::json!({"id": reply_id, "data": data}).to_string()
}

/// The reply's contacts the notifier may use now: all of them once the appeal's typed
/// contact is confirmed; else those not awaiting confirmation (a Telegram chat, a
/// number from a 1308 call), in order. Empty: the answer is held.
pub(crate) fn usable(reply: &crate::reply::Reply, confirmed: bool) -> Vec<crate::appeal::ReplyTo> {
    std::iter::once(&reply.reply_to)
        .chain(&reply.fallback)
        .filter(|to| confirmed || !awaits_confirmation(to))
        .cloned()
        .collect()
}

/// Whether a contact is one the citizen typed and has not proven.
pub(crate) fn awaits_confirmation(to: &crate::appeal::ReplyTo) -> bool {
    to.confirmed == Some(false)
        && matches!(
            to.channel,
            crate::appeal::ReplyChannel::Email | crate::appeal::ReplyChannel::Sms
        )
}

/// The notice sent to an unconfirmed contact: no content of the appeal or the answer,
/// only the tracking number, that an answer waits, and how to confirm (the link carries
/// the code for email; SMS gives the code to type on the status page).
pub(crate) fn notice_text(reply: &crate::reply::Reply, code: &str, public_url: &str) -> String {
    let language = reply.language.unwrap_or(crate::appeal::Language::Kk);
    let page = format!(
        "{}/status/{}/confirm",
        public_url.trim_end_matches('/'),
        reply.tracking_number
    );
    let (id, link) = match reply.reply_to.channel {
        crate::appeal::ReplyChannel::Email => (
            "confirm-contact-notice-email",
            format!("{page}?code={code}"),
        ),
        _ => ("confirm-contact-notice-sms", page),
    };
    crate::i18n::MESSAGES.text(
        language,
        id,
        &[
            ("tracking", reply.tracking_number.clone()),
            ("code", code.to_owned()),
            ("link", link),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::appeal::{ReplyChannel, ReplyTo};

    fn to(channel: ReplyChannel, confirmed: Option<bool>) -> ReplyTo {
        ReplyTo {
            channel,
            address: "x".to_owned(),
            confirmed,
        }
    }

    #[test]
    fn only_typed_email_and_sms_wait_for_confirmation() {
        assert!(awaits_confirmation(&to(ReplyChannel::Email, Some(false))));
        assert!(awaits_confirmation(&to(ReplyChannel::Sms, Some(false))));
        assert!(!awaits_confirmation(&to(ReplyChannel::Sms, Some(true))));
        assert!(!awaits_confirmation(&to(ReplyChannel::Email, None)));
        assert!(!awaits_confirmation(&to(
            ReplyChannel::Telegram,
            Some(false)
        )));
    }

    #[test]
    fn an_unconfirmed_contact_is_left_out_until_confirmed() {
        let reply: crate::reply::Reply = serde_json::from_value(serde_json::json!({
            "schema_version": 1, "id": "01K", "tracking_number": "OA-7K3M-9QX2",
            "reply_to": {"channel": "email", "address": "a@b.kz", "confirmed": false},
            "fallback": [{"channel": "telegram", "address": "555"}],
            "text": "Ответ."
        }))
        .expect("a reply");
        let now = usable(&reply, false);
        assert_eq!(now.len(), 1);
        assert_eq!(now[0].channel, ReplyChannel::Telegram);
        assert_eq!(usable(&reply, true).len(), 2);
        let notice = notice_text(&reply, "123456", "https://open-almaty.kz");
        assert!(notice.contains("https://open-almaty.kz/status/OA-7K3M-9QX2/confirm?code=123456"));
        assert!(!notice.contains("Ответ."));
    }
}
