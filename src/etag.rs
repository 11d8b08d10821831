//! Strong ETags: a hash of the exact bytes a response carries, quoted. The
//! hasher's keys are fixed, so the same bytes get the same tag after a restart
//! and on every node serving them; `If-None-Match` is answered with 304 when
//! it names the tag (or `*`).

use std::hash::Hasher;

use http::HeaderMap;
use http::header::{HeaderValue, IF_NONE_MATCH};

/// The ETag of a body.
pub fn of(bytes: &[u8]) -> HeaderValue {
    of_parts([bytes])
}

/// The ETag of a body made of parts, from the parts in order (a bulk response
/// tags the ids and each user's own tag, without building the body).
pub fn of_parts<'a>(parts: impl IntoIterator<Item = &'a [u8]>) -> HeaderValue {
    // SipHash with zero keys: stable across processes, unlike `RandomState`.
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for part in parts {
        hasher.write_usize(part.len());
        hasher.write(part);
    }
    HeaderValue::from_str(&format!("\"{:016x}\"", hasher.finish())).expect("hex is a valid header value")
}

/// Whether the request's `If-None-Match` names this ETag (or `*`).
pub fn matches(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    headers.get_all(IF_NONE_MATCH).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(|candidate| {
        let candidate = candidate.trim();
        candidate == "*" || candidate.as_bytes() == etag.as_bytes()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_bytes_equal_tags_and_parts_count_their_bounds() {
        assert_eq!(of(b"abc"), of(b"abc"));
        assert_ne!(of(b"abc"), of(b"abd"));
        assert_ne!(of_parts([&b"ab"[..], b"c"]), of_parts([&b"a"[..], b"bc"]));
        let tag = of(b"abc");
        assert!(tag.to_str().unwrap().starts_with('"') && tag.len() == 18);
    }

    #[test]
    fn if_none_match_matches_the_etag_in_a_list_or_a_star() {
        let tag = of(b"x");
        let mut headers = HeaderMap::new();
        assert!(!matches(&headers, &tag));
        headers.insert(IF_NONE_MATCH, HeaderValue::from_str(&format!("\"other\", {}", tag.to_str().unwrap())).unwrap());
        assert!(matches(&headers, &tag));
        headers.insert(IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(matches(&headers, &tag));
    }
}
