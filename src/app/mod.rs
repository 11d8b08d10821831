//! `App`: harmy's core, built once per process and shared by every adapter
//! (HTTP, gateway, bot, admin socket, CLI). It holds no logic of its own: it
//! composes the domain services, each of which owns its state, its tables and
//! its write path.
//!
//! * [`presence`]: every monitored user's presence, in memory (the gateway
//!   writes it).
//! * [`kv`], [`tokens`], [`github`]: the per-user data kept in the store, each
//!   touching only its own tables (its `data.rs`).
//! * [`reads`]: the read path, every cache between that state and the bodies
//!   the API serves.
//! * [`writes`]: the write path of the stored public state (KV, GitHub): group
//!   commit, stored state refreshed, change marked.
//! * [`lanyard`]: a Lanyard instance's KV, keys and last seen brought in.
//! * [`privacy`]: who is served (`.show` / `.hide`) and last seen; the
//!   presence service asks it through its `Ledger`.
//! * `forget` and the export ([`App::forget`], [`App::export`]) ask every
//!   service for its part: in one transaction, each deleting its own rows.
//! * [`changes`]: who changed, for the WebSocket hub and the caches.
//! * [`health`]: the gateway's health, for `/health` and `/metrics`.

pub(crate) mod changes;
pub mod github;
pub(crate) mod health;
pub mod kv;
pub mod lanyard;
pub mod presence;
pub mod privacy;
pub mod reads;
pub mod tokens;
pub(crate) mod writes;

use std::collections::BTreeMap;
use std::sync::Arc;

use redb::WriteTransaction;

use self::changes::ChangeFeed;
use self::github::Github;
use self::health::GatewayHealth;
pub use self::health::PresenceSource;
use self::kv::Kv;
use self::presence::Presences;
use self::privacy::export::Export;
use self::privacy::{Forgotten, Privacy};
use self::reads::{Reads, Stored};
use self::tokens::Tokens;
use self::writes::Writes;
use crate::config::Config;
use crate::error::Result;
use crate::ids::UserId;
use crate::store::{self, Store};

/// The shared state of a harmy process: its services.
pub struct App {
    config: Config,
    store: Arc<Store>,
    /// Who changed.
    pub changes: Arc<ChangeFeed>,
    /// Live presences, filled by the gateway.
    pub presences: Arc<Presences>,
    /// The bodies readers are served.
    pub reads: Arc<Reads>,
    /// KV pairs.
    pub kv: Kv,
    /// API tokens.
    pub tokens: Tokens,
    /// GitHub links; shared with its refresher.
    pub github: Arc<Github>,
    /// Privacy choices and last-seen times.
    pub privacy: Privacy,
    /// The gateway's session and counters.
    pub gateway: GatewayHealth,
    /// This process's part in a cluster (`crate::cluster`).
    pub cluster: crate::cluster::Node,
    /// The write path of the stored public state (for writes that span services: an import).
    writes: Arc<Writes>,
}

impl App {
    /// Builds the services over an open store (reading which users have KV
    /// pairs or a GitHub link, so that reading the others needs no store read).
    pub fn new(config: Config, store: Store) -> Result<Arc<App>> {
        App::with_source(config, store, PresenceSource::Discord)
    }

    /// Builds the services over an open store, for presences from `source`.
    pub fn with_source(config: Config, store: Store, source: PresenceSource) -> Result<Arc<App>> {
        let store = Arc::new(store);
        let changes = Arc::new(ChangeFeed::default());
        let ledger = Arc::new(privacy::load(&config, &store));
        let presences = Arc::new(Presences::with_privacy(changes.clone(), ledger.clone()));
        let stored = store.read(|txn| {
            let mut users = kv::data::users(txn)?;
            users.extend(github::data::users(txn)?);
            Ok(users)
        })?;
        let load = Box::new(|txn: &_, user| {
            Ok(Stored { kv: kv::data::rendered(txn, user)?, github: github::data::rendered(txn, user)? })
        });
        let reads = Arc::new(Reads::new(presences.clone(), changes.clone(), store.clone(), load, stored));
        let writes = Arc::new(Writes::new(store.clone(), reads.clone(), changes.clone()));
        Ok(Arc::new(App {
            kv: Kv::new(config.kv.into(), store.clone(), writes.clone()),
            tokens: Tokens::new(store.clone()),
            github: Arc::new(Github::new(&config.github, store.clone(), writes.clone())),
            privacy: Privacy::new(store.clone(), ledger, presences.clone(), writes.clone(), changes.clone()),
            gateway: GatewayHealth::new(source),
            cluster: crate::cluster::Node::new(&config.cluster),
            writes,
            config,
            store,
            changes,
            presences,
            reads,
        }))
    }

    /// A read replica's services: over an empty in-memory database (a replica
    /// stores nothing), filled from what the primary publishes, every user it
    /// holds served (the primary publishes only those it serves).
    pub fn replica(mut config: Config) -> Result<Arc<App>> {
        config.privacy.mode = crate::config::PrivacyMode::Public;
        let store = Store::in_memory().map_err(crate::error::Error::Store)?;
        App::with_source(config, store, PresenceSource::Discord)
    }

    /// An `App` over a migrated database in a new temporary directory (for unit tests).
    #[cfg(test)]
    pub(crate) fn temporary(mut config: Config) -> (tempfile::TempDir, Arc<App>) {
        let (dir, store) = Store::temporary();
        config.storage.path = store.path().to_path_buf();
        (dir, App::new(config, store).expect("a new database"))
    }

    /// The configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Whether the database answers (for `/health`).
    pub async fn store_ok(&self) -> bool {
        store::blocking(&self.store, |store| store.ping()).await.is_ok()
    }

    /// Deletes everything stored about a user (KV, token, GitHub link and profile,
    /// last seen) in one transaction, each service its own rows, and leaves them
    /// hidden, whatever the mode.
    pub async fn forget(&self, user: UserId) -> Result<Forgotten> {
        let others = move |txn: &WriteTransaction| {
            Ok(Forgotten {
                kv_pairs: Kv::forget_in(txn, user)?,
                token: Tokens::forget_in(txn, user)?,
                github: Github::forget_in(txn, user)?,
                last_seen: false,
            })
        };
        let forgotten = self.privacy.forget(user, others).await?;
        self.tokens.forgotten(user);
        Ok(forgotten)
    }

    /// Everything stored about a user, as one JSON document (never a token hash).
    pub async fn export(&self, user: UserId) -> Result<String> {
        let visibility = self.privacy.visibility();
        let export = Export {
            user,
            mode: visibility.mode(),
            choice: visibility.choice(user),
            served: visibility.served(user),
            kv: self.kv.all(user).await?.into_iter().collect::<BTreeMap<_, _>>(),
            has_token: self.tokens.issued(user).await?,
            github: self.github.get(user).await?,
            last_seen: self.privacy.last_seen_of(user).await?,
        };
        Ok(export.to_json())
    }

    /// Times the storage failed under a write while serving (for `/metrics`).
    pub fn storage_faults(&self) -> u64 {
        self.store.faults()
    }
}
