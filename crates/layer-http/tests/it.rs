//! The port over a real socket: a `RemoteLayer` behaves as the adapter it reaches, errors keep
//! their classification, and a server that is gone is a retryable error.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{collections::HashMap, sync::Arc};

use starkroute_layer::{LegIntent, LegProgress, SettlementLayer, SignatureScheme};
use starkroute_layer_http::{router, RemoteLayer};
use starkroute_sandbox::adapters::SandboxStarknet;
use starkroute_sandbox::world::{Demo, SharedWorld};
use starkroute_types::{
    parse_felt, Account, Amount, Asset, AssetClass, Layer, LegKind, Position, StarknetAddress,
    Token, TokenId, U256,
};

struct Served {
    url: String,
    demo_world: SharedWorld,
    alice: StarknetAddress,
    bob: StarknetAddress,
    alice_key: starkroute_crypto::StarkPrivateKey,
    art: Asset,
}

async fn serve() -> Served {
    let Demo { world, alice, bob, tokens } = Demo::new().unwrap();
    let world = SharedWorld::new(world);
    // No keystore: every Starknet leg waits for the account's signature.
    let l2: Arc<dyn SettlementLayer> =
        Arc::new(SandboxStarknet::new(world.clone(), HashMap::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router([l2])).await.unwrap() });
    let art = Asset::nft(
        Token {
            symbol: "ART".into(),
            class: AssetClass::Erc721,
            decimals: 0,
            home: Layer::Starknet,
            l1: Some(tokens.art_l1),
            starknet: Some(StarknetAddress::new(tokens.art_l2).unwrap()),
            starkex: None,
        },
        TokenId(U256::from(7u64)),
    )
    .unwrap();
    Served {
        url,
        demo_world: world,
        alice: StarknetAddress::new(alice.starknet).unwrap(),
        bob: StarknetAddress::new(bob.starknet).unwrap(),
        alice_key: alice.stark,
        art,
    }
}

#[tokio::test]
async fn a_leg_through_the_remote_layer_is_the_adapters_leg() {
    let s = serve().await;
    assert_eq!(RemoteLayer::served(&s.url).await.unwrap(), vec![Layer::Starknet]);
    let l2 = RemoteLayer::new(&s.url, Layer::Starknet, "test-worker").unwrap();
    assert_eq!(l2.layer(), Layer::Starknet);

    let alice = Account::Starknet(s.alice);
    let bob = Account::Starknet(s.bob);
    assert!(l2.readiness(&alice).await.unwrap().ready);
    assert!(!l2.readiness(&bob).await.unwrap().ready, "Bob's account is only an address");
    assert_eq!(l2.balance(&alice, &s.art).await.unwrap(), Amount::from_u128(1));

    let intent = LegIntent {
        route_id: starkroute_types::RouteId::new(),
        leg_index: 0,
        kind: LegKind::StarknetTransfer,
        asset: s.art.clone(),
        amount: Amount::from_u128(1),
        from: Position::owned(alice),
        to: Position::owned(bob),
        previous: None,
    };
    // On the wire the route id is its ULID string, and it reads back as the same id.
    let wire = serde_json::to_value(&intent).unwrap();
    assert_eq!(wire["route_id"], intent.route_id.to_string());
    assert_eq!(serde_json::from_value::<LegIntent>(wire).unwrap(), intent);
    let p = l2.prepare(&intent).await.unwrap();
    let need = p.needs_signature.clone().expect("no key here: a signature request");
    assert_eq!(need.scheme, SignatureScheme::StarknetAccount);
    assert_eq!(need.signer, alice);

    // A refusal by the adapter keeps its classification across the wire.
    let err = l2.send(&p).await.unwrap_err();
    assert!(!err.retryable, "{err}");
    let h = parse_felt(&need.hash).unwrap();
    let wrong = s.alice_key.sign(&parse_felt("0x1234").unwrap()).unwrap().to_hex();
    let err = l2.attach_signature(&p, &wrong).await.unwrap_err();
    assert!(!err.retryable, "{err}");

    let signed = l2.attach_signature(&p, &s.alice_key.sign(&h).unwrap().to_hex()).await.unwrap();
    assert_eq!((signed.hash.clone(), signed.needs_signature.clone()), (p.hash.clone(), None));
    assert_eq!(l2.status(&signed).await.unwrap(), LegProgress::NotFound);
    l2.send(&signed).await.unwrap();
    l2.send(&signed).await.unwrap();
    assert_eq!(l2.status(&signed).await.unwrap(), LegProgress::Pending);
    s.demo_world.lock().advance(600);
    assert_ne!(l2.status(&signed).await.unwrap(), LegProgress::Pending);
    assert_eq!(l2.balance(&bob, &s.art).await.unwrap(), Amount::from_u128(1));
    s.demo_world.lock().check_conservation().unwrap();
}

#[tokio::test]
async fn unknown_layers_calls_and_bodies_are_permanent_refusals() {
    let s = serve().await;
    let l1 = RemoteLayer::new(&s.url, Layer::L1, "w").unwrap();
    let err = l1.readiness(&Account::Starknet(s.alice)).await.unwrap_err();
    assert!(!err.retryable && err.message.contains("not served"), "{err}");

    let http = reqwest::Client::new();
    for (path, body, status) in [
        ("/v1/layers/starknet/prepare", "{\"kind\": 1}", 400),
        ("/v1/layers/starknet/launch", "{}", 404),
        ("/v1/layers/moon/prepare", "{}", 404),
    ] {
        let resp = http
            .post(format!("{}{path}", s.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), status, "{path}");
        let e: starkroute_layer::AdapterError = resp.json().await.unwrap();
        assert!(!e.retryable && !e.message.is_empty(), "{path}: {e:?}");
    }
}

#[tokio::test]
async fn a_server_that_is_gone_is_a_retryable_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let l2 = RemoteLayer::new(&url, Layer::Starknet, "w").unwrap();
    let alice = Account::Starknet(StarknetAddress::new(parse_felt("0x1").unwrap()).unwrap());
    let err = l2.readiness(&alice).await.unwrap_err();
    assert!(err.retryable, "{err}");
}
