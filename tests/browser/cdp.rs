//! A small Chrome DevTools Protocol client for the browser test: it launches
//! headless Chromium (Debian's `chromium`; `$CHROMIUM` overrides the path) with
//! every background service off and a fresh profile, attaches to one page over
//! the DevTools WebSocket (tokio-websockets, harmy's own codec: no browser
//! automation crate, nothing downloaded), sends commands and keeps every event.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{mpsc, oneshot};
use tokio_websockets::Message;

/// Flags that keep Chromium from reaching Google's hosts (this machine's network
/// is closed) and from needing a display or a sandbox.
const FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--metrics-recording-only",
    "--mute-audio",
    "--remote-debugging-port=0",
];

/// How long one command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);

/// A running Chromium; killed when dropped.
pub struct Chromium {
    child: Child,
    _profile: tempfile::TempDir,
    /// The browser's DevTools WebSocket URL.
    pub devtools: String,
}

impl Chromium {
    /// Starts Chromium and waits for its DevTools address. Panics, saying what to
    /// install, when there is no Chromium: the browser step must not pass without one.
    pub fn launch() -> Chromium {
        let binary = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
        let profile = tempfile::tempdir().expect("a profile directory");
        let mut child = Command::new(&binary)
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary} ({e}): install it with `apt-get install -y chromium`"));
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(url) = line.split_whitespace().find(|w| w.starts_with("ws://")) {
                    let _ = tx.send(url.to_string());
                }
            }
        });
        let devtools = rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("{binary} printed no DevTools address within 60 s")
        });
        Chromium { child, _profile: profile, devtools }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Value>>>>;

/// One page of the browser, driven over CDP.
pub struct Page {
    outbox: mpsc::UnboundedSender<String>,
    pending: Pending,
    events: Arc<Mutex<Vec<Value>>>,
    next_id: AtomicU64,
    session: String,
}

impl Page {
    /// Connects to the browser and opens a blank page with the domains the test
    /// watches (console, log, network, dialogs) turned on.
    pub async fn open(browser: &Chromium) -> Page {
        let uri = http::Uri::try_from(browser.devtools.as_str()).expect("a DevTools URI");
        let (ws, _) = tokio_websockets::ClientBuilder::from_uri(uri).connect().await.expect("DevTools connect");
        let (mut sink, mut stream) = ws.split();
        let (outbox, mut outgoing) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            while let Some(text) = outgoing.recv().await {
                if sink.send(Message::text(text)).await.is_err() {
                    return;
                }
            }
        });
        let pending: Pending = Arc::default();
        let events: Arc<Mutex<Vec<Value>>> = Arc::default();
        tokio::spawn({
            let (pending, events) = (pending.clone(), events.clone());
            async move {
                while let Some(Ok(message)) = stream.next().await {
                    let Some(text) = message.as_text() else { continue };
                    let Ok(value) = serde_json::from_str::<Value>(text) else { continue };
                    match value.get("id").and_then(Value::as_u64) {
                        Some(id) => {
                            if let Some(reply) = pending.lock().unwrap().remove(&id) {
                                let _ = reply.send(value);
                            }
                        }
                        None => events.lock().unwrap().push(value),
                    }
                }
            }
        });
        let mut page = Page { outbox, pending, events, next_id: AtomicU64::new(1), session: String::new() };
        let target = page.browser_call("Target.createTarget", json!({"url": "about:blank"})).await;
        let attached =
            page.browser_call("Target.attachToTarget", json!({"targetId": target["targetId"], "flatten": true})).await;
        page.session = attached["sessionId"].as_str().expect("a session id").to_string();
        for domain in ["Page.enable", "Runtime.enable", "Log.enable", "Network.enable"] {
            page.call(domain, json!({})).await;
        }
        page
    }

    async fn send(&self, method: &str, params: Value, session: Option<&str>) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut message = json!({"id": id, "method": method, "params": params});
        if let Some(session) = session {
            message["sessionId"] = json!(session);
        }
        let (tx, rx) = oneshot::channel();
        self.pending.lock().unwrap().insert(id, tx);
        self.outbox.send(message.to_string()).expect("the DevTools connection is open");
        let reply = tokio::time::timeout(COMMAND_TIMEOUT, rx)
            .await
            .unwrap_or_else(|_| panic!("{method}: no answer within {COMMAND_TIMEOUT:?}"))
            .expect("an answer");
        if let Some(error) = reply.get("error") {
            panic!("{method} failed: {error}");
        }
        reply["result"].clone()
    }

    /// A command to the browser itself.
    pub async fn browser_call(&self, method: &str, params: Value) -> Value {
        self.send(method, params, None).await
    }

    /// A command to this page.
    pub async fn call(&self, method: &str, params: Value) -> Value {
        self.send(method, params, Some(&self.session)).await
    }

    /// Every event so far of this method (e.g. `Network.requestWillBeSent`).
    pub fn events(&self, method: &str) -> Vec<Value> {
        self.events.lock().unwrap().iter().filter(|e| e["method"] == method).map(|e| e["params"].clone()).collect()
    }

    /// Evaluates a JavaScript expression in the page (promises awaited): its value, or
    /// what it threw.
    async fn try_eval(&self, expression: &str) -> Result<Value, Value> {
        let result = self
            .call("Runtime.evaluate", json!({"expression": expression, "returnByValue": true, "awaitPromise": true}))
            .await;
        match result.get("exceptionDetails") {
            Some(exception) => Err(exception.clone()),
            None => Ok(result["result"]["value"].clone()),
        }
    }

    /// Evaluates a JavaScript expression in the page (promises awaited) and returns its value.
    pub async fn eval(&self, expression: &str) -> Value {
        self.try_eval(expression).await.unwrap_or_else(|e| panic!("evaluating {expression:?} threw: {e}"))
    }

    /// Polls `expression` until it is truthy (an exception counts as not yet); returns
    /// its value and when it became so.
    pub async fn wait_for(&self, what: &str, expression: &str, patience: Duration) -> (Value, Instant) {
        let deadline = Instant::now() + patience;
        loop {
            let value = self.try_eval(expression).await;
            let truthy = value.as_ref().is_ok_and(|v| {
                !matches!(v, Value::Null | Value::Bool(false)) && v.as_str() != Some("") && v.as_f64() != Some(0.0)
            });
            if truthy {
                return (value.unwrap_or_default(), Instant::now());
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {patience:?} waiting for {what} ({expression}); last: {value:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Navigates and waits for the new document's load event.
    pub async fn navigate(&self, url: &str) {
        let loads = self.events("Page.loadEventFired").len();
        self.call("Page.navigate", json!({"url": url})).await;
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.events("Page.loadEventFired").len() == loads {
            assert!(Instant::now() < deadline, "{url} did not load within 30 s");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Sets the viewport's width (CSS pixels; a phone's metrics under 600 px).
    pub async fn set_width(&self, width: u32, height: u32) {
        let mobile = width < 600;
        self.call(
            "Emulation.setDeviceMetricsOverride",
            json!({"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}),
        )
        .await;
    }

    /// A PNG of the whole page at `width` CSS pixels.
    pub async fn screenshot(&self, width: u32) -> Vec<u8> {
        self.set_width(width, 800).await;
        let height = self.eval("document.documentElement.scrollHeight").await.as_u64().unwrap_or(800);
        self.set_width(width, height.clamp(400, 4000) as u32).await;
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"})).await;
        base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().expect("image data")).expect("base64")
    }

    /// A PNG of what the viewport shows now.
    pub async fn screenshot_viewport(&self) -> Vec<u8> {
        let shot = self.call("Page.captureScreenshot", json!({"format": "png"})).await;
        base64::engine::general_purpose::STANDARD.decode(shot["data"].as_str().expect("image data")).expect("base64")
    }

    /// Types text into the focused element, as a keyboard would.
    pub async fn type_text(&self, text: &str) {
        self.call("Input.insertText", json!({"text": text})).await;
    }

    /// Presses a key (`Enter`, `Tab`) on the focused element.
    pub async fn press(&self, key: &str, code: u32) {
        let text = if key == "Enter" { "\r" } else { "" };
        for kind in ["keyDown", "keyUp"] {
            let mut event = json!({"type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code});
            if kind == "keyDown" && !text.is_empty() {
                event["text"] = json!(text);
            }
            self.call("Input.dispatchKeyEvent", event).await;
        }
    }
}
