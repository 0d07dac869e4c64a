//! Whether the city's own mail server vouches for a mail's sender (issue 34, point 1).
//!
//! Anyone can write `From: petrov@mail.kz`. What proves the author is the receiving
//! MTA's verdict, written into the message as an `Authentication-Results` header
//! (RFC 8601): a DMARC `pass` for the From domain, or a DKIM `pass` whose signing domain
//! is aligned with it (the same domain, or a parent of it: DMARC's relaxed alignment).
//! SPF alone proves nothing about `From` and is not taken.
//!
//! Only headers whose `authserv-id` the deployment trusts count
//! (`GATEWAY_MAIL_TRUSTED_AUTHSERV`), and of those only the first from the top: the MTA
//! prepends its header, so one further down was there before it, written by whoever
//! sent the mail. RFC 8601, section 5, asks the MTA to remove headers that claim its
//! own `authserv-id` on incoming mail (Postfix with OpenDMARC, rspamd and Exim do):
//! without that, a sender could forge a verdict for a message the MTA gave none. A
//! message with two `From` headers or two authors is never vouched for.
//!
//! Written by hand: the mail crates of the tree parse no `Authentication-Results`
//! (`mail-parser` keeps it as text; `mail-auth` writes it and verifies signatures itself,
//! which would need DNS at intake and duplicate the MTA's work). The grammar read here
//! is RFC 8601's: `authserv-id [version] ; method=result *(ptype.property=value) ; …`,
//! with comments in parentheses and quoted strings.

/// The `authserv-id`s whose verdicts count, lower-cased (`GATEWAY_MAIL_TRUSTED_AUTHSERV`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TrustedAuthServ(Vec<String>);

impl TrustedAuthServ {
    /// From a comma-separated list; empty: no verdict counts, every subject request by
    /// mail waits for the sender's confirmation.
    pub(crate) fn parse(list: &str) -> TrustedAuthServ {
        TrustedAuthServ(
            list.split(',')
                .map(|s| s.trim().to_ascii_lowercase())
                .filter(|s| !s.is_empty())
                .collect(),
        )
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether the first trusted `Authentication-Results` of `headers` (top first)
    /// vouches for `from` (the one author's address).
    pub(crate) fn vouches(&self, headers: &[String], from: &str) -> bool {
        let Some(from_domain) = from.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()) else {
            return false;
        };
        let Some(results) = headers
            .iter()
            .filter_map(|h| AuthResults::parse(h))
            .find(|r| self.0.contains(&r.authserv_id))
        else {
            return false;
        };
        results.results.iter().any(|r| match r.method.as_str() {
            "dmarc" => r.result == "pass" && r.property("header.from") == Some(&from_domain),
            "dkim" => {
                r.result == "pass"
                    && r.property("header.d")
                        .or_else(|| r.property("header.i"))
                        .is_some_and(|d| aligned(&from_domain, d))
            }
            _ => false,
        })
    }
}

/// DMARC's relaxed alignment, approximated without the public-suffix list: the signing
/// domain (`header.d`, or the domain of `header.i`: `@example.kz`, `user@example.kz`)
/// is the From domain or a parent of it with at least two labels (a signature by `kz`
/// alone aligns nothing).
fn aligned(from_domain: &str, signer: &str) -> bool {
    let signer = signer.trim_start_matches('@');
    let signer = signer.rsplit_once('@').map_or(signer, |(_, d)| d);
    signer.contains('.')
        && (from_domain == signer
            || from_domain
                .strip_suffix(signer)
                .is_some_and(|rest| rest.ends_with('.')))
}

/// One parsed `Authentication-Results` header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AuthResults {
    authserv_id: String,
    results: Vec<MethodResult>,
}

/// One `method=result` with its properties, lower-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
struct MethodResult {
    method: String,
    result: String,
    properties: Vec<(String, String)>,
}

impl MethodResult {
    fn property(&self, name: &str) -> Option<&String> {
        self.properties
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }
}

impl AuthResults {
    fn parse(value: &str) -> Option<AuthResults> {
        let text = without_comments(value);
        let mut statements = split_outside_quotes(&text, ';').into_iter();
        let authserv_id = statements
            .next()?
            .split_whitespace()
            .next()?
            .trim_matches('"')
            .to_ascii_lowercase();
        if authserv_id.is_empty() {
            return None;
        }
        let mut results = Vec::new();
        for statement in statements {
            let mut words = split_outside_quotes(statement.trim(), ' ')
                .into_iter()
                .map(str::trim)
                .filter(|w| !w.is_empty());
            let Some((method, result)) = words.next().and_then(|w| w.split_once('=')) else {
                continue;
            };
            let method = method
                .split('/')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase();
            let properties = words
                .filter_map(|w| w.split_once('='))
                .map(|(k, v)| {
                    (
                        k.trim().to_ascii_lowercase(),
                        v.trim().trim_matches('"').to_ascii_lowercase(),
                    )
                })
                .collect();
            results.push(MethodResult {
                method,
                result: result.trim().to_ascii_lowercase(),
                properties,
            });
        }
        Some(AuthResults {
            authserv_id,
            results,
        })
    }
}

/// `value` with its comments (parenthesized, nested, `\`-escaped) made spaces; quoted
/// strings are kept as they are.
fn without_comments(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for c in value.chars() {
        if escaped {
            escaped = false;
            if depth == 0 {
                out.push(c);
            }
            continue;
        }
        match c {
            '\\' => {
                escaped = true;
                if depth == 0 {
                    out.push(c);
                }
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                out.push(c);
            }
            '(' if !quoted => depth += 1,
            ')' if !quoted && depth > 0 => {
                depth -= 1;
                out.push(' ');
            }
            _ if depth > 0 => {}
            _ => out.push(c),
        }
    }
    out
}

/// `text` split at `sep` where it is outside a quoted string; whitespace counts as a
/// separator when `sep` is a space.
fn split_outside_quotes(text: &str, sep: char) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in text.char_indices() {
        if c == '"' {
            quoted = !quoted;
        } else if !quoted && (c == sep || (sep == ' ' && c.is_whitespace())) {
            parts.push(&text[start..i]);
            start = i + c.len_utf8();
        }
    }
    parts.push(&text[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trusted() -> TrustedAuthServ {
        TrustedAuthServ::parse("mx.almatydc.kz, mx2.almatydc.kz")
    }

    #[test]
    fn a_dmarc_pass_for_the_from_domain_from_a_trusted_server_vouches() {
        let headers = vec![
            "mx.almatydc.kz; spf=pass smtp.mailfrom=mail.kz; dkim=pass (2048-bit key) header.d=mail.kz header.s=s1; dmarc=pass (p=REJECT) header.from=mail.kz".to_owned(),
        ];
        assert!(trusted().vouches(&headers, "petrov@mail.kz"));
        assert!(trusted().vouches(&headers, "Petrov@Mail.KZ"));
        assert!(!trusted().vouches(&headers, "petrov@gmail.com"));
    }

    #[test]
    fn only_the_first_trusted_header_counts_and_untrusted_servers_never() {
        let forged_below = vec![
            "mx.almatydc.kz; dmarc=fail header.from=mail.kz".to_owned(),
            "mx.almatydc.kz; dmarc=pass header.from=mail.kz".to_owned(),
        ];
        assert!(!trusted().vouches(&forged_below, "petrov@mail.kz"));
        let untrusted = vec!["evil.example; dmarc=pass header.from=mail.kz".to_owned()];
        assert!(!trusted().vouches(&untrusted, "petrov@mail.kz"));
        assert!(!TrustedAuthServ::parse("").vouches(&untrusted, "petrov@mail.kz"));
        // A verdict about nothing (`none`) proves nothing.
        let none = vec!["mx.almatydc.kz; none".to_owned()];
        assert!(!trusted().vouches(&none, "petrov@mail.kz"));
    }

    #[test]
    fn spf_alone_or_a_dkim_pass_of_another_domain_does_not_vouch() {
        let spf = vec!["mx.almatydc.kz; spf=pass smtp.mailfrom=petrov@mail.kz".to_owned()];
        assert!(!trusted().vouches(&spf, "petrov@mail.kz"));
        let other =
            vec!["mx.almatydc.kz; dkim=pass header.d=attacker.example; dmarc=none".to_owned()];
        assert!(!trusted().vouches(&other, "petrov@mail.kz"));
        let suffix = vec!["mx.almatydc.kz; dkim=pass header.d=il.kz".to_owned()];
        assert!(
            !trusted().vouches(&suffix, "petrov@mail.kz"),
            "mail.kz is not under il.kz"
        );
        let tld = vec!["mx.almatydc.kz; dkim=pass header.d=kz".to_owned()];
        assert!(!trusted().vouches(&tld, "petrov@mail.kz"));
    }

    #[test]
    fn an_aligned_dkim_pass_vouches_with_comments_quotes_and_versions() {
        let parent = vec![
            "mx2.almatydc.kz 1; (the city's filter) dkim/1=pass (good signature) header.d=\"mail.kz\" header.b=abc".to_owned(),
        ];
        assert!(trusted().vouches(&parent, "ivan@corp.mail.kz"));
        let identity = vec!["mx.almatydc.kz; dkim=pass header.i=@mail.kz".to_owned()];
        assert!(trusted().vouches(&identity, "ivan@mail.kz"));
        let failed = vec!["mx.almatydc.kz; dkim=fail header.d=mail.kz".to_owned()];
        assert!(!trusted().vouches(&failed, "ivan@mail.kz"));
        // A comment cannot smuggle a verdict in.
        let comment = vec![
            "mx.almatydc.kz; dkim=fail (dmarc=pass header.from=mail.kz) header.d=mail.kz"
                .to_owned(),
        ];
        assert!(!trusted().vouches(&comment, "ivan@mail.kz"));
    }
}
