//! A real `nats-server` (Debian's package) with JetStream for the cluster's
//! tests: on a free loopback port, its store in a temporary directory, ready
//! once its monitoring endpoint answers. It can be stopped and started again
//! on the same port and store (JetStream keeps every bucket). A machine
//! without nats-server fails these tests (`.ci/run` installs it).

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A nats-server, stopped when dropped.
pub struct NatsServer {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
    /// The token clients must give (`--auth`), if any.
    token: Option<String>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl NatsServer {
    /// A nats-server with JetStream on.
    pub fn start() -> NatsServer {
        NatsServer::launched(None)
    }

    /// A nats-server with JetStream on that accepts only clients giving `token`.
    pub fn start_with_token(token: &str) -> NatsServer {
        NatsServer::launched(Some(token.to_string()))
    }

    fn launched(token: Option<String>) -> NatsServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut server = NatsServer { child: None, port: free_port(), dir, token };
        server.launch();
        server
    }

    /// `nats://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn launch(&mut self) {
        let mut cmd = Command::new("nats-server");
        cmd.args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string()]).arg("-sd").arg(self.dir.path());
        if let Some(token) = &self.token {
            cmd.args(["--auth", token]);
        }
        let child = match cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn() {
            Ok(child) => child,
            Err(e) => panic!("nats-server could not be started ({e}): install Debian's nats-server package"),
        };
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "nats-server did not listen on {}", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops it (SIGTERM, waited for).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and store.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
