//! The proxies a deployment trusts to name the client (`GATEWAY_TRUSTED_PROXIES`:
//! addresses or CIDR ranges, comma-separated; empty by default: no forwarded header is
//! trusted), and the reading of `X-Forwarded-For` by that list.
//!
//! HAProxy (`option forwardfor`) appends the address it saw to `X-Forwarded-For`;
//! anything to its left came from the client and may be forged. So the header is read
//! from the right: entries added by trusted proxies are skipped, and the first
//! untrusted one is the client. A peer that is not trusted is the client whatever its
//! headers say. The HTTP side is [`crate::http::client_addr`].

use std::net::IpAddr;

use ipnet::IpNet;

/// The proxies whose `X-Forwarded-For` entries are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct TrustedProxies {
    nets: Vec<IpNet>,
}

impl TrustedProxies {
    /// `10.0.0.5, 10.1.0.0/16, ::1`; `Err` names the first entry that is neither an
    /// address nor a CIDR range.
    pub(crate) fn parse(list: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let net = entry
                .parse::<IpNet>()
                .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("`{entry}` is not an address or a CIDR range"))?;
            nets.push(net);
        }
        Ok(TrustedProxies { nets })
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = address.to_canonical();
        self.nets.iter().any(|n| n.contains(&address))
    }

    /// The client of a connection from `peer` whose `X-Forwarded-For` headers (in
    /// order) are `forwarded`.
    pub(crate) fn client<'a>(
        &self,
        peer: Option<IpAddr>,
        forwarded: impl Iterator<Item = &'a str>,
    ) -> Option<IpAddr> {
        let peer = peer?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        let entries: Vec<&str> = forwarded.flat_map(|h| h.split(',')).collect();
        let mut client = peer;
        for entry in entries.iter().rev() {
            // An entry that is not an address ends the chain: what is left of it
            // cannot be believed, the last trusted hop is the client we know.
            let Ok(address) = entry.trim().parse::<IpAddr>() else {
                break;
            };
            client = address.to_canonical();
            if !self.trusts(client) {
                break;
            }
        }
        Some(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("address")
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(Some(ip("203.0.113.7")), ["10.9.9.9"].into_iter()),
            Some(ip("203.0.113.7"))
        );
        let lb = TrustedProxies::parse("10.0.0.2").expect("list");
        assert_eq!(
            lb.client(Some(ip("198.51.100.1")), ["10.9.9.9"].into_iter()),
            Some(ip("198.51.100.1"))
        );
    }

    #[test]
    fn behind_trusted_proxies_the_first_untrusted_entry_from_the_right_is_the_client() {
        let trusted = TrustedProxies::parse(" 10.0.0.0/8 , 192.0.2.1").expect("list");
        // The client forged an entry; the proxy appended the address it saw.
        assert_eq!(
            trusted.client(
                Some(ip("10.0.0.2")),
                ["6.6.6.6, 203.0.113.7", "192.0.2.1"].into_iter()
            ),
            Some(ip("203.0.113.7"))
        );
        // No header: the proxy itself.
        assert_eq!(
            trusted.client(Some(ip("10.0.0.2")), std::iter::empty()),
            Some(ip("10.0.0.2"))
        );
        // Garbage stops the walk at the last trusted hop.
        assert_eq!(
            trusted.client(Some(ip("10.0.0.2")), ["unknown, 10.0.0.3"].into_iter()),
            Some(ip("10.0.0.3"))
        );
        // IPv4-mapped IPv6 peers count as their IPv4 address.
        assert_eq!(
            trusted.client(Some(ip("::ffff:10.0.0.2")), ["203.0.113.8"].into_iter()),
            Some(ip("203.0.113.8"))
        );
    }

    #[test]
    fn the_list_names_what_it_cannot_read() {
        assert_eq!(
            TrustedProxies::parse("").expect("empty"),
            TrustedProxies::default()
        );
        assert!(TrustedProxies::parse("::1, 127.0.0.1/32").is_ok());
        assert_eq!(
            TrustedProxies::parse("10.0.0.1, proxy.local"),
            Err("`proxy.local` is not an address or a CIDR range".to_owned())
        );
    }
}
