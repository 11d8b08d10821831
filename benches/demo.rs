//! `harmy serve --demo` start-up (results in docs/BENCHMARKS.md):
//!
//! ```text
//! cargo bench --bench demo    # spawn → first presence served (GET /user/<demo user> 200), 10 rounds
//! ```
//!
//! Each round spawns the release binary with an empty HOME and TMPDIR, reads the
//! HTTP address from its `harmy serve started` line, and polls the demo user's
//! presence every millisecond until it is a 200. The goal is ≤ 1 s.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const DEMO_USER: u64 = 1_300_000_000_000_000_001;
const ROUNDS: usize = 10;

fn main() {
    let mut served = Vec::new();
    let mut started = Vec::new();
    for round in 1..=ROUNDS {
        let (to_started, to_served) = round_trip();
        println!(
            "round {round:>2}: started line {:>4} ms, first presence served {:>4} ms after spawn",
            to_started.as_millis(),
            to_served.as_millis()
        );
        started.push(to_started);
        served.push(to_served);
    }
    served.sort();
    started.sort();
    println!(
        "demo start-up: first presence served, median {} ms, worst {} ms (goal ≤ 1000); started line median {} ms",
        served[ROUNDS / 2].as_millis(),
        served[ROUNDS - 1].as_millis(),
        started[ROUNDS / 2].as_millis()
    );
}

fn round_trip() -> (Duration, Duration) {
    let dir = tempfile::tempdir().unwrap();
    for sub in ["home", "tmp"] {
        std::fs::create_dir(dir.path().join(sub)).unwrap();
    }
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_harmy"));
    cmd.args(["serve", "--demo", "--listen", "127.0.0.1:0"]);
    for (name, _) in std::env::vars() {
        if name.starts_with("HARMY_") || name.starts_with("XDG_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("HOME", dir.path().join("home")).env("TMPDIR", dir.path().join("tmp")).env("HARMY_LOG", "info");
    let spawned = Instant::now();
    let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("harmy serve started") {
                let http = line.split_whitespace().find_map(|f| f.strip_prefix("http=")).map(str::to_string);
                let _ = tx.send(http.expect("the started line names the address"));
            }
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(30)).expect("the demo started");
    let to_started = spawned.elapsed();
    let path = format!("/user/{DEMO_USER}");
    while !get(&addr, &path).is_some_and(|r| r.starts_with("HTTP/1.1 200")) {
        assert!(spawned.elapsed() < Duration::from_secs(30), "no presence served within 30 s");
        std::thread::sleep(Duration::from_millis(1));
    }
    let to_served = spawned.elapsed();
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let status = child.wait().unwrap();
    assert!(status.success(), "the demo exits 0 on SIGTERM");
    (to_started, to_served)
}

fn get(addr: &str, path: &str) -> Option<String> {
    let mut tcp = std::net::TcpStream::connect(addr).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n");
    tcp.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    tcp.read_to_string(&mut response).ok()?;
    Some(response)
}
