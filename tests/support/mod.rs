//! Shared harness of the end-to-end tests: a temporary harmy instance (config,
//! database, admin socket) driven through the real binary, and the fakes of
//! Discord and GitHub it talks to instead of the internet.
#![allow(dead_code)] // each test binary uses its own part of the harness

pub mod api;
pub mod card;
pub mod cdn;
pub mod discord_gateway;
pub mod discord_payloads;
pub mod discord_rest;
pub mod github;
pub mod http_client;
pub mod nats;
pub mod openapi;
pub mod pty;
pub mod redis;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn harmy_bin() -> &'static str {
    env!("CARGO_BIN_EXE_harmy")
}

/// A temporary harmy setup: a directory with `config.toml`, the database and the socket.
pub struct Instance {
    pub dir: tempfile::TempDir,
}

impl Instance {
    /// A migrated instance whose config is the defaults for paths plus `extra` TOML
    /// (whole sections, e.g. "[kv]\nmax_keys = 3\n"). `[storage]`/`[admin]` are set here,
    /// `[http] listen` on port 0 when `extra` has no `[http]` section, `/metrics` on the
    /// API listener when it has no `[metrics]` section (the default's fixed port would
    /// collide between tests running at once; a test of the metrics listener sets its
    /// own, on port 0, found in [`Server::metrics`]), and Discord and GitHub at a closed
    /// local port when it has no `[discord]` / `[github]` (no test reaches the
    /// internet, not even by omission).
    pub fn new(extra: &str) -> Instance {
        let instance = Instance::unmigrated(extra);
        let out = instance.cli(&["migrate"]);
        assert!(out.status.success(), "migrate failed: {}", String::from_utf8_lossy(&out.stderr));
        instance
    }

    /// Like `new`, without running `harmy migrate`.
    pub fn unmigrated(extra: &str) -> Instance {
        let dir = tempfile::tempdir().expect("temp dir");
        // `harmy serve` binds the HTTP API: on a free port, unless the test sets `[http]` itself.
        let http = if extra.contains("[http]") { "" } else { "[http]\nlisten = \"127.0.0.1:0\"\n\n" };
        let discord = if extra.contains("[discord]") {
            ""
        } else {
            "[discord]\ntoken = \"test-token\"\ngateway_url = \"ws://127.0.0.1:9\"\napi_url = \"http://127.0.0.1:9\"\n\n"
        };
        let github = if extra.contains("[github]") { "" } else { "[github]\napi_url = \"http://127.0.0.1:9\"\n\n" };
        let metrics = if extra.contains("[metrics]") { "" } else { "[metrics]\nlisten = \"\"\n\n" };
        let config = format!(
            "[storage]\npath = \"{}\"\n\n[admin]\nsocket = \"{}\"\n\n{http}{discord}{github}{metrics}{}",
            dir.path().join("harmy.redb").display(),
            dir.path().join("admin.sock").display(),
            extra
        );
        std::fs::write(dir.path().join("config.toml"), config).expect("write config");
        Instance { dir }
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    pub fn db_path(&self) -> PathBuf {
        self.dir.path().join("harmy.redb")
    }

    pub fn socket_path(&self) -> PathBuf {
        self.dir.path().join("admin.sock")
    }

    /// A `harmy` command with this instance's config and a clean environment.
    pub fn command(&self, args: &[&str]) -> Command {
        self.command_of(Path::new(harmy_bin()), args)
    }

    /// Like [`Instance::command`], running the harmy binary at `program`.
    pub fn command_of(&self, program: &Path, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args).arg("--config").arg(self.config_path());
        for (name, _) in std::env::vars() {
            if name.starts_with("HARMY_") {
                cmd.env_remove(name);
            }
        }
        cmd.env("HARMY_LOG", "info,harmy=debug");
        cmd
    }

    /// Runs a CLI command to completion.
    pub fn cli(&self, args: &[&str]) -> Output {
        self.command(args).stdin(Stdio::null()).output().expect("run harmy")
    }

    /// Runs a CLI command with `input` on stdin.
    pub fn cli_with_stdin(&self, args: &[&str], input: &str) -> Output {
        use std::io::Write;
        let mut child =
            self.command(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    /// Starts `harmy serve` and waits until it says it has started.
    pub fn serve(&self) -> Server {
        Server::start(self.command(&["serve"]))
    }
}

/// Trims a command's stdout.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// A command's stderr.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).to_string()
}

/// A running `harmy serve`.
pub struct Server {
    pub child: Child,
    /// Every stderr line so far (the log).
    pub log: Arc<Mutex<Vec<String>>>,
    /// The HTTP address, when the started line names one (`http=IP:PORT`).
    pub http: Option<std::net::SocketAddr>,
    /// The metrics listener's address, when it has one of its own (`metrics=IP:PORT`).
    pub metrics: Option<std::net::SocketAddr>,
}

/// How long a server gets to start or stop.
pub const PATIENCE: Duration = Duration::from_secs(20);

impl Server {
    /// Spawns the command and waits for the `harmy serve started` log line.
    pub fn start(mut cmd: Command) -> Server {
        let mut child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn({
            let log = log.clone();
            move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if line.contains("harmy serve started") {
                        let _ = tx.send(line.clone());
                    }
                    log.lock().unwrap().push(line);
                }
            }
        });
        let started = match rx.recv_timeout(PATIENCE) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("harmy serve did not start; log:\n{}", log.lock().unwrap().join("\n"));
            }
        };
        let (http, metrics) = (started_field(&started, "http"), started_field(&started, "metrics"));
        Server { child, log, http, metrics }
    }

    /// The log so far, one string.
    pub fn log_text(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// Waits until a log line contains `needle`.
    pub fn wait_for_log(&self, needle: &str) {
        let deadline = Instant::now() + PATIENCE;
        while Instant::now() < deadline {
            if self.log.lock().unwrap().iter().any(|l| l.contains(needle)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no log line with {needle:?}; log:\n{}", self.log_text());
    }

    /// The server's resident memory now and at its peak, in KiB (see [`memory_kib`]).
    pub fn memory_kib(&self) -> Memory {
        memory_kib(self.child.id())
    }

    /// Sends a signal (e.g. "TERM", "KILL").
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill").arg(format!("-{name}")).arg(self.child.id().to_string()).status().unwrap();
        assert!(status.success());
    }

    /// SIGTERM, then the exit status.
    pub fn stop(mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        self.wait()
    }

    /// Waits for the process to exit (bounded).
    pub fn wait(&mut self) -> std::process::ExitStatus {
        match exited_within(&mut self.child, PATIENCE) {
            Some(status) => status,
            None => panic!("harmy serve did not exit; log:\n{}", self.log_text()),
        }
    }
}

/// The child's exit status once it exits within `patience`; `None` (and the
/// child killed and reaped) when it does not.
pub fn exited_within(child: &mut std::process::Child, patience: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + patience;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An address the `harmy serve started` line names as `name=IP:PORT`.
pub fn started_field(line: &str, name: &str) -> Option<std::net::SocketAddr> {
    let prefix = format!("{name}=");
    line.split_whitespace().find_map(|field| field.strip_prefix(&prefix)).and_then(|a| a.trim_matches('"').parse().ok())
}

/// Polls `check` until it returns Some, or panics after `PATIENCE`.
pub fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether a path exists (for sockets).
pub fn exists(path: &Path) -> bool {
    path.exists()
}

/// A process's resident memory, in KiB, from `/proc/PID/status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// `VmRSS`: resident now.
    pub rss: u64,
    /// `VmHWM`: the peak resident size so far.
    pub hwm: u64,
}

/// Reads a process's `VmRSS` and `VmHWM`; the memory budgets of the hardening
/// tests compare these before and after an attack.
pub fn memory_kib(pid: u32) -> Memory {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the process is alive");
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
    };
    Memory { rss: field("VmRSS:"), hwm: field("VmHWM:") }
}
