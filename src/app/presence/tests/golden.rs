//! Both views, byte for byte: every case of `golden.json` (the presences of the
//! tests beside this one and of tests/shapes.rs, the demo's frames, the gateway
//! fuzz regressions, and odd JSON: escapes, lone surrogates, big numbers,
//! floats, nesting, duplicate keys, empty objects, whitespace) is rendered and
//! compared with the bytes recorded there. After a deliberate change to a
//! shape, `HARMY_BLESS=1 cargo test --lib golden` records the new bytes.
//! Test builds parse floats with serde_json's `float_roundtrip` (a dev-dependency
//! turns it on): a float that the release build's faster parse rounds
//! differently is written differently there, by any render alike, since numbers
//! are parsed and written by serde_json alone.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::super::render;
use super::*;

const PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/src/app/presence/tests/golden.json");

/// One presence as the cache holds it, and its two views.
#[derive(Serialize, Deserialize)]
struct Case {
    case: String,
    user_id: u64,
    /// The user object as sent (any text: it need not be JSON).
    user: String,
    activities: Option<String>,
    /// As the gateway says it (`invisible` included).
    status: String,
    clients: BTreeMap<String, String>,
    nick: Option<String>,
    last_seen: Option<u64>,
    native: Box<RawValue>,
    lanyard: Box<RawValue>,
}

fn render(case: &Case) -> PresenceView {
    let mut clients = ClientStatus::default();
    for (platform, status) in &case.clients {
        clients.set(platform, status);
    }
    let entry = Entry {
        user: case.user.as_str().into(),
        activities: case.activities.as_deref().map(Into::into),
        status: Status::from_gateway(&case.status),
        clients,
        guilds: Box::new([Membership { guild: 1, epoch: 1, nick: case.nick.as_deref().map(Into::into) }]),
        hidden: false,
    };
    render::view(case.user_id, &entry, case.last_seen)
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("views are UTF-8")
}

#[test]
fn both_views_are_the_recorded_bytes() {
    let mut cases: Vec<Case> = serde_json::from_str(&std::fs::read_to_string(PATH).expect("golden.json")).unwrap();
    assert!(cases.len() > 100, "the corpus is there");
    if std::env::var_os("HARMY_BLESS").is_some() {
        for case in &mut cases {
            let view = render(case);
            case.native = RawValue::from_string(text(&view.native).into()).unwrap();
            case.lanyard = RawValue::from_string(text(&view.lanyard).into()).unwrap();
        }
        std::fs::write(PATH, serde_json::to_string_pretty(&cases).unwrap() + "\n").unwrap();
        return;
    }
    let mut differ = Vec::new();
    for case in &cases {
        let view = render(case);
        for (shape, got, want) in [("native", &view.native, &case.native), ("lanyard", &view.lanyard, &case.lanyard)] {
            serde_json::from_slice::<serde_json::Value>(got).expect("strict JSON");
            if text(got) != want.get() {
                differ.push(format!("{} ({shape}):\n  got  {}\n  want {}", case.case, text(got), want.get()));
            }
        }
    }
    assert!(differ.is_empty(), "{} views differ:\n{}", differ.len(), differ.join("\n"));
}
