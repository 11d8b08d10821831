//! What the HTTP layer reads about the Discord gateway: whether it has a
//! session (for `/health`) and its counters (for `/metrics`). One small seam,
//! so the gateway's own types stay out of the routes.

use crate::app::{App, PresenceSource};

/// Whether the gateway currently has a session.
pub fn has_session(app: &App) -> bool {
    app.presences.gateway_up()
}

/// The gateway's state in `/health`: `down` without a session, else `up`, or
/// `demo` when the session is the simulated guild of `harmy serve --demo`.
pub fn state(app: &App) -> &'static str {
    match (has_session(app), app.presence_source()) {
        (false, _) => "down",
        (true, PresenceSource::Discord) => "up",
        (true, PresenceSource::Demo) => "demo",
    }
}

/// Gateway events received.
pub fn events(app: &App) -> Option<u64> {
    Some(app.presences.gateway_events())
}

/// Gateway reconnects.
pub fn reconnects(app: &App) -> Option<u64> {
    Some(app.presences.gateway_reconnects())
}
