//! End-to-end tests of presence tracking: the real `harmy serve` against the
//! fake Discord gateway, plus a check that a bare twilight shard accepts the fake.

mod support;

use std::sync::mpsc;
use std::time::Duration;

use support::discord_gateway::*;
use twilight_gateway::{ConfigBuilder, Event, EventTypeFlags, Intents, Shard, ShardId, StreamExt};

/// Runs a bare twilight shard against the fake; its events arrive on the channel.
fn bare_shard(gw: &FakeGateway) -> (tokio::runtime::Runtime, mpsc::Receiver<Event>) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let (tx, rx) = mpsc::channel();
    let url = gw.url().to_string();
    runtime.spawn(async move {
        let queue = twilight_gateway::queue::InMemoryQueue::new(0, 0, Duration::ZERO, 0);
        let intents = Intents::from_bits_truncate(INTENTS);
        let config = ConfigBuilder::new("test-token".into(), intents).proxy_url(url).queue(queue).build();
        let mut shard = Shard::with_config(ShardId::ONE, config);
        while let Some(item) = shard.next_event(EventTypeFlags::all()).await {
            if let Ok(event) = item {
                if tx.send(event).is_err() {
                    break;
                }
            }
        }
    });
    (runtime, rx)
}

/// The next event that `pick` accepts, skipping others.
fn next_matching<T>(rx: &mpsc::Receiver<Event>, mut pick: impl FnMut(Event) -> Option<T>) -> T {
    loop {
        let event = rx.recv_timeout(Duration::from_secs(20)).expect("an event from the shard");
        if let Some(found) = pick(event) {
            return found;
        }
    }
}

#[test]
fn twilight_accepts_the_fake_gateway() {
    let gw = FakeGateway::start();
    gw.set_guild(Guild::new(1).member(member(2, "alice"), Some(presence(2, "online"))).member(member(3, "bob"), None));
    let (_runtime, rx) = bare_shard(&gw);

    let session = next_matching(&rx, |e| if let Event::Ready(r) = e { Some(r.session_id) } else { None });
    assert_eq!(session, "session-1");
    let members = next_matching(&rx, |e| if let Event::GuildCreate(g) = e { Some(g) } else { None });
    let twilight_model::gateway::payload::incoming::GuildCreate::Available(guild) = *members else { panic!() };
    assert_eq!(guild.members.len(), 2);
    assert_eq!(guild.presences.len(), 1);

    gw.dispatch("PRESENCE_UPDATE", presence_update(1, 2, "idle", vec![spotify("BMW"), custom_status("hi")]));
    let update = next_matching(&rx, |e| if let Event::PresenceUpdate(p) = e { Some(p) } else { None });
    assert_eq!(update.activities.len(), 2);

    gw.reconnect();
    gw.wait_for_resumes(1);
    next_matching(&rx, |e| matches!(e, Event::Resumed).then_some(()));

    gw.drop_connection();
    gw.dispatch("GUILD_MEMBER_REMOVE", member_remove(1, 3));
    gw.wait_for_resumes(2);
    next_matching(&rx, |e| matches!(e, Event::Resumed).then_some(()));
    let removed = next_matching(&rx, |e| if let Event::MemberRemove(m) = e { Some(m.user.id.get()) } else { None });
    assert_eq!(removed, 3, "a dispatch pushed while disconnected is replayed after RESUMED");

    gw.invalid_session(false);
    gw.wait_for_identifies(2);
    let session = next_matching(&rx, |e| if let Event::Ready(r) = e { Some(r.session_id) } else { None });
    assert_eq!(session, "session-2");

    gw.set_guild(Guild::new(5).large().member(member(7, "carol"), Some(presence(7, "dnd"))));
    gw.invalid_session(false);
    gw.wait_for_identifies(3);
    let large = next_matching(&rx, |e| match e {
        Event::GuildCreate(g) if g.id().get() == 5 => Some(g),
        _ => None,
    });
    let twilight_model::gateway::payload::incoming::GuildCreate::Available(large) = *large else { panic!() };
    assert!(large.members.is_empty());

    gw.close(4014);
    let code = next_matching(&rx, |e| if let Event::GatewayClose(f) = e { Some(f.map(|f| f.code)) } else { None });
    assert_eq!(code, Some(4014));
}
