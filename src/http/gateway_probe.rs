//! What the HTTP layer reads about the Discord gateway: whether it has a
//! session (for `/health`) and its counters (for `/metrics`). One small seam,
//! so the gateway's own types stay out of the routes.

use crate::app::App;

/// Whether the gateway currently has a session.
pub fn has_session(app: &App) -> bool {
    app.presences.gateway_up()
}

/// Gateway events received.
pub fn events(app: &App) -> Option<u64> {
    Some(app.presences.gateway_events())
}

/// Gateway reconnects.
pub fn reconnects(app: &App) -> Option<u64> {
    Some(app.presences.gateway_reconnects())
}
