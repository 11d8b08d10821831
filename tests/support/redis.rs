//! A real `redis-server` (Debian's package) for the tests of `harmy migrate
//! --from-lanyard`: started on a free loopback port in a temporary directory,
//! nothing saved, ready once it answers PING; filled with Lanyard's layouts
//! through the redis crate. A machine without redis-server fails these tests
//! (`.ci/run` installs it).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running redis-server, stopped when dropped.
pub struct RedisServer {
    child: Child,
    pub port: u16,
    /// The password `requirepass` asks for, if any.
    password: Option<String>,
    /// Whether it speaks TLS only (with the certificate of `redis-tls/`).
    tls: bool,
    _dir: tempfile::TempDir,
}

/// The test CA (in `tests/support/redis-tls/`, for tests only: its key is not kept)
/// that signed the TLS redis-server's certificate for localhost and 127.0.0.1.
pub fn tls_ca() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/redis-tls/ca.crt")
}

impl RedisServer {
    /// A redis-server with no password.
    pub fn start() -> RedisServer {
        RedisServer::start_with(None)
    }

    /// A redis-server that asks for `password` (as user `default`), when given.
    pub fn start_with(password: Option<&str>) -> RedisServer {
        RedisServer::launch(password, false)
    }

    /// A redis-server speaking TLS only, asking for `password`.
    pub fn start_tls(password: &str) -> RedisServer {
        RedisServer::launch(Some(password), true)
    }

    fn launch(password: Option<&str>, tls: bool) -> RedisServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut cmd = Command::new("redis-server");
        if tls {
            let certs = tls_ca().parent().unwrap().to_path_buf();
            cmd.args(["--port", "0", "--tls-port", &port.to_string(), "--tls-auth-clients", "no"])
                .arg("--tls-cert-file")
                .arg(certs.join("redis.crt"))
                .arg("--tls-key-file")
                .arg(certs.join("redis.key"));
        } else {
            cmd.args(["--port", &port.to_string()]);
        }
        cmd.args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]).arg("--dir").arg(dir.path());
        if let Some(password) = password {
            cmd.args(["--requirepass", password]);
        }
        let child = match cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn() {
            Ok(child) => child,
            Err(e) => panic!("redis-server could not be started ({e}): install Debian's redis-server package"),
        };
        let mut server = RedisServer { child, port, password: password.map(String::from), tls, _dir: dir };
        server.wait_until_ready();
        server
    }

    /// `redis://` (or `rediss://` to localhost) URL of the server, with its password if it has one.
    pub fn url(&self) -> String {
        let (scheme, host) = if self.tls { ("rediss", "localhost") } else { ("redis", "127.0.0.1") };
        match &self.password {
            Some(password) => format!("{scheme}://default:{password}@{host}:{}/0", self.port),
            None => format!("{scheme}://{host}:{}/0", self.port),
        }
    }

    /// A client trusting the test CA when the server speaks TLS.
    fn client(&self) -> redis::RedisResult<redis::Client> {
        if !self.tls {
            return redis::Client::open(self.url());
        }
        let root_cert = Some(std::fs::read(tls_ca()).expect("the test CA"));
        redis::Client::build_with_tls(self.url(), redis::TlsCertificates { client_tls: None, root_cert })
    }

    /// A connection to fill it.
    pub fn conn(&self) -> redis::Connection {
        self.client().unwrap().get_connection().expect("a connection to the test redis")
    }

    /// Polls PING until it answers PONG (or the process died, or 20 s passed).
    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let pong = self
                .client()
                .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(1)))
                .and_then(|mut conn| redis::cmd("PING").query::<String>(&mut conn));
            if pong.as_deref() == Ok("PONG") {
                return;
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("redis-server exited at start: {status}");
            }
            assert!(Instant::now() < deadline, "redis-server did not answer PING: {pong:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs a pipeline of commands built by `fill`.
    pub fn fill(&self, fill: impl FnOnce(&mut redis::Pipeline)) {
        let mut pipe = redis::pipe();
        fill(&mut pipe);
        pipe.query::<()>(&mut self.conn()).expect("filling the test redis");
    }

    /// Every key and its type: what an import must leave as it found it.
    pub fn snapshot(&self) -> Vec<(Vec<u8>, String, u64)> {
        let mut conn = self.conn();
        let mut keys: Vec<Vec<u8>> = redis::cmd("KEYS").arg("*").query(&mut conn).unwrap();
        keys.sort();
        keys.into_iter()
            .map(|key| {
                let kind: String = redis::cmd("TYPE").arg(&key).query(&mut conn).unwrap();
                let digest: Option<Vec<u8>> = redis::cmd("DUMP").arg(&key).query(&mut conn).unwrap();
                let hash =
                    digest.unwrap_or_default().iter().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(*b as u64));
                (key, kind, hash)
            })
            .collect()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `lanyard_kv:<id>`: the older layout, values as stored.
pub fn kv(pipe: &mut redis::Pipeline, user: &str, pairs: &[(&str, &str)]) {
    for (key, value) in pairs {
        pipe.hset(format!("lanyard_kv:{user}"), *key, *value).ignore();
    }
}

/// `lanyard:user_kv:<id>`: the newer layout, values JSON-encoded as given.
pub fn json_kv(pipe: &mut redis::Pipeline, user: &str, pairs: &[(&str, &str)]) {
    for (key, value) in pairs {
        pipe.hset(format!("lanyard:user_kv:{user}"), *key, *value).ignore();
    }
}

/// `user_api_key:<id>` and its reverse index `api_key:<key>`, as Lanyard's `.apikey` writes them.
pub fn api_key(pipe: &mut redis::Pipeline, user: &str, key: &str) {
    pipe.set(format!("user_api_key:{user}"), key).ignore();
    pipe.set(format!("api_key:{key}"), user).ignore();
}

/// `lanyard:user_last_seen:<id>`: Unix milliseconds.
pub fn last_seen(pipe: &mut redis::Pipeline, user: &str, at: u64) {
    pipe.set(format!("lanyard:user_last_seen:{user}"), at.to_string()).ignore();
}
