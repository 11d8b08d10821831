//! harmy: a self-hosted Discord presence API.
//!
//! # How data flows
//!
//! ```text
//!  adapters                      core: app                                storage
//!  ────────                      ─────────                                ───────
//!  gateway/ ── presence events ─► presence ──┐   (privacy: who is served, last seen)
//!                                            ├─ mark ─► changes ─► http/socket (hub)
//!  bot/ · http/ · admin/ · cli/ ─► kv, github ─► writes ─► store (group commit)
//!         │                        tokens, privacy, lanyard ────► store
//!         │                                  │
//!         └──────────── reads (bodies, ETags: presence + KV + GitHub) ◄─┘
//! ```
//!
//! # The folders
//!
//! * **Adapters** turn the outside world into calls on [`app::App`] and back;
//!   none keeps domain state or opens a table. [`gateway`]: Discord's events.
//!   [`bot`]: message and slash commands. [`http`]: the REST API, the page,
//!   the status card's routes and Lanyard's `/socket` (its socket hub and
//!   sessions in `http::socket`); the card's image cache and rendered cards
//!   live in `card::images` and `card::rendered`, held by the HTTP layer.
//!   [`admin`]: the admin socket. [`cli`]: one file per subcommand group.
//!   `serve`: starts every part of `harmy serve` around one `App` and stops
//!   them together. [`demo`]: `harmy serve --demo`'s simulated guild, fed to
//!   the gateway code through a local gateway speaking Discord's protocol.
//!   [`card`]: the status card drawn as SVG.
//! * **Core**, [`app`]: `App` composes the domain services, each owning its
//!   state, its tables (its `data.rs`) and its write path. [`app::presence`]:
//!   presences in memory, fed by the gateway. [`app::privacy`]: who is
//!   served and when each user was last seen (in memory and in the store);
//!   the presence service asks it. [`app::kv`], [`app::tokens`],
//!   [`app::github`]: per-user data in the store. [`app::lanyard`]: a Lanyard
//!   instance's data brought in. `app::writes`: the group commit of stored
//!   public state. `app::changes`: who changed, for the hub and the caches.
//!   [`app::reads`]: the read path, `Reads::get`, and every cache between the
//!   state and the bodies served.
//! * **Storage**, [`store`]: the redb file: schema, migrations, transactions
//!   with an explicit durability, and the group commit that lets concurrent
//!   writes share one fsync. One process writes it (`harmy serve`); the CLI
//!   goes through that process's admin socket, or opens the file itself when
//!   no server runs (`admin::execute` either way).
//! * **Shared leaves**: [`config`]; [`ids`] (user ids and the one id mixer);
//!   `sharded` (the one sharded map); [`limit`] (the one rate-limit helper:
//!   windows, token buckets, bounded per-key state); `query` (query strings
//!   decoded for every route); `etag` (strong ETags); `outbound` (the one
//!   outbound HTTP stack: GitHub, the card's images); [`error`]; [`fuzz`]
//!   (the fuzz targets' entry points, replayed by the tests).

pub(crate) mod admin;
pub mod app;
pub mod bot;
pub mod card;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod demo;
pub mod error;
pub(crate) mod etag;
#[doc(hidden)]
pub mod fuzz;
pub mod gateway;
pub mod http;
pub mod ids;
pub mod limit;
pub mod memory;
pub(crate) mod outbound;
pub(crate) mod query;
pub(crate) mod serve;
pub(crate) mod sharded;
pub mod store;

/// Installs rustls' crypto provider (ring) once; twilight and the GitHub client
/// panic without one.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
