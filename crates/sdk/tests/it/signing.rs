//! Sign-and-resume with local keys: legs the sandbox's adapters hold no key for pause at
//! `awaiting_signature`, and the SDK signs what they ask for (L1 Ethereum, StarkEx Stark +
//! Ethereum in turn, Starknet account) until they resume.

use starkroute_sdk::{Error, LegStatus, LocalKeys, RouteStatus, SignatureScheme};
use starkroute_types::StarknetAddress;

use crate::{
    bob_deposit_request, gift_request, harness, read_all, straight_into_bobs_vault, wait_for,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bob_signs_his_deposit_then_a_starkex_withdrawal_with_two_signatures() {
    let mut h = harness(true).await;
    let client = h.client();
    let bob = h.stack.demo.bob.clone();
    let alice = h.stack.demo.alice.clone();

    // An L1 deposit from Bob's address: one Ethereum signature over the transaction hash.
    let quote = client.quote(&bob_deposit_request(&h)).await.unwrap();
    let route = client.start(&quote.id, 0, None).await.unwrap();
    let paused = wait_for(&client, &route.id, |r| r.status == RouteStatus::AwaitingSignature).await;
    let (leg, request) = paused.signature_requests().next().expect("a leg asks for a signature");
    assert_eq!((leg.index, request.scheme), (0, SignatureScheme::Ethereum));

    // Somebody else's key cannot sign it; nothing is sent.
    let wrong = LocalKeys::new().with_ethereum(alice.eth.clone());
    assert!(matches!(
        client.sign_until_resumed(&route.id, 0, &wrong).await,
        Err(Error::Signing(_))
    ));
    let keys = LocalKeys::new().with_ethereum(bob.eth.clone()).with_stark(bob.stark.clone());
    let resumed = client.sign_until_resumed(&route.id, 0, &keys).await.unwrap();
    assert_ne!(resumed.legs[0].status, LegStatus::AwaitingSignature, "{resumed:?}");
    assert!(resumed.legs[0].signature_request.is_none());
    h.run_world();
    let events = read_all(&client, &route.id, None).await;
    assert_eq!(events.last().unwrap().kind, "route_completed");
    assert!(events.iter().any(|e| e.kind == "signature_accepted" && e.leg() == Some(0)));

    // Bob now has ETH on StarkEx: withdrawing it to L1 needs his Stark signature over the
    // request, then his Ethereum signature over the operator's message — asked for in turn.
    let withdrawal = serde_json::from_value(serde_json::json!({
        "asset": { "token": "ETH" },
        "amount": "5000000000000000",
        "from": "starkex",
        "to": "l1",
        "sender": { "starkex": bob.stark_key().to_string(), "l1": bob.l1().to_string() },
        "recipient": { "l1": bob.l1().to_string() },
    }))
    .unwrap();
    let quote = client.quote(&withdrawal).await.unwrap();
    let route = client.start(&quote.id, 0, None).await.unwrap();
    let done = client.follow_and_sign(&route.id, &keys).await.unwrap();
    assert_eq!(done.status, RouteStatus::Completed, "{done:?}");
    let asks: Vec<_> = read_all(&client, &route.id, None)
        .await
        .iter()
        .filter_map(|e| e.signature_ask())
        .filter(|a| a.leg == 0)
        .map(|a| a.request.scheme)
        .collect();
    assert_eq!(asks, [SignatureScheme::Stark, SignatureScheme::Ethereum]);
    h.stack.world.lock().check_conservation().unwrap();
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gift_with_no_custodial_keys_is_signed_by_alice_locally() {
    let mut h = harness(false).await;
    let client = h.client();
    let alice = h.stack.demo.alice.clone();
    let quote = client.quote(&gift_request()).await.unwrap();
    let route = client.start(&quote.id, straight_into_bobs_vault(&quote), None).await.unwrap();
    let keys = LocalKeys::new()
        .with_starknet_account(StarknetAddress::new(alice.starknet).unwrap(), alice.stark.clone())
        .with_ethereum(alice.eth.clone())
        .with_stark(alice.stark.clone());
    h.run_world();
    let done = client.follow_and_sign(&route.id, &keys).await.unwrap();
    assert_eq!(done.status, RouteStatus::Completed, "{done:?}");
    let schemes: Vec<_> = read_all(&client, &route.id, None)
        .await
        .iter()
        .filter_map(|e| e.signature_ask())
        .map(|a| (a.leg, a.request.scheme))
        .collect();
    assert!(schemes.contains(&(0, SignatureScheme::StarknetAccount)), "{schemes:?}");
    h.stack.world.lock().check_conservation().unwrap();
    h.stop().await;
}
