//! The route-tracking page and its view tokens: issued once when a route starts, hashed in the
//! store, reissued and revoked by the tenant; the page, the route JSON and the event stream with
//! the token over a real socket; every refusal the same 404 with no data; the security headers.

use axum::http::{Method, StatusCode};
use serde_json::Value;

use crate::{gift_request, straight_into_bobs_vault, Harness, ACME, DEMO};

async fn get(base: &str, path: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let res = reqwest::get(format!("{base}{path}")).await.unwrap();
    let status = StatusCode::from_u16(res.status().as_u16()).unwrap();
    let headers = res.headers().clone();
    (status, headers, res.text().await.unwrap())
}

fn secured(headers: &reqwest::header::HeaderMap) {
    let h = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    assert!(h("content-security-policy").starts_with("default-src 'self'"), "{headers:?}");
    assert_eq!(h("x-content-type-options"), "nosniff");
    assert_eq!(h("referrer-policy"), "no-referrer");
    assert_eq!(h("cache-control"), "no-store");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_view_token_opens_one_route_read_only_and_nothing_else() {
    let mut h = Harness::start_with(&[
        ("STARKROUTE_SANDBOX__EXPLORERS__L1", "http://127.0.0.1:9/tx/{hash}"),
        ("STARKROUTE_SANDBOX__EXPLORERS__STARKNET", "http://localhost:9/sn/tx/{hash}"),
    ])
    .await;
    let q = h.quote(DEMO, gift_request()).await;
    let i = straight_into_bobs_vault(&q);
    let (s, r) = h.start_route(DEMO, &q, i, Some("track-1")).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap().to_owned();
    let token = r["view_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("vt_") && token.len() == 67, "{token}");
    let url = r["track_url"].as_str().unwrap().to_owned();
    assert_eq!(url, format!("/track/{id}?t={token}"));
    // Shown once: a replay of the same start does not show it again.
    let (s, again) = h.start_route(DEMO, &q, i, Some("track-1")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(again.get("view_token").is_none() && again.get("track_url").is_none(), "{again}");
    // Only its hash is stored.
    use sha2::Digest as _;
    use starkroute_store::WebhookStore as _;
    let (tenant, stored) =
        h.stack.core.store.view_token(&id.parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(tenant.as_str(), "demo");
    assert_eq!(stored, hex::encode(sha2::Sha256::digest(token.as_bytes())), "its SHA-256 only");

    h.run_world();
    let (s, headers, page) = get(&h.base, &url).await;
    assert_eq!(s, StatusCode::OK);
    secured(&headers);
    assert!(headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(page.contains("id=\"legs\"") && page.contains("/track/assets/track.js"));

    // The route's events, read-only with the token: the stream ends when the route is final.
    let (s, headers, sse) = get(&h.base, &format!("/track/{id}/events?t={token}")).await;
    assert_eq!(s, StatusCode::OK);
    secured(&headers);
    assert!(sse.contains("\"type\":\"route_completed\""), "{sse}");
    assert!(!sse.contains("event: "), "unnamed events, for the page's onmessage");

    let (s, headers, body) = get(&h.base, &format!("/track/{id}/route?t={token}")).await;
    assert_eq!(s, StatusCode::OK);
    secured(&headers);
    let route: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(route["status"], "completed");
    assert_eq!(route["legs"].as_array().unwrap().len(), 3);
    assert_eq!(route["live_eta"]["source"], "done");
    for leg in route["legs"].as_array().unwrap() {
        assert_eq!(leg["status"], "final_on_l1");
        let hash = leg["submission"].as_str().unwrap();
        let want = match leg["layer"].as_str().unwrap() {
            "l1" => format!("http://127.0.0.1:9/tx/{hash}"),
            "starknet" => format!("http://localhost:9/sn/tx/{hash}"),
            other => panic!("the gift has no {other} leg"),
        };
        assert_eq!(leg["explorer_url"], want.as_str(), "{leg}");
    }
    assert!(route.get("view_token").is_none());

    // It is no API key.
    let (s, _) = h.call(Method::GET, &format!("/v1/routes/{id}"), Some(&token), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // Through the router too, each answer checked against /openapi.json.
    let (s, v) = h.call(Method::GET, &format!("/track/{id}/route?t={token}"), None, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = h.call(Method::GET, &format!("/track/{id}/route?t={token}&x=1"), None, None).await;
    assert_eq!((s, &v["error"]["field"]), (StatusCode::UNPROCESSABLE_ENTITY, &Value::from("x")));
    let (s, v) = h.call(Method::GET, &format!("/track/{id}/events?after=x&t=1"), None, None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = h.call(Method::GET, &format!("/track/{id}?t=vt_0"), None, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Every refusal is the same 404, with no data.
    let unknown = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    let wrong = format!("vt_{}", "0".repeat(64));
    let (_, _, reference) = get(&h.base, &format!("/track/{unknown}/route?t={token}")).await;
    for path in [
        format!("/track/{id}/route?t={wrong}"),
        format!("/track/{id}/route"),
        format!("/track/{id}/route?t="),
        format!("/track/not-a-ulid/route?t={token}"),
        format!("/track/{unknown}/route?t={token}"),
        format!("/track/{id}/events?t={wrong}"),
    ] {
        let (s, headers, body) = get(&h.base, &path).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{path}");
        assert_eq!(body, reference, "{path}: the same answer as an unknown route");
        assert!(!body.contains(&id) && !body.contains("completed"), "{path}: {body}");
        secured(&headers);
    }
    let (_, _, not_found_page) = get(&h.base, &format!("/track/{unknown}?t={token}")).await;
    let (s, _, page) = get(&h.base, &format!("/track/{id}?t={wrong}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(page, not_found_page);
    assert!(!page.contains(&id));

    // Another tenant can neither reissue nor revoke it.
    let path = format!("/v1/routes/{id}/view-token");
    let (s, _) = h.call(Method::POST, &path, Some(ACME), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = h.call(Method::DELETE, &path, Some(ACME), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(get(&h.base, &url).await.0, StatusCode::OK, "still valid");

    // Reissued: the new token works, the old one no longer does.
    let (s, v) = h.call(Method::POST, &path, Some(DEMO), None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let fresh = v["track_url"].as_str().unwrap().to_owned();
    assert_ne!(v["view_token"], token.as_str());
    assert_eq!(get(&h.base, &url).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&h.base, &fresh).await.0, StatusCode::OK);
    // Revoked: nothing opens it.
    let (s, _) = h.call(Method::DELETE, &path, Some(DEMO), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(get(&h.base, &fresh).await.0, StatusCode::NOT_FOUND);
    let fresh_route = fresh.replace('?', "/route?");
    assert_eq!(get(&h.base, &fresh_route).await.0, StatusCode::NOT_FOUND);

    // The assets and the tenant's page: self-contained, the same headers.
    for (path, mime) in [
        ("/track", "text/html"),
        ("/track/assets/track.js", "text/javascript"),
        ("/track/assets/track.css", "text/css"),
        ("/track/assets/tenant.js", "text/javascript"),
    ] {
        let (s, headers, body) = get(&h.base, path).await;
        assert_eq!(s, StatusCode::OK, "{path}");
        secured(&headers);
        assert!(headers["content-type"].to_str().unwrap().starts_with(mime), "{path}");
        assert!(!body.contains("https://"), "{path} loads nothing from elsewhere");
    }
    let (_, _, tenant) = get(&h.base, "/track").await;
    assert!(tenant.contains("type=\"password\"") && tenant.contains("method=\"post\""));
    assert_eq!(get(&h.base, "/track/assets/nope.js").await.0, StatusCode::NOT_FOUND);
    h.stop().await;
}

/// The page's event streams count per route, apart from the tenant's: a shared link cannot use up
/// the tenant's own streams.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tracking_link_cannot_use_up_the_tenants_streams() {
    let h = Harness::start_with(&[("STARKROUTE_API__MAX_STREAMS_PER_TENANT", "1")]).await;
    let q = h.quote(DEMO, gift_request()).await;
    let (s, r) = h.start_route(DEMO, &q, straight_into_bobs_vault(&q), None).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let id = r["id"].as_str().unwrap();
    let token = r["view_token"].as_str().unwrap();
    // The world's clock is stopped: the route runs on, and its streams stay open.
    let page = format!("{}/track/{id}/events?t={token}", h.base);
    let first = reqwest::get(&page).await.unwrap();
    assert_eq!(first.status().as_u16(), 200);
    let second = reqwest::get(&page).await.unwrap();
    assert_eq!(second.status().as_u16(), 429, "the route's page streams are capped");
    let own = reqwest::Client::new()
        .get(format!("{}/v1/routes/{id}/events", h.base))
        .header("authorization", format!("Bearer {DEMO}"))
        .send()
        .await
        .unwrap();
    assert_eq!(own.status().as_u16(), 200, "the tenant's own stream is unaffected");
    drop((first, own));
    h.stop().await;
}
