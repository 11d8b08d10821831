//! Raw JSON that the views copy as Discord sent it (the activities, the user's
//! decoration objects, an activity's buttons) must be JSON that every client
//! reads. `RawValue` checks the syntax only: it accepts an escaped lone
//! surrogate (`"\ud800"`), which strict parsers (serde_json's own `Value`,
//! among others) refuse, so one odd string would make a whole view, and any
//! socket frame holding it, unreadable to them. The check here decodes every
//! string, keys included, and keeps nothing.

use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// Whether `raw` is strict JSON: every string in it decodes to Unicode text.
pub(super) fn is_strict(raw: &RawValue) -> bool {
    serde_json::from_str::<Strict>(raw.get()).is_ok()
}

/// Any JSON value, visited whole.
struct Strict;

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Strict;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, _: bool) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_str<E>(self, _: &str) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_unit<E>(self) -> Result<Strict, E> {
        Ok(Strict)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Strict, A::Error> {
        while seq.next_element::<Strict>()?.is_some() {}
        Ok(Strict)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Strict, A::Error> {
        while map.next_entry::<Strict, Strict>()?.is_some() {}
        Ok(Strict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strict(json: &str) -> bool {
        is_strict(serde_json::from_str(json).expect("RawValue accepts it"))
    }

    #[test]
    fn ordinary_json_is_strict() {
        assert!(strict(r#"[{"name":"x","n":1,"f":-1.5,"b":true,"z":null,"e":"\u00e9\ud83d\ude00\n"}]"#));
    }

    #[test]
    fn a_lone_surrogate_is_not_strict_in_a_value_or_a_key() {
        assert!(!strict(r#"["\ud800"]"#));
        assert!(!strict(r#"{"a":"x\udc00y"}"#));
        assert!(!strict(r#"[{"n\ud800ame":"x"}]"#));
    }
}
