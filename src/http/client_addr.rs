//! The client's address, for the per-address limits: the connection's peer, unless the
//! peer is a proxy the deployment trusts (`GATEWAY_TRUSTED_PROXIES`, read by
//! [`crate::trusted_proxies`]).
//!
//! Behind HAProxy every connection comes from the proxy, and a per-address limit keyed
//! on it would count the whole city as one client; the proxy's `X-Forwarded-For` names
//! the client, and only a trusted proxy's is believed. This is why actix's
//! `ConnectionInfo::realip_remote_addr`, which believes the first entry from anyone, is
//! not used. No address is logged.

use std::net::IpAddr;

use crate::trusted_proxies::TrustedProxies;
use actix_web::HttpRequest;
use actix_web::http::header::HeaderName;

static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// The client address of a request, by the trusted proxies registered in the app
/// (none registered: the peer).
pub(crate) fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    let peer = req.peer_addr().map(|a| a.ip());
    let Some(trusted) = req.app_data::<actix_web::web::Data<TrustedProxies>>() else {
        return peer;
    };
    let headers = req
        .headers()
        .get_all(&X_FORWARDED_FOR)
        .filter_map(|v| v.to_str().ok());
    trusted.client(peer, headers)
}
