//! The HTTP API under test, for `tests/http.rs` and `tests/socket.rs`: the real
//! binary served against the fake gateway (`serve_with`, `start`), or the API
//! served in the test's own process with the presence cache in its hands
//! (`in_process`), and the ids and config snippets they share.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use super::discord_gateway::{FakeGateway, Guild};
use super::{Instance, Server};

/// Rate limits no test that is not about them will reach: each address's, and
/// each member's KV writes. It ends inside `[kv]`, so a test adding `[kv]` keys
/// writes them right after it.
pub const NO_LIMITS: &str = "[rate_limit]\nper_second = 1000000\nper_minute = 100000000\n[kv]\nwrites_per_minute = 0\n";
pub const ALICE: &str = "470320681905684500";
pub const BOB: &str = "94490510688792576";
pub const ALICE_ID: u64 = 470320681905684500;
pub const BOB_ID: u64 = 94490510688792576;

/// Retries `check` (async) until it returns Some, or panics after the harness's patience.
pub async fn until<T, F: Future<Output = Option<T>>>(what: &str, mut check: impl FnMut() -> F) -> T {
    let deadline = std::time::Instant::now() + super::PATIENCE;
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// A metric without labels, from `/metrics`; `None` when it is not there.
pub async fn metric(addr: SocketAddr, name: &str) -> Option<f64> {
    let text = super::http_client::get(addr, "/metrics").await.text();
    text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// A served instance against a fake Discord gateway (guild 1 with `members`).
pub struct Served {
    pub gw: Option<FakeGateway>,
    pub instance: Instance,
    pub server: Server,
    pub addr: SocketAddr,
}

impl Served {
    pub fn gw(&self) -> &FakeGateway {
        self.gw.as_ref().unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        // The fake owns a runtime, which may not be dropped inside the test's own.
        let gw = self.gw.take();
        std::thread::spawn(move || drop(gw)).join().unwrap();
    }
}

/// Serves an instance; `extra` is TOML after `[http]`'s `listen` line (so it may add `[http]` keys first).
/// Built on a plain thread: the fake gateway starts its own runtime.
pub fn serve_with(extra: &str, guild: Guild) -> Served {
    serve_with_gateway(extra, move |gw| gw.set_guild(guild), true)
}

pub fn serve_with_gateway(extra: &str, setup: impl FnOnce(&FakeGateway) + Send + 'static, wait: bool) -> Served {
    let extra = extra.to_string();
    std::thread::spawn(move || {
        let gw = FakeGateway::start();
        setup(&gw);
        let discord = gw.discord_toml("http://127.0.0.1:1");
        let instance = Instance::new(&format!("[http]\nlisten = \"127.0.0.1:0\"\n{extra}\n{discord}"));
        let server = instance.serve();
        let addr = server.http.expect("the started line names the HTTP address");
        if wait {
            gw.wait_for_identifies(1);
        }
        Served { gw: Some(gw), instance, server, addr }
    })
    .join()
    .unwrap()
}

/// A served instance whose guild has no members.
pub fn start(extra: &str) -> (Served, SocketAddr) {
    let served = serve_with(extra, Guild::new(1));
    let addr = served.addr;
    (served, addr)
}

pub fn token(instance: &Instance, user: &str) -> String {
    let out = instance.cli(&["token", "rotate", user]);
    assert!(out.status.success(), "{}", super::stderr(&out));
    let text = super::stdout(&out);
    text.split_whitespace().find(|w| w.starts_with("harmy_")).expect("a token in the output").to_string()
}

/// The API served in this process over a migrated instance, with the presence
/// cache in the test's hands.
pub struct Local {
    pub app: Arc<harmy::app::App>,
    pub addr: SocketAddr,
    _stop: tokio::sync::oneshot::Sender<()>,
    _instance: Instance,
}

pub async fn in_process(extra: &str) -> Local {
    let instance = Instance::new(&format!("[http]\nlisten = \"127.0.0.1:0\"\n{NO_LIMITS}{extra}"));
    let sources = harmy::config::Sources { file: Some(instance.config_path()), ..Default::default() };
    let config = harmy::config::load(&sources).unwrap().config;
    let store = harmy::store::Store::open(&instance.db_path()).unwrap();
    let app = harmy::app::App::new(config.clone(), store).unwrap();
    let listeners = harmy::http::bind(&config).await.unwrap();
    let addr = listeners.api.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(harmy::http::serve(app.clone(), listeners, async {
        let _ = stopped.await;
    }));
    Local { app, addr, _stop: stop, _instance: instance }
}

/// Sets a user's presence as the gateway would (a member with this status) and
/// marks the change.
pub fn set_presence(app: &harmy::app::App, user: &str, status: &str) {
    use harmy::app::presence::{RawPresence, Status};
    let id: harmy::ids::UserId = user.parse().unwrap();
    let raw = format!(r#"{{"id":"{user}","username":"vaq"}}"#);
    let presence = RawPresence { user: raw.into(), activities: None, status: Status::from_gateway(status) };
    app.presences.insert_raw(id, presence);
}
