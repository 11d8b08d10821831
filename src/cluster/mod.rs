//! One primary and any number of read replicas, joined by NATS JetStream
//! (README, "More than one machine"; docs/DECISIONS.md, "Replicas over NATS
//! JetStream").
//!
//! * The **primary** is harmy as it runs alone, and also: holds the cluster's
//!   name by a lease ([`primary::Lease`]), publishes each user's public state
//!   to a JetStream KV bucket as it changes ([`primary::publish`]), says it is
//!   alive every second, and answers the KV requests replicas relay to it.
//! * A **replica** has no Discord connection, no bot, no database file and no
//!   admin socket: it fills the same services as the primary (presences and
//!   the read path's stored tier, over an empty in-memory database) from the
//!   bucket ([`replica::follow`]), so every read route answers with the
//!   primary's bytes, and relays every KV request to the primary ([`relay`]).
//! * [`record`] is what the bucket holds per user: what a read answers, never
//!   a token or a token hash.
//!
//! Names: with `cluster.name = N`, the buckets are `N_users` and `N_lease`
//! and the subjects `N.relay` (requests) and `N.alive` (the primary's beat).

pub mod primary;
pub mod record;
pub mod relay;
pub mod replica;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use std::sync::Arc;

use anyhow::Context;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::app::App;
use crate::config::{ClusterConfig, Role};

/// How often the primary says it is alive.
pub const BEAT: Duration = Duration::from_secs(1);
/// A replica takes the primary for gone after this long without a beat.
pub const BEAT_LOST: Duration = Duration::from_secs(3);
/// How long a replica waits for the primary's answer to a relayed request.
pub const RELAY_TIMEOUT: Duration = Duration::from_secs(5);

/// The NATS names of one cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The KV bucket of every served user's state.
    pub users: String,
    /// The KV bucket of the primary's lease.
    pub lease: String,
    /// Where replicas send KV requests.
    pub relay: String,
    /// Where the primary beats.
    pub alive: String,
}

impl Names {
    /// The names for `cluster.name`, which must be letters, digits, `-` and `_`
    /// (what a bucket name allows).
    pub fn of(name: &str) -> anyhow::Result<Names> {
        anyhow::ensure!(
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "cluster.name `{name}` must be letters, digits, `-` and `_` (it names NATS buckets)"
        );
        Ok(Names {
            users: format!("{name}_users"),
            lease: format!("{name}_lease"),
            relay: format!("{name}.relay"),
            alive: format!("{name}.alive"),
        })
    }
}

/// This process's part in a cluster, as `/health` and `/metrics` show it.
#[derive(Debug, Default)]
pub struct Node {
    /// Whether this process is in a cluster at all.
    enabled: bool,
    replica: bool,
    client: OnceLock<async_nats::Client>,
    /// A replica: heard the primary within [`BEAT_LOST`] (a primary: always).
    primary_up: AtomicBool,
    /// A replica: holds the whole state the bucket had when it started following.
    synced: AtomicBool,
    /// A replica: seconds (in ms) between the primary's publishing and the replica's applying of the last change.
    lag_ms: AtomicU64,
    /// A replica: changes in the bucket not applied yet.
    lag_changes: AtomicU64,
    /// A replica: the relay to the primary.
    relay: OnceLock<relay::Client>,
    /// A replica: the bucket revision applied last (what a relayed write waits for).
    applied: OnceLock<tokio::sync::watch::Sender<u64>>,
    /// A primary: asks the publisher to publish what is marked.
    flush: OnceLock<primary::Flush>,
    /// A primary: what answers relayed requests, taken by the HTTP API when it starts.
    answering: std::sync::Mutex<Option<Answering>>,
}

/// What a primary answers relayed requests with.
pub struct Answering {
    pub key: std::sync::Arc<relay::Primary>,
    pub nats: async_nats::Client,
    pub names: Names,
}

impl std::fmt::Debug for Answering {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Answering").field("names", &self.names).finish()
    }
}

impl Node {
    /// The node `config` describes (not connected yet).
    pub fn new(config: &ClusterConfig) -> Node {
        Node {
            enabled: config.enabled(),
            replica: config.is_replica(),
            primary_up: AtomicBool::new(!config.is_replica()),
            synced: AtomicBool::new(!config.is_replica()),
            ..Node::default()
        }
    }

    /// Whether this process is in a cluster.
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Whether this process is a read replica (its KV routes relay to the primary).
    pub fn is_replica(&self) -> bool {
        self.replica
    }

    /// `primary`, `replica`, or `single` outside a cluster.
    pub fn role(&self) -> &'static str {
        match (self.enabled, self.replica) {
            (false, _) => "single",
            (true, false) => "primary",
            (true, true) => "replica",
        }
    }

    /// Whether the connection to NATS is up now.
    pub fn connected(&self) -> bool {
        self.client.get().is_some_and(|c| c.connection_state() == async_nats::connection::State::Connected)
    }

    /// A replica: whether the primary was heard lately.
    pub fn primary_up(&self) -> bool {
        self.primary_up.load(Ordering::Relaxed)
    }

    /// A replica: whether it holds the whole state.
    pub fn synced(&self) -> bool {
        self.synced.load(Ordering::Relaxed)
    }

    /// A replica: the replication lag, in seconds and in changes.
    pub fn lag(&self) -> (f64, u64) {
        (self.lag_ms.load(Ordering::Relaxed) as f64 / 1000.0, self.lag_changes.load(Ordering::Relaxed))
    }

    /// A replica: relays a KV request to the primary.
    pub async fn relay(&self, request: relay::Request) -> Result<relay::Answer, relay::Unanswered> {
        match self.relay.get() {
            Some(relay) => relay.send(request).await,
            None => Err(relay::Unanswered::NoPrimary),
        }
    }

    /// A replica: waits (at most [`RELAY_TIMEOUT`]) until the bucket revision
    /// `revision` is applied here.
    pub async fn applied_at_least(&self, revision: u64) {
        let Some(applied) = self.applied.get() else { return };
        let mut applied = applied.subscribe();
        let _ = tokio::time::timeout(RELAY_TIMEOUT, applied.wait_for(|r| *r >= revision)).await;
    }

    /// A primary: publishes every change marked so far; the highest revision
    /// published then (0 outside a cluster, or when the publisher is gone).
    pub async fn published(&self) -> u64 {
        let Some(flush) = self.flush.get() else { return 0 };
        let (tx, rx) = tokio::sync::oneshot::channel();
        if flush.send(tx).await.is_err() {
            return 0;
        }
        tokio::time::timeout(RELAY_TIMEOUT, rx).await.ok().and_then(Result::ok).unwrap_or(0)
    }

    /// A primary: what answers relayed requests (once: the HTTP API takes it).
    pub fn take_answering(&self) -> Option<Answering> {
        self.answering.lock().unwrap_or_else(|e| e.into_inner()).take()
    }

    fn set_client(&self, client: async_nats::Client) {
        let _ = self.client.set(client);
    }
}

/// Connects to the NATS server of `config`, with its credentials, retrying in
/// the background when it is down (the first connection included: a replica
/// started before its NATS server serves `/health` 503 until it syncs).
pub async fn connect(config: &ClusterConfig) -> anyhow::Result<async_nats::Client> {
    let mut options = if config.credentials_file.is_empty() {
        async_nats::ConnectOptions::new()
    } else {
        async_nats::ConnectOptions::with_credentials_file(&config.credentials_file)
            .await
            .with_context(|| format!("reading cluster.credentials_file {}", config.credentials_file))?
    };
    if !config.token_file.is_empty() {
        let token = std::fs::read_to_string(&config.token_file)
            .with_context(|| format!("reading cluster.token_file {}", config.token_file))?;
        options = options.token(token.trim().to_string());
    }
    // async-nats reads the TLS files at each connection attempt, and a failed
    // attempt is only retried: read here, a missing file is said at once.
    let tls_file = |setting: &str, path: &str| -> anyhow::Result<std::path::PathBuf> {
        std::fs::File::open(path).with_context(|| format!("reading cluster.{setting} {path}"))?;
        Ok(path.into())
    };
    if !config.ca_file.is_empty() {
        options = options.add_root_certificates(tls_file("ca_file", &config.ca_file)?);
    }
    match (config.cert_file.is_empty(), config.key_file.is_empty()) {
        (true, true) => {}
        (false, false) => {
            options = options.add_client_certificate(
                tls_file("cert_file", &config.cert_file)?,
                tls_file("key_file", &config.key_file)?,
            );
        }
        _ => anyhow::bail!("cluster.cert_file and cluster.key_file go together: set both or neither"),
    }
    let role = match config.role {
        Role::Primary => "primary",
        Role::Replica => "replica",
    };
    let url = config.nats_url.clone();
    let client = options
        .name(format!("harmy {role} {}", config.name))
        .retry_on_initial_connect()
        .max_reconnects(None)
        .reconnect_delay_callback(|attempts| Duration::from_millis((100 * attempts as u64).min(2_000)))
        .event_callback(|event| async move {
            match event {
                async_nats::Event::Connected => tracing::info!("cluster: connected to NATS"),
                async_nats::Event::Disconnected => tracing::warn!("cluster: NATS connection lost; reconnecting"),
                other => tracing::debug!("cluster: NATS {other}"),
            }
        })
        .connect(url.as_str())
        .await
        .with_context(|| format!("connecting to NATS at {url}"))?;
    Ok(client)
}

/// Waits until the client is connected (a replica's first connection may come late).
pub async fn connected(client: &async_nats::Client) {
    while client.connection_state() != async_nats::connection::State::Connected {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The bucket of `bucket`'s name, made when missing (history 1: the current
/// value of each key is all a replica needs; `max_age` for the lease). Its
/// stream is made as a KV bucket's by hand: async-nats's `create_key_value`
/// first reads the account's limits in a form servers before 2.10 do not send.
async fn bucket(
    js: &async_nats::jetstream::Context,
    bucket: &str,
    max_age: Duration,
) -> anyhow::Result<async_nats::jetstream::kv::Store> {
    if let Ok(store) = js.get_key_value(bucket).await {
        return Ok(store);
    }
    js.get_or_create_stream(async_nats::jetstream::stream::Config {
        name: format!("KV_{bucket}"),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        max_age,
        discard: async_nats::jetstream::stream::DiscardPolicy::New,
        allow_rollup: true,
        deny_delete: true,
        num_replicas: 1,
        storage: async_nats::jetstream::stream::StorageType::File,
        ..Default::default()
    })
    .await
    .with_context(|| format!("making the JetStream bucket {bucket} (is JetStream on: nats-server -js?)"))?;
    js.get_key_value(bucket).await.with_context(|| format!("opening the JetStream bucket {bucket}"))
}

/// Joins the cluster as its primary, before the gateway starts: connects,
/// takes the name's lease (failing when another primary holds it), and starts
/// the lease's renewal, the beat and the publisher in `parts`. `holder` names
/// this process to a second primary that is refused.
pub async fn start_primary(
    app: &Arc<App>,
    holder: String,
    parts: &mut JoinSet<anyhow::Result<()>>,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    let config = &app.config().cluster;
    let names = Names::of(&config.name)?;
    let nats = connect(config).await?;
    tokio::time::timeout(RELAY_TIMEOUT, connected(&nats)).await.with_context(|| {
        format!(
            "NATS at {} cannot be reached or refused this client (cluster.nats_url; \
                 cluster.credentials_file or cluster.token_file when the server asks for them; \
                 cluster.ca_file, cert_file and key_file for its TLS)",
            config.nats_url
        )
    })?;
    let js = async_nats::jetstream::new(nats.clone());
    let lease = primary::Lease::take(&js, &names, holder.clone()).await?;
    let users = bucket(&js, &names.users, Duration::ZERO).await?;
    // Before the publisher reads who is served: no change falls between the two.
    app.changes.follow_for_publishing();
    let (flush, flushes) = tokio::sync::mpsc::channel(1024);
    let _ = app.cluster.flush.set(flush);
    let key = Arc::new(relay::Primary::default());
    let beat = key.beat(&holder);
    *app.cluster.answering.lock().unwrap_or_else(|e| e.into_inner()) =
        Some(Answering { key, nats: nats.clone(), names: names.clone() });
    app.cluster.set_client(nats.clone());
    parts.spawn(lease.keep(stop.clone()));
    parts.spawn(primary::beat(nats, names, beat, stop.clone()));
    parts.spawn(primary::publish(app.clone(), js, users, flushes, stop.clone()));
    tracing::info!(name = %config.name, nats = %config.nats_url, "cluster: this process is the primary");
    Ok(())
}

/// Joins the cluster as a replica: connects (in the background, until it
/// can), and starts following the users bucket and listening for the primary in `parts`.
pub async fn start_replica(
    app: &Arc<App>,
    parts: &mut JoinSet<anyhow::Result<()>>,
    stop: &CancellationToken,
) -> anyhow::Result<()> {
    let config = &app.config().cluster;
    let names = Names::of(&config.name)?;
    let nats = connect(config).await?;
    let js = async_nats::jetstream::new(nats.clone());
    let _ = app.cluster.relay.set(relay::Client::new(nats.clone(), &names));
    let _ = app.cluster.applied.set(tokio::sync::watch::Sender::new(0));
    app.cluster.set_client(nats.clone());
    parts.spawn(replica::follow(app.clone(), js, names.clone(), stop.clone()));
    parts.spawn(replica::listen(app.clone(), nats, names, stop.clone()));
    tracing::info!(name = %config.name, nats = %config.nats_url, "cluster: this process is a replica");
    Ok(())
}

/// How this process names itself in the lease: host, process id, HTTP address.
pub fn holder(http: std::net::SocketAddr) -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    format!("{} (pid {}, http {http})", host.trim(), std::process::id())
}
