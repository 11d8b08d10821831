//! `App`: the shared state, built once per process, and the one place writes go
//! through. Every write validates, stores (on the blocking pool), refreshes the
//! caches and marks the change feed, whichever adapter (HTTP, bot, admin
//! socket, CLI) it came from.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use bytes::Bytes;

use crate::changes::ChangeFeed;
use crate::config::Config;
use crate::error::{Error, Result};
use crate::github::{self, GithubError, Record};
use crate::ids::UserId;
use crate::kv::KvLimits;
use crate::presence::Presences;
use crate::store::Store;
use crate::store::group::{GroupCommit, Job};
use crate::token;

/// Token-shaped words of one message the leak guard verifies at most (after
/// dropping repeats and words whose selector no token has).
pub const LEAK_CHECKS: usize = 3;

/// What the leak guard found in a message.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Leaks {
    /// The owners of the valid tokens in it.
    pub owners: Vec<UserId>,
    /// Set when a token in it could not be checked because its selector is
    /// locked out: seconds until it can be.
    pub locked: Option<u64>,
}

/// A user's stored public state, serialised once per change: `KV` and `github`.
#[derive(Debug, Clone, PartialEq)]
pub struct Extras {
    /// The KV pairs as a JSON object.
    pub kv: Bytes,
    /// The linked GitHub profile as JSON, or `null`.
    pub github: Bytes,
}

/// Where the presences come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PresenceSource {
    /// Discord's gateway.
    Discord,
    /// The simulated guild of `harmy serve --demo` (`/health` says `"gateway":"demo"`).
    Demo,
}

/// The shared state of a harmy process.
pub struct App {
    config: Config,
    source: PresenceSource,
    limits: KvLimits,
    store: Arc<Store>,
    /// Live presences, filled by the gateway.
    pub presences: Presences,
    /// Changed users, drained by the WebSocket hub.
    pub changes: ChangeFeed,
    tokens: token::Verifier,
    /// The GitHub client, shared so that its rate-limit pause holds for every request.
    pub(crate) github: github::Client,
    /// Rendered extras; readers share the lock, and a write replaces its user's entry
    /// under the write lock after its commit (see `write`), so the newest render wins.
    extras: Arc<RwLock<HashMap<UserId, Arc<Extras>>>>,
    /// Writes, run one at a time in groups sharing a durable commit; the cached
    /// extras are rendered inside, so they always follow the last commit.
    group: Arc<GroupCommit>,
    /// KV writes that succeeded, from any adapter (`harmy_kv_writes_total`).
    kv_writes: AtomicU64,
}

impl App {
    /// An `App` over a migrated database in a new temporary directory (for unit tests).
    #[cfg(test)]
    pub(crate) fn temporary(mut config: Config) -> (tempfile::TempDir, Arc<App>) {
        let (dir, store) = Store::temporary();
        config.storage.path = store.path().to_path_buf();
        (dir, App::new(config, store))
    }

    /// Builds the state over an open store.
    pub fn new(config: Config, store: Store) -> Arc<App> {
        App::with_source(config, store, PresenceSource::Discord)
    }

    /// Builds the state over an open store, for presences from `source`.
    pub fn with_source(config: Config, store: Store, source: PresenceSource) -> Arc<App> {
        let github = github::Client::new(&config.github);
        Arc::new(App {
            source,
            limits: config.kv.into(),
            config,
            store: Arc::new(store),
            presences: Presences::default(),
            changes: ChangeFeed::default(),
            tokens: token::Verifier::default(),
            github,
            extras: Arc::default(),
            group: Arc::default(),
            kv_writes: AtomicU64::new(0),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the presences come from.
    pub fn presence_source(&self) -> PresenceSource {
        self.source
    }

    /// The KV limits in force.
    pub fn kv_limits(&self) -> KvLimits {
        self.limits
    }

    /// Whether the database answers (for `/health`).
    pub async fn store_ok(&self) -> bool {
        self.blocking(|store| store.kv_get(UserId(1), "_")).await.is_ok()
    }

    /// Runs a store call on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T, crate::store::StoreError> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| Error::Internal(format!("store task: {e}")))?
            .map_err(Error::from)
    }

    /// Runs a write on the blocking pool in a group commit (`store::group`): the
    /// write commits, the user's extras are re-rendered from the committed state
    /// and replace the cached render while the group still runs one write at a
    /// time (so two writes of one user can never leave the older render in the
    /// cache), and once the group's durable commit is done the change is marked
    /// and the caller answered. (Should that fsync fail, the caller hears an
    /// error while readers may already see the write, which the next group's
    /// commit can still make durable: the ambiguity every database has there.)
    async fn write<T: Send + 'static>(
        &self,
        user: UserId,
        f: impl FnOnce(&Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (store, group, cache) = (self.store.clone(), self.group.clone(), self.extras.clone());
        let (sender, outcome) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |store: &Store| {
            let done = f(store).and_then(|value| {
                let extras = load_extras(store, user)?;
                let previous = cache.write().unwrap_or_else(|e| e.into_inner()).insert(user, Arc::new(extras.clone()));
                Ok((value, previous.is_none_or(|p| *p != extras)))
            });
            Box::new(move |persisted| {
                let _ = sender.send(persisted.map_err(Error::from).and(done));
            })
        });
        tokio::task::spawn_blocking(move || group.run(&store, job))
            .await
            .map_err(|e| Error::Internal(format!("store task: {e}")))?;
        let (value, changed) = outcome.await.map_err(|_| Error::Internal("a store write was lost".into()))??;
        // Subscribers hear of what they can see: a write that leaves the rendered
        // state as it was (the same value again, a new GitHub ETag over the same
        // profile) pushes nothing.
        if changed {
            self.changes.mark(user);
        }
        Ok(value)
    }

    /// A user's serialised extras if they are cached (read since start, or written).
    pub fn cached_extras(&self, user: UserId) -> Option<Arc<Extras>> {
        self.extras.read().unwrap_or_else(|e| e.into_inner()).get(&user).cloned()
    }

    /// A user's extras for a one-off read (an INIT_STATE): the cached render, else
    /// read from the store and not cached, so that reading many users nobody else
    /// reads leaves nothing behind. Blocking (a store read): call it on the blocking pool.
    pub fn extras_unkept(&self, user: UserId) -> Result<Arc<Extras>> {
        if let Some(extras) = self.cached_extras(user) {
            return Ok(extras);
        }
        static NONE: std::sync::LazyLock<Arc<Extras>> = std::sync::LazyLock::new(|| {
            Arc::new(Extras { kv: Bytes::from_static(b"{}"), github: Bytes::from_static(b"null") })
        });
        let loaded = load_extras(&self.store, user)?;
        // Most users have neither: they share one render instead of a small allocation each.
        Ok(if loaded == **NONE { NONE.clone() } else { Arc::new(loaded) })
    }

    /// A user's KV and GitHub profile, serialised.
    pub async fn extras(&self, user: UserId) -> Result<Arc<Extras>> {
        if let Some(extras) = self.cached_extras(user) {
            return Ok(extras);
        }
        let store = self.store.clone();
        let loaded = tokio::task::spawn_blocking(move || load_extras(&store, user))
            .await
            .map_err(|e| Error::Internal(format!("store task: {e}")))??;
        let loaded = Arc::new(loaded);
        // A write that committed meanwhile has inserted its own, newer render: keep it.
        let mut cache = self.extras.write().unwrap_or_else(|e| e.into_inner());
        Ok(cache.entry(user).or_insert(loaded).clone())
    }

    /// Sets one KV pair.
    pub async fn kv_set(&self, user: UserId, key: String, value: String) -> Result<()> {
        self.kv_set_many(user, vec![(key, value)]).await
    }

    /// Sets several pairs at once: all of them, or (on any broken limit) none.
    pub async fn kv_set_many(&self, user: UserId, pairs: Vec<(String, String)>) -> Result<()> {
        for (key, value) in &pairs {
            self.limits.check_pair(key, value)?;
        }
        let limits = self.limits;
        self.write(user, move |store| Ok(store.kv_set(user, &pairs, &limits)??)).await?;
        self.kv_writes.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// KV writes (sets, merges and deletes) that succeeded since start.
    pub fn kv_writes(&self) -> u64 {
        self.kv_writes.load(Ordering::Relaxed)
    }

    /// One value.
    pub async fn kv_get(&self, user: UserId, key: String) -> Result<String> {
        self.limits.check_key(&key)?;
        let found = self.blocking({
            let key = key.clone();
            move |store| store.kv_get(user, &key)
        });
        found.await?.ok_or(Error::KvKeyNotFound(key))
    }

    /// Every pair of a user.
    pub async fn kv_all(&self, user: UserId) -> Result<BTreeMap<String, String>> {
        Ok(self.blocking(move |store| store.kv_all(user)).await?.into_iter().collect())
    }

    /// Deletes a key; true when it existed.
    pub async fn kv_del(&self, user: UserId, key: String) -> Result<bool> {
        self.limits.check_key(&key)?;
        let existed = self.write(user, move |store| Ok(store.kv_del(user, &key)?)).await?;
        self.kv_writes.fetch_add(1, Ordering::Relaxed);
        Ok(existed)
    }

    /// Issues a new token for a user; the old one stops verifying at once, and
    /// no verification of it already in flight can succeed.
    pub async fn token_rotate(&self, user: UserId) -> Result<String> {
        let issued = self.tokens.issue().await.ok_or_else(|| Error::Internal("no token could be issued".into()))?;
        let (selector, phc) = (issued.selector.clone(), issued.phc.clone());
        self.blocking(move |store| store.token_set(user, &selector, &phc)).await?;
        self.tokens.changed(user);
        Ok(issued.token)
    }

    /// Removes a user's token; true when there was one. No verification of it
    /// already in flight can succeed.
    pub async fn token_revoke(&self, user: UserId) -> Result<bool> {
        let existed = self.blocking(move |store| store.token_remove(user)).await?;
        self.tokens.changed(user);
        Ok(existed)
    }

    /// The user a token belongs to: `Unauthorized`, or `TokenLocked` while its
    /// selector is locked out (a remembered token is never locked out).
    /// Concurrent calls with one token share one verification.
    pub async fn authenticate(&self, token: &str) -> Result<UserId> {
        loop {
            if let Some(user) = self.tokens.remembered(token) {
                return Ok(user);
            }
            let Some((selector, _)) = token::parse(token) else { return Err(Error::Unauthorized) };
            match self.tokens.join(token) {
                token::Flight::Lead(leader) => {
                    let outcome = self.verify(token, selector).await;
                    leader.land(*outcome.as_ref().unwrap_or(&token::Outcome::Unavailable));
                    return outcome.and_then(checked);
                }
                token::Flight::Follow(mut landed) => {
                    if let Ok(outcome) = landed.wait_for(Option::is_some).await {
                        return checked(outcome.unwrap_or(token::Outcome::Unavailable));
                    }
                }
            }
        }
    }

    /// Reads a token's row and verifies it.
    async fn verify(&self, token: &str, selector: &str) -> Result<token::Outcome> {
        // Before the store read: a rotation from here on makes this verification fail.
        let attempt = self.tokens.attempt();
        let Some((user, phc)) = self.token_row(selector).await? else { return Ok(token::Outcome::Invalid) };
        Ok(self.tokens.verify(attempt, token, user, phc).await)
    }

    /// The owner and stored hash of a selector.
    async fn token_row(&self, selector: &str) -> Result<Option<(UserId, String)>> {
        let selector = selector.to_string();
        self.blocking(move |store| store.token_by_selector(&selector)).await
    }

    /// The valid tokens in a message (the bot's leak guard). Repeats, and words
    /// whose selector no token has, are skipped without argon2; of the others,
    /// at most [`LEAK_CHECKS`] are verified.
    pub async fn leaked_tokens(&self, text: &str) -> Result<Leaks> {
        let mut leaks = Leaks::default();
        let mut seen: Vec<&str> = Vec::new();
        let mut verified = 0;
        for candidate in token::find_in_text(text) {
            if verified == LEAK_CHECKS {
                break;
            }
            if seen.contains(&candidate) {
                continue;
            }
            seen.push(candidate);
            let known = match token::parse(candidate) {
                Some((selector, _)) => {
                    self.tokens.remembered(candidate).is_some() || self.token_row(selector).await?.is_some()
                }
                None => false,
            };
            if !known {
                continue;
            }
            let found = self.authenticate(candidate).await;
            verified += 1;
            match found {
                Ok(owner) if !leaks.owners.contains(&owner) => leaks.owners.push(owner),
                Ok(_) | Err(Error::Unauthorized) => {}
                Err(Error::TokenLocked { retry_after }) => leaks.locked = Some(retry_after),
                Err(e) => return Err(e),
            }
        }
        Ok(leaks)
    }

    /// Stores a GitHub link, with its first profile record when one was fetched
    /// (`link_github`, in `github/link.rs`, fetches it and is what adapters call).
    pub async fn github_link(&self, user: UserId, login: String, record: Option<Record>) -> Result<()> {
        github::check_login(&login)?;
        let record = record.map(|r| serde_json::to_string(&r)).transpose().map_err(internal)?;
        self.write(user, move |store| Ok(store.github_link(user, &login, record.as_deref())?)).await
    }

    /// Stores a refreshed profile; false when the user was unlinked meanwhile.
    pub async fn github_store_profile(&self, user: UserId, login: String, record: Record) -> Result<bool> {
        let record = serde_json::to_string(&record).map_err(internal)?;
        self.write(user, move |store| Ok(store.github_set_profile(user, &login, &record)?)).await
    }

    /// Removes a GitHub link; `NotLinked` when there was none.
    pub async fn github_unlink(&self, user: UserId) -> Result<()> {
        let existed = self.write(user, move |store| Ok(store.github_unlink(user)?)).await?;
        if existed { Ok(()) } else { Err(GithubError::NotLinked.into()) }
    }

    /// The linked login and its stored record.
    pub async fn github_get(&self, user: UserId) -> Result<Option<(String, Option<Record>)>> {
        let found = self.blocking(move |store| store.github_get(user)).await?;
        Ok(found.map(|(login, record)| (login, record.and_then(|r| serde_json::from_str(&r).ok()))))
    }

    /// Every GitHub link.
    pub async fn github_links(&self) -> Result<Vec<(UserId, String)>> {
        self.blocking(|store| store.github_links()).await
    }
}

/// A verification's outcome as the crate's result.
fn checked(outcome: token::Outcome) -> Result<UserId> {
    match outcome {
        token::Outcome::Valid(user) => Ok(user),
        token::Outcome::Invalid => Err(Error::Unauthorized),
        token::Outcome::Locked { retry_after } => Err(Error::TokenLocked { retry_after }),
        token::Outcome::Unavailable => Err(Error::Internal("a token could not be verified".into())),
    }
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Internal(e.to_string())
}

/// Reads and serialises a user's extras from the store.
fn load_extras(store: &Store, user: UserId) -> Result<Extras> {
    let kv: serde_json::Map<String, serde_json::Value> =
        store.kv_all(user)?.into_iter().map(|(k, v)| (k, serde_json::Value::String(v))).collect();
    let github = match store.github_get(user)? {
        Some((_, Some(record))) => {
            let record: Record = serde_json::from_str(&record).map_err(internal)?;
            serde_json::to_vec(&record.profile).map_err(internal)?
        }
        _ => b"null".to_vec(),
    };
    Ok(Extras { kv: serde_json::to_vec(&kv).map_err(internal)?.into(), github: github.into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_rotated_token_stops_verifying_at_once() {
        let (_dir, app) = App::temporary(Config::default());
        let user = UserId(42);
        let old = app.token_rotate(user).await.unwrap();
        assert_eq!(app.authenticate(&old).await.unwrap(), user);
        assert_eq!(app.authenticate(&old).await.unwrap(), user, "served from the cache");
        let new = app.token_rotate(user).await.unwrap();
        assert!(matches!(app.authenticate(&old).await, Err(Error::Unauthorized)));
        assert_eq!(app.authenticate(&new).await.unwrap(), user);
        app.token_revoke(user).await.unwrap();
        assert!(matches!(app.authenticate(&new).await, Err(Error::Unauthorized)));
    }

    #[tokio::test]
    async fn wrong_and_malformed_tokens_are_unauthorized() {
        let (_dir, app) = App::temporary(Config::default());
        let token = app.token_rotate(UserId(1)).await.unwrap();
        let (selector, _) = token::parse(&token).unwrap();
        let wrong_secret = format!("harmy_{selector}_{}", "0".repeat(32));
        for bad in ["", "nonsense", wrong_secret.as_str(), "harmy_0000000000000000_00000000000000000000000000000000"] {
            assert!(matches!(app.authenticate(bad).await, Err(Error::Unauthorized)), "{bad:?}");
        }
    }

    #[tokio::test]
    async fn a_verification_in_flight_during_a_rotation_is_neither_successful_nor_remembered() {
        let (_dir, app) = App::temporary(Config::default());
        let user = UserId(42);
        let old = app.token_rotate(user).await.unwrap();
        // The old token's verification has read the old hash and argon2 said yes...
        app.tokens.gate.arm();
        let verifying = tokio::spawn({
            let (app, old) = (app.clone(), old.clone());
            async move { app.authenticate(&old).await }
        });
        app.tokens.gate.reached().await;
        // ...when the token is rotated.
        let new = app.token_rotate(user).await.unwrap();
        app.tokens.gate.release();
        assert!(matches!(verifying.await.unwrap(), Err(Error::Unauthorized)));
        assert_eq!(app.tokens.remembered(&old), None);
        assert!(matches!(app.authenticate(&old).await, Err(Error::Unauthorized)));
        assert_eq!(app.authenticate(&new).await.unwrap(), user);
    }

    #[tokio::test]
    async fn a_verification_in_flight_during_a_revocation_is_neither_successful_nor_remembered() {
        let (_dir, app) = App::temporary(Config::default());
        let user = UserId(43);
        let token = app.token_rotate(user).await.unwrap();
        app.tokens.gate.arm();
        let verifying = tokio::spawn({
            let (app, token) = (app.clone(), token.clone());
            async move { app.authenticate(&token).await }
        });
        app.tokens.gate.reached().await;
        assert!(app.token_revoke(user).await.unwrap());
        app.tokens.gate.release();
        assert!(matches!(verifying.await.unwrap(), Err(Error::Unauthorized)));
        assert_eq!(app.tokens.remembered(&token), None);
        assert!(matches!(app.authenticate(&token).await, Err(Error::Unauthorized)));
    }

    #[tokio::test]
    async fn a_locked_out_selector_is_429_material_but_its_remembered_token_still_works() {
        let (_dir, app) = App::temporary(Config::default());
        let user = UserId(44);
        let token = app.token_rotate(user).await.unwrap();
        assert_eq!(app.authenticate(&token).await.unwrap(), user);
        let (selector, _) = token::parse(&token).unwrap();
        for n in 0..token::MAX_FAILURES {
            let wrong = format!("harmy_{selector}_{n:032x}");
            assert!(matches!(app.authenticate(&wrong).await, Err(Error::Unauthorized)));
        }
        let wrong = format!("harmy_{selector}_{:032x}", 99);
        let Err(Error::TokenLocked { retry_after }) = app.authenticate(&wrong).await else { panic!("not locked") };
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        assert_eq!(app.authenticate(&token).await.unwrap(), user, "remembered");
        // Unknown selectors are refused without counting or locking anything.
        let unknown = format!("harmy_{}_{:032x}", "f".repeat(16), 1);
        for _ in 0..20 {
            assert!(matches!(app.authenticate(&unknown).await, Err(Error::Unauthorized)));
        }
    }

    #[tokio::test]
    async fn concurrent_verifications_of_one_new_token_share_one_run() {
        let (_dir, app) = App::temporary(Config::default());
        let token = app.token_rotate(UserId(45)).await.unwrap();
        // Sixty requests of a website with its new token: one argon2 run, one
        // attempt for the lockout, so none of them is refused.
        let all = futures_util::future::join_all((0..60).map(|_| app.authenticate(&token))).await;
        assert!(all.iter().all(|r| matches!(r, Ok(UserId(45)))), "{all:?}");
    }

    #[tokio::test]
    async fn the_leak_guard_verifies_at_most_three_known_tokens_per_message() {
        let (_dir, app) = App::temporary(Config::default());
        let token = app.token_rotate(UserId(1)).await.unwrap();
        let other = app.token_rotate(UserId(2)).await.unwrap();
        let leaks = app.leaked_tokens(&format!("oops {token} oops {token} and {other}")).await.unwrap();
        assert_eq!(leaks, Leaks { owners: vec![UserId(1), UserId(2)], locked: None });
        assert_eq!(app.leaked_tokens("nothing here").await.unwrap(), Leaks::default());

        // 36 wrong secrets on a real selector: three verifications, no lockout reached.
        let (selector, _) = token::parse(&other).unwrap();
        let wrong: Vec<String> = (0..36).map(|n| format!("harmy_{selector}_{n:032x}")).collect();
        let unknown = format!("harmy_{}_{:032x}", "e".repeat(16), 7);
        let text = format!("{unknown} {unknown} {} {token}", wrong.join(" "));
        assert_eq!(app.leaked_tokens(&text).await.unwrap(), Leaks::default(), "the real token came too late");
        for n in 0..7 {
            let wrong = format!("harmy_{selector}_{:032x}", 100 + n);
            assert!(matches!(app.authenticate(&wrong).await, Err(Error::Unauthorized)), "attempt {n} of 10");
        }
        assert!(matches!(app.authenticate(&wrong[0]).await, Err(Error::TokenLocked { .. })));

        // Repeats and unknown selectors do not count; a locked selector is reported.
        let text = format!("{unknown} {unknown} {} {} {token}", wrong[0], wrong[0]);
        let leaks = app.leaked_tokens(&text).await.unwrap();
        assert_eq!(leaks.owners, vec![UserId(1)]);
        assert!(leaks.locked.is_some());
    }

    #[tokio::test]
    async fn a_refused_patch_changes_nothing() {
        let mut config = Config::default();
        config.kv.max_keys = 2;
        let (_dir, app) = App::temporary(config);
        let user = UserId(3);
        app.kv_set(user, "a".into(), "1".into()).await.unwrap();
        let too_long = "x".repeat(10_001);
        let err = app.kv_set_many(user, vec![("a".into(), "2".into()), ("b".into(), too_long)]).await.unwrap_err();
        assert!(matches!(err, Error::Kv(crate::kv::KvError::ValueTooLong { .. })));
        let err = app
            .kv_set_many(user, vec![("a".into(), "2".into()), ("b".into(), "".into()), ("c".into(), "".into())])
            .await
            .unwrap_err();
        assert!(matches!(err, Error::Kv(crate::kv::KvError::TooManyKeys { max: 2 })));
        assert_eq!(app.kv_all(user).await.unwrap(), BTreeMap::from([("a".to_string(), "1".to_string())]));
    }

    #[tokio::test]
    async fn extras_unkept_reads_the_store_without_caching() {
        let (_dir, app) = App::temporary(Config::default());
        let user = UserId(8);
        app.kv_set(user, "k".into(), "v".into()).await.unwrap();
        app.extras.write().unwrap().clear();
        let read = app.extras_unkept(user).unwrap();
        assert_eq!(&read.kv[..], br#"{"k":"v"}"#);
        assert!(app.cached_extras(user).is_none(), "not cached");
        let none = app.extras_unkept(UserId(9)).unwrap();
        assert!(Arc::ptr_eq(&none, &app.extras_unkept(UserId(10)).unwrap()), "users with neither share one");
        let cached = app.extras(user).await.unwrap();
        assert!(Arc::ptr_eq(&cached, &app.extras_unkept(user).unwrap()), "a cached render is reused");
    }

    #[tokio::test]
    async fn extras_follow_every_write_and_mark_the_change() {
        let (_dir, app) = App::temporary(Config::default());
        let user = UserId(8);
        let empty = app.extras(user).await.unwrap();
        assert_eq!((&empty.kv[..], &empty.github[..]), (&b"{}"[..], &b"null"[..]));
        app.kv_set(user, "k".into(), "v \"quoted\"".into()).await.unwrap();
        assert_eq!(&app.extras(user).await.unwrap().kv[..], br#"{"k":"v \"quoted\""}"#);
        assert_eq!(app.changes.next_batch().await, vec![user]);
        // Setting the same value again changes nothing anyone can see: no mark.
        app.kv_set(user, "k".into(), "v \"quoted\"".into()).await.unwrap();
        app.kv_set(user, "k2".into(), "x".into()).await.unwrap();
        assert_eq!(app.changes.next_batch().await, vec![user]);
        app.kv_del(user, "k2".into()).await.unwrap();
        assert_eq!(app.changes.next_batch().await, vec![user]);
        app.kv_set(user, "k".into(), "v \"quoted\"".into()).await.unwrap();
        app.kv_set(UserId(9), "other".into(), "1".into()).await.unwrap();
        assert_eq!(app.changes.next_batch().await, vec![UserId(9)], "the unchanged write was not marked");
        let record = Record {
            profile: github::Profile {
                id: 1,
                username: "octocat".into(),
                avatar_url: "a".into(),
                url: "u".into(),
                company: None,
                blog: None,
                bio: Some("hi".into()),
                public_repos: 2,
            },
            etag: Some("\"e\"".into()),
            fetched_at: 0,
        };
        app.github_link(user, "octocat".into(), Some(record.clone())).await.unwrap();
        let github: github::Profile = serde_json::from_slice(&app.extras(user).await.unwrap().github).unwrap();
        assert_eq!(github, record.profile);
        app.github_unlink(user).await.unwrap();
        assert_eq!(&app.extras(user).await.unwrap().github[..], b"null");
        assert!(matches!(app.github_unlink(user).await, Err(Error::Github(GithubError::NotLinked))));
    }
}
