//! What the HTTP layer reads about the Discord gateway: whether it has a
//! session (for `/health`) and its counters (for `/metrics`). One small seam,
//! so the gateway's own types stay out of the routes.

use crate::app::App;

/// Whether the gateway currently has a session.
// Placeholder until the gateway lands its session flag: no gateway runs yet, so none.
pub fn has_session(_app: &App) -> bool {
    false
}

/// Gateway events received, if the gateway counts them.
pub fn events(_app: &App) -> Option<u64> {
    None
}

/// Gateway reconnects, if the gateway counts them.
pub fn reconnects(_app: &App) -> Option<u64> {
    None
}
