//! harmy: a self-hosted Discord presence API.
//!
//! # How data flows
//!
//! ```text
//!  adapters                      core: app                                storage
//!  ────────                      ─────────                                ───────
//!  gateway/ ── presence events ─► presence ──┐
//!                                            ├─ mark ─► changes ─► http/socket (hub)
//!  bot/ · http/ · admin/ · cli/ ─► kv, github ─► writes ─► store (group commit)
//!         │                        tokens ────────────────► store
//!         │                                  │
//!         └── reads ◄── reads (bodies, ETags: presence + KV + GitHub) ◄─┘
//! ```
//!
//! * **Adapters** turn the outside world into calls on [`app::App`] and back:
//!   [`gateway`] (Discord's events), [`bot`] (commands), [`http`] (the REST API
//!   and Lanyard's `/socket`), [`admin`] (the admin socket) and [`cli`]. None
//!   of them keeps domain state or opens a table. [`demo`] (`harmy serve
//!   --demo`) feeds the gateway code a simulated guild through a local gateway
//!   speaking Discord's protocol; [`card`] draws the presences the API serves
//!   as an SVG status card, with images fetched from Discord's CDN.
//! * **Core**: [`app::App`] composes the domain services, each owning its
//!   state, its tables and its write path: [`app::presence`] (in memory, fed
//!   by the gateway), [`app::privacy`] (who is served and last seen, which the
//!   presence service asks), [`app::kv`], [`app::tokens`] and [`app::github`]
//!   (in the store). Every change of public state is marked in [`app::changes`]; the
//!   read path [`app::reads`] serves the bodies (and keeps them, once per
//!   change) and the WebSocket hub pushes them.
//! * **Storage**: [`store`], the redb file: schema, migrations, transactions
//!   with an explicit durability, and the group commit that lets concurrent
//!   writes share one fsync. One process writes it (`harmy serve`); the CLI
//!   goes through that process's admin socket, or opens the file itself when
//!   no server runs ([`admin::execute`] either way).
//! * Shared leaves: [`config`], [`ids`] (user ids and the one id mixer),
//!   [`sharded`] (the one sharded map), [`limit`] (the one rate-limit helper:
//!   windows, token buckets, bounded per-key state), [`outbound`] (the one outbound HTTP
//!   stack: GitHub, the card's images), [`error`].

pub(crate) mod admin;
pub mod app;
pub mod bot;
pub mod card;
pub mod cli;
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
