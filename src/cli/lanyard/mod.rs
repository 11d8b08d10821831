//! `harmy migrate --from-lanyard URL`: a Lanyard instance's KV, API keys and
//! last-seen times, read from its Redis (`redis`, on a thread of its own, one
//! chunk ahead), prepared against the config's KV limits (`app::lanyard::prepare`)
//! and stored in batches through the running server's admin socket, or on the
//! database itself when none runs (`admin::client::Session`). Each batch is one
//! transaction: a run stopped half-way leaves whole batches, and running it again
//! completes it. The report (every skip, then the counts) goes to stdout.

mod progress;
mod redis;

use std::process::ExitCode;

use anyhow::{Context, anyhow};
use tokio::sync::mpsc;

use self::progress::Progress;
use crate::admin::Request;
use crate::admin::client::Session;
use crate::app::kv::KvLimits;
use crate::app::lanyard::{self, Record, Report, Skip};
use crate::config::Config;

/// Users per batch (one transaction, one admin request).
pub const BATCH_USERS: usize = 256;
/// KV bytes per batch, about: a batch is sent once it holds this much, so a
/// request stays far below the admin socket's limit (`admin::server::MAX_REQUEST`).
pub const BATCH_BYTES: usize = 1 << 20;
/// Users read from Redis per chunk (two round trips).
const CHUNK_USERS: usize = 512;

/// What the reader hands over.
enum Read {
    /// The users found by SCAN, and keys with no user id.
    Found { users: usize, stray: u64 },
    /// A chunk of users, prepared; `empty`: how many had nothing left to import.
    Chunk { records: Vec<Record>, skips: Vec<Skip>, empty: usize },
}

/// Runs the import; `url` of `-` is read from standard input (so that a
/// password stays out of the process list).
pub fn run(config: &Config, url: &str, overwrite: bool, dry_run: bool) -> anyhow::Result<ExitCode> {
    let url = if url == "-" {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line).context("reading the Redis URL from standard input")?;
        line.trim().to_string()
    } else {
        url.to_string()
    };
    super::runtime()?.block_on(import(config, url, overwrite, dry_run))
}

async fn import(config: &Config, url: String, overwrite: bool, dry_run: bool) -> anyhow::Result<ExitCode> {
    // The database first: no point reading Redis for nowhere to put it.
    let session = Session::open(config).await?;
    let limits = KvLimits::from(config.kv);
    let shown = redis::redact(&url);
    let (sender, mut reads) = mpsc::channel(2);
    let reader = std::thread::Builder::new()
        .name("harmy-lanyard-reader".into())
        .spawn(move || read_all(&url, limits, &sender))
        .context("starting the Redis reader")?;

    let mut report = Report::default();
    let (mut total, mut done, mut stray) = (0, 0, 0);
    let mut progress = None;
    let mut batch: Vec<Record> = Vec::new();
    let mut weight = 0;
    let outcome: anyhow::Result<()> = async {
        while let Some(read) = reads.recv().await {
            match read? {
                Read::Found { users, stray: s } => {
                    (total, stray) = (users, s);
                    progress = Some(Progress::new(users, BATCH_USERS, dry_run));
                }
                Read::Chunk { records, skips, empty } => {
                    for skip in skips {
                        report.skip(skip);
                    }
                    for record in records {
                        weight += record.weight();
                        batch.push(record);
                        if batch.len() >= BATCH_USERS || weight >= BATCH_BYTES {
                            done += batch.len();
                            store(&session, &mut report, std::mem::take(&mut batch), overwrite, dry_run).await?;
                            weight = 0;
                            progress.iter().for_each(|p| p.update(done));
                        }
                    }
                    done += empty;
                }
            }
        }
        store(&session, &mut report, batch, overwrite, dry_run).await
    }
    .await;
    progress.iter().for_each(Progress::finish);
    let _ = reader.join();
    if progress.is_none() {
        // Redis was never read (unreachable, refused the password): no report to give.
        return Err(outcome.err().unwrap_or_else(|| anyhow!("Lanyard's Redis was not read")));
    }

    let mut stdout = String::new();
    for skip in &report.skips {
        stdout += &format!("{skip}\n");
    }
    let place = match &session {
        Session::Server(socket) => format!("the running harmy (admin socket {})", socket.display()),
        Session::Local(_) => format!("database {}", config.storage.path.display()),
    };
    let plural = if total == 1 { "" } else { "s" };
    stdout += &format!("Lanyard's Redis at {shown}: {total} user{plural}; into {place}\n");
    if stray > 0 {
        stdout += &format!("{stray} keys with a Lanyard prefix but no user id were left alone\n");
    }
    stdout += &report.summary(dry_run);
    if dry_run {
        stdout += "dry run: nothing was written\n";
    }
    print!("{stdout}");
    outcome.map_err(|e| {
        anyhow!("{e:#}\nthe import stopped; what the report counts as imported is stored: run the command again to complete it")
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Stores one batch and adds its report.
async fn store(
    session: &Session,
    report: &mut Report,
    records: Vec<Record>,
    overwrite: bool,
    dry_run: bool,
) -> anyhow::Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let output = session.run(Request::LanyardImport { records, overwrite, dry_run }).await?;
    let batch: Report = serde_json::from_str(&output).context("the server's report of a batch")?;
    report.merge(batch);
    Ok(())
}

/// The reader thread: every user in id order, chunk by chunk, prepared.
fn read_all(url: &str, limits: KvLimits, sender: &mpsc::Sender<anyhow::Result<Read>>) {
    let read = || -> anyhow::Result<()> {
        let mut redis = redis::Redis::connect(url)?;
        let found = redis.users()?;
        let users: Vec<(u64, redis::Has)> = found.users.into_iter().collect();
        let message = Read::Found { users: users.len(), stray: found.stray };
        if sender.blocking_send(Ok(message)).is_err() {
            return Ok(());
        }
        for chunk in users.chunks(CHUNK_USERS) {
            let now = crate::app::privacy::last_seen::now_ms();
            let (mut records, mut skips, mut empty) = (Vec::new(), Vec::new(), 0);
            for raw in redis.read(chunk, limits.max_keys as u64)? {
                let (record, skipped) = lanyard::prepare(raw, &limits, now);
                skips.extend(skipped);
                if record.is_empty() { empty += 1 } else { records.push(record) }
            }
            if sender.blocking_send(Ok(Read::Chunk { records, skips, empty })).is_err() {
                return Ok(()); // the importer stopped
            }
        }
        Ok(())
    };
    if let Err(e) = read() {
        let _ = sender.blocking_send(Err(e));
    }
}
