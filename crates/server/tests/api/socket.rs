//! Through a real socket on 127.0.0.1 with reqwest: the Alice→Bob gift from quote to completion
//! with its event stream, resuming the stream, and a graceful shutdown with a stream open.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use starkroute_store::{RouteStore, SqliteStore, TenantId};

use crate::{bob_deposit_request, gift_request, straight_into_bobs_vault, Harness, DEMO};

/// One SSE message.
#[derive(Debug)]
struct Sse {
    id: u64,
    event: String,
    data: Value,
}

/// Reads an event stream to its end (at most 60 s).
async fn read_events(mut res: reqwest::Response) -> Vec<Sse> {
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    let mut buf = String::new();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let chunk =
            tokio::time::timeout_at(deadline, res.chunk()).await.expect("stream ends").unwrap();
        let Some(chunk) = chunk else { break };
        buf.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let (mut id, mut event, mut data) = (None, None, None);
            for line in frame.lines() {
                if let Some(v) = line.strip_prefix("id:") {
                    id = Some(v.trim().parse().unwrap());
                } else if let Some(v) = line.strip_prefix("event:") {
                    event = Some(v.trim().to_owned());
                } else if let Some(v) = line.strip_prefix("data:") {
                    data = Some(serde_json::from_str(v.trim()).unwrap());
                }
            }
            if let (Some(id), Some(event), Some(data)) = (id, event, data) {
                out.push(Sse { id, event, data });
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gift_runs_to_completion_and_the_stream_shows_every_leg() {
    let mut h = Harness::start().await;
    let base = h.base.clone();
    let http = reqwest::Client::new();

    let res = http
        .post(format!("{base}/v1/quotes"))
        .bearer_auth(DEMO)
        .json(&gift_request())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let quote: Value = res.json().await.unwrap();
    let index = straight_into_bobs_vault(&quote);
    let start = json!({ "quote_id": quote["id"], "route_index": index });
    let res = http
        .post(format!("{base}/v1/routes"))
        .bearer_auth(DEMO)
        .header("Idempotency-Key", "gift-1")
        .json(&start)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    let route: Value = res.json().await.unwrap();
    let id = route["id"].as_str().unwrap().to_owned();

    // Follow the route live from its start, then let the sandbox's time run.
    let res =
        http.get(format!("{base}/v1/routes/{id}/events")).bearer_auth(DEMO).send().await.unwrap();
    h.run_world();
    let events = read_events(res).await;

    let seqs: Vec<u64> = events.iter().map(|e| e.id).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "no gap, no duplicate");
    assert_eq!(events[0].event, "route_created");
    assert_eq!(events.last().unwrap().event, "route_completed");
    for leg in 0..3u64 {
        for kind in ["leg_prepared", "leg_submitted", "leg_final"] {
            assert!(
                events.iter().any(|e| e.event == kind && e.data["data"]["leg"] == leg),
                "no {kind} for leg {leg}: {:?}",
                events.iter().map(|e| &e.event).collect::<Vec<_>>()
            );
        }
    }
    assert!(events.iter().all(|e| e.data["route"] == id.as_str() && e.data["seq"] == e.id));

    // Resume after event 3: the rest, from 4, then the end (the route is terminal).
    let res = http
        .get(format!("{base}/v1/routes/{id}/events"))
        .bearer_auth(DEMO)
        .header("Last-Event-ID", "3")
        .send()
        .await
        .unwrap();
    let rest = read_events(res).await;
    assert_eq!(rest.iter().map(|e| e.id).collect::<Vec<_>>(), seqs[3..].to_vec());
    let res = http
        .get(format!("{base}/v1/routes/{id}/events?after=0"))
        .bearer_auth(DEMO)
        .send()
        .await
        .unwrap();
    assert_eq!(read_events(res).await.len(), events.len());

    let res = http.get(format!("{base}/v1/routes/{id}")).bearer_auth(DEMO).send().await.unwrap();
    let done: Value = res.json().await.unwrap();
    assert_eq!(done["status"], "completed", "{done}");
    assert!(done["legs"].as_array().unwrap().iter().all(|l| l["status"] == "final_on_l1"));
    assert!(done["outcome"].is_object());

    // The same Idempotency-Key and body: the same route, not a second one.
    let res = http
        .post(format!("{base}/v1/routes"))
        .bearer_auth(DEMO)
        .header("Idempotency-Key", "gift-1")
        .json(&start)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.json::<Value>().await.unwrap()["id"], id.as_str());

    {
        let w = h.stack.world.lock();
        let art = h.stack.demo.tokens.art_l1;
        assert_eq!(
            w.l1.ledger().erc721_owner(&art, &alloy_u256(7)),
            Some(w.l1.addresses().starkex_core),
            "ART #7 is escrowed for Bob's StarkEx vault"
        );
        w.check_conservation().unwrap();
    }
    h.stop().await;
}

fn alloy_u256(n: u64) -> starkroute_types::U256 {
    starkroute_types::U256::from(n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_ends_open_streams_and_leaves_routes_resumable() {
    let h = Harness::start().await;
    let base = h.base.clone();
    let http = reqwest::Client::new();
    let q: Value = http
        .post(format!("{base}/v1/quotes"))
        .bearer_auth(DEMO)
        .json(&bob_deposit_request(&h))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let r: Value = http
        .post(format!("{base}/v1/routes"))
        .bearer_auth(DEMO)
        .json(&json!({ "quote_id": q["id"], "route_index": 0 }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = r["id"].as_str().unwrap().to_owned();
    h.wait_for(DEMO, &id, |r| r["status"] == "awaiting_signature").await;
    // A stream on a paused route stays open until the server stops.
    let res =
        http.get(format!("{base}/v1/routes/{id}/events")).bearer_auth(DEMO).send().await.unwrap();
    let reader = tokio::spawn(read_events(res));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!reader.is_finished());

    h.stack.core.signal_shutdown();
    let events = tokio::time::timeout(Duration::from_secs(10), reader).await.unwrap().unwrap();
    assert!(events.iter().any(|e| e.event == "leg_awaiting_signature"));
    // The server (and the executor) stop with the stream open.
    let dir = tokio::time::timeout(Duration::from_secs(10), h.stop()).await.expect("stopped");

    // The store has the route as it was: a restart resumes it.
    let store = SqliteStore::open_dir(dir.path()).await.unwrap();
    let rec = store
        .get_route(&TenantId::new("demo").unwrap(), &id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rec.status, starkroute_types::RouteStatus::AwaitingSignature);
    store.close().await;
}
