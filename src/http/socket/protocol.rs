//! Lanyard's socket protocol (docs/API.md): the client ops harmy accepts and the
//! frames it sends, byte for byte as Lanyard does.
//!
//! Client ops: 2 Initialize (`subscribe_to_id`, `subscribe_to_ids`,
//! `subscribe_to_all`), 3 Heartbeat (`d` absent, null or anything), 4
//! Unsubscribe. Anything else closes the socket with Lanyard's codes: 4004
//! unknown opcode, 4005 op 2 without a data object, 4006 invalid payload;
//! harmy's limits (docs/SECURITY.md) add 4006 for too many ids or a disabled
//! `subscribe_to_all`, 4008 for too many messages, and 1009 for a message too big.

use std::borrow::Cow;

use bytes::Bytes;
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::ids::UserId;

/// The heartbeat interval advertised, in milliseconds, as a literal for `concat!`.
macro_rules! heartbeat_interval_ms {
    () => {
        30000
    };
}

/// The heartbeat interval advertised, in milliseconds.
pub const HEARTBEAT_INTERVAL_MS: u64 = heartbeat_interval_ms!();
/// The hello sent on connect.
pub const HELLO: &[u8] = concat!(r#"{"op":1,"d":{"heartbeat_interval":"#, heartbeat_interval_ms!(), "}}").as_bytes();

/// What an op 2 subscribes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscribe {
    /// One user: INIT_STATE's `d` is that user's presence (`{}` if unknown).
    Id(UserId),
    /// Several users, each once (sorted): `d` maps id → presence for the known ones.
    Ids(Vec<UserId>),
    /// Every monitored user, and every user who appears later.
    All,
}

/// What an op 4 unsubscribes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsubscribe {
    /// One user.
    Id(UserId),
    /// Several users, each once (sorted).
    Ids(Vec<UserId>),
    /// Everything.
    All,
    /// A payload naming none of the above (ignored, as Lanyard does).
    Nothing,
}

/// A client message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientOp {
    /// Op 2.
    Initialize(Subscribe),
    /// Op 3.
    Heartbeat,
    /// Op 4.
    Unsubscribe(Unsubscribe),
}

/// Why a client message closes the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 4004
    UnknownOpcode,
    /// 4005
    RequiresDataObject,
    /// 4006
    InvalidPayload,
    /// 4006: the session would watch more than `max` distinct ids.
    TooManyIds {
        /// `socket.max_ids`
        max: usize,
    },
    /// 4006: `socket.subscribe_to_all = false`.
    SubscribeToAllDisabled,
    /// 4008: more messages than the session's rate allows.
    RateLimited,
}

impl Refusal {
    /// The close code and reason (Lanyard's for Lanyard's refusals).
    pub fn close(self) -> (u16, Cow<'static, str>) {
        match self {
            Refusal::UnknownOpcode => (4004, "unknown_opcode".into()),
            Refusal::RequiresDataObject => (4005, "requires_data_object".into()),
            Refusal::InvalidPayload => (4006, "invalid_payload".into()),
            Refusal::TooManyIds { max } => (4006, format!("too many ids: at most {max} per session").into()),
            Refusal::SubscribeToAllDisabled => (4006, "subscribe_to_all is disabled on this server".into()),
            Refusal::RateLimited => (4008, "rate limited".into()),
        }
    }
}

/// Parses a client message.
pub fn parse(text: &[u8]) -> Result<ClientOp, Refusal> {
    let Ok(Value::Object(message)) = serde_json::from_slice::<Value>(text) else {
        return Err(Refusal::InvalidPayload);
    };
    match message.get("op").and_then(Value::as_u64) {
        Some(2) => match message.get("d") {
            Some(Value::Object(d)) if !d.is_empty() => subscribe(d).map(ClientOp::Initialize),
            _ => Err(Refusal::RequiresDataObject),
        },
        Some(3) => Ok(ClientOp::Heartbeat),
        Some(4) => Ok(ClientOp::Unsubscribe(match message.get("d") {
            Some(Value::Object(d)) => unsubscribe(d)?,
            _ => Unsubscribe::Nothing,
        })),
        _ => Err(Refusal::UnknownOpcode),
    }
}

fn subscribe(d: &serde_json::Map<String, Value>) -> Result<Subscribe, Refusal> {
    if let Some(ids) = d.get("subscribe_to_ids") {
        return ids_of(ids).map(Subscribe::Ids);
    }
    if let Some(id) = d.get("subscribe_to_id") {
        return id_of(id).map(Subscribe::Id);
    }
    match d.get("subscribe_to_all") {
        Some(Value::Bool(true)) => Ok(Subscribe::All),
        _ => Err(Refusal::InvalidPayload),
    }
}

fn unsubscribe(d: &serde_json::Map<String, Value>) -> Result<Unsubscribe, Refusal> {
    if let Some(ids) = d.get("unsubscribe_from_ids") {
        return ids_of(ids).map(Unsubscribe::Ids);
    }
    if let Some(id) = d.get("unsubscribe_from_id") {
        return id_of(id).map(Unsubscribe::Id);
    }
    Ok(match d.get("unsubscribe_from_all") {
        Some(Value::Bool(true)) => Unsubscribe::All,
        _ => Unsubscribe::Nothing,
    })
}

/// A user id as a string (what clients send) or a number.
fn id_of(value: &Value) -> Result<UserId, Refusal> {
    match value {
        Value::String(s) => s.parse().map_err(|_| Refusal::InvalidPayload),
        Value::Number(n) => n.as_u64().filter(|&n| n != 0).map(UserId).ok_or(Refusal::InvalidPayload),
        _ => Err(Refusal::InvalidPayload),
    }
}

/// A list of ids, each once: a list repeating one id is one id.
fn ids_of(value: &Value) -> Result<Vec<UserId>, Refusal> {
    let Value::Array(items) = value else { return Err(Refusal::InvalidPayload) };
    let mut ids = items.iter().map(id_of).collect::<Result<Vec<_>, _>>()?;
    ids.sort_unstable();
    ids.dedup();
    Ok(ids)
}

/// A server event: `{"op":0,"t":…,"d":…}`.
#[derive(Serialize)]
struct Event<D> {
    op: u8,
    t: &'static str,
    d: D,
}

fn event(t: &'static str, d: impl Serialize) -> Bytes {
    // Maps keyed by ids and raw JSON values: serialising into memory cannot fail.
    serde_json::to_vec(&Event { op: 0, t, d }).unwrap_or_default().into()
}

/// `{"op":0,"t":"PRESENCE_UPDATE","d":<presence>}`
pub fn presence_update(presence: &RawValue) -> Bytes {
    event("PRESENCE_UPDATE", presence)
}

/// `{"op":0,"t":"INIT_STATE","d":<presence>}` for `subscribe_to_id` (`{}` for a
/// user not served).
pub fn init_state_one(presence: Option<impl AsRef<RawValue>>) -> Bytes {
    match presence {
        Some(presence) => event("INIT_STATE", presence.as_ref()),
        None => event("INIT_STATE", serde_json::Map::new()),
    }
}

/// `{"op":0,"t":"INIT_STATE","d":{"<id>":<presence>,…}}` for the other forms,
/// taking each presence from the iterator as it is written. The frame is exactly
/// its size: it can be large, and live long (shared by `subscribe_to_all`
/// sessions, or held while a slow client reads it).
pub fn init_state_map<P: AsRef<RawValue>>(presences: impl IntoIterator<Item = (UserId, P)>) -> Bytes {
    /// The map, serialised from an iterator taken once.
    struct Map<I>(std::cell::Cell<Option<I>>);
    impl<P: AsRef<RawValue>, I: Iterator<Item = (UserId, P)>> Serialize for Map<I> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeMap;
            let mut map = serializer.serialize_map(None)?;
            for (user, presence) in self.0.take().into_iter().flatten() {
                map.serialize_entry(&user.0, presence.as_ref())?;
            }
            map.end()
        }
    }
    let mut out = Vec::with_capacity(256);
    let map = Map(std::cell::Cell::new(Some(presences.into_iter())));
    // As `event`: cannot fail.
    let _ = serde_json::to_writer(&mut out, &Event { op: 0, t: "INIT_STATE", d: map });
    // Shrinks in place (for a large frame, glibc's mremap): no second copy.
    out.shrink_to_fit();
    Bytes::from(out)
}

/// Frames larger than this are deflated on the blocking pool (a 67 MB
/// INIT_STATE takes about a second), smaller ones where they are sent.
pub const DEFLATE_INLINE_MAX: usize = 64 * 1024;

/// A complete zlib stream (with header) of `text`: a `zlib_json` frame.
pub fn deflate(text: &[u8]) -> Bytes {
    use std::io::Write;
    let mut encoder =
        flate2::write::ZlibEncoder::new(Vec::with_capacity(text.len() / 4 + 16), flate2::Compression::fast());
    // Writing into a Vec cannot fail.
    encoder.write_all(text).expect("deflating into memory");
    encoder.finish().expect("deflating into memory").into()
}

/// `deflate`, on the blocking pool when `text` is large; `None` if that task failed.
pub async fn deflate_off_thread(text: Bytes) -> Option<Bytes> {
    if text.len() <= DEFLATE_INLINE_MAX {
        return Some(deflate(&text));
    }
    tokio::task::spawn_blocking(move || deflate(&text)).await.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heartbeats_with_or_without_d() {
        assert_eq!(parse(br#"{"op":3}"#), Ok(ClientOp::Heartbeat));
        assert_eq!(parse(br#"{"op":3,"d":null}"#), Ok(ClientOp::Heartbeat));
    }

    #[test]
    fn subscribe_forms() {
        assert_eq!(
            parse(br#"{"op":2,"d":{"subscribe_to_id":"94490510688792576"}}"#),
            Ok(ClientOp::Initialize(Subscribe::Id(UserId(94490510688792576))))
        );
        assert_eq!(
            parse(br#"{"op":2,"d":{"subscribe_to_ids":["1","2"]}}"#),
            Ok(ClientOp::Initialize(Subscribe::Ids(vec![UserId(1), UserId(2)])))
        );
        assert_eq!(
            parse(br#"{"op":2,"d":{"subscribe_to_ids":["2","1","2",2,"1"]}}"#),
            Ok(ClientOp::Initialize(Subscribe::Ids(vec![UserId(1), UserId(2)]))),
            "each id once"
        );
        assert_eq!(parse(br#"{"op":2,"d":{"subscribe_to_all":true}}"#), Ok(ClientOp::Initialize(Subscribe::All)));
    }

    #[test]
    fn refusals_carry_lanyards_codes() {
        assert_eq!(parse(br#"{"op":9}"#), Err(Refusal::UnknownOpcode));
        assert_eq!(parse(br#"{"d":{}}"#), Err(Refusal::UnknownOpcode));
        assert_eq!(parse(br#"{"op":2}"#), Err(Refusal::RequiresDataObject));
        assert_eq!(parse(br#"{"op":2,"d":{}}"#), Err(Refusal::RequiresDataObject));
        assert_eq!(parse(br#"{"op":2,"d":{"subscribe_to_id":"x"}}"#), Err(Refusal::InvalidPayload));
        assert_eq!(parse(br#"{"op":2,"d":{"other":1}}"#), Err(Refusal::InvalidPayload));
        assert_eq!(parse(b"not json"), Err(Refusal::InvalidPayload));
        assert_eq!(parse(b"[1]"), Err(Refusal::InvalidPayload));
    }

    #[test]
    fn unsubscribe_forms() {
        assert_eq!(
            parse(br#"{"op":4,"d":{"unsubscribe_from_id":"5"}}"#),
            Ok(ClientOp::Unsubscribe(Unsubscribe::Id(UserId(5))))
        );
        assert_eq!(
            parse(br#"{"op":4,"d":{"unsubscribe_from_all":true}}"#),
            Ok(ClientOp::Unsubscribe(Unsubscribe::All))
        );
        assert_eq!(parse(br#"{"op":4}"#), Ok(ClientOp::Unsubscribe(Unsubscribe::Nothing)));
    }

    #[test]
    fn frames_carry_the_presences_as_rendered() {
        let (empty, one): (Box<RawValue>, Box<RawValue>) =
            (RawValue::from_string("{}".into()).unwrap(), RawValue::from_string(r#"{"a":1}"#.into()).unwrap());
        let map = init_state_map([(UserId(1), &empty), (UserId(2), &one)]);
        assert_eq!(&map[..], br#"{"op":0,"t":"INIT_STATE","d":{"1":{},"2":{"a":1}}}"#);
        assert_eq!(&init_state_one(None::<&Box<RawValue>>)[..], br#"{"op":0,"t":"INIT_STATE","d":{}}"#);
        assert_eq!(&init_state_one(Some(&one))[..], br#"{"op":0,"t":"INIT_STATE","d":{"a":1}}"#);
        assert_eq!(&presence_update(&one)[..], br#"{"op":0,"t":"PRESENCE_UPDATE","d":{"a":1}}"#);
    }
}
