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
/// (`"gateway":"up"`, or `"demo"` under `harmy serve --demo`); on a replica,
/// once it holds the whole state, whether or not its primary is up.
pub async fn health(api: &Api) -> Reply {
    let word = |up: bool| if up { "up" } else { "down" };
    let cluster = &api.app.cluster;
    let (ok, body) = if cluster.is_replica() {
        let synced = cluster.synced();
        let body = serde_json::json!({
            "status": if synced { "ok" } else { "unavailable" },
            "role": cluster.role(),
            "state": if synced { "synced" } else { "syncing" },
            "primary": word(cluster.primary_up()),
            "nats": word(cluster.connected()),
        });
        (synced, body)
    } else {
        let database = api.app.store_ok().await;
        let gateway = api.app.gateway.up();
        let mut body = serde_json::json!({
            "status": if database && gateway { "ok" } else { "unavailable" },
            "role": cluster.role(),
            "database": word(database),
            "gateway": api.app.gateway.state(),
        });
        if cluster.enabled() {
            body["nats"] = word(cluster.connected()).into();
        }
        (database && gateway, body)
    };
    let status = if ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
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
        cluster: api.app.cluster.enabled().then(|| {
            let (seconds, changes) = api.app.cluster.lag();
            (api.app.cluster.connected(), seconds, changes)
        }),
    });
    let mut reply = response::json(StatusCode::OK, text);
    reply.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"));
    reply
}
