//! harmy: a self-hosted Discord presence API.
//!
//! # How data flows
//!
//! ```text
//!  Discord gateway ──► gateway/ ──► presence::Presences ──┐ (serialised views)
//!                                                        ├──► http/ (REST, /socket)
//!  bot/ · http/ · admin/ (CLI) ──► App (validate, store, ─┘
//!                                  re-render, mark ChangeFeed) ──► WebSocket hub
//! ```
//!
//! * [`app::App`] is the shared state, built once per process. Every write
//!   (from the bot, the REST API or the operator CLI) goes through one `App`
//!   method that validates it ([`kv`], [`token`], [`github`]), stores it in
//!   redb ([`store`], on the blocking pool; concurrent writes share one durable
//!   commit, `store::group`), re-renders the user's cached JSON and marks the
//!   [`changes::ChangeFeed`] so WebSocket subscribers and the HTTP body caches
//!   see it.
//! * Presences live in memory only ([`presence`]); KV pairs, token hashes and
//!   GitHub links live in the redb file ([`store`], one writer: `harmy serve`).
//! * The operator CLI ([`cli`]) sends its commands to the running server over
//!   the admin socket ([`admin`]) or, with no server, runs the same
//!   [`admin::execute`] on the database itself.
//! * `harmy serve --demo` ([`demo`]) runs the same parts against a simulated
//!   guild, fed to the gateway code by a local gateway speaking Discord's protocol.
//! * The status card ([`card`]) reads the same presences as the API and
//!   draws them as SVG, with images fetched from Discord's CDN on the one
//!   outbound HTTP stack ([`outbound`], shared with [`github`]).
//! * `http`, `gateway`, `bot`, `admin` and `cli` are adapters: none of them
//!   opens a redb table. The layout follows `STYLE.md`; the one addition is
//!   [`changes`], the coalescing change feed between writers and the socket hub.

pub mod admin;
pub mod app;
pub mod bot;
pub mod card;
pub mod changes;
pub mod cli;
pub mod config;
pub mod demo;
pub mod error;
#[doc(hidden)]
pub mod fuzz;
pub mod gateway;
pub mod github;
pub mod http;
pub mod ids;
pub mod kv;
pub mod outbound;
pub mod presence;
pub mod serve;
pub mod store;
pub mod token;

/// Installs rustls' crypto provider (ring) once; twilight and the GitHub client
/// panic without one.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
