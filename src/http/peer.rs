//! The client address a request is counted by: the TCP peer, unless the peer
//! is a trusted proxy (`http.trusted_proxies`), in which case `X-Forwarded-For`
//! is walked right to left while its hops are trusted proxies too (a client can
//! prepend anything it likes, but cannot forge what the proxies appended). The
//! first hop that is untrusted, or that does not parse, ends the walk; the
//! client is the last address that parsed (docs/SECURITY.md).

use std::net::IpAddr;

use http::HeaderMap;
use ipnet::IpNet;

/// Hops looked at before the walk stops at the last one: a chain of proxies is a
/// handful long, and each hop costs a look through `trusted`.
pub const MAX_HOPS: usize = 32;

/// The client's address for rate limiting and logs.
pub fn client_addr(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer.to_canonical();
    if !is_trusted(&client) {
        return client;
    }
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .rev()
        .flat_map(|value| value.to_str().unwrap_or("\u{0}").rsplit(','))
        .take(MAX_HOPS);
    for hop in hops {
        let Ok(ip) = hop.trim().parse::<IpAddr>() else { break };
        client = ip.to_canonical();
        if !is_trusted(&client) {
            break;
        }
    }
    client
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for value in values {
            h.append("x-forwarded-for", value.parse().unwrap());
        }
        h
    }

    fn walk(peer: &str, xff: &[&str], trusted: &[&str]) -> String {
        let trusted: Vec<IpNet> = trusted.iter().map(|t| t.parse().unwrap()).collect();
        client_addr(peer.parse().unwrap(), &headers(xff), &trusted).to_string()
    }

    const PROXIES: [&str; 2] = ["127.0.0.0/8", "10.0.0.0/8"];

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        assert_eq!(walk("203.0.113.9", &["1.2.3.4"], &["10.0.0.0/8"]), "203.0.113.9");
        assert_eq!(walk("203.0.113.9", &["1.2.3.4"], &[]), "203.0.113.9");
    }

    #[test]
    fn a_trusted_proxy_is_looked_through_to_the_nearest_untrusted_hop() {
        assert_eq!(walk("127.0.0.1", &["6.6.6.6, 198.51.100.7, 10.1.1.1"], &PROXIES), "198.51.100.7");
    }

    #[test]
    fn a_trusted_proxy_without_the_header_is_the_client() {
        assert_eq!(walk("127.0.0.1", &[], &PROXIES), "127.0.0.1");
    }

    #[test]
    fn a_hop_that_does_not_parse_ends_the_walk_at_the_last_address_that_did() {
        // The client wrote "10.8.8.7, garbage": it must not pick its own address.
        assert_eq!(walk("127.0.0.1", &["10.8.8.7, garbage"], &["127.0.0.0/8"]), "127.0.0.1");
        assert_eq!(walk("127.0.0.1", &["6.6.6.6, garbage, 10.0.0.2"], &PROXIES), "10.0.0.2");
        assert_eq!(walk("127.0.0.1", &["6.6.6.6,, 10.0.0.2"], &PROXIES), "10.0.0.2");
        assert_eq!(walk("127.0.0.1", &["6.6.6.6, 10.0.0.2:80"], &PROXIES), "127.0.0.1");
    }

    #[test]
    fn every_trusted_hop_ends_at_the_leftmost() {
        assert_eq!(walk("127.0.0.1", &["10.0.0.3, 10.0.0.2"], &PROXIES), "10.0.0.3");
    }

    #[test]
    fn several_headers_are_one_list_in_order() {
        assert_eq!(walk("127.0.0.1", &["198.51.100.7", "10.0.0.2"], &PROXIES), "198.51.100.7");
        assert_eq!(walk("127.0.0.1", &["198.51.100.7, 10.0.0.9", "garbage"], &PROXIES), "127.0.0.1");
    }

    #[test]
    fn the_walk_stops_after_max_hops() {
        let long = vec!["10.0.0.1"; MAX_HOPS + 5].join(", ");
        let xff = format!("6.6.6.6, {long}");
        assert_eq!(walk("127.0.0.1", &[&xff], &PROXIES), "10.0.0.1");
    }

    #[test]
    fn mapped_ipv6_addresses_are_their_ipv4() {
        assert_eq!(walk("::ffff:127.0.0.1", &["::ffff:198.51.100.7"], &PROXIES), "198.51.100.7");
    }
}
