//! The client address a request is counted by: the TCP peer, unless the peer
//! is a trusted proxy (`http.trusted_proxies`), in which case the nearest
//! untrusted hop of `X-Forwarded-For` (read right to left, as a client can
//! prepend anything it likes but cannot forge what the proxy appended).

use std::net::IpAddr;

use http::HeaderMap;
use ipnet::IpNet;

/// The client's address for rate limiting and logs.
pub fn client_addr(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let peer = peer.to_canonical();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if trusted.is_empty() || !is_trusted(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|hop| hop.trim().parse::<IpAddr>().ok())
        .map(|ip| ip.to_canonical())
        .collect();
    hops.iter().rev().find(|ip| !is_trusted(ip)).or(hops.first()).copied().unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let ip = client_addr("203.0.113.9".parse().unwrap(), &headers("1.2.3.4"), &["10.0.0.0/8".parse().unwrap()]);
        assert_eq!(ip, "203.0.113.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_trusted_proxy_is_looked_through_to_the_nearest_untrusted_hop() {
        let trusted = ["127.0.0.0/8".parse().unwrap(), "10.0.0.0/8".parse().unwrap()];
        let ip = client_addr("127.0.0.1".parse().unwrap(), &headers("6.6.6.6, 198.51.100.7, 10.1.1.1"), &trusted);
        assert_eq!(ip, "198.51.100.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_trusted_proxy_without_the_header_is_the_client() {
        let trusted = ["127.0.0.0/8".parse().unwrap()];
        let ip = client_addr("127.0.0.1".parse().unwrap(), &HeaderMap::new(), &trusted);
        assert_eq!(ip, "127.0.0.1".parse::<IpAddr>().unwrap());
    }
}
