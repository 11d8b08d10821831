//! What Discord sends, passed on whole (docs/API.md): the user object for
//! Lanyard's `discord_user`, and every activity field in the native shape with
//! its keys camelCased, nested ones too, so that fields Discord adds reach
//! clients without a release.
//!
//! Nothing is built as a tree: an object is read with serde as its [`Entries`],
//! each value left as the raw text it came as, and written back either as that
//! text (`&RawValue`) or re-encoded by [`Cased`], which reads one level at a
//! time and recurses only into objects and arrays. Invariants of both shapes:
//! keys stay in the order Discord sent them; a key sent twice, or two keys
//! that camelCase alike (`large_image`, `largeImage`), is written once, the
//! first ([`Object`]); re-encoded strings and numbers are written by
//! serde_json's own writers. serde_json's `Value` would break the first two:
//! its map keeps the last of a key sent twice, and it sorts keys unless the
//! `preserve_order` feature is on, which would reorder every map of the crate
//! (`/health`'s body, `clientStatus`) too.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Error as _, Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;

/// A JSON string's text, borrowed from the input unless it had escapes.
#[derive(serde::Deserialize)]
#[serde(transparent)]
struct Text<'a>(#[serde(borrow)] Cow<'a, str>);

/// The text of a raw JSON string; `None` for any other value.
pub(super) fn text(raw: &RawValue) -> Option<Cow<'_, str>> {
    // Looked at first: serde_json formats a message for every error.
    raw.get().starts_with('"').then(|| serde_json::from_str::<Text>(raw.get()).ok().map(|t| t.0)).flatten()
}

/// An object's entries in the order sent, values raw; a key sent twice is
/// there twice (readers take the first).
pub(super) struct Entries<'a>(pub(super) Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'a> Entries<'a> {
    /// The entries of `raw`; `None` when it is not an object.
    pub(super) fn of(raw: &'a str) -> Option<Entries<'a>> {
        serde_json::from_str(raw).ok()
    }

    /// The first value sent under `key`.
    pub(super) fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct InOrder;
        impl<'de> Visitor<'de> for InOrder {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(8));
                while let Some((Text(key), value)) = map.next_entry()? {
                    out.push((key, value));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(InOrder)
    }
}

/// A raw value written anew: object keys camelCased at every depth (or as
/// sent), each key once, strings and numbers as serde_json writes them (`1e3`
/// becomes `1000.0`). The value must be strict JSON (see `strict`).
#[derive(Clone, Copy)]
pub(super) struct Cased<'a> {
    pub(super) raw: &'a RawValue,
    pub(super) camel: bool,
}

impl Serialize for Cased<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let json = self.raw.get();
        match json.as_bytes().first() {
            Some(b'{') => {
                let entries = Entries::of(json).ok_or_else(|| S::Error::custom("not an object"))?;
                let mut object = Object::new(s.serialize_map(None)?);
                for (key, raw) in &entries.0 {
                    let key = if self.camel { camel_case(key) } else { Cow::Borrowed(&**key) };
                    object.entry(key, &Cased { raw, ..*self })?;
                }
                object.end()
            }
            Some(b'[') => {
                let items: Vec<&RawValue> = serde_json::from_str(json).map_err(S::Error::custom)?;
                s.collect_seq(items.into_iter().map(|raw| Cased { raw, ..*self }))
            }
            Some(b'"') => s.serialize_str(&text(self.raw).ok_or_else(|| S::Error::custom("not a string"))?),
            // A number, `true`, `false` or `null`: no allocation.
            _ => serde_json::from_str::<serde_json::Value>(json).map_err(S::Error::custom)?.serialize(s),
        }
    }
}

/// An object being written in which each key appears once: the first value
/// given for it wins, later ones are dropped.
pub(super) struct Object<'k, M> {
    map: M,
    written: Vec<Cow<'k, str>>,
}

impl<'k, M: SerializeMap> Object<'k, M> {
    /// Writes into `map`, which nothing has been written to.
    pub(super) fn new(map: M) -> Self {
        Object { map, written: Vec::with_capacity(16) }
    }

    /// Writes `key` unless it was written already.
    pub(super) fn entry<V: Serialize + ?Sized>(
        &mut self,
        key: impl Into<Cow<'k, str>>,
        value: &V,
    ) -> Result<(), M::Error> {
        let key = key.into();
        if !self.written.contains(&key) {
            self.map.serialize_entry(&*key, value)?;
            self.written.push(key);
        }
        Ok(())
    }

    /// Closes the object.
    pub(super) fn end(self) -> Result<M::Ok, M::Error> {
        self.map.end()
    }
}

/// `snake_case` → `camelCase`: an underscore before a lowercase letter goes and
/// the letter is capitalised; other keys are left as they are.
pub(super) fn camel_case(key: &str) -> Cow<'_, str> {
    if !key.contains('_') {
        return Cow::Borrowed(key);
    }
    let mut out = String::with_capacity(key.len());
    let mut chars = key.chars().peekable();
    while let Some(c) = chars.next() {
        match chars.peek() {
            Some(next) if c == '_' && next.is_ascii_lowercase() && !out.is_empty() => {
                let upper = next.to_ascii_uppercase();
                chars.next();
                out.push(upper);
            }
            _ => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cased(json: &str, camel: bool) -> String {
        let raw: &RawValue = serde_json::from_str(json).unwrap();
        serde_json::to_string(&Cased { raw, camel }).unwrap()
    }

    #[test]
    fn keys_are_camel_cased_at_every_depth_and_values_kept() {
        let json = r#"{"status_display_type":1,"assets":{"large_url":"u","large_image":"mp:x"},"a_b_c":[{"x_y":null}],"_p":1.5,"camelKey":-1,"n":"a_b"}"#;
        assert_eq!(
            cased(json, true),
            r#"{"statusDisplayType":1,"assets":{"largeUrl":"u","largeImage":"mp:x"},"aBC":[{"xY":null}],"_p":1.5,"camelKey":-1,"n":"a_b"}"#
        );
        assert_eq!(cased(json, false), json);
    }

    #[test]
    fn values_are_re_encoded_by_serde_json() {
        assert_eq!(
            cased(r#"[1.0,1e3,-0,"\u00e9\/",true,null,18446744073709551616]"#, false),
            r#"[1.0,1000.0,-0.0,"é/",true,null,1.8446744073709552e+19]"#
        );
    }

    #[test]
    fn camel_case_leaves_odd_underscores() {
        assert_eq!(camel_case("large_image"), "largeImage");
        assert_eq!(camel_case("_x"), "_x");
        assert_eq!(camel_case("x_"), "x_");
        assert_eq!(camel_case("x_1"), "x_1");
        assert_eq!(camel_case("x__y"), "x_Y");
        assert_eq!(camel_case("plain"), "plain");
    }

    #[test]
    fn a_key_sent_twice_after_casing_is_written_once_the_first() {
        assert_eq!(cased(r#"{"large_image":"a","largeImage":"b"}"#, true), r#"{"largeImage":"a"}"#);
        assert_eq!(cased(r#"{"a":1,"a":2}"#, false), r#"{"a":1}"#);
    }

    #[test]
    fn entries_keep_the_order_and_every_key_sent() {
        let entries = Entries::of(r#"{"b":1,"a":[2],"b":3,"\u0063":"x"}"#).unwrap();
        let pairs: Vec<_> = entries.0.iter().map(|(k, v)| (k.as_ref(), v.get())).collect();
        assert_eq!(pairs, [("b", "1"), ("a", "[2]"), ("b", "3"), ("c", "\"x\"")]);
        assert_eq!(entries.get("b").map(RawValue::get), Some("1"));
        assert!(Entries::of("[1]").is_none() && Entries::of("nope").is_none());
    }
}
