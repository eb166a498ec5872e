//! Webhooks end to end, to a real HTTP receiver on 127.0.0.1 (axum) that checks every signature
//! with its own HMAC-SHA256: it answers 500 for a while and refuses one event type with a 422
//! until told otherwise. Every event of the gift arrives, in order, exactly once after
//! de-duplication by event id; a replay delivers what was refused; `GET /v1/events` catches up on
//! everything; rotation signs with both secrets; other tenants see nothing; an SSRF target is
//! refused on a configured network.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use serde_json::{json, Value};
use sha2::Sha256;

use crate::{gift_request, straight_into_bobs_vault, Harness, ACME, DEMO};

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    path: String,
    event_id: String,
    seq: u64,
    kind: String,
    signature: String,
    body: Bytes,
    /// Whether a signature verified under a secret the receiver held.
    verified: bool,
    /// What the receiver answered.
    answered: u16,
}

#[derive(Default)]
struct Receiver {
    secrets: Mutex<Vec<String>>,
    got: Mutex<Vec<Received>>,
    /// Requests answered 500 before the receiver "recovers".
    fail_first: AtomicUsize,
    seen: AtomicUsize,
    /// Refuse `route_order` deliveries with a 422 while set.
    refuse_order: AtomicBool,
}

/// The receiver's own check: `t=<unix>,v1=<hex>…`, HMAC-SHA256 of `"<t>.<body>"`, within 5 min.
fn verify(secret: &str, header: &str, body: &[u8]) -> bool {
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", v)) => t = v.parse::<i64>().ok(),
            Some(("v1", v)) => sigs.push(v.to_owned()),
            _ => {}
        }
    }
    let Some(t) = t else { return false };
    let now = i64::try_from(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(),
    )
    .unwrap();
    if (now - t).abs() > 300 {
        return false;
    }
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    let expected = hex::encode(mac.finalize().into_bytes());
    sigs.contains(&expected)
}

async fn receive(
    State(r): State<Arc<Receiver>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let signature = headers
        .get("starkroute-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let verified = r.secrets.lock().iter().any(|s| verify(s, &signature, &body));
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let event_id =
        headers.get("starkroute-event-id").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let kind = event["type"].as_str().unwrap_or("").to_owned();
    let n = r.seen.fetch_add(1, Ordering::SeqCst);
    let (status, text) = if !verified {
        (StatusCode::BAD_REQUEST, "bad signature")
    } else if n < r.fail_first.load(Ordering::SeqCst) {
        (StatusCode::INTERNAL_SERVER_ERROR, "down for maintenance")
    } else if kind == "route_order" && r.refuse_order.load(Ordering::SeqCst) {
        (StatusCode::UNPROCESSABLE_ENTITY, "not interested")
    } else {
        (StatusCode::OK, "ok")
    };
    r.got.lock().push(Received {
        path: uri.path().to_owned(),
        event_id,
        seq: event["seq"].as_u64().unwrap_or(0),
        kind,
        signature,
        body,
        verified,
        answered: status.as_u16(),
    });
    (status, text)
}

/// The README's Python `verify_webhook`, run by `python3` on a real delivery.
fn readme_python_verifies(secret: &str, header: &str, body: &[u8]) -> bool {
    let readme = include_str!("../../../../README.md");
    let section = &readme[readme.find("## Webhooks").expect("a Webhooks section")..];
    let start = section.find("```python\n").expect("a Python snippet") + "```python\n".len();
    let snippet = &section[start..start + section[start..].find("```").unwrap()];
    let dir = tempfile::tempdir().unwrap();
    let body_path = dir.path().join("body");
    std::fs::write(&body_path, body).unwrap();
    let script = format!(
        "{snippet}\nimport sys\nprint(verify_webhook(sys.argv[1], sys.argv[2], open(sys.argv[3], 'rb').read()))\n"
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(secret)
        .arg(header)
        .arg(&body_path)
        .output()
        .expect("python3 runs the README's snippet (install python3)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    match String::from_utf8_lossy(&out.stdout).trim() {
        "True" => true,
        "False" => false,
        other => panic!("the snippet printed {other:?}"),
    }
}

async fn start_receiver(r: Arc<Receiver>) -> String {
    let app = axum::Router::new().fallback(receive).with_state(r);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

const FAST: &[(&str, &str)] = &[
    ("STARKROUTE_WEBHOOKS__BACKOFF_INITIAL_MS", "20"),
    ("STARKROUTE_WEBHOOKS__BACKOFF_MAX_MS", "100"),
    ("STARKROUTE_WEBHOOKS__POLL_INTERVAL_MS", "10"),
    ("STARKROUTE_WEBHOOKS__SECRET_GRACE_SECS", "600"),
];

/// The route's accepted (2xx) event seqs, by event id.
fn accepted(got: &[Received], route: &str) -> BTreeMap<String, u64> {
    got.iter()
        .filter(|g| g.answered == 200 && g.event_id.starts_with(&format!("evt_{route}_")))
        .map(|g| (g.event_id.clone(), g.seq))
        .collect()
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..3_000 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_retried_in_order_replayed_and_caught_up() {
    let mut h = Harness::start_with(FAST).await;
    let r = Arc::new(Receiver::default());
    r.fail_first.store(5, Ordering::SeqCst);
    r.refuse_order.store(true, Ordering::SeqCst);
    let base = start_receiver(r.clone()).await;

    // Register: the secret is answered once, and never shown again.
    let (s, hook) = h
        .call(
            Method::POST,
            "/v1/webhooks",
            Some(DEMO),
            Some(json!({ "url": format!("{base}/demo"), "events": ["*"], "description": "shop" })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{hook}");
    r.secrets.lock().push(secret.clone());
    let id = hook["id"].as_str().unwrap().to_owned();
    let (s, shown) = h.call(Method::GET, &format!("/v1/webhooks/{id}"), Some(DEMO), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(shown.get("secret").is_none() && !shown.to_string().contains(&secret), "{shown}");
    assert_eq!(shown["events"], json!(["*"]));
    // Another tenant's endpoint on another path: it must receive nothing of demo's.
    let (s, theirs) = h
        .call(
            Method::POST,
            "/v1/webhooks",
            Some(ACME),
            Some(json!({ "url": format!("{base}/acme"), "events": ["route_completed"] })),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{theirs}");

    // Run the gift with the worker delivering.
    h.run_webhooks();
    let quote = h.quote(DEMO, gift_request()).await;
    let (s, route) = h.start_route(DEMO, &quote, straight_into_bobs_vault(&quote), None).await;
    assert_eq!(s, StatusCode::CREATED, "{route}");
    let rid = route["id"].as_str().unwrap().to_owned();
    h.run_world();
    let done = h.wait_for(DEMO, &rid, |r| r["status"] == "completed").await;
    let last = done["last_event_seq"].as_u64().unwrap();
    assert!(last >= 10, "{done}");

    // Everything but the refused route_order (seq 2) arrives and is accepted exactly once.
    let want: HashSet<u64> = (1..=last).filter(|s| *s != 2).collect();
    wait_until("every event delivered", || {
        accepted(&r.got.lock(), &rid).values().copied().collect::<HashSet<_>>() == want
    })
    .await;
    // The deliveries of the route's later events waited for the refusal to be recorded.
    let got = r.got.lock().clone();
    let demo: Vec<&Received> = got.iter().filter(|g| g.path == "/demo").collect();
    assert!(demo.iter().all(|g| g.verified), "every signature verifies");
    let seqs: Vec<u64> = demo.iter().map(|g| g.seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] <= w[1]), "in order per route: {seqs:?}");
    assert_eq!(demo.iter().filter(|g| g.answered == 500).count(), 5, "the 500s were retried");
    assert_eq!(demo.iter().filter(|g| g.kind == "route_order").count(), 1, "a 422 is not retried");
    assert!(demo.iter().any(|g| g.kind == "claim_available"), "the L1 claim is announced");
    let mut ids = HashSet::new();
    assert!(
        demo.iter().filter(|g| g.answered == 200).all(|g| ids.insert(g.event_id.clone())),
        "each event accepted once"
    );
    // A wrong secret does not verify what the right one does.
    let sample = demo.iter().find(|g| g.answered == 200).unwrap();
    assert!(verify(&secret, &sample.signature, &sample.body));
    assert!(!verify("whsec_not_the_secret", &sample.signature, &sample.body));
    let mut tampered = sample.body.to_vec();
    tampered[0] = b' ';
    assert!(!verify(&secret, &sample.signature, &tampered));
    // The README's Python verification agrees.
    assert!(readme_python_verifies(&secret, &sample.signature, &sample.body));
    assert!(!readme_python_verifies("whsec_not_the_secret", &sample.signature, &sample.body));
    assert!(!readme_python_verifies(&secret, &sample.signature, &tampered));
    // Acme got only its own route's events (none: it has no routes).
    assert!(got.iter().all(|g| g.path != "/acme"), "another tenant's events leaked");

    // The deliveries: the first took 6 attempts (5 × 500, then 200), route_order was given up.
    let (s, page) = h
        .call(Method::GET, &format!("/v1/webhooks/{id}/deliveries?limit=500"), Some(DEMO), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let deliveries = page["deliveries"].as_array().unwrap().clone();
    let of = |seq: u64| deliveries.iter().find(|d| d["event"]["seq"] == seq).unwrap().clone();
    let first = of(1);
    assert_eq!((first["state"].as_str(), first["attempts"].as_u64()), (Some("delivered"), Some(6)));
    let order = of(2);
    assert_eq!((order["state"].as_str(), order["attempts"].as_u64()), (Some("failed"), Some(1)));
    assert_eq!(order["last_attempt"]["status"], 422);
    assert_eq!(order["last_attempt"]["response"], "not interested");
    assert_eq!(order["event"]["id"], format!("evt_{rid}_2"));
    let n1 = first["id"].as_u64().unwrap();
    let (s, detail) =
        h.call(Method::GET, &format!("/v1/webhooks/{id}/deliveries/{n1}"), Some(DEMO), None).await;
    assert_eq!(s, StatusCode::OK, "{detail}");
    let statuses: Vec<u64> = detail["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [500, 500, 500, 500, 500, 200]);
    assert!(detail["attempt_log"][0]["error"].as_str().unwrap().contains("500"));

    // Metrics: deliveries by outcome, the queue's depth and age.
    let (_, metrics) = h.call(Method::GET, "/metrics", None, None).await;
    let metrics = metrics.as_str().unwrap().to_owned();
    assert!(
        metrics.contains("starkroute_webhook_deliveries_total{outcome=\"failed\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("starkroute_webhook_deliveries_total{outcome=\"retried\"} 5"),
        "{metrics}"
    );
    assert!(metrics.contains("starkroute_webhook_queue_depth"), "{metrics}");
    assert!(metrics.contains("starkroute_webhook_oldest_pending_seconds"), "{metrics}");

    // Rotate, then replay the refused delivery: signed with both secrets, accepted now.
    let (s, rotated) =
        h.call(Method::POST, &format!("/v1/webhooks/{id}/rotate-secret"), Some(DEMO), None).await;
    assert_eq!(s, StatusCode::OK, "{rotated}");
    let new_secret = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new_secret, secret);
    assert!(rotated["previous_secret_expires_at"].as_i64().is_some());
    r.refuse_order.store(false, Ordering::SeqCst);
    let n2 = order["id"].as_u64().unwrap();
    let (s, again) = h
        .call(Method::POST, &format!("/v1/webhooks/{id}/deliveries/{n2}/retry"), Some(DEMO), None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{again}");
    assert_eq!(again["state"], "pending");
    wait_until("the replay", || accepted(&r.got.lock(), &rid).len() as u64 == last).await;
    let replayed = r.got.lock().iter().rev().find(|g| g.kind == "route_order").unwrap().clone();
    assert_eq!(replayed.event_id, format!("evt_{rid}_2"));
    assert_eq!(replayed.signature.matches("v1=").count(), 2, "{}", replayed.signature);
    assert!(verify(&secret, &replayed.signature, &replayed.body), "the old secret still verifies");
    assert!(verify(&new_secret, &replayed.signature, &replayed.body), "so does the new one");
    assert!(readme_python_verifies(&secret, &replayed.signature, &replayed.body));
    assert!(readme_python_verifies(&new_secret, &replayed.signature, &replayed.body));

    // Catch-up: the tenant's event log has every event, with the ids the webhooks carried.
    let (s, log) = h.call(Method::GET, "/v1/events?limit=500", Some(DEMO), None).await;
    assert_eq!(s, StatusCode::OK, "{log}");
    let ids: HashSet<String> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids, accepted(&r.got.lock(), &rid).keys().cloned().collect::<HashSet<_>>());
    let next = log["next_cursor"].as_str().unwrap();
    let (_, rest) =
        h.call(Method::GET, &format!("/v1/events?after={next}"), Some(DEMO), None).await;
    assert_eq!(rest["events"], json!([]));
    assert_eq!(rest["next_cursor"], next);
    let (_, page) = h.call(Method::GET, "/v1/events?limit=3", Some(DEMO), None).await;
    let c = page["next_cursor"].as_str().unwrap();
    let (_, page2) =
        h.call(Method::GET, &format!("/v1/events?after={c}&limit=500"), Some(DEMO), None).await;
    assert_eq!(
        page["events"].as_array().unwrap().len() + page2["events"].as_array().unwrap().len(),
        ids.len()
    );
    let (_, theirs_log) = h.call(Method::GET, "/v1/events", Some(ACME), None).await;
    assert_eq!(theirs_log["events"], json!([]), "another tenant's log is its own");

    // Tenant scope: demo's webhook is a 404 for acme, whatever the call.
    for (m, path) in [
        (Method::GET, format!("/v1/webhooks/{id}")),
        (Method::DELETE, format!("/v1/webhooks/{id}")),
        (Method::POST, format!("/v1/webhooks/{id}/rotate-secret")),
        (Method::GET, format!("/v1/webhooks/{id}/deliveries")),
        (Method::POST, format!("/v1/webhooks/{id}/deliveries/{n1}/retry")),
    ] {
        let (s, v) = h.call(m.clone(), &path, Some(ACME), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{m} {path}: {v}");
    }
    let (_, mine) = h.call(Method::GET, "/v1/webhooks", Some(ACME), None).await;
    assert_eq!(mine["webhooks"].as_array().unwrap().len(), 1);
    let (s, _) = h.call(Method::DELETE, &format!("/v1/webhooks/{id}"), Some(DEMO), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = h.call(Method::GET, &format!("/v1/webhooks/{id}"), Some(DEMO), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_refuses_ssrf_targets_and_bad_input_on_a_configured_network() {
    let h = Harness::start_with(&[("STARKROUTE_WEBHOOKS__ALLOW_PRIVATE_TARGETS", "false")]).await;
    let post = |body: Value| h.call(Method::POST, "/v1/webhooks", Some(DEMO), Some(body));
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.0.0.7/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
    ] {
        let (s, v) = post(json!({ "url": url, "events": ["*"] })).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{url}: {v}");
        assert_eq!(v["error"]["field"], "url", "{v}");
    }
    let (s, v) = post(json!({ "url": "http://127.0.0.1/h", "events": ["*"] })).await;
    assert!(v["error"]["message"].as_str().unwrap().contains("private"), "{s} {v}");
    for (body, field) in [
        (json!({ "url": "ftp://example.com/x", "events": ["*"] }), "url"),
        (json!({ "url": "https://user:pw@example.com/x", "events": ["*"] }), "url"),
        (json!({ "url": "https://93.184.216.34/x", "events": [] }), "events"),
        (json!({ "url": "https://93.184.216.34/x", "events": ["*", "leg_finished"] }), "events[1]"),
        (json!({ "url": "https://93.184.216.34/x", "events": ["*"], "secret": "mine" }), "secret"),
        (
            json!({ "url": "https://93.184.216.34/x", "events": ["*"], "description": "a\u{0}b" }),
            "description",
        ),
    ] {
        let (s, v) = post(body.clone()).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {v}");
        assert_eq!(v["error"]["field"], field, "{body}: {v}");
    }
    let (s, v) = h.call(Method::POST, "/v1/webhooks", Some(DEMO), None).await;
    assert!(s.is_client_error(), "{v}");
    // A public address passes (no request is made to it: nothing happens on the route side).
    let (s, v) = post(json!({ "url": "https://93.184.216.34/x", "events": ["leg_final"] })).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["id"].as_str().unwrap().to_owned();
    let (s, _) = h.call(Method::DELETE, &format!("/v1/webhooks/{id}"), Some(DEMO), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, v) = h.call(Method::GET, "/v1/webhooks/wh_nope", Some(DEMO), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
    let (s, v) = h.call(Method::GET, "/v1/events?after=x", Some(DEMO), None).await;
    assert_eq!(
        (s, v["error"]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("after"))
    );
    let (s, _) = h.call(Method::GET, "/v1/webhooks", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    // Nothing was registered.
    let (_, list) = h.call(Method::GET, "/v1/webhooks", Some(DEMO), None).await;
    assert_eq!(list["webhooks"], json!([]));
    h.stop().await;
}
