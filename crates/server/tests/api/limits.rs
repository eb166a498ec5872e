//! Bounded resources (issue 16): metrics series, and the limits of `[api]`.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};

use crate::{Harness, DEMO};

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
