//! docs/openapi.json as the end-to-end tests hold the server to it: every JSON
//! response the shared HTTP client receives is validated against the schema the
//! document gives for its path, method and status (an undocumented route,
//! method or status with a JSON body fails the test), and every socket message
//! read as JSON against the document's socket messages. So the document cannot
//! drift from what the server sends.
//!
//! `openapi-3.1-schema.json` beside this file is the official OpenAPI 3.1
//! meta-schema (`https://spec.openapis.org/oas/3.1/schema/2022-10-07`, from the
//! OpenAPI Initiative, Apache-2.0), as vendored by the `openapi-spec-validator`
//! Python package 0.9.0; `tests/openapi.rs` validates the document against it.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex};

use serde_json::{Value, json};

/// docs/openapi.json.
pub static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("docs/openapi.json")).expect("docs/openapi.json is JSON")
});

/// The official OpenAPI 3.1 meta-schema.
pub fn meta_schema() -> Value {
    serde_json::from_str(include_str!("openapi-3.1-schema.json")).expect("the meta-schema is JSON")
}

/// Validators by schema (as JSON text), built once per test binary.
static VALIDATORS: LazyLock<Mutex<HashMap<String, Arc<jsonschema::Validator>>>> = LazyLock::new(Mutex::default);

/// Validates `instance` against `schema`, a schema of the document (its `$ref`s
/// point into the document's components). Panics with every error found.
pub fn validate(schema: &Value, instance: &Value, what: &str) {
    let key = schema.to_string();
    let validator = {
        let mut validators = VALIDATORS.lock().unwrap_or_else(|e| e.into_inner());
        validators
            .entry(key)
            .or_insert_with(|| {
                // The schema at the root of a document holding the components, so
                // that `#/components/…` resolves; other keys are not keywords.
                let mut root = json!({
                    "$schema": "https://json-schema.org/draft/2020-12/schema",
                    "components": DOCUMENT["components"].clone(),
                });
                match schema {
                    Value::Object(map) => root.as_object_mut().unwrap().extend(map.clone()),
                    other => panic!("{what}: not a schema object: {other}"),
                }
                Arc::new(jsonschema::validator_for(&root).unwrap_or_else(|e| panic!("{what}: schema: {e}")))
            })
            .clone()
    };
    let errors: Vec<String> =
        validator.iter_errors(instance).map(|e| format!("{} at {}", e, e.instance_path())).take(8).collect();
    assert!(
        errors.is_empty(),
        "{what}: the response does not match docs/openapi.json:\n  {}\nbody: {}",
        errors.join("\n  "),
        truncated(instance)
    );
}

fn truncated(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(2000) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

/// Follows a `$ref` into the document.
fn resolve(value: &Value) -> &Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(pointer) => DOCUMENT.pointer(pointer.trim_start_matches('#')).unwrap_or_else(|| panic!("no {pointer}")),
        None => value,
    }
}

/// The document's path template that `path` (no query) is an instance of: a
/// literal one first, else one whose `{…}` parts match.
fn template(path: &str) -> Option<&'static str> {
    let path = if path.len() > 1 { path.trim_end_matches('/') } else { path };
    let paths = DOCUMENT["paths"].as_object().unwrap();
    if paths.contains_key(path) {
        return paths.keys().find(|k| *k == path).map(String::as_str);
    }
    let segments: Vec<&str> = path.split('/').collect();
    paths.keys().map(String::as_str).find(|template| {
        let parts: Vec<&str> = template.split('/').collect();
        parts.len() == segments.len() && parts.iter().zip(&segments).all(|(t, s)| segment_matches(t, s))
    })
}

/// One path segment against a template segment: `{id}` matches any non-empty
/// segment, `{id}.png` any segment ending in `.png`.
fn segment_matches(template: &str, segment: &str) -> bool {
    match template.find('{') {
        None => template == segment,
        Some(open) => {
            let close = template.find('}').expect("a closed template");
            let (prefix, suffix) = (&template[..open], &template[close + 1..]);
            segment.len() > prefix.len() + suffix.len() && segment.starts_with(prefix) && segment.ends_with(suffix)
        }
    }
}

/// Validates one response against the document. `target` is the request target
/// (path and query); non-JSON responses are checked for a documented status and
/// content type only.
pub fn check_response(method: &str, target: &str, status: u16, content_type: &str, body: &[u8]) {
    let path = target.split('?').next().unwrap_or_default();
    let method = if method.eq_ignore_ascii_case("HEAD") { "get".to_string() } else { method.to_ascii_lowercase() };
    if method == "options" {
        return; // CORS preflights (204), not operations of the API
    }
    let what = format!("{} {target} → {status}", method.to_ascii_uppercase());
    let operation = template(path).and_then(|t| DOCUMENT["paths"][t].get(&method));
    let is_json = content_type.starts_with("application/json");
    let Some(operation) = operation else {
        // No such route or method: the 404 / 405 error of the envelope the path takes.
        if is_json {
            let lanyard = path == "/v1" || path.starts_with("/v1/");
            let schema = json!({"$ref": if lanyard { "#/components/schemas/LanyardError" } else { "#/components/schemas/Error" }});
            validate(&schema, &parse(body, &what), &what);
        }
        return;
    };
    let Some(response) = operation["responses"].get(status.to_string()) else {
        if is_json || !body.is_empty() {
            panic!("{what}: status {status} is not in docs/openapi.json for this operation");
        }
        return;
    };
    let response = resolve(response);
    if body.is_empty() {
        return;
    }
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let Some(content) = response["content"].get(media) else {
        panic!("{what}: {media} is not a documented content type of this response");
    };
    if is_json {
        validate(&content["schema"], &parse(body, &what), &what);
    }
}

/// Validates a socket message the server sent.
pub fn check_socket_message(message: &Value) {
    let schema = json!({"anyOf": [
        {"$ref": "#/components/schemas/SocketHello"},
        {"$ref": "#/components/schemas/SocketInitState"},
        {"$ref": "#/components/schemas/SocketPresenceUpdate"},
    ]});
    validate(&schema, message, "a /socket message");
}

fn parse(body: &[u8], what: &str) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|e| panic!("{what}: a JSON content type but not JSON ({e})"))
}
