//! Query-string components as browsers and `URLSearchParams` write them: `+` is a
//! space, `%XX` is a byte, and a `%` that starts no escape stays as it is (as the
//! WHATWG URL standard decodes them).

use std::borrow::Cow;

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
    fn text_must_be_utf8() {
        assert_eq!(decode_str("caf%C3%A9+bar").as_deref(), Some("café bar"));
        assert_eq!(decode_str("%FF"), None);
    }
}
