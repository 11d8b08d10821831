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
    /// What it is started with beyond JetStream, address, port and store.
    args: Vec<String>,
    /// `nats` or `tls`.
    scheme: &'static str,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl NatsServer {
    /// A nats-server with JetStream on.
    pub fn start() -> NatsServer {
        NatsServer::launched(Vec::new(), "nats", None)
    }

    /// A nats-server with JetStream on that accepts only clients giving `token`.
    pub fn start_with_token(token: &str) -> NatsServer {
        NatsServer::launched(vec!["--auth".into(), token.into()], "nats", None)
    }

    /// A nats-server with JetStream on, speaking only TLS with `tls`'s server
    /// certificate and accepting only clients with a certificate of its authority.
    pub fn start_with_tls(tls: &Tls) -> NatsServer {
        let file = |name: &str| tls.dir.path().join(name).display().to_string();
        let args = ["--tls", "--tlscert", &file("server.pem"), "--tlskey", &file("server.key")]
            .into_iter()
            .chain(["--tlsverify", "--tlscacert", &file("ca.pem")])
            .map(String::from)
            .collect();
        NatsServer::launched(args, "tls", None)
    }

    /// A nats-server with JetStream on in operator mode, trusting `accounts`'s
    /// operator and knowing its account: clients need a credentials file.
    pub fn start_with_accounts(accounts: &Accounts) -> NatsServer {
        NatsServer::launched(Vec::new(), "nats", Some(accounts.server_config()))
    }

    fn launched(mut args: Vec<String>, scheme: &'static str, config: Option<String>) -> NatsServer {
        let dir = tempfile::tempdir().expect("temp dir");
        if let Some(config) = config {
            let path = dir.path().join("nats.conf");
            std::fs::write(&path, config).unwrap();
            args.extend(["-c".into(), path.display().to_string()]);
        }
        let mut server = NatsServer { child: None, port: free_port(), dir, args, scheme };
        server.launch();
        server
    }

    /// `nats://127.0.0.1:PORT` (`tls://` for TLS)
    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.port)
    }

    fn launch(&mut self) {
        let mut cmd = Command::new("nats-server");
        cmd.args(["-js", "-a", "127.0.0.1", "-p", &self.port.to_string()]).arg("-sd").arg(self.dir.path());
        cmd.args(&self.args);
        let log = self.dir.path().join("nats-server.log");
        let log_file = std::fs::File::create(&log).unwrap();
        let child = match cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log_file).spawn() {
            Ok(child) => child,
            Err(e) => panic!("nats-server could not be started ({e}): install Debian's nats-server package"),
        };
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            let said = || std::fs::read_to_string(&log).unwrap_or_default();
            assert!(Instant::now() < deadline, "nats-server did not listen on {}: {}", self.port, said());
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

/// A private certificate authority and what it signed, as PEM files in a
/// temporary directory: `ca.pem`; `server.pem`/`server.key` for 127.0.0.1;
/// `client.pem`/`client.key`.
pub struct Tls {
    pub dir: tempfile::TempDir,
}

impl Tls {
    pub fn new() -> Tls {
        use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
        let dir = tempfile::tempdir().expect("temp dir");
        let write = |name: &str, text: String| std::fs::write(dir.path().join(name), text).unwrap();
        let mut ca = CertificateParams::new(Vec::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().unwrap();
        write("ca.pem", ca.self_signed(&ca_key).unwrap().pem());
        let issuer = Issuer::new(ca, ca_key);
        for (name, subject) in [("server", "127.0.0.1"), ("client", "harmy")] {
            let key = KeyPair::generate().unwrap();
            let cert = CertificateParams::new(vec![subject.to_string()]).unwrap().signed_by(&key, &issuer).unwrap();
            write(&format!("{name}.pem"), cert.pem());
            write(&format!("{name}.key"), key.serialize_pem());
        }
        Tls { dir }
    }

    /// The path of one of its files.
    pub fn file(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

/// NATS's decentralised authorization: an operator, one account with
/// JetStream, and credentials files (a user JWT signed by the account, and
/// the user's seed) as `nsc` writes them.
pub struct Accounts {
    operator: nkeys::KeyPair,
    account: nkeys::KeyPair,
    pub dir: tempfile::TempDir,
}

impl Accounts {
    pub fn new() -> Accounts {
        Accounts {
            operator: nkeys::KeyPair::new_operator(),
            account: nkeys::KeyPair::new_account(),
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn server_config(&self) -> String {
        let operator =
            jwt(&self.operator, &self.operator.public_key(), serde_json::json!({"type": "operator", "version": 2}));
        let account = jwt(
            &self.operator,
            &self.account.public_key(),
            serde_json::json!({
                "type": "account",
                "version": 2,
                "limits": {
                    "subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1, "wildcards": true,
                    "conn": -1, "leaf": -1, "mem_storage": -1, "disk_storage": -1, "streams": -1, "consumer": -1
                },
                "default_permissions": {"pub": {}, "sub": {}}
            }),
        );
        // JetStream needs a system account.
        let system = nkeys::KeyPair::new_account().public_key();
        let system_jwt = jwt(&self.operator, &system, serde_json::json!({"type": "account", "version": 2}));
        format!(
            "operator: \"{operator}\"\nsystem_account: {system}\nresolver: MEMORY\n\
             resolver_preload: {{\n  {}: \"{account}\"\n  {system}: \"{system_jwt}\"\n}}\n",
            self.account.public_key()
        )
    }

    /// A credentials file for a new user of the account, signed by the account
    /// itself, or by an account the server does not know (`trusted` false).
    pub fn credentials(&self, name: &str, trusted: bool) -> String {
        let stranger = nkeys::KeyPair::new_account();
        let issuer = if trusted { &self.account } else { &stranger };
        let user = nkeys::KeyPair::new_user();
        let claims = serde_json::json!({"type": "user", "version": 2, "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1});
        let text = format!(
            "-----BEGIN NATS USER JWT-----\n{}\n------END NATS USER JWT------\n\n\
             ************************* IMPORTANT *************************\n\
             NKEY Seed printed below can be used to sign and prove identity.\n\n\
             -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n",
            jwt(issuer, &user.public_key(), claims),
            user.seed().unwrap()
        );
        let path = self.dir.path().join(format!("{name}.creds"));
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }
}

/// A NATS JWT: `issuer` signs that `subject` has the `nats` claims.
fn jwt(issuer: &nkeys::KeyPair, subject: &str, nats: serde_json::Value) -> String {
    use base64::Engine;
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let claims = serde_json::json!({
        "jti": b64(subject.as_bytes()),
        "iat": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
        "iss": issuer.public_key(),
        "name": subject,
        "sub": subject,
        "nats": nats,
    });
    let signed = format!("{}.{}", b64(br#"{"typ":"JWT","alg":"ed25519-nkey"}"#), b64(claims.to_string().as_bytes()));
    let signature = issuer.sign(signed.as_bytes()).unwrap();
    format!("{signed}.{}", b64(&signature))
}
