//! The primary's part: the lease on the cluster's name, the beat, and the
//! publisher of every served user's state.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use async_nats::jetstream::kv::{CreateErrorKind, Store as Bucket, UpdateErrorKind};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::{BEAT, Names, record};
use crate::app::App;
use crate::ids::UserId;

/// A dead primary's lease expires this long after its last renewal.
pub const LEASE_TTL: Duration = Duration::from_secs(30);
/// How often the living primary renews it.
const RENEW_EVERY: Duration = Duration::from_secs(10);
/// The lease's key in its bucket.
const LEASE_KEY: &str = "primary";
/// How long the publisher waits after NATS refused records, before it tries again.
const RETRY_AFTER: Duration = Duration::from_millis(500);
/// Records published before their acknowledgements are awaited.
const IN_FLIGHT: usize = 512;

/// The lease this process holds on the cluster's name.
pub struct Lease {
    bucket: Bucket,
    holder: String,
    revision: u64,
}

impl Lease {
    /// Takes the name, or fails naming the primary that holds it.
    pub async fn take(js: &async_nats::jetstream::Context, names: &Names, holder: String) -> anyhow::Result<Lease> {
        let bucket = super::bucket(js, &names.lease, LEASE_TTL).await?;
        match bucket.create(LEASE_KEY, holder.clone().into()).await {
            Ok(revision) => Ok(Lease { bucket, holder, revision }),
            Err(e) if e.kind() == CreateErrorKind::AlreadyExists => {
                let other = bucket.get(LEASE_KEY).await.ok().flatten();
                let other = other.map(|b| String::from_utf8_lossy(&b).into_owned()).unwrap_or_else(|| "?".into());
                anyhow::bail!(
                    "another primary holds the cluster name `{}`: {other}. One primary per name: stop it, or \
                     give this one another cluster.name (a primary killed without stopping lets go within {} s)",
                    names.users.trim_end_matches("_users"),
                    LEASE_TTL.as_secs()
                )
            }
            Err(e) => Err(e).context("taking the primary's lease in JetStream"),
        }
    }

    /// Renews the lease until `stop`, then lets it go. Fails when another process
    /// took it (this one was cut off from NATS past the lease's TTL): one primary
    /// per name, so this one stops.
    pub async fn keep(mut self, stop: CancellationToken) -> anyhow::Result<()> {
        let mut every = tokio::time::interval(RENEW_EVERY);
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => {
                    let _ = self.bucket.purge_expect_revision(LEASE_KEY, Some(self.revision)).await;
                    return Ok(());
                }
                _ = every.tick() => {}
            }
            match self.bucket.update(LEASE_KEY, self.holder.clone().into(), self.revision).await {
                Ok(revision) => self.revision = revision,
                Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => {
                    anyhow::bail!("the primary's lease was taken by another process while NATS was unreachable")
                }
                Err(e) => tracing::warn!("cluster: renewing the primary's lease: {e}"),
            }
        }
    }
}

/// The primary's beat: who it is and the key replicas seal relayed requests to.
pub async fn beat(
    client: async_nats::Client,
    names: Names,
    beat: Vec<u8>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let mut every = tokio::time::interval(BEAT);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            _ = every.tick() => {
                let _ = client.publish(names.alive.clone(), beat.clone().into()).await;
            }
        }
    }
}

/// Asks the publisher to publish every change marked so far; answered with the
/// highest revision published once it is (a relayed write's reader waits for it).
pub type Flush = mpsc::Sender<oneshot::Sender<u64>>;

/// Publishes every change of a served user to the users bucket until `stop`:
/// each batch of the change feed's marks (coalesced per user, so a flood of
/// changes costs one record per user, and the queue is bounded by the users)
/// is read and published in order, up to [`IN_FLIGHT`] unacknowledged. A user
/// no longer served is purged (no history left). While NATS is slower than
/// Discord, marks pile up per user and each is published once, with its latest
/// state; the gateway never waits. First, every served user is published, and
/// any record of a user not served any more is purged.
pub async fn publish(
    app: Arc<App>,
    js: async_nats::jetstream::Context,
    bucket: Bucket,
    mut flushes: mpsc::Receiver<oneshot::Sender<u64>>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    let mut published = 0u64;
    let mut everyone = app.presences.served_users();
    if let Ok(mut keys) = bucket.keys().await {
        use futures_util::StreamExt;
        let served: std::collections::HashSet<UserId> = everyone.iter().copied().collect();
        while let Some(Ok(key)) = keys.next().await {
            if let Some(user) = record::user_of(&key).filter(|u| !served.contains(u)) {
                everyone.push(user);
            }
        }
    }
    let out = Out { js: &js, bucket: &bucket, subject: format!("$KV.{}.", bucket.name) };
    published = published.max(out.publish(&app, everyone).await);
    loop {
        let mut waiting = Vec::new();
        let batch = tokio::select! {
            _ = stop.cancelled() => return Ok(()),
            batch = app.changes.next_to_publish() => batch,
            Some(flush) = flushes.recv() => {
                waiting.push(flush);
                Vec::new()
            }
        };
        let mut batch = batch;
        if !waiting.is_empty() {
            // Whatever was marked before the flush was asked for.
            batch.extend(app.changes.take_to_publish());
        }
        published = published.max(out.publish(&app, batch).await);
        for flush in waiting {
            let _ = flush.send(published);
        }
    }
}

/// Where records go: the bucket, published to by subject so that many can be in flight.
struct Out<'a> {
    js: &'a async_nats::jetstream::Context,
    bucket: &'a Bucket,
    /// `$KV.<bucket>.`, the subjects of the bucket's keys.
    subject: String,
}

impl Out<'_> {
    /// Publishes the records of `users` in order; the highest revision
    /// acknowledged. A user whose record did not get through is marked again
    /// (and the next batch waits a moment), so that nothing is lost while NATS is away.
    async fn publish(&self, app: &App, users: Vec<UserId>) -> u64 {
        let mut highest = 0;
        let mut acks = Vec::new();
        let mut failed = Vec::new();
        for user in users {
            let key = record::key(user);
            match record::read(app, user).await {
                Ok(Some(bytes)) => match self.js.publish(format!("{}{key}", self.subject), bytes.into()).await {
                    Ok(ack) => acks.push((user, ack)),
                    Err(e) => {
                        tracing::debug!("cluster: publishing {key}: {e}");
                        failed.push(user);
                    }
                },
                Ok(None) => {
                    // Earlier puts first: a purge must not be overtaken.
                    highest = highest.max(settle(&mut acks, &mut failed).await);
                    if let Err(e) = self.bucket.purge(&key).await {
                        tracing::debug!("cluster: purging {key}: {e}");
                        failed.push(user);
                    }
                }
                Err(e) => {
                    tracing::warn!("cluster: reading {key} to publish it: {e}");
                    failed.push(user);
                }
            }
            if acks.len() >= IN_FLIGHT {
                highest = highest.max(settle(&mut acks, &mut failed).await);
            }
        }
        highest = highest.max(settle(&mut acks, &mut failed).await);
        if !failed.is_empty() {
            tracing::warn!("cluster: {} records not published (NATS away?); trying again", failed.len());
            app.changes.publish_again(failed);
            tokio::time::sleep(RETRY_AFTER).await;
        }
        highest
    }
}

/// Waits for the acknowledgements; the highest revision, the users not acknowledged in `failed`.
async fn settle(
    acks: &mut Vec<(UserId, async_nats::jetstream::context::PublishAckFuture)>,
    failed: &mut Vec<UserId>,
) -> u64 {
    let mut highest = 0;
    for (user, ack) in acks.drain(..) {
        match ack.await {
            Ok(ack) => highest = highest.max(ack.sequence),
            Err(e) => {
                tracing::debug!("cluster: a record was not acknowledged: {e}");
                failed.push(user);
            }
        }
    }
    highest
}
