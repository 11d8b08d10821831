//! Query strings, decoded here for every route: pairs split on `&` and `=`,
//! each component decoded as browsers and `URLSearchParams` write them (`+` is
//! a space, `%XX` is a byte, and a `%` that starts no escape stays as it is, as
//! the WHATWG URL standard decodes them).

use std::borrow::Cow;

/// The `name=value` pairs of a query string, not decoded yet; empty pairs are skipped.
pub(crate) fn pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query.split('&').filter(|pair| !pair.is_empty()).map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// The decoded value of the first parameter named `name`; `None` when there is
/// none or its value is not UTF-8.
pub(crate) fn first<'a>(query: &'a str, name: &str) -> Option<Cow<'a, str>> {
    let (_, value) = pairs(query).find(|(n, _)| *decode_bytes(n) == *name.as_bytes())?;
    decode_str(value)
}

/// One component (a parameter's name or value) decoded to bytes.
pub(crate) fn decode_bytes(component: &str) -> Cow<'_, [u8]> {
    if component.contains('+') {
        let spaced = component.replace('+', " ");
        Cow::Owned(percent_encoding::percent_decode_str(&spaced).collect())
    } else {
        percent_encoding::percent_decode_str(component).into()
    }
}

/// One component decoded to text; `None` when its bytes are not UTF-8.
pub(crate) fn decode_str(component: &str) -> Option<Cow<'_, str>> {
    match decode_bytes(component) {
        Cow::Borrowed(bytes) => std::str::from_utf8(bytes).ok().map(Cow::Borrowed),
        Cow::Owned(bytes) => String::from_utf8(bytes).ok().map(Cow::Owned),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_plus_are_decoded_and_what_is_no_escape_is_kept() {
        assert_eq!(&*decode_bytes("a%2Cb%2"), b"a,b%2");
        assert_eq!(&*decode_bytes("%zz+%41"), b"%zz A");
        assert_eq!(&*decode_bytes("%"), b"%");
        assert_eq!(&*decode_bytes("%2B"), b"+", "an escaped plus is a plus");
        assert!(matches!(decode_bytes("plain"), Cow::Borrowed(_)), "nothing to decode, nothing copied");
    }

    #[test]
    fn pairs_are_split_and_the_first_of_a_name_is_decoded() {
        let query = "a=1&&b&c%3D=x+y&a=2";
        assert_eq!(pairs(query).collect::<Vec<_>>(), [("a", "1"), ("b", ""), ("c%3D", "x+y"), ("a", "2")]);
        assert_eq!(first(query, "a").as_deref(), Some("1"));
        assert_eq!(first(query, "c=").as_deref(), Some("x y"), "names are decoded too");
        assert_eq!(first(query, "b").as_deref(), Some(""));
        assert_eq!(first(query, "z"), None);
    }

    #[test]
    fn text_must_be_utf8() {
        assert_eq!(decode_str("caf%C3%A9+bar").as_deref(), Some("café bar"));
        assert_eq!(decode_str("%FF"), None);
    }
}
