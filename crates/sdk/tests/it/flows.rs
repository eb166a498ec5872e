//! The Alice→Bob gift through the SDK: quote, idempotent start, the event stream to completion
//! (also across dropped connections), listing, assets and readiness.

use starkroute_sdk::{Client, Event, RouteStatus};
use starkroute_types::{Layer, LegStatus};

use crate::{gift_request, harness, read_all, straight_into_bobs_vault, Relay};

fn assert_every_leg_seen(events: &[Event], legs: u16) {
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "no gap, no duplicate");
    assert_eq!(events[0].kind, "route_created");
    assert_eq!(events.last().unwrap().kind, "route_completed");
    for leg in 0..legs {
        for kind in ["leg_prepared", "leg_submitted", "leg_final"] {
            assert!(
                events.iter().any(|e| e.kind == kind && e.leg() == Some(leg)),
                "no {kind} for leg {leg}: {:?}",
                events.iter().map(|e| &e.kind).collect::<Vec<_>>()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gift_is_quoted_started_once_and_watched_to_completion() {
    let mut h = harness(true).await;
    let client = h.client();

    let quote = client.quote(&gift_request()).await.unwrap();
    assert!(quote.id.starts_with("q_"));
    assert!(quote.expires_at > quote.created_at);
    assert!(quote.plans.routes.len() >= 2, "{quote:?}");
    assert!(quote.plans.rejected.iter().all(|r| !r.reason.is_empty()));
    let index = straight_into_bobs_vault(&quote);
    let planned = &quote.plans.routes[usize::from(index)];
    assert!(planned.legs.iter().all(|l| l.eta.max_secs > 0 && !l.fees.is_empty()));

    let route = client.start(&quote.id, index, Some("gift-1")).await.unwrap();
    let again = client.start(&quote.id, index, Some("gift-1")).await.unwrap();
    assert_eq!(again.id, route.id, "the same key: the same route");
    assert_eq!(route.legs.len(), 3);
    assert_eq!(route.summary, planned.summary);
    assert_eq!(route.total_fee_wei, planned.total_fee_wei);

    h.run_world();
    let events = read_all(&client, &route.id, None).await;
    assert_every_leg_seen(&events, 3);
    let outcome = events.last().unwrap().outcome().expect("the final event has the outcome");
    assert_eq!(outcome.result, "completed");

    let done = client.route(&route.id).await.unwrap();
    assert_eq!(done.status, RouteStatus::Completed);
    assert!(done.legs.iter().all(|l| l.status == LegStatus::FinalOnL1));
    assert_eq!(done.outcome.as_ref(), Some(&outcome));
    assert_eq!(done.last_event_seq, events.last().unwrap().seq);

    // From any point: after event 3, the rest; after the last, nothing (the route is final).
    let rest = read_all(&client, &route.id, Some(3)).await;
    assert_eq!(rest, events[3..].to_vec());
    assert!(read_all(&client, &route.id, Some(done.last_event_seq)).await.is_empty());

    let page = client.list(Some(RouteStatus::Completed), Some(10), None).await.unwrap();
    assert_eq!(page.routes.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), [route.id.as_str()]);
    assert!(page.next.is_none());
    let page = client.list(Some(RouteStatus::Failed), None, None).await.unwrap();
    assert!(page.routes.is_empty());

    let assets = client.assets().await.unwrap();
    let eth = assets.by_symbol("ETH").expect("ETH is listed");
    assert!(eth["starkex"]["asset_type"].as_str().unwrap().starts_with("0x"));
    let alice = h.stack.demo.alice.starknet.to_fixed_hex_string();
    let bob = h.stack.demo.bob.starknet.to_fixed_hex_string();
    assert!(client.readiness(Layer::Starknet, &alice).await.unwrap().ready);
    let r = client.readiness(Layer::Starknet, &bob).await.unwrap();
    assert!(!r.ready && r.missing.is_some(), "{r:?}");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_resumes_after_dropped_connections_without_gap_or_duplicate() {
    let mut h = harness(true).await;
    let direct = h.client();
    let relay = Relay::start(&h.base).await;
    let client = Client::new(&relay.base, starkroute_testkit::server::DEMO_KEY).unwrap();
    let quote = client.quote(&gift_request()).await.unwrap();
    let route = client.start(&quote.id, straight_into_bobs_vault(&quote), None).await.unwrap();

    // Watch through the relay, cutting its connections while the route runs.
    let watcher = tokio::spawn({
        let client = client.clone();
        let id = route.id.clone();
        async move { crate::read_all(&client, &id, None).await }
    });
    // The first cut comes while the route waits for the world's clock (stopped until then), so
    // it is mid-stream for sure; a few more follow while the route runs.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!watcher.is_finished());
    let mut cuts = relay.cut();
    h.run_world();
    for _ in 0..3 {
        tokio::time::sleep(std::time::Duration::from_millis(40)).await;
        cuts += relay.cut();
    }
    let events = watcher.await.unwrap();
    assert!(cuts >= 1);
    assert_every_leg_seen(&events, 3);
    // Exactly the log, as a direct stream reads it afterwards.
    assert_eq!(events, read_all(&direct, &route.id, None).await);
    h.stop().await;
}

/// The tracking page's token through the SDK: shown when the route starts, replaced, revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_view_token_is_shown_at_start_reissued_and_revoked() {
    let h = harness(true).await;
    let client = h.client();
    let quote = client.quote(&gift_request()).await.unwrap();
    let route = client.start(&quote.id, straight_into_bobs_vault(&quote), None).await.unwrap();
    let first = route.track_url.clone().expect("a started route carries its tracking page");
    let base = h.base.clone();
    let opens = |url: String| {
        let url = format!("{base}{}", url.replacen('?', "/route?", 1));
        async move { reqwest::get(url).await.unwrap().status().as_u16() }
    };
    assert_eq!(opens(first.expose().to_owned()).await, 200);
    let next = client.issue_view_token(&route.id).await.unwrap();
    assert_eq!(next.route, route.id);
    assert_eq!(opens(first.expose().to_owned()).await, 404, "the old token stops working");
    assert_eq!(opens(next.track_url.expose().to_owned()).await, 200);
    client.revoke_view_token(&route.id).await.unwrap();
    assert_eq!(opens(next.track_url.expose().to_owned()).await, 404);
    let theirs = h.client_with("sr_no_such_key").revoke_view_token(&route.id).await;
    assert!(theirs.is_err());
    h.stop().await;
}
