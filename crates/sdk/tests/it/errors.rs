//! Each of the server's error answers comes out of the SDK as its typed error.

use std::time::Duration;

use futures_util::StreamExt;
use starkroute_sdk::{Client, Error, RouteStatus};
use starkroute_types::{Amount, Layer};

use crate::{bob_deposit_request, gift_request, harness, wait_for, BODY_LIMIT, QUOTE_TTL_SECS};

const NO_SUCH_ROUTE: &str = "01JZZZZZZZZZZZZZZZZZZZZZZZ";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_answer_maps_to_its_typed_error() {
    let h = harness(true).await;
    let client = h.client();

    // 401: an unknown key, on every kind of call.
    let stranger = Client::new(&h.base, "sr_not_a_key").unwrap();
    let e = stranger.quote(&gift_request()).await.unwrap_err();
    assert!(
        matches!(&e, Error::Unauthorized(a) if a.status == 401 && a.code == "unauthorized"),
        "{e}"
    );
    assert!(matches!(stranger.assets().await, Err(Error::Unauthorized(_))));
    let first = std::pin::pin!(stranger.watch(NO_SUCH_ROUTE, None)).next().await.unwrap();
    assert!(matches!(first, Err(Error::Unauthorized(_))));

    // 404: no such route, for reading, watching, cancelling and signing.
    for e in [
        client.route(NO_SUCH_ROUTE).await.unwrap_err(),
        client.cancel(NO_SUCH_ROUTE).await.unwrap_err(),
        client.submit_signature(NO_SUCH_ROUTE, 0, "0x01").await.unwrap_err(),
    ] {
        assert!(matches!(&e, Error::NotFound(a) if a.code == "route_not_found"), "{e}");
        assert_eq!(e.field(), Some("id"));
    }
    let mut stream = std::pin::pin!(client.watch(NO_SUCH_ROUTE, None));
    assert!(matches!(stream.next().await, Some(Err(Error::NotFound(_)))));
    assert!(stream.next().await.is_none(), "the stream ends after the error");
    let e = client.start("q_unknown", 0, None).await.unwrap_err();
    assert!(matches!(&e, Error::NotFound(a) if a.code == "quote_not_found"), "{e}");

    // 422 naming the field: a path parameter, a planner field, a route index, a list filter,
    // an account id.
    let e = client.route("not-a-ulid").await.unwrap_err();
    assert!(matches!(&e, Error::Invalid { field: Some(f), .. } if f == "id"), "{e}");
    let mut bad = gift_request();
    bad.asset.token = "NOPE".into();
    let e = client.quote(&bad).await.unwrap_err();
    assert!(matches!(&e, Error::Invalid { field: Some(f), .. } if f == "asset.token"), "{e}");
    let quote = client.quote(&bob_deposit_request(&h)).await.unwrap();
    let e = client.start(&quote.id, 99, None).await.unwrap_err();
    assert_eq!((e.code(), e.field()), (Some("invalid_field"), Some("route_index")), "{e}");
    let e = client.list(None, Some(0), None).await.unwrap_err();
    assert_eq!(e.field(), Some("limit"));
    let e = client.readiness(Layer::Starknet, "0xzz").await.unwrap_err();
    assert!(matches!(&e, Error::Invalid { field: Some(f), .. } if f == "id"), "{e}");

    // 409: an idempotency key reused with another body; a cancelled route cancelled again, or
    // signed.
    let route = client.start(&quote.id, 0, Some("k-1")).await.unwrap();
    // Another request (another amount), so another quote: an identical request soon after
    // would get the same quote back.
    let mut other_request = bob_deposit_request(&h);
    other_request.amount = Some(Amount::from_u128(20_000_000_000_000_000));
    let other = client.quote(&other_request).await.unwrap();
    assert_ne!(other.id, quote.id);
    let e = client.start(&other.id, 0, Some("k-1")).await.unwrap_err();
    assert!(matches!(&e, Error::Conflict(a) if a.code == "idempotency_conflict"), "{e}");
    assert_eq!(e.field(), Some("idempotency-key"));
    assert!(!e.is_retryable());
    let paused = wait_for(&client, &route.id, |r| r.status == RouteStatus::AwaitingSignature).await;
    let cancelled = client.cancel(&paused.id).await.unwrap();
    assert_eq!(cancelled.status, RouteStatus::Cancelled);
    let outcome = cancelled.outcome.expect("a cancelled route has an outcome");
    assert_eq!(outcome.result, "cancelled");
    let e = client.cancel(&paused.id).await.unwrap_err();
    assert!(matches!(&e, Error::Conflict(a) if a.code == "route_terminal"), "{e}");
    let e = client.submit_signature(&paused.id, 0, "0x01").await.unwrap_err();
    assert!(matches!(&e, Error::Conflict(_)), "{e}");
    // The cancelled route's stream ends after its last event (the legs' cancellations too).
    let events = crate::read_all(&client, &paused.id, None).await;
    assert_eq!(events.last().unwrap().seq, client.route(&paused.id).await.unwrap().last_event_seq);
    assert!(events.iter().any(|e| e.kind == "route_cancelled"));

    // 413: a body over the limit.
    let mut big = gift_request();
    big.asset.token = "X".repeat(BODY_LIMIT * 2);
    let e = client.quote(&big).await.unwrap_err();
    assert!(matches!(&e, Error::TooLarge(a) if a.status == 413), "{e}");

    // 410: a quote past its expiry.
    let late = client.quote(&bob_deposit_request(&h)).await.unwrap();
    h.clock.advance(Duration::from_secs(QUOTE_TTL_SECS + 1));
    let e = client.start(&late.id, 0, None).await.unwrap_err();
    assert!(matches!(&e, Error::Expired(a) if a.code == "quote_expired"), "{e}");

    // Transport: nobody listening.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let gone = Client::new(&format!("http://127.0.0.1:{port}"), "k").unwrap();
    let e = gone.assets().await.unwrap_err();
    assert!(matches!(e, Error::Transport(_)) && e.is_retryable(), "{e}");
    h.stop().await;
}
