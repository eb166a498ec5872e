//! The harness's webhook receiver: the workers deliver every route event to it while they are
//! killed. It checks each signature with the SDK's `verify_webhook`, answers 503 to every ninth
//! request (so retries happen under kills too), and records what it accepted.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use parking_lot::Mutex;
use starkroute_sdk::webhook::verify_webhook;

/// The endpoint's secret.
pub const SECRET: &str = "whsec_crash_harness_secret_00";

#[derive(Default)]
pub struct Receiver {
    requests: Mutex<u64>,
    /// Accepted event ids in arrival order, repeats included, with the route and seq.
    pub accepted: Mutex<Vec<(String, String, u64)>>,
    pub unverified: Mutex<Vec<String>>,
}

async fn receive(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let n = {
        let mut n = r.requests.lock();
        *n += 1;
        *n
    };
    match verify_webhook(SECRET, &headers, &body, Duration::from_secs(300)) {
        Err(e) => {
            r.unverified.lock().push(e.to_string());
            StatusCode::UNAUTHORIZED
        }
        Ok(_) if n % 9 == 0 => StatusCode::SERVICE_UNAVAILABLE,
        Ok(event) => {
            r.accepted.lock().push((event.id, event.route, event.seq));
            StatusCode::OK
        }
    }
}

impl Receiver {
    /// Serves on 127.0.0.1; returns the endpoint's URL.
    pub async fn start() -> (Arc<Self>, String) {
        let r = Arc::new(Self::default());
        let app = axum::Router::new().fallback(receive).with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hooks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (r, url)
    }

    /// Every event in `expected` accepted, every request verified, each route's events first
    /// accepted in order; returns how many deliveries were repeats (at least once).
    pub fn check(&self, expected: &HashSet<String>) -> usize {
        assert!(self.unverified.lock().is_empty(), "{:?}", self.unverified.lock());
        let accepted = self.accepted.lock();
        let ids: HashSet<String> = accepted.iter().map(|(id, _, _)| id.clone()).collect();
        let missing: Vec<_> = expected.difference(&ids).take(5).collect();
        let extra: Vec<_> = ids.difference(expected).take(5).collect();
        assert!(missing.is_empty() && extra.is_empty(), "missing {missing:?}, invented {extra:?}");
        let mut first_seen = HashSet::new();
        let mut last_seq: HashMap<&str, u64> = HashMap::new();
        for (id, route, seq) in accepted.iter() {
            if first_seen.insert(id.as_str()) {
                let prev = last_seq.insert(route.as_str(), *seq).unwrap_or(0);
                assert!(*seq > prev, "route {route}: event {seq} first arrived after {prev}");
            }
        }
        accepted.len() - ids.len()
    }
}
