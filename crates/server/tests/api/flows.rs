//! The endpoints' answers through the router with `oneshot`: the OpenAPI document, assets,
//! readiness, listing with pages, quotes, metrics.

use axum::http::{Method, StatusCode};
use serde_json::Value;

use crate::{bob_deposit_request, gift_request, Harness, ACME, DEMO, QUOTE_TTL_SECS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_describes_every_served_path_and_nothing_else() {
    let h = Harness::start().await;
    let (s, doc) = h.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    // The served document is the generated one.
    assert_eq!(doc, starkroute_server::api::openapi_document());
    let paths = doc["paths"].as_object().unwrap();
    let listed = starkroute_server::api::paths();
    assert_eq!(listed.len(), paths.len());
    assert!(listed.len() >= 19, "every endpoint is in the table: {listed:?}");
    // Every documented operation is routed (answered by its handler, not the fallback).
    for (path, ops) in paths {
        let uri = path
            .replace("{id}", "01JZZZZZZZZZZZZZZZZZZZZZZZ")
            .replace("{n}", "0")
            .replace("{layer}", "l1");
        for method in ops.as_object().unwrap().keys() {
            let m: Method = method.to_uppercase().parse().unwrap();
            let (s, v) = h.call(m, &uri, Some(DEMO), None).await;
            assert_ne!(v["error"]["code"], "no_such_endpoint", "{method} {uri}");
            assert_ne!(s, StatusCode::METHOD_NOT_ALLOWED, "{method} {uri}");
        }
    }
    h.stop().await;
}

/// The router is built only from `openapi::table()` (each handler with its `#[utoipa::path]`),
/// so a served path is a documented one: no source file of the API adds a route any other way.
#[test]
fn no_route_is_added_outside_the_documented_table() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for needle in [".route(", ".route_service(", ".nest(", ".nest_service(", ".merge("] {
            assert!(
                !text.contains(needle),
                "{} calls `{needle}`: add the handler to openapi::table() with routes!() instead",
                path.display()
            );
        }
        checked += 1;
    }
    assert!(checked > 10, "read the API's sources in {}", dir.display());
    // Every handler the table routes is annotated: each operation has an operationId.
    let doc = starkroute_server::api::openapi_document();
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            assert!(op["operationId"].is_string(), "{method} {path}");
            assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotes_assets_readiness_and_pages() {
    let h = Harness::start().await;
    let q = h.quote(DEMO, gift_request()).await;
    assert!(q["id"].as_str().unwrap().starts_with("q_"));
    assert!(q["routes"].as_array().unwrap().len() >= 2, "{q}");
    let rejected = q["rejected"].as_array().unwrap();
    assert!(rejected.iter().any(|r| r["code"] == "bridge_unsupported_asset"), "{q}");
    assert!(rejected.iter().all(|r| r["reason"].is_string()));

    let (s, a) = h.call(Method::GET, "/v1/assets", Some(DEMO), None).await;
    assert_eq!(s, StatusCode::OK);
    let assets = a["assets"].as_array().unwrap();
    let eth = assets.iter().find(|t| t["symbol"] == "ETH").unwrap();
    assert!(eth["starkex"]["asset_type"].as_str().unwrap().starts_with("0x"), "{eth}");

    let demo = &h.stack.demo;
    for (layer, id, ready) in [
        ("starknet", demo.alice.starknet.to_fixed_hex_string(), true),
        ("starknet", demo.bob.starknet.to_fixed_hex_string(), false),
        ("l1", demo.bob.l1().to_string(), true),
    ] {
        let (s, r) = h
            .call(Method::GET, &format!("/v1/accounts/{layer}/{id}/readiness"), Some(DEMO), None)
            .await;
        assert_eq!(s, StatusCode::OK, "{r}");
        assert_eq!(r["ready"], ready, "{layer} {id}: {r}");
    }

    // Three routes, listed newest first two at a time.
    let mut ids = Vec::new();
    for _ in 0..3 {
        let q = h.quote(DEMO, bob_deposit_request(&h)).await;
        let (s, r) = h.start_route(DEMO, &q, 0, None).await;
        assert_eq!(s, StatusCode::CREATED);
        ids.push(r["id"].as_str().unwrap().to_owned());
    }
    let (_, p1) = h.call(Method::GET, "/v1/routes?limit=2", Some(DEMO), None).await;
    let next = p1["next"].as_str().expect("a second page");
    let (_, p2) =
        h.call(Method::GET, &format!("/v1/routes?limit=2&cursor={next}"), Some(DEMO), None).await;
    let listed: Vec<String> = [&p1, &p2]
        .iter()
        .flat_map(|p| {
            p["routes"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap().to_owned())
        })
        .collect();
    ids.reverse();
    assert_eq!(listed, ids);
    assert!(p2["next"].is_null());
    for id in &ids {
        h.wait_for(DEMO, id, |r| r["status"] == "awaiting_signature").await;
    }
    let (_, f) =
        h.call(Method::GET, "/v1/routes?status=awaiting_signature", Some(DEMO), None).await;
    assert_eq!(f["routes"].as_array().unwrap().len(), 3);
    let (_, f) = h.call(Method::GET, "/v1/routes?status=completed", Some(DEMO), None).await;
    assert_eq!(f["routes"], Value::Array(vec![]));

    let (_, m) = h.call(Method::GET, "/metrics", None, None).await;
    let m = m.as_str().unwrap();
    assert!(m.contains("starkroute_quotes_total 4"), "{m}");
    assert!(
        m.contains(
            "starkroute_http_requests_total{method=\"POST\",route=\"/v1/routes\",status=\"201\"} 3"
        ),
        "{m}"
    );
    assert!(m.contains("starkroute_routes_total{status=\"awaiting_signature\"}"), "{m}");
    // The executor's error counters are exported too; nothing failed here.
    assert!(m.contains("starkroute_executor_store_errors_total 0"), "{m}");
    assert!(m.contains("starkroute_executor_adapter_errors_permanent_total 0"), "{m}");
    assert!(
        !m.contains("starkroute_routes_total{status=\"pending\"} 0"),
        "route creations are counted: {m}"
    );
    let (s, r) = h.call(Method::GET, "/readyz", None, None).await;
    assert_eq!((s, r["status"].as_str()), (StatusCode::OK, Some("ready")));
    h.stop().await;
}

/// An identical quote request from the same tenant soon after gets the same quote (same id,
/// same bytes); another body, another tenant, or the same body once a tenth of the quote's life
/// has passed gets a new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_identical_quote_request_gets_the_same_quote_while_fresh() {
    let h = Harness::start().await;
    let a = h.quote(DEMO, gift_request()).await;
    let b = h.quote(DEMO, gift_request()).await;
    assert_eq!(a, b);
    let mut fastest = gift_request();
    fastest["objective"] = "cheapest".into();
    let c = h.quote(DEMO, fastest).await;
    assert_ne!(c["id"], a["id"]);
    let d = h.quote(ACME, gift_request()).await;
    assert_ne!(d["id"], a["id"], "tenants do not share quotes");
    h.clock.advance(std::time::Duration::from_secs(QUOTE_TTL_SECS / 10 + 1));
    let e = h.quote(DEMO, gift_request()).await;
    assert_ne!(e["id"], a["id"]);
    assert!(e["expires_at"].as_i64() > a["expires_at"].as_i64());
    h.stop().await;
}

#[test]
#[ignore = "prints the document: cargo test -p starkroute-server --test api print_openapi -- --ignored"]
fn print_openapi() {
    println!(
        "{}",
        serde_json::to_string_pretty(&starkroute_server::api::openapi_document()).unwrap()
    );
}
