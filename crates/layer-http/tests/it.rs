//! The port over a real socket: a `RemoteLayer` behaves as the adapter it reaches, errors keep
//! their classification, and a server that is gone is a retryable error.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::{collections::HashMap, sync::Arc};

use starkroute_layer::{
    LegIntent, LegProgress, Prepared, Readiness, Result, SettlementLayer, SignatureScheme,
};
use starkroute_layer_http::{router, LayerToken, RemoteLayer};
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
    /// Calls that reached the adapter behind the service.
    calls: Arc<AtomicUsize>,
}

/// An adapter that counts the calls reaching it (then does what the wrapped one does).
struct Counting {
    inner: Arc<dyn SettlementLayer>,
    calls: Arc<AtomicUsize>,
}

#[async_trait::async_trait]
impl SettlementLayer for Counting {
    fn layer(&self) -> Layer {
        self.inner.layer()
    }
    async fn balance(&self, account: &Account, asset: &Asset) -> Result<Amount> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.balance(account, asset).await
    }
    async fn readiness(&self, account: &Account) -> Result<Readiness> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.readiness(account).await
    }
    async fn prepare(&self, intent: &LegIntent) -> Result<Prepared> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.prepare(intent).await
    }
    async fn attach_signature(&self, prepared: &Prepared, signature: &str) -> Result<Prepared> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.attach_signature(prepared, signature).await
    }
    async fn send(&self, prepared: &Prepared) -> Result<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.send(prepared).await
    }
    async fn status(&self, prepared: &Prepared) -> Result<LegProgress> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.inner.status(prepared).await
    }
}

async fn serve() -> Served {
    serve_with(None, HashMap::new()).await
}

async fn serve_with(
    token: Option<LayerToken>,
    keys: HashMap<StarknetAddress, starkroute_crypto::StarkPrivateKey>,
) -> Served {
    let Demo { world, alice, bob, tokens } = Demo::new().unwrap();
    let world = SharedWorld::new(world);
    // No keystore unless given: every Starknet leg waits for the account's signature.
    let calls = Arc::new(AtomicUsize::new(0));
    let l2: Arc<dyn SettlementLayer> = Arc::new(Counting {
        inner: Arc::new(SandboxStarknet::new(world.clone(), keys)),
        calls: calls.clone(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router([l2], token)).await.unwrap() });
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
        calls,
    }
}

#[tokio::test]
async fn a_leg_through_the_remote_layer_is_the_adapters_leg() {
    let s = serve().await;
    assert_eq!(RemoteLayer::served(&s.url, None).await.unwrap(), vec![Layer::Starknet]);
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

/// A layer service that accepts the connection and never answers: the call fails at the
/// configured timeout as a retryable error naming the layer and the call, not the URL.
#[tokio::test]
async fn a_service_that_never_answers_times_out_as_a_retryable_error_without_its_url() {
    let addr = starkroute_testkit::net::silent_server();
    let timeouts = starkroute_layer::RpcTimeouts {
        connect: std::time::Duration::from_secs(1),
        request: std::time::Duration::from_secs(1),
    };
    let l2 = RemoteLayer::with_timeouts(&format!("http://{addr}"), Layer::Starknet, "w", timeouts)
        .unwrap();
    let alice = Account::Starknet(StarknetAddress::new(parse_felt("0x1").unwrap()).unwrap());
    let err = l2.readiness(&alice).await.unwrap_err();
    assert!(err.retryable, "{err}");
    assert_eq!(err.message, "starknet layer service: readiness: timed out");
}

fn token(t: &str) -> LayerToken {
    LayerToken::new(t).unwrap()
}

const TOKEN: &str = "layer-token-for-tests-0123456789abcdef";

#[tokio::test]
async fn without_the_token_nothing_is_prepared_signed_or_sent() {
    // Alice's key is held by the service: a call that got through would prepare and sign.
    let Demo { alice, .. } = Demo::new().unwrap();
    let alice_sn = StarknetAddress::new(alice.starknet).unwrap();
    let s = serve_with(Some(token(TOKEN)), HashMap::from([(alice_sn, alice.stark.clone())])).await;
    let alice = Account::Starknet(s.alice);
    let bob = Account::Starknet(s.bob);
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
    for presented in [None, Some(token("wrong-token-for-tests-0123456789abcdef"))] {
        let err = RemoteLayer::served(&s.url, presented.as_ref()).await.unwrap_err();
        assert!(err.message.contains("401") || err.message.contains("unauthorized"), "{err}");
        let l2 = RemoteLayer::new(&s.url, Layer::Starknet, "w").unwrap().with_token(presented);
        let err = l2.prepare(&intent).await.unwrap_err();
        assert!(err.message.contains("unauthorized"), "{err}");
        assert!(err.retryable, "a stale token backs off, it does not fail the leg");
        assert!(l2.readiness(&alice).await.is_err());
        assert!(l2.balance(&alice, &s.art).await.is_err());
        // A payload from elsewhere is not sent either.
        let forged = Prepared {
            layer: Layer::Starknet,
            kind: LegKind::StarknetTransfer,
            payload: serde_json::json!({}),
            hash: "0x1".into(),
            nonce: Some(0),
            needs_signature: None,
        };
        assert!(l2.send(&forged).await.is_err());
        assert!(l2.status(&forged).await.is_err());
        assert!(l2.attach_signature(&forged, "0x01").await.is_err());
    }
    // Raw requests: no header, another scheme, the token in another header, an empty bearer.
    let http = reqwest::Client::new();
    let url = format!("{}/v1/layers/starknet/prepare", s.url);
    let body = serde_json::to_string(&intent).unwrap();
    for (name, value) in [
        ("x-nothing", "x".to_owned()),
        ("authorization", format!("Basic {TOKEN}")),
        ("authorization", "Bearer ".to_owned()),
        ("authorization", format!("Bearer {TOKEN}x")),
        ("x-starkroute-token", TOKEN.to_owned()),
    ] {
        let resp = http
            .post(&url)
            .header(name, value)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 401);
        assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    }
    assert_eq!(s.calls.load(Ordering::SeqCst), 0, "no call reached the adapter");

    // With the token the same leg is prepared and signed by the service's key; nothing had
    // moved before.
    assert_eq!(
        RemoteLayer::served(&s.url, Some(&token(TOKEN))).await.unwrap(),
        vec![Layer::Starknet]
    );
    let l2 = RemoteLayer::new(&s.url, Layer::Starknet, "w").unwrap().with_token(Some(token(TOKEN)));
    assert_eq!(l2.balance(&alice, &s.art).await.unwrap(), Amount::from_u128(1));
    assert_eq!(l2.balance(&bob, &s.art).await.unwrap(), Amount::ZERO);
    s.demo_world.lock().check_conservation().unwrap();
    let p = l2.prepare(&intent).await.unwrap();
    assert!(p.needs_signature.is_none(), "signed by the held key");
    assert!(s.calls.load(Ordering::SeqCst) > 0);
    assert!(!format!("{l2:?}").contains(TOKEN));
}

#[tokio::test]
async fn without_a_token_only_loopback_peers_are_served() {
    use axum::extract::ConnectInfo;
    use tower::ServiceExt as _;
    let Demo { world, .. } = Demo::new().unwrap();
    let l2: Arc<dyn SettlementLayer> =
        Arc::new(SandboxStarknet::new(SharedWorld::new(world), HashMap::new()));
    let app = router([l2], None);
    for (peer, status) in [("127.0.0.1:5000", 200), ("[::1]:5000", 200), ("10.1.2.3:5000", 401)] {
        let mut req =
            axum::http::Request::get("/v1/layers").body(axum::body::Body::empty()).unwrap();
        req.extensions_mut().insert(ConnectInfo(peer.parse::<std::net::SocketAddr>().unwrap()));
        let res = app.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{peer}");
    }
}
