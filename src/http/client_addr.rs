//! The client's address, for the per-address limits: the connection's peer, unless the
//! peer is a proxy the deployment trusts (`GATEWAY_TRUSTED_PROXIES`, read by
//! [`crate::trusted_proxies`]).
//!
//! Behind HAProxy every connection comes from the proxy, and a per-address limit keyed
//! on it would count the whole city as one client; the proxy's `X-Forwarded-For` names
//! the client, and only a trusted proxy's is believed. This is why actix's
//! `ConnectionInfo::realip_remote_addr`, which believes the first entry from anyone, is
//! not used. No address is logged.
//!
//! An IPv6 client is its network, not its address (issue 34): a provider gives each
//! home or phone a whole /64, and any address in it is the same client's — counted one
//! by one, a client rotating through its /64 was never limited. The prefix is
//! `GATEWAY_CLIENT_IPV6_PREFIX` ([`ClientNetworks`], default 64).

use std::net::{IpAddr, Ipv6Addr};

use crate::trusted_proxies::TrustedProxies;
use actix_web::HttpRequest;
use actix_web::http::header::HeaderName;

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// How many leading bits of an IPv6 address make one client (app data; 64 when the
/// app registers none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientNetworks {
    pub(crate) ipv6_prefix: u8,
}

impl Default for ClientNetworks {
    fn default() -> Self {
        ClientNetworks { ipv6_prefix: 64 }
    }
}

impl ClientNetworks {
    /// The client an address stands for: an IPv4 address as it is, an IPv6 one with
    /// the bits past the prefix cleared.
    pub(crate) fn client_of(self, address: IpAddr) -> IpAddr {
        match address.to_canonical() {
            IpAddr::V4(v4) => IpAddr::V4(v4),
            IpAddr::V6(v6) => {
                let bits = u32::from(self.ipv6_prefix.min(128));
                let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        }
    }
}

/// The client of a request, by the trusted proxies registered in the app (none
/// registered: the peer), as its IPv6 network ([`ClientNetworks`]).
pub(crate) fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    let networks = req
        .app_data::<actix_web::web::Data<ClientNetworks>>()
        .map_or_else(ClientNetworks::default, |n| *n.as_ref());
    let peer = req.peer_addr().map(|a| a.ip());
    let Some(trusted) = req.app_data::<actix_web::web::Data<TrustedProxies>>() else {
        return peer.map(|p| networks.client_of(p));
    };
    let headers = req
        .headers()
        .get_all(&X_FORWARDED_FOR)
        .filter_map(|v| v.to_str().ok());
    trusted.client(peer, headers).map(|c| networks.client_of(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_is_its_network() {
        let n = ClientNetworks::default();
        let a: IpAddr = "2a01:4f8:1:2:aaaa:bbbb:cccc:dddd".parse().expect("v6");
        let b: IpAddr = "2a01:4f8:1:2::1".parse().expect("v6");
        let other: IpAddr = "2a01:4f8:1:3::1".parse().expect("v6");
        assert_eq!(n.client_of(a), n.client_of(b));
        assert_ne!(n.client_of(a), n.client_of(other));
        let v4: IpAddr = "10.0.0.7".parse().expect("v4");
        assert_eq!(n.client_of(v4), v4);
        let mapped: IpAddr = "::ffff:10.0.0.7".parse().expect("mapped");
        assert_eq!(n.client_of(mapped), v4);
        let whole = ClientNetworks { ipv6_prefix: 128 };
        assert_ne!(whole.client_of(a), whole.client_of(b));
        let wide = ClientNetworks { ipv6_prefix: 48 };
        assert_eq!(wide.client_of(a), wide.client_of(other));
    }
}
