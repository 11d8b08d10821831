//! The Discord gateway's health as the rest of harmy sees it: whether it has a
//! session (`/health`, `harmy_gateway_up`) and its counters (`/metrics`). The
//! gateway writes it, the HTTP API reads it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Where the presences come from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PresenceSource {
    /// Discord's gateway.
    #[default]
    Discord,
    /// The simulated guild of `harmy serve --demo` (`/health` says `"gateway":"demo"`).
    Demo,
}

/// Whether the gateway has a session, and what it has received.
#[derive(Debug, Default)]
pub struct GatewayHealth {
    source: PresenceSource,
    up: AtomicBool,
    events: AtomicU64,
    reconnects: AtomicU64,
}

impl GatewayHealth {
    /// The health of a gateway fed by `source`.
    pub fn new(source: PresenceSource) -> GatewayHealth {
        GatewayHealth { source, ..GatewayHealth::default() }
    }

    /// Where the presences come from.
    pub fn source(&self) -> PresenceSource {
        self.source
    }

    /// The gateway's state in `/health`: `down` without a session, else `up`,
    /// or `demo` when the session is the simulated guild of `harmy serve --demo`.
    pub fn state(&self) -> &'static str {
        match (self.up(), self.source) {
            (false, _) => "down",
            (true, PresenceSource::Discord) => "up",
            (true, PresenceSource::Demo) => "demo",
        }
    }

    /// Whether the gateway has a session.
    pub fn up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Records whether the gateway has a session; a session lost counts as a
    /// reconnect. Called for every gateway frame: a read when nothing changes.
    pub fn set_up(&self, up: bool) {
        if self.up.load(Ordering::Relaxed) != up && self.up.swap(up, Ordering::Relaxed) && !up {
            self.reconnects.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a dispatch received.
    pub fn note_event(&self) {
        self.events.fetch_add(1, Ordering::Relaxed);
    }

    /// Dispatches received since start.
    pub fn events(&self) -> u64 {
        self.events.load(Ordering::Relaxed)
    }

    /// Sessions lost since start, each followed by a reconnect.
    pub fn reconnects(&self) -> u64 {
        self.reconnects.load(Ordering::Relaxed)
    }
}
