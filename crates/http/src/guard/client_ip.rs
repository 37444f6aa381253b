//! Who the client is: the socket's peer, or, when that peer is one of our own
//! proxies, the address the proxies say they were connected from.
//!
//! `X-Forwarded-For` is a list each proxy appends the address it saw to, so the
//! right-most entries are the ones our proxies wrote and everything to the left
//! of the first address that is not ours came from the client and may be
//! invented. The client is therefore the right-most address that is not a
//! trusted proxy, never the left-most one. A peer that is not a trusted proxy
//! is the client itself, whatever headers it sends.

use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use actix_web::HttpMessage;
use actix_web::HttpRequest;
use actix_web::http::header::{HeaderMap, HeaderName};
use ipnet::IpNet;

const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Most `X-Forwarded-For` entries looked at: a chain of proxies is short, and a
/// client may send a header of thousands.
const MAX_HOPS: usize = 16;

/// The proxies whose `X-Forwarded-For` is believed: addresses and networks.
/// Empty (the default) trusts nobody, which is right for a replica clients reach
/// directly; behind Nginx it names Nginx's address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    fn contains(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|network| network.contains(&ip))
    }
}

impl std::fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let networks: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&networks.join(","))
    }
}

impl FromStr for TrustedProxies {
    type Err = String;

    /// A comma-separated list of addresses (`127.0.0.1`, `::1`) and networks
    /// (`10.0.0.0/8`); blanks are ignored, so an empty string trusts nobody.
    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        raw.split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .map(|entry| {
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("{entry:?} is not an IP address or a CIDR network"))
            })
            .collect::<Result<_, _>>()
            .map(Self)
    }
}

/// The client's address, worked out once per request by the guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ClientIp(pub IpAddr);

/// The client address of `req`: what the guard found, or the socket's peer.
pub(crate) fn client_ip(req: &HttpRequest) -> Option<IpAddr> {
    let found = req.extensions().get::<ClientIp>().map(|client| client.0);
    found.or_else(|| req.peer_addr().map(|peer| canonical(peer.ip())))
}

/// The client of a request from `peer` with `headers`.
pub(crate) fn resolve(
    peer: Option<SocketAddr>,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    let peer = canonical(peer?.ip());
    if !trusted.contains(peer) {
        return Some(peer);
    }
    // Several header lines form one list, in order; read it from the right.
    let mut hops: Vec<&str> = Vec::new();
    for value in headers.get_all(X_FORWARDED_FOR) {
        let Ok(list) = value.to_str() else {
            // Unreadable: believe none of it; the nearest proxy is all we know.
            return Some(peer);
        };
        hops.extend(list.split(','));
    }
    let mut client = peer;
    for hop in hops.iter().rev().take(MAX_HOPS) {
        match parse_hop(hop.trim()) {
            Some(ip) if trusted.contains(ip) => client = ip,
            Some(ip) => return Some(ip),
            // Garbage from here leftwards: stop at the last address a proxy of
            // ours vouched for.
            None => break,
        }
    }
    Some(client)
}

/// One entry: an address, possibly with a port (`1.2.3.4:80`, `[::1]:80`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    let ip = hop
        .parse::<IpAddr>()
        .ok()
        .or_else(|| hop.parse::<SocketAddr>().ok().map(|socket| socket.ip()))?;
    Some(canonical(ip))
}

/// IPv4 peers of a dual-stack socket arrive as `::ffff:a.b.c.d`: compare and
/// key them as the IPv4 addresses they are.
fn canonical(ip: IpAddr) -> IpAddr {
    ip.to_canonical()
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::HeaderValue;

    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(X_FORWARDED_FOR, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn from(peer: &str, xff: &[&str], trusted: &str) -> Option<IpAddr> {
        let peer: SocketAddr = peer.parse().unwrap();
        resolve(Some(peer), &headers(xff), &trusted.parse().unwrap())
    }

    fn ip(raw: &str) -> Option<IpAddr> {
        Some(raw.parse().unwrap())
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_claims() {
        assert_eq!(from("198.51.100.7:5000", &["203.0.113.9"], ""), ip("198.51.100.7"));
        assert_eq!(from("198.51.100.7:5000", &["203.0.113.9"], "127.0.0.1"), ip("198.51.100.7"));
        assert_eq!(from("127.0.0.1:5000", &["203.0.113.9"], ""), ip("127.0.0.1"));
    }

    #[test]
    fn behind_a_trusted_proxy_the_rightmost_untrusted_hop_is_the_client() {
        let trusted = "127.0.0.1, 10.0.0.0/8";
        assert_eq!(from("127.0.0.1:5000", &["203.0.113.9"], trusted), ip("203.0.113.9"));
        // The client prepended a lie; Nginx appended what it saw.
        assert_eq!(from("127.0.0.1:1", &["6.6.6.6, 203.0.113.9"], trusted), ip("203.0.113.9"));
        assert_eq!(
            from("127.0.0.1:1", &["6.6.6.6", "203.0.113.9, 10.1.2.3"], trusted),
            ip("203.0.113.9")
        );
        assert_eq!(from("127.0.0.1:1", &[], trusted), ip("127.0.0.1"));
        assert_eq!(from("127.0.0.1:1", &["10.0.0.5"], trusted), ip("10.0.0.5"));
        assert_eq!(from("127.0.0.1:1", &["[2001:db8::1]:443"], trusted), ip("2001:db8::1"));
    }

    #[test]
    fn garbage_is_believed_no_further_than_our_own_proxies() {
        let trusted = "127.0.0.1,10.0.0.0/8";
        assert_eq!(from("127.0.0.1:1", &["evil, 10.0.0.5"], trusted), ip("10.0.0.5"));
        assert_eq!(from("127.0.0.1:1", &["unknown"], trusted), ip("127.0.0.1"));
    }

    #[test]
    fn mapped_ipv4_peers_match_ipv4_proxies() {
        assert_eq!(from("[::ffff:127.0.0.1]:1", &["203.0.113.9"], "127.0.0.1"), ip("203.0.113.9"));
    }

    #[test]
    fn configuration_takes_addresses_and_networks() {
        let parsed: TrustedProxies = " 127.0.0.1 , ::1,10.0.0.0/8,".parse().unwrap();
        assert_eq!(parsed.0.len(), 3);
        assert_eq!("".parse::<TrustedProxies>().unwrap(), TrustedProxies::default());
        assert!("localhost".parse::<TrustedProxies>().is_err());
        assert!("10.0.0.0/33".parse::<TrustedProxies>().is_err());
    }
}
