//! The KV routes in a cluster: a replica forwards them to the primary
//! (`crate::cluster::relay`), which answers them with its own routes.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use http::request::Parts;
use http::{Method, StatusCode};
use hyper::body::Incoming;

use super::Api;
use super::error::ApiError;
use super::kv::read_body;
use super::response::{self, Reply};
use crate::cluster::relay::{Answer, Request};

/// Seconds a client is told to wait when the primary cannot be reached.
const PRIMARY_RETRY_AFTER: u64 = 5;

/// A replica's KV route: the request relayed to the primary, its answer sent
/// unchanged. After a write, the answer waits (within the relay's time) until
/// this replica has applied it, so the client reads its own write here.
pub async fn forward(api: &Api, parts: &Parts, body: Incoming) -> Result<Reply, ApiError> {
    let body = read_body(api, &parts.headers, body).await?;
    let header = |name| parts.headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::to_string);
    let request = Request {
        method: parts.method.to_string(),
        path: parts.uri.path().to_string(),
        authorization: header(AUTHORIZATION),
        content_type: header(CONTENT_TYPE),
        body: body.to_vec(),
        at: 0,
    };
    let node = &api.app.cluster;
    let answer = match node.relay(request).await {
        Ok(answer) => answer,
        Err(e) => {
            // "Busy" is the primary's own answer, at once: a flood would repeat it for each request.
            if matches!(e, crate::cluster::relay::Unanswered::Busy) {
                tracing::debug!("cluster: a KV request was refused: {e}");
            } else {
                tracing::warn!("cluster: a KV request could not reach the primary: {e}");
            }
            return Err(ApiError::primary_unavailable(PRIMARY_RETRY_AFTER));
        }
    };
    node.applied_at_least(answer.revision).await;
    let mut reply = response::json(StatusCode::from_u16(answer.status).unwrap_or(StatusCode::BAD_GATEWAY), answer.body);
    let headers = reply.headers_mut();
    match answer.content_type.as_deref().map(HeaderValue::from_str) {
        Some(Ok(value)) => {
            headers.insert(CONTENT_TYPE, value);
        }
        _ => {
            headers.remove(CONTENT_TYPE);
        }
    }
    if let Some(Ok(value)) = answer.retry_after.as_deref().map(HeaderValue::from_str) {
        headers.insert(RETRY_AFTER, value);
    }
    Ok(reply)
}

/// The primary's answer to a relayed request. A successful write waits until
/// it is published, and says the revision the replica must have applied.
pub async fn answer(api: Arc<Api>, request: Request) -> Answer {
    let method = Method::from_bytes(request.method.as_bytes()).unwrap_or(Method::GET);
    let mut headers = http::HeaderMap::new();
    for (name, value) in [(AUTHORIZATION, &request.authorization), (CONTENT_TYPE, &request.content_type)] {
        if let Some(Ok(value)) = value.as_deref().map(HeaderValue::from_str) {
            headers.insert(name, value);
        }
    }
    let path = request.path.split('?').next().unwrap_or_default();
    let reply = super::router::relayed(&api, &method, path, &headers, Bytes::from(request.body)).await;
    let write = method != Method::GET && reply.status().is_success();
    let revision = if write { api.app.cluster.published().await } else { 0 };
    let text = |name| reply.headers().get(name).and_then(|v: &HeaderValue| v.to_str().ok()).map(str::to_string);
    let (content_type, retry_after) = (text(CONTENT_TYPE), text(RETRY_AFTER));
    let status = reply.status().as_u16();
    let body = http_body_util::BodyExt::collect(reply.into_body()).await.map(|b| b.to_bytes()).unwrap_or_default();
    Answer { status, content_type, retry_after, body: body.to_vec(), revision }
}
