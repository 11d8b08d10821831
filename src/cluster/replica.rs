//! The replica's part: following the users bucket into the same services the
//! primary serves from, and listening for the primary's beat.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use async_nats::jetstream::kv::{Entry, Operation, Store as Bucket};
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use super::{BEAT_LOST, Names, Node, record};
use crate::app::App;

/// How long a replica waits before watching again after the watch failed.
const REWATCH_AFTER: Duration = Duration::from_millis(250);

/// Follows the bucket until `stop`: every current record, then every change,
/// applied in order. When the watch breaks (NATS restarted, the connection
/// lost), it is made again from the revision after the last one applied, so
/// that every change missed meanwhile is applied; no restart needed.
pub async fn follow(
    app: Arc<App>,
    js: async_nats::jetstream::Context,
    names: Names,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let node = &app.cluster;
    let mut next = 0u64;
    let mut bucket: Option<Bucket> = None;
    loop {
        if stop.is_cancelled() {
            return Ok(());
        }
        let watched = async {
            let b = match &bucket {
                Some(b) => b.clone(),
                None => super::bucket(&js, &names.users, Duration::ZERO).await?,
            };
            bucket = Some(b.clone());
            if next == 0 {
                // Nothing ever written to the bucket: whole at once. (Its last
                // sequence, not its message count, which lags on nats-server 2.9.)
                let status = b.status().await?;
                if status.info.state.last_sequence == 0 {
                    node.synced.store(true, Ordering::Relaxed);
                }
                // Every key's current value, then every change.
                anyhow::Ok(b.watch_with_history(">").await?)
            } else {
                anyhow::Ok(b.watch_all_from_revision(next).await?)
            }
        };
        let mut watch = match tokio::select! { _ = stop.cancelled() => return Ok(()), w = watched => w } {
            Ok(watch) => watch,
            Err(e) => {
                tracing::debug!("cluster: watching {}: {e:#}", names.users);
                tokio::time::sleep(REWATCH_AFTER).await;
                continue;
            }
        };
        loop {
            let entry = tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                entry = watch.next() => entry,
            };
            match entry {
                Some(Ok(entry)) => {
                    next = entry.revision + 1;
                    apply(&app, &entry);
                }
                Some(Err(e)) => {
                    tracing::warn!("cluster: the watch of {} broke ({e}); watching again", names.users);
                    break;
                }
                None => break,
            }
        }
        tokio::time::sleep(REWATCH_AFTER).await;
    }
}

/// Applies one entry of the bucket.
fn apply(app: &App, entry: &Entry) {
    let node: &Node = &app.cluster;
    if let Some(user) = record::user_of(&entry.key) {
        match entry.operation {
            Operation::Put => match record::decode(&entry.value) {
                Some(state) => {
                    if let Some(at) = state.last_seen {
                        app.privacy.last_seen().imported(user, at);
                    }
                    // The stored part first: the presence's mark publishes both.
                    app.reads.set_stored(user, state.stored);
                    app.presences.replace(user, state.presence);
                }
                None => tracing::warn!("cluster: {} in {} is not a record; skipped", entry.key, entry.bucket),
            },
            Operation::Delete | Operation::Purge => {
                app.reads.set_stored(user, (*crate::app::reads::Stored::none()).clone());
                app.presences.remove(user);
            }
        }
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    let lag_ms = (now as i128 - entry.created.unix_timestamp_nanos()).max(0) / 1_000_000;
    node.lag_ms.store(lag_ms as u64, Ordering::Relaxed);
    node.lag_changes.store(entry.delta, Ordering::Relaxed);
    if entry.delta == 0 || entry.seen_current {
        node.synced.store(true, Ordering::Relaxed);
    }
    if let Some(applied) = node.applied.get() {
        applied.send_replace(entry.revision);
    }
}

/// Listens for the primary's beat until `stop`: the primary is up while beats
/// come within [`BEAT_LOST`], and each beat names the key relayed requests are sealed to.
pub async fn listen(
    app: Arc<App>,
    client: async_nats::Client,
    names: Names,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let node = &app.cluster;
    loop {
        if stop.is_cancelled() {
            return Ok(());
        }
        let mut beats = match client.subscribe(names.alive.clone()).await {
            Ok(beats) => beats,
            Err(e) => {
                tracing::debug!("cluster: subscribing to {}: {e}", names.alive);
                tokio::time::sleep(REWATCH_AFTER).await;
                continue;
            }
        };
        loop {
            let beat = tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                beat = tokio::time::timeout(BEAT_LOST, beats.next()) => beat,
            };
            match beat {
                Ok(Some(message)) => {
                    if let Some(relay) = node.relay.get() {
                        relay.primary_is(&message.payload);
                    }
                    if !node.primary_up.swap(true, Ordering::Relaxed) {
                        tracing::info!("cluster: the primary is up");
                    }
                }
                Ok(None) => break,
                Err(_) => {
                    if node.primary_up.swap(false, Ordering::Relaxed) {
                        tracing::warn!(
                            "cluster: no word from the primary for {} s; serving the last state",
                            BEAT_LOST.as_secs()
                        );
                    }
                }
            }
        }
    }
}
