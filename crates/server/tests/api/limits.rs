//! Bounded resources (issue 16): metrics series, and the limits of `[api]`.

use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use futures_util::StreamExt as _;
use serde_json::Value;
use tower::ServiceExt as _;

use crate::{bob_deposit_request, gift_request, Harness, ACME, DEMO};

/// The `starkroute_http_requests_total` series of a `/metrics` text.
fn request_series(metrics: &str) -> Vec<&str> {
    metrics.lines().filter(|l| l.starts_with("starkroute_http_requests_total{")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn made_up_methods_and_paths_do_not_grow_the_metrics() {
    let h = Harness::start().await;
    for i in 0..300 {
        let method = Method::from_bytes(format!("X-MADE-UP-{i}").as_bytes()).unwrap();
        let req = Request::builder()
            .method(method)
            .uri(format!("/made/up/{i}"))
            .header(header::AUTHORIZATION, format!("Bearer {DEMO}"))
            .body(Body::empty())
            .unwrap();
        let (s, _, _) = h.send(req).await;
        assert!(s.is_client_error(), "{s}");
        let req = Request::builder()
            .method(Method::from_bytes(format!("Y{i}").as_bytes()).unwrap())
            .uri("/v1/quotes")
            .body(Body::empty())
            .unwrap();
        assert_eq!(h.send(req).await.0, StatusCode::METHOD_NOT_ALLOWED);
        // An id in the path is counted under the route's template.
        let uri = format!("/v1/routes/01JZZZZZZZZZZZZZZZZZZZZ{i:03}");
        assert_eq!(h.call(Method::GET, &uri, Some(DEMO), None).await.0, StatusCode::NOT_FOUND);
    }
    let (_, m) = h.call(Method::GET, "/metrics", None, None).await;
    let m = m.as_str().unwrap();
    let series = request_series(m);
    assert_eq!(series.len(), 3, "{series:#?}");
    for line in [
        "starkroute_http_requests_total{method=\"other\",route=\"unmatched\",status=\"404\"} 300",
        "starkroute_http_requests_total{method=\"other\",route=\"/v1/quotes\",status=\"405\"} 300",
        "starkroute_http_requests_total{method=\"GET\",route=\"/v1/routes/{id}\",status=\"404\"} 300",
    ] {
        assert!(series.contains(&line), "{line} not in {series:#?}");
    }
    assert!(!m.contains("MADE-UP"), "{m}");
    h.stop().await;
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_else(|| panic!("not an error body: {v}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_over_its_rate_gets_429_with_retry_after_and_others_do_not() {
    let h = Harness::start_with(&[
        ("STARKROUTE_API__RATE_LIMIT_PER_SEC", "1"),
        ("STARKROUTE_API__RATE_LIMIT_BURST", "3"),
    ])
    .await;
    for _ in 0..3 {
        assert_eq!(h.call(Method::GET, "/v1/assets", Some(DEMO), None).await.0, StatusCode::OK);
    }
    let (s, headers, v) =
        h.call_with(Method::POST, "/v1/quotes", Some(DEMO), Some(gift_request()), &[]).await;
    assert_eq!((s, code(&v)), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"), "{v}");
    let retry: u64 = headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=1).contains(&retry), "one token a second: retry within 1 s, not {retry}");
    // Refused before the handler: no quote was made.
    let (_, m) = h.call(Method::GET, "/metrics", None, None).await;
    assert!(m.as_str().unwrap().contains("starkroute_quotes_total 0"), "{m}");
    // Another tenant's bucket is its own; no key is a 401, not a 429; health is not limited.
    assert_eq!(h.call(Method::GET, "/v1/assets", Some(ACME), None).await.0, StatusCode::OK);
    assert_eq!(h.call(Method::GET, "/v1/assets", None, None).await.0, StatusCode::UNAUTHORIZED);
    for _ in 0..10 {
        assert_eq!(h.call(Method::GET, "/healthz", None, None).await.0, StatusCode::OK);
    }
    let (_, m) = h.call(Method::GET, "/metrics", None, None).await;
    let m = m.as_str().unwrap();
    assert!(m.contains("starkroute_rate_limited_total{tenant=\"demo\"} 1"), "{m}");
    assert!(!m.contains("starkroute_rate_limited_total{tenant=\"acme\"}"), "{m}");
    assert!(
        m.contains(
            "starkroute_http_requests_total{method=\"POST\",route=\"/v1/quotes\",status=\"429\"} 1"
        ),
        "{m}"
    );
    h.stop().await;
}

/// A refusal is held until the tenant's next token, at most `rate_limit_hold_ms`, and then says
/// how long is left: a client that asks again at once is paced to its rate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_held_until_the_next_token_at_most_the_configured_hold() {
    let h = Harness::start_with(&[
        ("STARKROUTE_API__RATE_LIMIT_PER_SEC", "1"),
        ("STARKROUTE_API__RATE_LIMIT_BURST", "1"),
        ("STARKROUTE_API__RATE_LIMIT_HOLD_MS", "300"),
    ])
    .await;
    assert_eq!(h.call(Method::GET, "/v1/assets", Some(DEMO), None).await.0, StatusCode::OK);
    let asked = std::time::Instant::now();
    let (s, headers, v) = h.call_with(Method::GET, "/v1/assets", Some(DEMO), None, &[]).await;
    let took = asked.elapsed();
    assert_eq!((s, code(&v)), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"), "{v}");
    assert!(took >= Duration::from_millis(300), "held for the configured 300 ms, not {took:?}");
    // About 0.7 s of the second were left after the hold: rounded up to whole seconds.
    assert_eq!(headers[header::RETRY_AFTER], "1");
    let (_, m) = h.call(Method::GET, "/metrics", None, None).await;
    assert!(m.as_str().unwrap().contains("starkroute_rate_limit_held 0"), "{m}");
    h.stop().await;
}

/// `rate_limit_hold_ms` is checked when the configuration loads.
#[test]
fn a_hold_beyond_ten_seconds_is_refused_naming_the_key() {
    let mut c = starkroute_server::config::Config::sandbox().unwrap();
    c.api.rate_limit_hold_ms = 10_001;
    let e = c.validate().unwrap_err();
    assert!(e.contains("api.rate_limit_hold_ms"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_event_streams_are_capped_per_tenant_and_in_all() {
    let h = Harness::start_with(&[
        ("STARKROUTE_API__MAX_STREAMS_PER_TENANT", "2"),
        ("STARKROUTE_API__MAX_STREAMS_TOTAL", "3"),
    ])
    .await;
    // Routes paused on a signature: their streams stay open.
    let mut ids = Vec::new();
    for key in [DEMO, ACME] {
        let q = h.quote(key, bob_deposit_request(&h)).await;
        let (_, r) = h.start_route(key, &q, 0, None).await;
        ids.push(r["id"].as_str().unwrap().to_owned());
    }
    let open = |key: &str, id: &str| {
        let req = Request::get(format!("/v1/routes/{id}/events"))
            .header(header::AUTHORIZATION, format!("Bearer {key}"))
            .body(Body::empty())
            .unwrap();
        h.app.clone().oneshot(req)
    };
    let d1 = open(DEMO, &ids[0]).await.unwrap();
    let d2 = open(DEMO, &ids[0]).await.unwrap();
    assert_eq!((d1.status(), d2.status()), (StatusCode::OK, StatusCode::OK));
    let (s, _, v) = h
        .send(
            Request::get(format!("/v1/routes/{}/events", ids[0]))
                .header(header::AUTHORIZATION, format!("Bearer {DEMO}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::TOO_MANY_REQUESTS, "too_many_streams"), "{v}");
    assert!(v["error"]["message"].as_str().unwrap().contains("api.max_streams_per_tenant"), "{v}");
    let a1 = open(ACME, &ids[1]).await.unwrap();
    assert_eq!(a1.status(), StatusCode::OK);
    let (s, _, v) = h
        .send(
            Request::get(format!("/v1/routes/{}/events", ids[1]))
                .header(header::AUTHORIZATION, format!("Bearer {ACME}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::SERVICE_UNAVAILABLE, "too_many_streams"), "{v}");
    let (_, m) = h.call(Method::GET, "/metrics", None, None).await;
    let m = m.as_str().unwrap();
    assert!(m.contains("starkroute_event_streams_open 3"), "{m}");
    assert!(m.contains("starkroute_event_streams_refused_total 2"), "{m}");
    // A client that leaves gives its place back.
    drop(d1);
    let d3 = open(DEMO, &ids[0]).await.unwrap();
    assert_eq!(d3.status(), StatusCode::OK);
    drop((d2, d3, a1));
    let (_, m) = h.call(Method::GET, "/metrics", None, None).await;
    assert!(m.as_str().unwrap().contains("starkroute_event_streams_open 0"), "{m}");
    h.stop().await;
}

/// A body that sends its first bytes, then nothing.
fn stalled_body() -> Body {
    let first =
        futures_util::stream::once(async { Ok::<_, std::io::Error>(b"{\"asset\"".to_vec()) });
    Body::from_stream(first.chain(futures_util::stream::pending()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_body_is_408_and_a_slow_request_503() {
    let post = || {
        Request::post("/v1/quotes")
            .header(header::AUTHORIZATION, format!("Bearer {DEMO}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(stalled_body())
            .unwrap()
    };
    let h = Harness::start_with(&[("STARKROUTE_API__BODY_TIMEOUT_MS", "200")]).await;
    let (s, _, v) = h.send(post()).await;
    assert_eq!((s, code(&v)), (StatusCode::REQUEST_TIMEOUT, "body_timeout"), "{v}");
    h.stop().await;
    let h = Harness::start_with(&[
        ("STARKROUTE_API__BODY_TIMEOUT_MS", "60000"),
        ("STARKROUTE_API__REQUEST_TIMEOUT_MS", "300"),
    ])
    .await;
    let (s, _, v) = h.send(post()).await;
    assert_eq!((s, code(&v)), (StatusCode::SERVICE_UNAVAILABLE, "timeout"), "{v}");
    let (_, m) = h.call(Method::GET, "/metrics", None, None).await;
    assert!(m.as_str().unwrap().contains("starkroute_request_timeouts_total 1"), "{m}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_trickling_headers_is_disconnected() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = Harness::start().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(starkroute_server::serve::serve(
        listener,
        h.app.clone(),
        Duration::from_millis(300),
        h.stack.core.stopped(),
    ));
    // A whole request is answered.
    let mut ok = tokio::net::TcpStream::connect(addr).await.unwrap();
    ok.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await.unwrap();
    let mut answer = Vec::new();
    ok.read_to_end(&mut answer).await.unwrap();
    assert!(answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
    // Headers that never end: the server closes the connection (EOF well before 10 s).
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n").await.unwrap();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut rest)).await;
    assert!(read.is_ok(), "the connection was left open");
    assert!(!String::from_utf8_lossy(&rest).contains("200"), "{}", String::from_utf8_lossy(&rest));
    h.stack.core.signal_shutdown();
    server.await.unwrap();
    h.stop().await;
}
