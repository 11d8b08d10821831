//! The fuzzing facade: one function per fuzz target, each taking the raw input
//! bytes, running the crate-internal code the target covers, and asserting its
//! invariants (no panic, round trips where there is one, rendered JSON that
//! parses). The cargo-fuzz targets in `fuzz/` and the regression test
//! `tests/fuzz_regressions.rs` both call these, so the internal modules stay
//! private. An invariant that does not hold panics, which is what a fuzzer
//! reports.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{Value, json};

use crate::app::kv::{KvError, KvLimits, rendered_string_len};
use crate::app::presence::{self, PLATFORMS, Presences, Update};
use crate::app::reads::Shape;
use crate::bot::command::{self, Action};
use crate::bot::reply;
use crate::gateway::members;
use crate::gateway::payload::{
    self, Dispatch, GuildCreate, GuildMember, GuildRef, MemberRemove, MembersChunk, Presence,
};
use crate::http::Who;
use crate::http::router::Route;
use crate::http::socket::protocol::{self, ClientOp, Subscribe, Unsubscribe};
use crate::ids::UserId;

/// A target: checks one input, panicking when an invariant does not hold.
pub type FuzzTarget = fn(&[u8]);

/// The targets, by the name of their fuzz target and regression directory.
pub const TARGETS: [(&str, FuzzTarget); 7] = [
    ("socket_message", socket_message),
    ("kv_patch", kv_patch),
    ("kv_limits", kv_limits),
    ("route", route),
    ("forwarded_for", forwarded_for),
    ("gateway_event", gateway_event),
    ("bot_command", bot_command),
];

/// A WebSocket client message: a refusal carries one of Lanyard's close codes and
/// a reason that fits a close frame; a list of ids holds each once; an accepted
/// op, written back the way a client would, parses to itself.
pub fn socket_message(data: &[u8]) {
    let op = match protocol::parse(data) {
        Ok(op) => op,
        Err(refusal) => {
            let (code, reason) = refusal.close();
            return assert!((4004..=4006).contains(&code) && reason.len() <= 123, "{code} {reason}");
        }
    };
    if let ClientOp::Initialize(Subscribe::Ids(ids)) | ClientOp::Unsubscribe(Unsubscribe::Ids(ids)) = &op {
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    }
    let ids = |ids: &[UserId]| ids.iter().map(|id| id.to_string()).collect::<Vec<_>>();
    let written = match &op {
        ClientOp::Initialize(Subscribe::Id(id)) => json!({"op": 2, "d": {"subscribe_to_id": id.to_string()}}),
        ClientOp::Initialize(Subscribe::Ids(v)) => json!({"op": 2, "d": {"subscribe_to_ids": ids(v)}}),
        ClientOp::Initialize(Subscribe::All) => json!({"op": 2, "d": {"subscribe_to_all": true}}),
        ClientOp::Heartbeat => json!({"op": 3}),
        ClientOp::Unsubscribe(Unsubscribe::Id(id)) => json!({"op": 4, "d": {"unsubscribe_from_id": id.to_string()}}),
        ClientOp::Unsubscribe(Unsubscribe::Ids(v)) => json!({"op": 4, "d": {"unsubscribe_from_ids": ids(v)}}),
        ClientOp::Unsubscribe(Unsubscribe::All) => json!({"op": 4, "d": {"unsubscribe_from_all": true}}),
        ClientOp::Unsubscribe(Unsubscribe::Nothing) => json!({"op": 4}),
    };
    assert_eq!(protocol::parse(written.to_string().as_bytes()), Ok(op));
}

/// A KV PATCH body: refused as `invalid_body`, or read into pairs that are
/// exactly the body's members (each key once, its last value), that round-trip
/// through JSON, and that the KV limits can judge.
pub fn kv_patch(data: &[u8]) {
    let pairs = match crate::http::kv::patch_pairs(data) {
        Ok(pairs) => pairs,
        Err(e) => return assert!(e.status == 400 && e.code == "invalid_body" && e.message.len() < 400, "{e:?}"),
    };
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(data) else { panic!("accepted a non-object") };
    assert_eq!(pairs.len(), body.len());
    for (key, value) in &pairs {
        assert_eq!(body.get(key).and_then(Value::as_str), Some(value.as_str()));
    }
    let object: serde_json::Map<String, Value> = pairs.iter().map(|(k, v)| (k.clone(), v.as_str().into())).collect();
    assert_eq!(crate::http::kv::patch_pairs(&serde_json::to_vec(&object).expect("a map")), Ok(pairs.clone()));
    let limits = KvLimits::default();
    for (key, value) in &pairs {
        let _ = limits.check_pair(key, value);
    }
    let _ = limits.check_total(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
}

/// KV validation against its definition: the first 0xFF-separated piece holds small
/// limits (none: the defaults), the others alternate key and value.
pub fn kv_limits(data: &[u8]) {
    let mut pieces = data.split(|b| *b == 0xFF);
    let limits = match pieces.next().unwrap_or_default() {
        [keys, key, value, total @ ..] => KvLimits {
            max_keys: usize::from(*keys % 8),
            max_key_length: usize::from(*key % 32),
            max_value_length: usize::from(*value),
            max_total_bytes: total.iter().fold(0, |n, b| (n << 8 | usize::from(*b)) % 65_536),
            ..KvLimits::default()
        },
        _ => KvLimits::default(),
    };
    let Ok(strings) = pieces.map(std::str::from_utf8).collect::<Result<Vec<_>, _>>() else { return };
    let mut all = BTreeMap::new();
    for pair in strings.chunks(2) {
        let (key, value) = (pair[0], pair.get(1).copied().unwrap_or_default());
        for s in [key, value] {
            assert_eq!(rendered_string_len(s), serde_json::to_string(s).expect("a string").len(), "{s:?}");
        }
        let word = !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        assert_eq!(limits.check_key(key).is_ok(), word && key.chars().count() <= limits.max_key_length, "{key:?}");
        match limits.check_value(value) {
            Ok(()) => assert!(value.chars().count() <= limits.max_value_length),
            Err(KvError::ValueTooLong { len, .. }) => {
                assert!(len == value.chars().count() && len > limits.max_value_length)
            }
            Err(e) => panic!("{e:?}"),
        }
        all.insert(key, value);
    }
    let rendered = serde_json::to_vec(&all).expect("a map").len();
    let expected = if all.len() > limits.max_keys {
        Err(KvError::TooManyKeys { max: limits.max_keys })
    } else if rendered > limits.max_total_bytes {
        Err(KvError::TooLarge { len: rendered, max: limits.max_total_bytes })
    } else {
        Ok(())
    };
    assert_eq!(limits.check_total(all.iter().map(|(k, v)| (*k, *v))), expected);
}

/// A request path: only an absolute path names a route, Lanyard's shape is exactly
/// the `/v1` tree, and a parsed route written back as a path parses to itself.
pub fn route(data: &[u8]) {
    let Ok(path) = std::str::from_utf8(data) else { return };
    let route = Route::parse(path);
    assert!(route.index() < Route::LABELS.len());
    let lanyard = route.shape() == Shape::Lanyard;
    assert_eq!(lanyard, path == "/v1" || path.starts_with("/v1/"), "{path:?} → {route:?}");
    if !path.starts_with('/') {
        assert_eq!(route, Route::Unknown { shape: Shape::Native }, "{path:?}");
    }
    let who = |who: &Result<Who, _>| match who {
        Ok(Who::Me) => Some("@me".to_string()),
        Ok(Who::User(id)) => Some(id.to_string()),
        Err(_) => None,
    };
    let tree = |shape: Shape| if shape == Shape::Lanyard { "/v1/users" } else { "/user" };
    let written = match &route {
        Route::Root => Some(String::new()),
        Route::Health => Some("/health".into()),
        Route::Metrics => Some("/metrics".into()),
        Route::Socket => Some("/socket".into()),
        Route::User { who: w, shape } => who(w).map(|w| format!("{}/{w}", tree(*shape))),
        Route::Kv { who: w, shape } => who(w).map(|w| format!("{}/{w}/kv", tree(*shape))),
        Route::KvKey { who: w, key, shape } => who(w).map(|w| format!("{}/{w}/kv/{key}", tree(*shape))),
        Route::Card(id) => id.as_ref().ok().map(|id| format!("/user/{id}/card.svg")),
        Route::ApiCard(id) => id.as_ref().ok().map(|id| format!("/api/{id}")),
        Route::Avatar(id, format) => id.as_ref().ok().map(|id| format!("/{id}.{}", format.extension())),
        Route::Users { shape } => Some(if *shape == Shape::Lanyard { "/v1/users" } else { "/users" }.into()),
        Route::Asset(name) => Some(format!("/web/{}", name.file())),
        Route::OpenApi => Some("/openapi.json".into()),
        Route::Unknown { .. } => None,
    };
    if let Route::KvKey { key, .. } = &route {
        assert!(!key.contains('/'), "{path:?} → {route:?}");
    }
    if let Some(written) = written {
        assert_eq!(Route::parse(&format!("{written}/")), route, "{path:?}");
        if !written.ends_with('/') && !written.is_empty() {
            assert_eq!(Route::parse(&written), route, "{path:?}");
        }
    }
}

/// The `X-Forwarded-For` walk against the statement of it in docs/SECURITY.md. Input: a flag byte
/// (bit 0: IPv6 peer; bits 1-2: trusted networks), the peer, each network (a
/// byte: bit 7 IPv6, the rest its prefix length; then the address), then header
/// values separated by `\n`.
pub fn forwarded_for(data: &[u8]) {
    let Some((&flags, mut rest)) = data.split_first() else { return };
    let Some(peer) = take_ip(&mut rest, flags & 1 == 1) else { return };
    let mut trusted = Vec::new();
    for _ in 0..(flags >> 1) & 3 {
        let Some((&net, tail)) = rest.split_first() else { return };
        rest = tail;
        let Some(addr) = take_ip(&mut rest, net & 0x80 != 0) else { return };
        let max = if addr.is_ipv4() { 32 } else { 128 };
        trusted.extend(ipnet::IpNet::new(addr, (net & 0x7f) % (max + 1)).ok());
    }
    let mut headers = http::HeaderMap::new();
    for value in rest.split(|b| *b == b'\n') {
        if let Ok(value) = http::HeaderValue::from_bytes(value) {
            headers.append("x-forwarded-for", value);
        }
    }
    let got = crate::http::peer::client_addr(peer, &headers, &trusted);

    // The hops, nearest first: each header value's comma-separated items, the last
    // header's first; a value that is not text is one hop that does not parse.
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let hops: Vec<Option<IpAddr>> = headers
        .get_all("x-forwarded-for")
        .iter()
        .rev()
        .flat_map(|v| match v.to_str() {
            Ok(text) => text.split(',').rev().map(|hop| hop.trim().parse().ok()).collect(),
            Err(_) => vec![None],
        })
        .map(|hop: Option<IpAddr>| hop.map(|ip| ip.to_canonical()))
        .take(crate::http::peer::MAX_HOPS)
        .collect();
    let peer = peer.to_canonical();
    // The walk goes through the peer and the trusted hops that parsed; it ends at
    // the first hop that is untrusted (that hop is the client) or does not parse, or
    // at the last hop looked at (the client is then the last trusted address).
    let through = hops.iter().take_while(|hop| hop.is_some_and(|ip| is_trusted(&ip))).count();
    let expected = match hops.get(through) {
        _ if !is_trusted(&peer) => peer,
        Some(Some(untrusted)) => *untrusted,
        _ => through.checked_sub(1).and_then(|i| hops[i]).unwrap_or(peer),
    };
    assert_eq!(got, expected, "peer {peer}, trusted {trusted:?}, hops {hops:?}");
}

fn take_ip(rest: &mut &[u8], v6: bool) -> Option<IpAddr> {
    let (bytes, tail) = rest.split_at_checked(if v6 { 16 } else { 4 })?;
    *rest = tail;
    Some(match <[u8; 4]>::try_from(bytes) {
        Ok(v4) => IpAddr::from(v4),
        Err(_) => IpAddr::from(<[u8; 16]>::try_from(bytes).ok()?),
    })
}

/// A gateway dispatch frame, read the way the roster reads it, applied to a
/// presence cache; every view of every user it touched must be valid JSON of the
/// expected shape.
pub fn gateway_event(data: &[u8]) {
    let Ok(frame) = std::str::from_utf8(data) else { return };
    let Some(peek) = twilight_model::gateway::event::GatewayEventDeserializer::from_json(frame) else { return };
    let Some(kind) = peek.event_type() else { return };
    let presences = Presences::default();
    let mut touched = Vec::new();
    let _ = apply(&presences, kind, frame, &mut touched);
    for user in touched {
        let Some(view) = presences.view(UserId(user)) else { continue };
        check_views(user, &view);
    }
}

/// Applies a dispatch as `gateway::roster` does (every guild monitored, one sync
/// epoch), collecting the users it touched.
fn apply(presences: &Presences, kind: &str, frame: &str, touched: &mut Vec<u64>) -> Result<(), serde_json::Error> {
    let member = |guild: u64, member: &GuildMember<'_>, touched: &mut Vec<u64>| {
        let user = payload::user_ref(member.user)?;
        let data = presence::MemberSeen { user: member.user.get(), nick: member.nick.as_deref() };
        presences.upsert_member(user.id, guild, 1, data);
        touched.push(user.id);
        Some(user.id)
    };
    let presence = |guild: u64, presence: &Presence<'_>, touched: &mut Vec<u64>| {
        let Some(user) = payload::user_ref(presence.user) else { return };
        let full = user.full.then(|| presence.user.get());
        presences.update_presence(user.id, guild, 1, presence.update(), full);
        touched.push(user.id);
    };
    let list = |guild: u64, members: &[GuildMember<'_>], listed: &[Presence<'_>], touched: &mut Vec<u64>| {
        for m in members {
            if let Some(user) = member(guild, m, touched) {
                presences.update_presence(user, guild, 1, Update::default(), None);
            }
        }
        for p in listed {
            presence(guild, p, touched);
        }
    };
    match kind {
        "PRESENCE_UPDATE" => {
            let d = serde_json::from_str::<Dispatch<Presence>>(frame)?.d;
            presence(d.guild_id.map_or(1, |g| g.0), &d, touched);
        }
        "GUILD_CREATE" => {
            let d = serde_json::from_str::<Dispatch<GuildCreate>>(frame)?.d;
            list(d.id.0, &d.members, &d.presences, touched);
        }
        "GUILD_MEMBERS_CHUNK" => {
            let d = serde_json::from_str::<Dispatch<MembersChunk>>(frame)?.d;
            list(d.guild_id.0, &d.members, &d.presences, touched);
        }
        "GUILD_MEMBER_ADD" | "GUILD_MEMBER_UPDATE" => {
            let d = serde_json::from_str::<Dispatch<GuildMember>>(frame)?.d;
            member(d.guild_id.map_or(1, |g| g.0), &d, touched);
        }
        "GUILD_MEMBER_REMOVE" => {
            let d = serde_json::from_str::<Dispatch<MemberRemove>>(frame)?.d;
            if let Some(user) = payload::user_ref(d.user) {
                presences.upsert_member(
                    user.id,
                    d.guild_id.0,
                    1,
                    presence::MemberSeen { user: d.user.get(), nick: None },
                );
                presences.remove_member(user.id, d.guild_id.0);
            }
        }
        "GUILD_DELETE" => _ = serde_json::from_str::<Dispatch<GuildRef>>(frame)?,
        "READY" => _ = serde_json::from_str::<Dispatch<payload::Ready>>(frame)?,
        "RATE_LIMITED" => {
            let d = serde_json::from_str::<Dispatch<payload::RateLimited>>(frame)?.d;
            assert!(members::retry_after(d.retry_after) <= members::MAX_RETRY_AFTER, "{}", d.retry_after);
        }
        _ => {}
    }
    Ok(())
}

fn check_views(user: u64, view: &presence::PresenceView) {
    let native: Value = serde_json::from_slice(&view.native).expect("the native view is JSON");
    let lanyard: Value = serde_json::from_slice(&view.lanyard).expect("the Lanyard view is JSON");
    let id = user.to_string();
    let statuses = ["online", "idle", "dnd", "offline"];
    assert_eq!(native["userId"], id.as_str());
    assert!(statuses.contains(&native["status"].as_str().expect("a status")));
    assert!(native["activities"].is_array(), "{native}");
    let clients = native["clientStatus"].as_object().expect("clientStatus");
    assert!(clients.keys().all(|k| PLATFORMS.contains(&k.as_str())));
    assert_eq!(lanyard["discord_user"]["id"], id.as_str());
    assert!(lanyard["discord_user"]["username"].is_string());
    assert!(lanyard["activities"].is_array(), "{lanyard}");
    assert!(statuses.contains(&lanyard["discord_status"].as_str().expect("a status")));
    // The socket frames wrap the view as it is.
    let raw: &serde_json::value::RawValue = serde_json::from_slice(&view.lanyard).expect("the Lanyard view is JSON");
    let frame = protocol::presence_update(raw);
    serde_json::from_slice::<Value>(&frame).expect("PRESENCE_UPDATE is JSON");
}

/// A bot message (first line: the command prefix; the rest: the message) and, when
/// the message is JSON, a slash command's data. Parsed commands carry their words
/// whole and trimmed; every reply text fits Discord's limit and pings no one.
pub fn bot_command(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (prefix, content) = text.split_once('\n').unwrap_or((".", text));
    let word = |w: &str| !w.is_empty() && !w.contains(char::is_whitespace);
    match command::parse_message(prefix, content) {
        None => {}
        Some(Err(usage)) => check_reply(&usage.show(prefix)),
        Some(Ok(action)) => match action {
            Action::KvSet { key, value } => assert!(word(&key) && !value.is_empty() && value == value.trim()),
            Action::KvGet { key } | Action::KvDel { key } => assert!(word(&key)),
            Action::GithubLink { login } => assert!(word(&login) && !login.eq_ignore_ascii_case("unlink")),
            Action::KvList | Action::Token | Action::GithubUnlink | Action::Help => {}
            Action::Show | Action::Hide | Action::Forget { .. } | Action::Export => {}
        },
    }
    check_reply(content);
    check_reply(&reply::code(content));
    if let Ok(data) = serde_json::from_str(content) {
        match command::parse_slash(&data) {
            Some(Action::KvSet { key, value }) => assert!(key == key.trim() && value == value.trim()),
            Some(Action::KvGet { key } | Action::KvDel { key }) => assert_eq!(key, key.trim()),
            Some(Action::GithubLink { login }) => assert_eq!(login, login.trim()),
            _ => {}
        }
    }
}

/// What [`reply::fit`] makes of a text: at most 2000 characters, no mass mention,
/// no user or role mention left intact.
fn check_reply(text: &str) {
    let safe = reply::fit(text);
    assert!(safe.chars().count() <= reply::MAX_CHARS);
    assert!(!safe.contains("@everyone") && !safe.contains("@here"), "{safe:?}");
    for (at, _) in safe.match_indices("<@") {
        let next = safe[at + 2..].chars().next();
        assert!(!next.is_some_and(|c| c.is_ascii_digit() || c == '&' || c == '!'), "{safe:?}");
    }
}
