//! Bounces of the gateway's own mail: a delivery report (Postfix, Exchange, Gmail, …)
//! quotes the headers of the mail that bounced, and ours carry Message-IDs that name
//! what they answered — `<ack.{appeal id}@…>`, `<reply.{reply id}@…>`,
//! `<addition.{id}@…>`, `<request.{id}@…>`, `<empty.{id}@…>` (see `ack::message_id`).
//! Finding one on a quoted `Message-ID:` line (only there) ties the report to that record; the appeal
//! of a bounced reply comes from the `<ack.…>` its `In-Reply-To`/`References` quote.

/// What a report says bounced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Bounced {
    /// `ack`, `reply`, `addition`, `request` or `empty`.
    pub(crate) mail: &'static str,
    /// The record the mail answered (a ULID).
    pub(crate) record_id: String,
    /// The appeal, when the report names it.
    pub(crate) appeal_id: Option<String>,
}

const KINDS: [&str; 5] = ["ack", "reply", "addition", "request", "empty"];

/// One of our Message-IDs found in the report's text.
struct Found {
    kind: &'static str,
    token: String,
    /// On a `Message-ID:` line (the bounced mail's own id, not one it refers to).
    own: bool,
}

/// The mail of ours (of `domain`) that `quoted` — a report's inner parts — says bounced.
pub(crate) fn find(quoted: &str, domain: &str) -> Option<Bounced> {
    let found = ours(quoted, domain);
    // Only the bounced mail's own `Message-ID:` counts: a vacation reply's
    // `In-Reply-To` names our mail too, and is no bounce.
    let bounced = found.iter().find(|f| f.own)?;
    let appeal_id = if bounced.kind == "ack" {
        Some(bounced.token.clone())
    } else {
        found
            .iter()
            .find(|f| f.kind == "ack")
            .map(|f| f.token.clone())
    };
    Some(Bounced {
        mail: bounced.kind,
        record_id: bounced.token.clone(),
        appeal_id,
    })
}

fn ours(text: &str, domain: &str) -> Vec<Found> {
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(open) = text[from..].find('<').map(|i| from + i) {
        from = open + 1;
        let Some(close) = text[open..].find('>').map(|i| open + i) else {
            break;
        };
        let inner = &text[open + 1..close];
        if inner.len() > 200 {
            continue;
        }
        let Some((local, dom)) = inner.rsplit_once('@') else {
            continue;
        };
        if !dom.eq_ignore_ascii_case(domain) {
            continue;
        }
        let Some((kind, token)) = local.split_once('.') else {
            continue;
        };
        let Some(kind) = KINDS.iter().find(|k| **k == kind) else {
            continue;
        };
        if token.is_empty()
            || token.len() > 64
            || !token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            continue;
        }
        found.push(Found {
            kind,
            token: token.to_owned(),
            own: on_message_id_line(&text[..open]),
        });
    }
    found
}

/// Whether the text just before an id is a `Message-ID:` header (folded or not).
fn on_message_id_line(before: &str) -> bool {
    let mut lines = before.rsplit('\n');
    let this = lines.next().unwrap_or("");
    let head = if this.trim().is_empty() {
        lines.next().unwrap_or("")
    } else {
        this
    };
    head.trim().to_ascii_lowercase().ends_with("message-id:")
}

#[cfg(test)]
mod tests {
    use super::*;

    const APPEAL: &str = "01KAPPEAL00000000000000000A";
    const REPLY: &str = "01KREPLY000000000000000000";

    #[test]
    fn a_bounced_reply_names_the_reply_and_its_appeal() {
        let quoted = format!(
            "Reporting-MTA: dns; mx.example.kz\r\n\r\nFrom: Open Almaty <open-almaty@almatydc.kz>\r\n\
             Message-ID:\r\n <reply.{REPLY}@almatydc.kz>\r\nIn-Reply-To: <ack.{APPEAL}@almatydc.kz>\r\n"
        );
        assert_eq!(
            find(&quoted, "almatydc.kz"),
            Some(Bounced {
                mail: "reply",
                record_id: REPLY.into(),
                appeal_id: Some(APPEAL.into())
            })
        );
    }

    #[test]
    fn only_our_domain_and_our_kinds_count() {
        let quoted = format!(
            "Message-ID: <ack.{APPEAL}@example.kz>\r\nReferences: <x.{APPEAL}@almatydc.kz>"
        );
        assert_eq!(find(&quoted, "almatydc.kz"), None);
        // Named only as the parent (a vacation reply's In-Reply-To): no bounce.
        let parent = format!("In-Reply-To: <ack.{APPEAL}@almatydc.kz>");
        assert_eq!(find(&parent, "almatydc.kz"), None);
        let ack = format!("Message-Id: <ack.{APPEAL}@AlmatyDC.kz>");
        assert_eq!(
            find(&ack, "almatydc.kz").unwrap().appeal_id.unwrap(),
            APPEAL
        );
    }
}
