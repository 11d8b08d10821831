//! `harmy migrate --from-lanyard` (results in docs/BENCHMARKS.md): the release
//! binary imports 10 000 users × 10 KV keys and a last seen each from a real
//! redis-server into a new database (goal: at most 10 s), then runs again over
//! the same data (everything unchanged); then the same users with Lanyard API
//! keys for some of them, to give the cost of hashing a key.
//!
//! `cargo bench --bench lanyard` (needs redis-server; `BENCH_KEYS` keys, 200 by default).

#[allow(dead_code)]
#[path = "../tests/support/redis.rs"]
mod redis_server;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use redis_server::{RedisServer, api_key, last_seen};

const USERS: u64 = 10_000;
const KEYS_PER_USER: usize = 10;
const FIRST: u64 = 100_000_000_000_000_000;

fn main() -> anyhow::Result<()> {
    let keys: u64 = std::env::var("BENCH_KEYS").ok().and_then(|n| n.parse().ok()).unwrap_or(200);
    let redis = RedisServer::start();
    fill(&redis, 0);
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("kv.redb");
    let (first, report) = import(&db, &redis.url())?;
    println!("{USERS} users x {KEYS_PER_USER} keys, new database : {:>6.2} s (goal <= 10 s)", first.as_secs_f64());
    print_counts(&report);
    let (again, report) = import(&db, &redis.url())?;
    println!("the same again (all unchanged)         : {:>6.2} s", again.as_secs_f64());
    print_counts(&report);

    fill(&redis, keys);
    let db = dir.path().join("keys.redb");
    let (with_keys, report) = import(&db, &redis.url())?;
    let extra = with_keys.saturating_sub(first);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    println!(
        "the same with {keys} API keys             : {:>6.2} s (+{:.2} s: {:.1} ms per key, argon2 on {threads} threads)",
        with_keys.as_secs_f64(),
        extra.as_secs_f64(),
        extra.as_secs_f64() * 1000.0 / keys.max(1) as f64
    );
    print_counts(&report);
    Ok(())
}

/// The users, their KV (half in each layout) and last seen; API keys for the first `keys`.
fn fill(redis: &RedisServer, keys: u64) {
    for part in 0..USERS / 1_000 {
        redis.fill(|p| {
            for n in part * 1_000..(part + 1) * 1_000 {
                let user = (FIRST + n).to_string();
                for k in 0..KEYS_PER_USER {
                    let value = format!("value {k} of user {n}, about forty characters");
                    if n % 2 == 0 {
                        p.hset(format!("lanyard_kv:{user}"), format!("key{k}"), value).ignore();
                    } else {
                        p.hset(format!("lanyard:user_kv:{user}"), format!("key{k}"), format!("\"{value}\"")).ignore();
                    }
                }
                last_seen(p, &user, 1_600_000_000_000 + n);
                if n < keys {
                    api_key(p, &user, &format!("lnyd_{n:032x}"));
                }
            }
        });
    }
}

/// Runs the import into `db` (created first); its wall time and report.
fn import(db: &Path, url: &str) -> anyhow::Result<(Duration, String)> {
    let harmy = env!("CARGO_BIN_EXE_harmy");
    let socket = db.with_extension("sock");
    let base = |args: &[&str]| {
        let mut cmd = Command::new(harmy);
        cmd.arg("--database").arg(db).arg("--admin-socket").arg(&socket).arg("--config").arg("/dev/null").args(args);
        cmd
    };
    anyhow::ensure!(base(&["migrate"]).output()?.status.success(), "harmy migrate failed");
    let started = Instant::now();
    let out = base(&["migrate", "--from-lanyard", url]).output()?;
    let took = started.elapsed();
    anyhow::ensure!(out.status.success(), "import failed: {}", String::from_utf8_lossy(&out.stderr));
    Ok((took, String::from_utf8_lossy(&out.stdout).into_owned()))
}

fn print_counts(report: &str) {
    for line in report.lines().filter(|l| ["KV pairs", "API keys", "last seen"].iter().any(|k| l.starts_with(k))) {
        println!("    {line}");
    }
}
