//! Content negotiation for `/`: whether a request's `Accept` prefers HTML to JSON.
//!
//! Browsers navigating send `text/html,…,*/*;q=0.8`: HTML named first-hand and
//! preferred. curl's `*/*`, no `Accept` at all, `application/json`, and any tie
//! keep the JSON, so that API clients see no change.

use http::header::{ACCEPT, HeaderMap};

/// Media ranges read from a request; the rest is ignored (a real `Accept` has a dozen).
const MAX_RANGES: usize = 64;

/// How well a media range matches a type: its specificity and its quality.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Match {
    /// 0 none, 1 `*/*`, 2 `type/*`, 3 `type/subtype`.
    specificity: u8,
    /// The range's `q`, in thousandths.
    quality: u16,
}

const NONE: Match = Match { specificity: 0, quality: 0 };

/// Whether `Accept` names `text/html` (or `text/*`) with a higher quality than JSON gets.
pub fn prefers_html(headers: &HeaderMap) -> bool {
    let (mut html, mut json) = (NONE, NONE);
    let ranges = headers.get_all(ACCEPT).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(','));
    for range in ranges.take(MAX_RANGES) {
        let Some((kind, quality)) = parse_range(range) else { continue };
        html = better(html, matches(kind, "text", "html"), quality);
        json = better(json, matches(kind, "application", "json"), quality);
    }
    html.specificity >= 2 && html.quality > 0 && html.quality > json.quality
}

/// The most specific match wins (RFC 9110 §12.5.1); between equals, the higher quality.
fn better(current: Match, specificity: u8, quality: u16) -> Match {
    let candidate = Match { specificity, quality };
    if specificity > current.specificity
        || (specificity == current.specificity && specificity > 0 && quality > current.quality)
    {
        candidate
    } else {
        current
    }
}

/// How specifically `range` names `kind/sub` (media types ignore case): 0 when it does not.
fn matches((range_kind, range_sub): (&str, &str), kind: &str, sub: &str) -> u8 {
    match (range_kind == "*", range_sub == "*") {
        (true, true) => 1,
        (false, true) if range_kind.eq_ignore_ascii_case(kind) => 2,
        (false, false) if range_kind.eq_ignore_ascii_case(kind) && range_sub.eq_ignore_ascii_case(sub) => 3,
        _ => 0,
    }
}

/// `type/subtype;q=0.8;…` → the type pair and the quality in thousandths; `None` for
/// a malformed range (ignored, as RFC 9110 lets a server do).
fn parse_range(range: &str) -> Option<((&str, &str), u16)> {
    let mut params = range.split(';');
    let (kind, sub) = params.next()?.trim().split_once('/')?;
    let (kind, sub) = (kind.trim(), sub.trim());
    if kind.is_empty() || sub.is_empty() {
        return None;
    }
    let mut quality = 1000;
    for param in params {
        if let Some((name, value)) = param.split_once('=')
            && name.trim().eq_ignore_ascii_case("q")
        {
            quality = parse_quality(value.trim())?;
        }
    }
    Some(((kind, sub), quality))
}

/// `q` as RFC 9110 writes it: 0 to 1, at most three decimals.
fn parse_quality(value: &str) -> Option<u16> {
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths =
        fraction.bytes().chain(std::iter::repeat(b'0')).take(3).fold(0u16, |n, b| n * 10 + u16::from(b - b'0'));
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn html(accept: Option<&str>) -> bool {
        let mut headers = HeaderMap::new();
        if let Some(value) = accept {
            headers.insert(ACCEPT, HeaderValue::from_str(value).unwrap());
        }
        prefers_html(&headers)
    }

    #[test]
    fn browsers_get_html() {
        // Chrome's and Firefox's navigation headers.
        assert!(html(Some(
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
        )));
        assert!(html(Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")));
        assert!(html(Some("TEXT/HTML")));
        assert!(html(Some("text/*, application/json;q=0.5")));
    }

    #[test]
    fn api_clients_keep_json() {
        for accept in [
            None,
            Some("*/*"),
            Some("application/json"),
            Some("application/json, text/html"),
            Some("text/html;q=0.5, application/json"),
            Some("text/html;q=0, */*"),
            Some("text/html;q=0.8, */*;q=0.8"),
            Some("text/plain"),
            Some("garbage"),
            Some("text/html;q=2"),
        ] {
            assert!(!html(accept), "{accept:?}");
        }
    }

    #[test]
    fn the_most_specific_range_decides() {
        // text/html is refused explicitly even though text/* is welcome.
        assert!(!html(Some("text/*, text/html;q=0")));
        assert!(html(Some("application/json;q=0.1, text/html;q=0.2")));
    }

    #[test]
    fn only_the_first_64_ranges_count() {
        let filler = vec!["image/png"; MAX_RANGES - 1].join(",");
        assert!(html(Some(&format!("{filler},text/html"))));
        assert!(!html(Some(&format!("{filler},image/gif,text/html"))), "the 65th range is not read");
    }

    #[test]
    fn qualities_parse_as_rfc_9110_writes_them() {
        assert_eq!(parse_quality("1"), Some(1000));
        assert_eq!(parse_quality("1.000"), Some(1000));
        assert_eq!(parse_quality("0.8"), Some(800));
        assert_eq!(parse_quality("0.125"), Some(125));
        for bad in ["", "1.5", "0.1234", "-1", "x", "2"] {
            assert_eq!(parse_quality(bad), None, "{bad:?}");
        }
    }
}
