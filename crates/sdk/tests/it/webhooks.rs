//! A webhook receiver written with the SDK: `verify_webhook` checks every delivery the real
//! server sends to it on 127.0.0.1, and the receiver de-duplicates by event id. The endpoint is
//! managed through the SDK (register, rotate, catch up with `events_after`, delete).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use parking_lot::Mutex;
use starkroute_sdk::webhook::{verify_webhook, WebhookError, WebhookEvent};

use crate::{gift_request, straight_into_bobs_vault, wait_for};

#[derive(Default)]
struct Receiver {
    secret: Mutex<String>,
    /// Every verified event, by id (a repeat is dropped here: de-duplication).
    events: Mutex<BTreeMap<String, WebhookEvent>>,
    /// Event seqs in arrival order, repeats included.
    arrivals: Mutex<Vec<u64>>,
    /// Deliveries that did not verify, with the raw request for the test.
    refused: Mutex<Vec<WebhookError>>,
    last: Mutex<Option<(HeaderMap, Bytes)>>,
}

async fn receive(State(r): State<Arc<Receiver>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let secret = r.secret.lock().clone();
    *r.last.lock() = Some((headers.clone(), body.clone()));
    match verify_webhook(&secret, &headers, &body, Duration::from_secs(300)) {
        Ok(event) => {
            r.arrivals.lock().push(event.seq);
            r.events.lock().entry(event.id.clone()).or_insert(event);
            StatusCode::OK
        }
        Err(e) => {
            r.refused.lock().push(e);
            StatusCode::UNAUTHORIZED
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_verifies_every_delivery_with_the_sdk() {
    let mut h = crate::harness(true).await;
    let r = Arc::new(Receiver::default());
    let app = axum::Router::new().fallback(receive).with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hooks/starkroute", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let client = h.client();
    let hook = client.create_webhook(&url, &["*"], "sdk receiver").await.unwrap();
    let secret = hook.secret.clone().expect("the secret, once");
    assert!(!format!("{hook:?}").contains(&secret), "Debug redacts the secret");
    *r.secret.lock() = secret.clone();
    assert_eq!(client.webhooks().await.unwrap()[0].secret, None, "never shown again");

    h.run_webhooks();
    let quote = client.quote(&gift_request()).await.unwrap();
    let route = client.start(&quote.id, straight_into_bobs_vault(&quote), None).await.unwrap();
    h.run_world();
    let done = wait_for(&client, &route.id, |r| r.status.is_terminal()).await;
    assert_eq!(done.status, starkroute_sdk::RouteStatus::Completed);
    let last = done.last_event_seq;

    for _ in 0..3_000 {
        if r.events.lock().len() as u64 == last {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(r.refused.lock().is_empty(), "{:?}", r.refused.lock());
    let got: Vec<u64> = r
        .events
        .lock()
        .values()
        .map(|e| e.seq)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    assert_eq!(got, (1..=last).collect::<Vec<_>>(), "every event, once after de-duplication");
    let arrivals = r.arrivals.lock().clone();
    assert!(arrivals.windows(2).all(|w| w[0] <= w[1]), "in order: {arrivals:?}");
    assert!(r.events.lock().values().all(|e| e.route == route.id));

    // The same delivery under another secret does not verify.
    let (headers, body) = r.last.lock().clone().unwrap();
    assert_eq!(
        verify_webhook("whsec_someone_elses_secret", &headers, &body, Duration::from_secs(300)),
        Err(WebhookError::Mismatch)
    );

    // Catch-up: the tenant's log has the same events, with the same ids.
    let log = client.events_after(None, 500).await.unwrap();
    let ids: Vec<&str> = log.events.iter().map(|e| e.id.as_str()).collect();
    let received: Vec<String> = r.events.lock().keys().cloned().collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, received);
    assert!(client.events_after(Some(&log.next_cursor), 500).await.unwrap().events.is_empty());

    // Replay the first delivery: it arrives again (a repeat the receiver drops).
    let deliveries = client.webhook_deliveries(&hook.id, 500).await.unwrap();
    assert!(deliveries.iter().all(|d| d.state == "delivered"), "{deliveries:?}");
    let first = deliveries.iter().find(|d| d.event.seq == 1).unwrap();
    let before = r.arrivals.lock().len();
    client.retry_webhook_delivery(&hook.id, first.id).await.unwrap();
    for _ in 0..1_000 {
        if r.arrivals.lock().len() > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(r.arrivals.lock()[before..], [1]);
    assert_eq!(r.events.lock().len() as u64, last);

    let rotated = client.rotate_webhook_secret(&hook.id).await.unwrap();
    assert_ne!(rotated.secret.as_deref(), Some(secret.as_str()));
    assert!(rotated.previous_secret_expires_at.is_some());
    client.delete_webhook(&hook.id).await.unwrap();
    assert!(client.webhooks().await.unwrap().is_empty());
    let gone = client.delete_webhook(&hook.id).await.unwrap_err();
    assert!(matches!(gone, starkroute_sdk::Error::NotFound { .. }), "{gone:?}");
    h.stop().await;
}
