//! KV requests a replica relays to the primary by NATS request-reply: the
//! client's method, path, `Authorization`, `Content-Type` and body go to the
//! primary, which answers them with its own KV routes (its token check, its
//! lockout, its per-member write rate, its durable write), and the answer
//! comes back to be sent unchanged.
//!
//! A request carries the client's token, which must not be readable in NATS
//! (docs/SECURITY.md, "Replicas"): both ways are sealed with NATS's own xkeys
//! (curve25519 boxes, the `nkeys` crate). The primary makes a key pair at
//! start and names its public key in every beat; a replica makes one too and
//! sends its public key beside each sealed request. A sealed request older
//! than [`MAX_AGE_MS`] is refused, so a recorded one cannot be replayed later.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::StreamExt;
use nkeys::XKey;
use serde::{Deserialize, Serialize};

use super::{Names, RELAY_TIMEOUT};

/// The header naming the sender's public xkey.
const SENDER: &str = "Harmy-Sender";
/// A relayed request older than this is refused (a replay).
const MAX_AGE_MS: u64 = 30_000;
/// The header of the primary's answer to a request beyond [`MAX_ANSWERING`].
const BUSY: &str = "Harmy-Busy";
/// Relayed requests the primary answers at once; more are answered "busy" (the
/// replica's client gets 503 `primary_unavailable` with `Retry-After`) rather
/// than held: every replica's clients together cannot make the primary hold
/// more than this many requests, bodies and tasks.
pub const MAX_ANSWERING: usize = 64;

/// The primary's beat: who holds the name, and the key to seal requests to.
#[derive(Debug, Serialize, Deserialize)]
pub struct Beat {
    /// The primary, as the lease names it.
    pub holder: String,
    /// Its public xkey.
    pub key: String,
}

/// A client's request as relayed.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Request {
    /// The HTTP method.
    pub method: String,
    /// The path and query.
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    /// The body (at most the API's body limit).
    pub body: Vec<u8>,
    /// When the replica sent it (ms since the epoch).
    pub at: u64,
}

/// The primary's answer.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Answer {
    pub status: u16,
    pub content_type: Option<String>,
    pub retry_after: Option<String>,
    pub body: Vec<u8>,
    /// The highest revision of the users bucket once the write is published (a
    /// write's reader on the replica waits for it); 0 for a read.
    pub revision: u64,
}

/// Why a relayed request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum Unanswered {
    #[error("no primary has been heard yet")]
    NoPrimary,
    #[error("the primary did not answer within {0:?}")]
    TimedOut(Duration),
    #[error("the primary is answering as many relayed requests as it takes")]
    Busy,
    #[error("the request could not be relayed: {0}")]
    Failed(String),
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn seal<T: Serialize>(value: &T, from: &XKey, to: &XKey) -> Option<Vec<u8>> {
    from.seal(&serde_json::to_vec(value).ok()?, to).ok()
}

fn open<T: for<'de> Deserialize<'de>>(sealed: &[u8], to: &XKey, from: &XKey) -> Option<T> {
    serde_json::from_slice(&to.open(sealed, from).ok()?).ok()
}

/// A replica's end of the relay.
pub struct Client {
    nats: async_nats::Client,
    subject: String,
    key: XKey,
    /// The primary's public key, from its last beat.
    primary: Mutex<Option<XKey>>,
}

impl Client {
    /// The relay over `nats` for the cluster `names` names.
    pub fn new(nats: async_nats::Client, names: &Names) -> Client {
        Client { nats, subject: names.relay.clone(), key: XKey::new(), primary: Mutex::new(None) }
    }

    /// Takes the primary's key from a beat.
    pub fn primary_is(&self, beat: &[u8]) {
        let Some(beat) = serde_json::from_slice::<Beat>(beat).ok() else { return };
        let Ok(key) = XKey::from_public_key(&beat.key) else { return };
        let mut primary = self.primary.lock().unwrap_or_else(|e| e.into_inner());
        if primary.as_ref().is_none_or(|k| k.public_key() != beat.key) {
            *primary = Some(key);
        }
    }

    /// Relays `request`; the primary's answer within [`RELAY_TIMEOUT`].
    pub async fn send(&self, mut request: Request) -> Result<Answer, Unanswered> {
        let primary = {
            let primary = self.primary.lock().unwrap_or_else(|e| e.into_inner());
            let key = primary.as_ref().ok_or(Unanswered::NoPrimary)?;
            XKey::from_public_key(&key.public_key()).map_err(|e| Unanswered::Failed(e.to_string()))?
        };
        request.at = now_ms();
        let sealed = seal(&request, &self.key, &primary).ok_or_else(|| Unanswered::Failed("sealing".into()))?;
        let mut headers = async_nats::HeaderMap::new();
        headers.insert(SENDER, self.key.public_key().as_str());
        let asked = self.nats.request_with_headers(self.subject.clone(), headers, sealed.into());
        let reply = match tokio::time::timeout(RELAY_TIMEOUT, asked).await {
            Err(_) => return Err(Unanswered::TimedOut(RELAY_TIMEOUT)),
            Ok(Err(e)) => return Err(Unanswered::Failed(e.to_string())),
            Ok(Ok(reply)) => reply,
        };
        if reply.headers.as_ref().is_some_and(|h| h.get(BUSY).is_some()) {
            return Err(Unanswered::Busy);
        }
        open(&reply.payload, &self.key, &primary)
            .ok_or_else(|| Unanswered::Failed("the answer is not sealed to us".into()))
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("relay::Client").field("subject", &self.subject).finish()
    }
}

/// The primary's end: its key pair, and the beat that names it.
pub struct Primary {
    key: XKey,
}

impl Default for Primary {
    fn default() -> Self {
        Primary { key: XKey::new() }
    }
}

impl Primary {
    /// The beat naming `holder` and this key.
    pub fn beat(&self, holder: &str) -> Vec<u8> {
        serde_json::to_vec(&Beat { holder: holder.into(), key: self.key.public_key() }).unwrap_or_default()
    }

    /// Answers relayed requests until `stop`, each with `answer` (the primary's
    /// KV routes), on its own task, [`MAX_ANSWERING`] at most at once.
    pub async fn serve<F, Fut>(
        self: Arc<Self>,
        nats: async_nats::Client,
        names: Names,
        answer: F,
        stop: tokio_util::sync::CancellationToken,
    ) -> anyhow::Result<()>
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Answer> + Send + 'static,
    {
        let answer = Arc::new(answer);
        let answering = Arc::new(tokio::sync::Semaphore::new(MAX_ANSWERING));
        let mut requests = nats.subscribe(names.relay.clone()).await?;
        loop {
            let message = tokio::select! {
                _ = stop.cancelled() => return Ok(()),
                message = requests.next() => match message {
                    Some(message) => message,
                    None => return Ok(()),
                },
            };
            let Some(reply_to) = message.reply.clone() else { continue };
            let Ok(permit) = answering.clone().try_acquire_owned() else {
                tracing::debug!("cluster: a relayed request was answered busy ({MAX_ANSWERING} being answered)");
                let mut headers = async_nats::HeaderMap::new();
                headers.insert(BUSY, "1");
                let _ = nats.publish_with_headers(reply_to, headers, Bytes::new()).await;
                continue;
            };
            let (this, nats, answer) = (self.clone(), nats.clone(), answer.clone());
            tokio::spawn(async move {
                let _permit = permit;
                let sender = message.headers.as_ref().and_then(|h| h.get(SENDER)).map(|v| v.as_str().to_string());
                let Some(sender) = sender.and_then(|s| XKey::from_public_key(&s).ok()) else { return };
                let Some(request) = open::<Request>(&message.payload, &this.key, &sender) else {
                    tracing::debug!("cluster: a relayed request not sealed to this primary was dropped");
                    return;
                };
                if now_ms().saturating_sub(request.at) > MAX_AGE_MS {
                    tracing::warn!(
                        "cluster: a relayed request older than {} s was refused (a replay?)",
                        MAX_AGE_MS / 1000
                    );
                    return;
                }
                let reply = answer(request).await;
                if let Some(sealed) = seal(&reply, &this.key, &sender) {
                    let _ = nats.publish(reply_to, Bytes::from(sealed)).await;
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_recipient_opens_a_sealed_request() {
        let (replica, primary, stranger) = (XKey::new(), XKey::new(), XKey::new());
        let request = Request {
            method: "PUT".into(),
            path: "/user/@me/kv/x".into(),
            authorization: Some("harmy_abc_secret".into()),
            content_type: None,
            body: b"value".to_vec(),
            at: 1,
        };
        let sealed = seal(&request, &replica, &primary).unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("harmy_abc"), "the token is not in the clear");
        let public = XKey::from_public_key(&replica.public_key()).unwrap();
        assert_eq!(open::<Request>(&sealed, &primary, &public), Some(request));
        assert_eq!(open::<Request>(&sealed, &stranger, &public), None);
    }
}
