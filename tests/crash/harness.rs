//! The sandbox world of the harness, its routes, one run, and the checks after it.

use std::{
    collections::{HashMap, HashSet},
    path::Path,
    sync::Arc,
    time::Duration,
};

use starkroute_crypto::{EthPrivateKey, StarkPrivateKey};
use starkroute_executor::Clock as _;
use starkroute_executor::{Executor, ExecutorConfig, RouteOrder, SystemClock};
use starkroute_layer::{Prepared, SettlementLayer};
use starkroute_sandbox::adapters::{L1Payload, SandboxL1, SandboxStarknet};
use starkroute_sandbox::l1::chain::TxStatus;
use starkroute_sandbox::world::{Demo, DemoTokens, SharedWorld, World as SandboxWorld};
use starkroute_store::{
    LeaseOwner, NewWebhook, RouteId, RouteRecord, RouteStore, TenantId, WebhookSecret, ALL_EVENTS,
};
use starkroute_types::{
    Account, Amount, Felt, Holding, Layer, LegKind, LegStatus, Position, Route, RouteStatus,
    StarkKey, StarknetAddress, U256,
};

use starkroute_testkit::demo;
use starkroute_testkit::routes::{leg, route};

use crate::faults::{inject, Point, Supervisor};
use crate::record::{Recorded, Recording};
use crate::webhooks::Receiver;

/// Where the routes are stored and by how many workers they are driven.
pub struct Backend {
    pub url: String,
    pub workers: usize,
    pub name: &'static str,
}

/// What a sender moves.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// An ART NFT minted on Starknet, sent to Bob's StarkEx vault (the gift's route).
    Gift { token_id: u64 },
    /// USDC from L1 to the sender's Starknet account through StarkGate and back.
    UsdcRoundTrip { amount: u128 },
}

struct Sender {
    eth: EthPrivateKey,
    stark: StarkPrivateKey,
    starknet: StarknetAddress,
    kind: Kind,
}

impl Sender {
    fn l1(&self) -> Account {
        Account::L1(self.eth.address())
    }
    fn sn(&self) -> Account {
        Account::Starknet(self.starknet)
    }
}

struct World {
    shared: SharedWorld,
    tokens: DemoTokens,
    bob: StarkKey,
    senders: Vec<Sender>,
}

const ETHER: u128 = 1_000_000_000_000_000_000;

/// The demo deployment plus one sender per route, each with its own keys and accounts (a
/// route's nonces are then its own: what a sender's nonce says is what its route sent).
fn build_world(routes: usize) -> World {
    let Demo { mut world, bob, tokens, .. } = Demo::new().unwrap();
    let mut senders = Vec::with_capacity(routes);
    for i in 0..routes {
        let n = u64::try_from(i).unwrap();
        let eth = EthPrivateKey::from_hex(&format!("{:064x}", 0x5eed_0000 + n)).unwrap();
        let stark = StarkPrivateKey::from_hex(&format!("{:064x}", 0x00c0_ffee_0000 + n)).unwrap();
        let sn = world.starknet.genesis_account(stark.public_key().felt(), Felt::ZERO);
        world.l1.ledger_mut().genesis_eth(eth.address(), U256::from(ETHER));
        let kind = if i % 4 == 3 {
            let amount = 1_000_000 * u128::from(n + 1);
            world
                .l1
                .ledger_mut()
                .erc20_mint(&tokens.usdc, None, eth.address(), U256::from(amount))
                .unwrap();
            Kind::UsdcRoundTrip { amount }
        } else {
            let token_id = 1_000 + n;
            world.starknet.genesis_mint_erc721(tokens.art_l2, sn, U256::from(token_id)).unwrap();
            Kind::Gift { token_id }
        };
        senders.push(Sender { eth, stark, starknet: StarknetAddress::new(sn).unwrap(), kind });
    }
    world.reset_baseline();
    World { shared: SharedWorld::new(world), tokens, bob: bob.stark_key(), senders }
}

fn route_of(w: &World, s: &Sender) -> (Route, RouteOrder) {
    let on_l1 = Position::owned(s.l1());
    let claimable = Position { holding: Holding::Claimable, ..on_l1 };
    let on_sn = Position::owned(s.sn());
    match s.kind {
        Kind::Gift { token_id } => {
            let art = demo::art(&w.tokens, token_id);
            let at_bob = Position::owned(Account::StarkEx(w.bob));
            let legs = vec![
                leg(0, LegKind::StarknetNftWithdraw, on_sn, claimable),
                leg(1, LegKind::L1ClaimFromNftBridge, claimable, on_l1),
                leg(2, LegKind::L1DepositToStarkEx, on_l1, at_bob),
            ];
            let order = RouteOrder { asset: art, amount: Amount::from_u128(1) };
            (route(format!("ART #{token_id}: starknet → l1 → Bob's starkex vault"), legs), order)
        }
        Kind::UsdcRoundTrip { amount } => {
            let usdc = demo::usdc(&w.tokens);
            let legs = vec![
                leg(0, LegKind::L1DepositToStarkGate, on_l1, on_sn),
                leg(1, LegKind::StarknetWithdraw, on_sn, claimable),
                leg(2, LegKind::L1ClaimFromStarkGate, claimable, on_l1),
            ];
            let order = RouteOrder { asset: usdc, amount: Amount::from_u128(amount) };
            (route(format!("{amount} USDC: l1 → starknet → l1"), legs), order)
        }
    }
}

/// Serves the world's adapters (holding every sender's keys, their `prepare` calls recorded)
/// behind the kill middleware.
fn serve_layers(
    w: &World,
    sup: Arc<Supervisor>,
    recording: &Arc<Recording>,
    listener: tokio::net::TcpListener,
) {
    let l1_keys: HashMap<_, _> =
        w.senders.iter().map(|s| (s.eth.address(), s.eth.clone())).collect();
    let sn_keys: HashMap<_, _> = w.senders.iter().map(|s| (s.starknet, s.stark.clone())).collect();
    let l1: Arc<dyn SettlementLayer> =
        Recorded::wrap(Arc::new(SandboxL1::new(w.shared.clone(), l1_keys)), recording.clone());
    let sn: Arc<dyn SettlementLayer> = Recorded::wrap(
        Arc::new(SandboxStarknet::new(w.shared.clone(), sn_keys)),
        recording.clone(),
    );
    let app = starkroute_layer_http::router([l1, sn])
        .layer(axum::middleware::from_fn_with_state(sup, inject));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
}

/// One run: `routes` routes, `kills` SIGKILLs, then the checks.
pub async fn run_harness(backend: Backend, routes: usize, kills: usize, dir: &Path) {
    let seed = std::env::var("CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(0x5eed);
    eprintln!("crash harness on {}: {routes} routes, {kills} kills, seed {seed}", backend.name);
    let w = build_world(routes);

    // The routes, created before any worker runs.
    let (store, hooks) = starkroute_store::connect_with_webhooks(&backend.url, 4).await.unwrap();
    let tenant = TenantId::new("crash").unwrap();
    // A webhook endpoint for every event, registered before the routes exist.
    let (receiver, hook_url) = Receiver::start().await;
    let endpoint = NewWebhook {
        url: hook_url,
        events: vec![ALL_EVENTS.into()],
        description: "crash harness".into(),
        secret: WebhookSecret::new(crate::webhooks::SECRET).unwrap(),
    };
    hooks.create_webhook(&tenant, &endpoint, SystemClock.now()).await.unwrap();
    let creator = Executor::new(
        store.clone(),
        [],
        LeaseOwner::new("harness").unwrap(),
        ExecutorConfig::default(),
        Arc::new(SystemClock),
    );
    let mut ids = Vec::with_capacity(routes);
    for s in &w.senders {
        let (route, order) = route_of(&w, s);
        ids.push(creator.create_route(&tenant, None, &route, &order).await.unwrap().id);
    }

    let names: Vec<String> =
        (0..backend.workers).map(|i| format!("{}-{i}", backend.name)).collect();
    let bin = Path::new(env!("CARGO_BIN_EXE_starkroute"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let layers_url = format!("http://{}", listener.local_addr().unwrap());
    let args = vec![
        "--database".into(),
        backend.url.clone(),
        "--layers".into(),
        layers_url.clone(),
        "--poll-interval-ms".into(),
        "100".into(),
        "--lease-ms".into(),
        "1500".into(),
        "--backoff-initial-ms".into(),
        "50".into(),
        "--backoff-max-ms".into(),
        "800".into(),
        "--webhooks-allow-private-targets".into(),
        "--webhooks-lease-ms".into(),
        "1500".into(),
        "--webhooks-timeout-ms".into(),
        "700".into(),
    ];
    let sup = Supervisor::new(bin, args, &names, dir, kills, seed);
    let recording = Arc::new(Recording::default());
    serve_layers(&w, sup.clone(), &recording, listener);

    // The virtual clock runs ~3000× real time: a Starknet state update every few seconds.
    let clock_world = w.shared.clone();
    let clock = tokio::spawn(async move {
        loop {
            clock_world.lock().advance(30);
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    });
    let supervising = tokio::spawn(sup.clone().run());
    let random = tokio::spawn(sup.clone().random_kills());

    let started = std::time::Instant::now();
    let deadline = Duration::from_secs(900);
    let records = loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let records = load(&*store, &tenant, &ids).await;
        let open = records.iter().filter(|r| !r.status.is_terminal()).count();
        if open == 0 && sup.kills_done() && hooks.outbox_stats().await.unwrap().pending == 0 {
            break records;
        }
        if started.elapsed() > deadline {
            sup.stop();
            let stuck: Vec<_> =
                records.iter().filter(|r| !r.status.is_terminal()).take(3).collect();
            panic!(
                "{open} routes not terminal after {deadline:?}; e.g. {stuck:#?}\n{}",
                sup.logs()
            );
        }
    };
    sup.stop();
    random.abort();
    supervising.abort();
    clock.abort();
    let elapsed = started.elapsed();

    let crate::faults::Report { by_point, killed, starts, unexpected } = sup.report();
    eprintln!(
        "{}: {routes} routes completed in {:.1}s with {killed} SIGKILLs {by_point:?}; starts {starts:?}",
        backend.name,
        elapsed.as_secs_f64()
    );
    assert!(unexpected.is_empty(), "workers exited on their own: {unexpected:?}\n{}", sup.logs());
    assert_eq!(killed, kills);
    for p in Point::AT_CALLS {
        assert!(by_point.contains_key(&p), "no kill at {p:?}: {by_point:?}");
    }

    check(&w, &*store, &tenant, &records, &recording).await;

    // Every event of every route reached the webhook receiver, in order per route.
    let mut expected = HashSet::new();
    for rec in &records {
        for e in store.events_since(&tenant, &rec.id, 0).await.unwrap() {
            expected.insert(format!("evt_{}_{}", e.route, e.seq));
        }
    }
    let repeats = receiver.check(&expected);
    eprintln!(
        "{}: {} webhooks delivered through the kills ({repeats} repeated, at least once)",
        backend.name,
        expected.len()
    );
}

async fn load(store: &dyn RouteStore, tenant: &TenantId, ids: &[RouteId]) -> Vec<RouteRecord> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(store.get_route(tenant, id).await.unwrap().unwrap());
    }
    out
}

fn prepared(rec: &RouteRecord, i: usize) -> Prepared {
    serde_json::from_value(rec.legs[i].prepared.clone().unwrap()).unwrap()
}

/// At the adapters, for one leg: nothing was prepared (built and signed) for the leg after the
/// preparation whose payload the store holds had answered — every other preparation started
/// before that (a worker killed between `prepare` answering and the payload being stored, or a
/// worker whose lease expired mid-call), consumed the same nonce, and never executed. Returns
/// how many preparations beyond one the leg had.
fn check_preparations(
    world: &SandboxWorld,
    rec: &RouteRecord,
    i: usize,
    recording: &Recording,
) -> usize {
    let stored = prepared(rec, i);
    let preps = recording.of(&rec.id, rec.legs[i].index);
    let same = |p: &Prepared| p.hash == stored.hash && p.payload == stored.payload;
    let kept = preps
        .iter()
        .rposition(|p| same(&p.prepared))
        .unwrap_or_else(|| panic!("{} leg {i}: the stored payload was never prepared", rec.id));
    for (n, other) in preps.iter().enumerate().filter(|(n, _)| *n != kept) {
        assert!(
            other.started < preps[kept].answered,
            "{} leg {i}: prepared again (call {n}) after the payload the store holds",
            rec.id
        );
        let earlier = &other.prepared;
        assert_eq!(
            earlier.nonce, stored.nonce,
            "{} leg {i}: re-prepared with another nonce",
            rec.id
        );
        if same(earlier) {
            continue;
        }
        match earlier.layer {
            Layer::L1 => {
                let dropped: L1Payload = serde_json::from_value(earlier.payload.clone()).unwrap();
                let kept: L1Payload = serde_json::from_value(stored.payload.clone()).unwrap();
                for tx in dropped.txs.iter().filter(|t| kept.txs.iter().all(|k| k.hash != t.hash)) {
                    let executed = world.l1.receipt(&tx.hash).is_some();
                    assert!(!executed, "{} leg {i}: a dropped payload executed", rec.id);
                }
            }
            Layer::Starknet => {
                let hash = starkroute_types::parse_felt(&earlier.hash).unwrap();
                let executed = earlier.hash != stored.hash && world.starknet.tx(&hash).is_some();
                assert!(!executed, "{} leg {i}: a dropped payload executed", rec.id);
            }
            Layer::StarkEx => panic!("no StarkEx leg in the harness"),
        }
    }
    preps.len() - 1
}

/// Every route complete; every payload executed exactly once; nothing prepared for a leg after
/// its payload was stored; conservation.
async fn check(
    w: &World,
    store: &dyn RouteStore,
    tenant: &TenantId,
    records: &[RouteRecord],
    recording: &Recording,
) {
    let mut prepared_per_route = Vec::with_capacity(records.len());
    for rec in records {
        let events = store.events_since(tenant, &rec.id, 0).await.unwrap();
        prepared_per_route.push(events.iter().filter(|e| e.kind == "leg_prepared").count());
    }
    let world = w.shared.lock();
    let mut deposits = 0;
    let (mut legs, mut re_prepared) = (0, 0);
    for ((s, rec), prepared_events) in w.senders.iter().zip(records).zip(prepared_per_route) {
        assert_eq!(rec.status, RouteStatus::Completed, "{:#?}", rec);
        assert!(rec.legs.iter().all(|l| l.status == LegStatus::FinalOnL1), "{rec:#?}");

        // L1: every stored transaction has one successful receipt, and the sender's nonce is
        // exactly the number of them (nothing else was signed and executed).
        let mut l1_txs = 0;
        let mut l2_invokes = 0;
        for (i, leg) in rec.legs.iter().enumerate() {
            re_prepared += check_preparations(&world, rec, i, recording);
            legs += 1;
            let p = prepared(rec, i);
            match p.layer {
                Layer::L1 => {
                    let payload: L1Payload = serde_json::from_value(p.payload.clone()).unwrap();
                    for tx in &payload.txs {
                        let receipt = world.l1.receipt(&tx.hash).expect("a stored tx was sent");
                        assert_eq!(receipt.status, TxStatus::Success, "{}", rec.id);
                        l1_txs += 1;
                    }
                }
                Layer::Starknet => {
                    let hash = starkroute_types::parse_felt(&p.hash).unwrap();
                    assert!(world.starknet.tx(&hash).is_some(), "{} leg {}", rec.id, leg.index);
                    l2_invokes += 1;
                }
                Layer::StarkEx => panic!("no StarkEx leg in the harness"),
            }
        }
        // The store recorded one preparation per leg (its event is written with the payload).
        assert_eq!(prepared_events, rec.legs.len(), "{}: one leg_prepared per leg", rec.id);
        assert_eq!(world.l1.nonce(&s.eth.address()), l1_txs, "{}: L1 nonce", rec.id);
        // A genesis account starts at nonce 1.
        assert_eq!(world.starknet.nonce(&s.starknet.felt()), 1 + l2_invokes, "{}", rec.id);

        match s.kind {
            Kind::Gift { token_id } => {
                deposits += 1;
                let id = U256::from(token_id);
                assert_eq!(
                    world.l1.ledger().erc721_owner(&w.tokens.art_l1, &id),
                    Some(world.l1.addresses().starkex_core),
                    "ART #{token_id} is escrowed for Bob's vault"
                );
                let n = world
                    .starkex
                    .deposits()
                    .iter()
                    .filter(|d| d.event.depositor == s.eth.address() && d.refused.is_none())
                    .count();
                assert_eq!(n, 1, "ART #{token_id} deposited once");
            }
            Kind::UsdcRoundTrip { amount } => {
                let back = world.l1.ledger().erc20_balance(&w.tokens.usdc, &s.eth.address());
                assert_eq!(back, U256::from(amount), "{}: USDC back on L1", rec.id);
            }
        }
    }
    let credited = world
        .starkex
        .deposits()
        .iter()
        .filter(|d| d.event.stark_key == w.bob && d.refused.is_none())
        .count();
    assert_eq!(credited, deposits);
    world.check_conservation().unwrap();
    eprintln!(
        "prepare calls at the adapters: {} for {legs} legs ({re_prepared} re-prepared between \
         prepare and store — a kill or a lost lease — each with the stored payload's nonce, \
         none executed)",
        recording.total()
    );
    assert_eq!(recording.total(), legs + re_prepared);
}
