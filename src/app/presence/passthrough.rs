//! What Discord sends, passed on whole (docs/API.md): the user object for
//! Lanyard's `discord_user`, and every activity field in the native shape with
//! its keys camelCased, nested ones too, so that fields Discord adds reach
//! clients without a release.
//!
//! Values are kept in the order Discord sent them and written back as they
//! came, except where a shape says otherwise (the documented renames, `null`
//! for the fields api.harmy.gg and Lanyard always show). A field whose value
//! is not strict JSON (an escaped lone surrogate, see `strict`) is left out,
//! not the object around it.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::value::RawValue;

use super::strict::is_strict;

/// A JSON value borrowed from the raw text, objects in their order.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node<'a> {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    Object(Vec<(Cow<'a, str>, Node<'a>)>),
}

impl<'a> Node<'a> {
    /// The string, if this is one.
    pub(super) fn as_str(&self) -> Option<&str> {
        match self {
            Node::String(s) => Some(s),
            _ => None,
        }
    }

    /// The unsigned integer, if this is one.
    pub(super) fn as_u64(&self) -> Option<u64> {
        match self {
            Node::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    /// A field of an object.
    pub(super) fn get(&self, key: &str) -> Option<&Node<'a>> {
        match self {
            Node::Object(fields) => fields.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// An object's fields, each parsed on its own: a field that does not parse
/// strictly is left out. `None` when `raw` is not an object.
pub(super) fn fields(raw: &str) -> Option<Vec<(Cow<'_, str>, Node<'_>)>> {
    let entries: Vec<(Cow<str>, &RawValue)> = serde_json::from_str::<Entries>(raw).ok()?.0;
    Some(entries.into_iter().filter_map(|(k, v)| Some((k, serde_json::from_str::<Node>(v.get()).ok()?))).collect())
}

/// An object's fields as raw values, kept only when strict (see [`fields`]).
pub(super) fn raw_fields(raw: &str) -> Option<Vec<(Cow<'_, str>, &RawValue)>> {
    let entries = serde_json::from_str::<Entries>(raw).ok()?.0;
    Some(entries.into_iter().filter(|(_, v)| is_strict(v)).collect())
}

/// A JSON object's entries in order, values raw.
struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entries<'de>, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<Cow<'de, str>, &'de RawValue>()? {
                    out.push((k, v));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V)
    }
}

impl<'de> Deserialize<'de> for Node<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NodeVisitor)
    }
}

struct NodeVisitor;

impl<'de> Visitor<'de> for NodeVisitor {
    type Value = Node<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Node<'de>, E> {
        Ok(Node::Null)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Node<'de>, E> {
        Ok(Node::Bool(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Node<'de>, E> {
        Ok(Node::Number(v.into()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Node<'de>, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Node::Null, Node::Number))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Node<'de>, E> {
        Ok(Node::String(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node<'de>, A::Error> {
        let mut out = Vec::new();
        while let Some(item) = seq.next_element()? {
            out.push(item);
        }
        Ok(Node::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node<'de>, A::Error> {
        let mut out = Vec::new();
        while let Some((k, v)) = map.next_entry::<Cow<'de, str>, Node<'de>>()? {
            out.push((k, v));
        }
        Ok(Node::Object(out))
    }
}

/// Writes a node as it came (keys as sent).
impl Serialize for Node<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Cased { node: self, camel: false }.serialize(s)
    }
}

/// A node written with its object keys camelCased, at every depth.
#[derive(Clone, Copy)]
pub(super) struct Camel<'n, 'a>(pub(super) &'n Node<'a>);

impl Serialize for Camel<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Cased { node: self.0, camel: true }.serialize(s)
    }
}

struct Cased<'n, 'a> {
    node: &'n Node<'a>,
    camel: bool,
}

impl Serialize for Cased<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let camel = self.camel;
        match self.node {
            Node::Null => s.serialize_unit(),
            Node::Bool(b) => s.serialize_bool(*b),
            Node::Number(n) => n.serialize(s),
            Node::String(v) => s.serialize_str(v),
            Node::Array(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for node in items {
                    seq.serialize_element(&Cased { node, camel })?;
                }
                seq.end()
            }
            Node::Object(fields) => {
                let mut map = s.serialize_map(None)?;
                let mut written: Vec<Cow<str>> = Vec::with_capacity(fields.len());
                for (key, node) in fields {
                    let key = if camel { camel_case(key) } else { Cow::Borrowed(&**key) };
                    // `large_image` and `largeImage` both sent: the first one wins.
                    if written.contains(&key) {
                        continue;
                    }
                    map.serialize_entry(&key, &Cased { node, camel })?;
                    written.push(key);
                }
                map.end()
            }
        }
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

/// An object written from fields in a chosen order: each field once, by name.
pub(super) struct Fields<'f, 'a>(pub(super) Vec<(Cow<'f, str>, Value<'f, 'a>)>);

/// A field's value in [`Fields`].
pub(super) enum Value<'f, 'a> {
    /// `null`: a field the shape always shows.
    Null,
    /// A boolean made here.
    Bool(bool),
    /// A number made here.
    Int(u64),
    /// A string made here.
    Text(Cow<'f, str>),
    /// A raw value as sent.
    Raw(&'f RawValue),
    /// A node with its keys camelCased.
    Camel(&'f Node<'a>),
    /// An object made here.
    Object(Fields<'f, 'a>),
}

impl Serialize for Fields<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (key, value) in &self.0 {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

impl Serialize for Value<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(n) => s.serialize_u64(*n),
            Value::Text(t) => s.serialize_str(t),
            Value::Raw(raw) => raw.serialize(s),
            Value::Camel(node) => Camel(node).serialize(s),
            Value::Object(fields) => fields.serialize(s),
        }
    }
}

impl<'f, 'a> Fields<'f, 'a> {
    /// Adds a field unless one of that name is there already.
    pub(super) fn push(&mut self, key: impl Into<Cow<'f, str>>, value: Value<'f, 'a>) {
        let key = key.into();
        if !self.0.iter().any(|(k, _)| *k == key) {
            self.0.push((key, value));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_camel_cased_at_every_depth_and_values_kept() {
        let node: Node = serde_json::from_str(
            r#"{"status_display_type":1,"assets":{"large_url":"u","large_image":"mp:x"},"a_b_c":[{"x_y":null}],"_p":1.5,"camelKey":-1,"n":"a_b"}"#,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&Camel(&node)).unwrap(),
            r#"{"statusDisplayType":1,"assets":{"largeUrl":"u","largeImage":"mp:x"},"aBC":[{"xY":null}],"_p":1.5,"camelKey":-1,"n":"a_b"}"#
        );
        assert_eq!(
            serde_json::to_string(&node).unwrap(),
            serde_json::to_string(&serde_json::from_str::<Node>(&serde_json::to_string(&node).unwrap()).unwrap())
                .unwrap()
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
    fn a_key_sent_twice_after_casing_is_written_once() {
        let node: Node = serde_json::from_str(r#"{"large_image":"a","largeImage":"b"}"#).unwrap();
        assert_eq!(serde_json::to_string(&Camel(&node)).unwrap(), r#"{"largeImage":"a"}"#);
    }

    #[test]
    fn a_field_that_is_not_strict_is_left_out_not_the_object() {
        let fields = fields(r#"{"a":"\ud800","b":{"c":"\udc00"},"d":1}"#).unwrap();
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].0, "d");
        let raw = raw_fields(r#"{"a":"\ud800","d":[1]}"#).unwrap();
        assert_eq!(raw.iter().map(|(k, v)| (k.as_ref(), v.get())).collect::<Vec<_>>(), [("d", "[1]")]);
        assert!(fields_of_non_object());
    }

    fn fields_of_non_object() -> bool {
        super::fields("[1]").is_none() && super::fields("nope").is_none() && raw_fields("1").is_none()
    }
}
