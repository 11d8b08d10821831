//! Service routes (docs/API.md): `/`, `/health` and `/metrics`.

use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderValue};

use super::Api;
use super::metrics::Outside;
use super::response::{self, Reply};

/// `GET /`
pub fn root(api: &Api) -> Reply {
    let body = format!(
        r#"{{"name":"harmy","version":"{}","monitored_users":{}}}"#,
        env!("CARGO_PKG_VERSION"),
        api.app.presences.monitored_count()
    );
    response::json(StatusCode::OK, body)
}

/// `GET /health`: 200 when the database answers and the gateway has a session
/// (`"gateway":"up"`, or `"demo"` under `harmy serve --demo`).
pub async fn health(api: &Api) -> Reply {
    let database = api.app.store_ok().await;
    let gateway = api.app.gateway.up();
    let word = |up: bool| if up { "up" } else { "down" };
    let body = serde_json::json!({
        "status": if database && gateway { "ok" } else { "unavailable" },
        "database": word(database),
        "gateway": api.app.gateway.state(),
    });
    let status = if database && gateway { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    response::json(status, body.to_string())
}

/// `GET /metrics`: Prometheus text.
pub fn metrics(api: &Api) -> Reply {
    let text = api.metrics.render(&Outside {
        monitored_users: api.app.presences.monitored_count(),
        gateway_up: api.app.gateway.up(),
        gateway_events: api.app.gateway.events(),
        gateway_reconnects: api.app.gateway.reconnects(),
        http_connections: api.metrics.connections(),
        kv_writes: api.app.kv.writes(),
        last_seen_recorded: api.app.privacy.last_seen().recorded(),
        last_seen_commits: api.app.privacy.last_seen().commits(),
        websocket_pushes: api.hub.pushes(),
        storage_faults: api.app.storage_faults(),
    });
    let mut reply = response::json(StatusCode::OK, text);
    reply.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    reply
}
