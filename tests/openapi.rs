//! The OpenAPI document (docs/API.md): `GET /openapi.json` serves docs/openapi.json
//! as it is, and the document is valid OpenAPI 3.1 (against the official
//! meta-schema, vendored in tests/support) whose schemas are valid JSON Schema
//! 2020-12. That every response matches it is checked by every end-to-end test
//! (`support::openapi`, called by the shared HTTP client).

mod support;

use support::api::*;
use support::http_client::{get, send};
use support::openapi::{DOCUMENT, meta_schema};

#[tokio::test]
async fn the_server_serves_the_document_with_an_etag() {
    let (_served, addr) = start(NO_LIMITS);
    let reply = get(addr, "/openapi.json").await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.header("content-type"), "application/json; charset=utf-8");
    let file = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/openapi.json")).unwrap();
    assert!(reply.body == file, "the served document is docs/openapi.json");
    let etag = reply.header("etag");
    assert!(etag.starts_with('"'), "{etag}");
    assert_eq!(send(addr, "GET", "/openapi.json", &[("if-none-match", &etag)], "").await.status, 304);
}

#[test]
fn the_document_is_valid_openapi_3_1() {
    let meta = meta_schema();
    let validator = jsonschema::validator_for(&meta).expect("the meta-schema compiles");
    let errors: Vec<String> =
        validator.iter_errors(&DOCUMENT).map(|e| format!("{e} at {}", e.instance_path())).take(10).collect();
    assert!(errors.is_empty(), "docs/openapi.json is not valid OpenAPI 3.1:\n{}", errors.join("\n"));
}

#[test]
fn every_schema_of_the_document_is_valid_json_schema_2020_12() {
    for (name, schema) in DOCUMENT["components"]["schemas"].as_object().unwrap() {
        if let Err(e) = jsonschema::draft202012::meta::validate(schema) {
            panic!("components.schemas.{name}: {e}");
        }
    }
}

#[test]
fn the_meta_schema_refuses_what_is_not_openapi_3_1() {
    let validator = jsonschema::validator_for(&meta_schema()).unwrap();
    let mut wrong = DOCUMENT.clone();
    wrong["openapi"] = "3.0.3".into();
    assert!(!validator.is_valid(&wrong), "a 3.0 version");
    let mut wrong = DOCUMENT.clone();
    wrong["paths"]["/users"]["get"]["responses"]["200"] = serde_json::json!({"content": {}});
    assert!(!validator.is_valid(&wrong), "a response without its description");
}

#[test]
fn responses_that_drift_are_caught() {
    use support::openapi::check_response;
    let ok = br#"{"error":{"code":"too_many_ids","message":"m"}}"#;
    check_response("GET", "/users?ids=1", 400, "application/json", ok);
    let drifted = [
        ("GET", "/users?ids=1", 400, &br#"{"error":{"code":"no_such_code","message":"m"}}"#[..]),
        ("GET", "/users?ids=1", 200, &br#"{"1":{"presence":{}}}"#[..]),
        ("GET", "/v1/users/1", 404, &br#"{"error":{"code":"user_not_monitored","message":"m"}}"#[..]),
        ("GET", "/users?ids=1", 418, &br#"{}"#[..]),
    ];
    for (method, target, status, body) in drifted {
        let caught = std::panic::catch_unwind(|| check_response(method, target, status, "application/json", body));
        assert!(caught.is_err(), "{method} {target} {status} {}", String::from_utf8_lossy(body));
    }
}
