//! Integrators learn the HTTP APIs from their OpenAPI 3.1 document: the gateway serves it
//! at `GET /api/v1/openapi.json`, the repository holds the same text as
//! `docs/openapi.json` (after a change: `OPENAPI_UPDATE=1 cargo test --test it openapi::`),
//! it is valid OpenAPI 3.1 for an independent validator (`openapi-spec-validator`, from
//! PyPI; `.ci/run` installs it, and under `CI=true` its absence fails the test), and every
//! operation it documents is one the gateway routes and answers as documented.
//! Schemathesis fuzzes the same document against the binary in `.ci/fuzz-api`.

use std::path::Path;

use crate::support::prometheus::{required_tool, run_ok};
use crate::support::*;
use serde_json::Value;

const COMMITTED: &str = "docs/openapi.json";

fn committed_path() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(COMMITTED)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_served_document_is_the_committed_one() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let reply = gw.api().get("/api/v1/openapi.json").await;
    reply.expect_status(200);
    assert!(
        reply
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{:?}",
        reply.header("content-type")
    );
    let served = reply.text.clone();
    if std::env::var("OPENAPI_UPDATE").is_ok_and(|v| v == "1") {
        std::fs::write(committed_path(), &served).expect("write docs/openapi.json");
    }
    let committed = std::fs::read_to_string(committed_path()).unwrap_or_default();
    assert!(
        served == committed,
        "{COMMITTED} differs from what the gateway serves; if the change is meant, run \
         `OPENAPI_UPDATE=1 cargo test --test it openapi::` and commit the file"
    );
}

#[test]
fn the_document_is_valid_openapi_3_1_with_problems_and_security_declared() {
    let text = std::fs::read_to_string(committed_path()).expect("docs/openapi.json");
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    let schemes = &doc["components"]["securitySchemes"];
    for scheme in ["integrator_token", "agent_token"] {
        assert_eq!(schemes[scheme]["type"], "http", "{scheme}");
        assert_eq!(schemes[scheme]["scheme"], "bearer", "{scheme}");
    }
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            let name = format!("{} {path}", method.to_uppercase());
            assert!(op["operationId"].is_string(), "{name}: operationId");
            // This document and the city-wide banner are public, as the pages are.
            if !path.starts_with("/api/v1/")
                || path == "/api/v1/openapi.json"
                || path == "/api/v1/banner"
            {
                continue;
            }
            // The APIs need a token and say so, and document their refusals as problems.
            assert!(
                op["security"].as_array().is_some_and(|s| !s.is_empty()
                    && s.iter()
                        .all(|r| r.as_object().is_some_and(|o| !o.is_empty()))),
                "{name}: security"
            );
            let responses = op["responses"].as_object().expect("responses");
            assert!(responses.contains_key("401"), "{name}: 401");
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/problem+json"]["schema"]["$ref"],
                        "#/components/schemas/ProblemDocument",
                        "{name} {status}: a problem document"
                    );
                }
            }
        }
    }
    if let Some(validator) = required_tool(
        "openapi-spec-validator",
        "pip install openapi-spec-validator",
    ) {
        let out = run_ok(
            &validator,
            &["--schema", "3.1", committed_path().to_str().unwrap()],
        );
        assert!(out.contains("OK"), "openapi-spec-validator: {out}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_documented_operation_is_routed_and_answers_a_documented_status() {
    let redis = RedisServer::new();
    let gw = Gateway::start(&redis).await;
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(committed_path()).unwrap()).unwrap();
    let client = reqwest::Client::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            // A well-formed request without a token: the API's answer (401, Open311's
            // 400 or 403), the probe's (200), never the router's 404 for a route it lacks.
            let concrete = path
                .replace("{sha256}", &"ab".repeat(32))
                .replace("{format}", "json")
                .replace("{service_code}", "roads")
                .replace("{service_request_id}", "OA-0000-0000");
            let url = gw.url(&concrete);
            let request = match method.as_str() {
                "get" => client.get(&url),
                "post" => client
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .body("{}"),
                other => panic!("{path}: method {other} is not exercised here"),
            };
            let status = request.send().await.unwrap().status().as_u16();
            assert!(
                op["responses"].get(status.to_string()).is_some(),
                "{} {path} answered {status}, which it does not document",
                method.to_uppercase()
            );
        }
    }
}
