//! The Alice→Bob gift driven by the executor through the sandbox's real adapters (Starknet NFT
//! bridge withdraw, L1 claim, deposit into Bob's StarkEx vault) on the demo world, with the
//! executor on the world's virtual clock and a SQLite store.

use std::sync::Arc;

use starkroute_executor::{Executor, Outcome, RouteOrder};
use starkroute_layer::SettlementLayer;
use starkroute_sandbox::world::SharedWorld;
use starkroute_store::{
    LeaseOwner, RouteId, RouteRecord, RouteStore, SqliteStore, TenantId, Timestamp,
};
use starkroute_testkit::demo::{sn, starknet_account, DemoEnv, ETHER, ETH_QUANTUM};
use starkroute_testkit::routes::{leg, route};
use starkroute_types::{
    Account, Amount, AssetClass, EtaRange, Holding, LegKind, LegStatus, Position, Route,
    RouteStatus, U256,
};

use crate::driver::config;

/// An executor on the world's virtual clock over a SQLite store in a temp dir.
struct OnWorld {
    _dir: tempfile::TempDir,
    world: SharedWorld,
    store: Arc<SqliteStore>,
    ex: Executor,
    tenant: TenantId,
}

impl OnWorld {
    async fn new(world: &SharedWorld, layers: Vec<Arc<dyn SettlementLayer>>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SqliteStore::open(&dir.path().join("starkroute.db")).await.unwrap());
        let clock_world = world.clone();
        let clock = move || {
            let secs = clock_world.lock().now();
            Timestamp::from_millis(i64::try_from(secs).unwrap() * 1000)
        };
        let ex = Executor::new(
            store.clone(),
            layers,
            LeaseOwner::new("sandbox").unwrap(),
            config(),
            Arc::new(clock),
        );
        let tenant = TenantId::new("demo").unwrap();
        Self { _dir: dir, world: world.clone(), store, ex, tenant }
    }

    async fn start(&self, route: &Route, order: &RouteOrder) -> RouteId {
        self.ex.create_route(&self.tenant, None, route, order).await.unwrap().id
    }

    async fn get(&self, id: &RouteId) -> RouteRecord {
        self.store.get_route(&self.tenant, id).await.unwrap().unwrap()
    }

    /// Runs the executor, advancing the world by `step` seconds whenever nothing is due, until
    /// the route is terminal (or `rounds` steps passed).
    async fn drive(&self, id: &RouteId, step: u64, rounds: usize) -> RouteRecord {
        let mut rec = self.get(id).await;
        for _ in 0..rounds {
            while self.ex.run_once().await.unwrap().is_some() {}
            rec = self.get(id).await;
            if rec.status.is_terminal() {
                break;
            }
            self.world.lock().advance(step);
        }
        rec
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alice_to_bob_gift_through_the_sandbox_adapters() {
    let env = DemoEnv::new();
    let (world, alice, bob, tokens) = (&env.world, &env.alice, &env.bob, &env.tokens);
    let l1: Arc<dyn SettlementLayer> = Arc::new(env.l1(&[alice]));
    let starknet: Arc<dyn SettlementLayer> = Arc::new(env.starknet(&[alice]));
    let art = env.art();
    let alice_sn = sn(alice);
    let on_starknet = Position::owned(Account::Starknet(alice_sn));
    let on_l1 = Position::owned(Account::L1(alice.l1()));
    let claimable = Position { holding: Holding::Claimable, ..on_l1 };
    let at_bob = Position::owned(Account::StarkEx(bob.stark_key()));
    let route = route(
        "starknet → l1 → starkex (Alice's gift to Bob)",
        vec![
            leg(0, LegKind::StarknetNftWithdraw, on_starknet, claimable),
            leg(1, LegKind::L1ClaimFromNftBridge, claimable, on_l1),
            leg(2, LegKind::L1DepositToStarkEx, on_l1, at_bob),
        ],
    );

    let w = OnWorld::new(world, vec![l1, starknet]).await;
    let order = RouteOrder { asset: art, amount: Amount::from_u128(1) };
    let id = w.start(&route, &order).await;
    let rec = w.drive(&id, 60, 2_000).await;
    let (store, tenant) = (&w.store, &w.tenant);
    assert_eq!(rec.status, RouteStatus::Completed, "{rec:#?}");
    assert!(rec.legs.iter().all(|l| l.status == LegStatus::FinalOnL1));
    let outcome: Outcome = serde_json::from_value(rec.outcome.clone().unwrap()).unwrap();
    assert_eq!(outcome.asset_at.position, at_bob);
    let events = store.events_since(tenant, &id, 0).await.unwrap();
    let count = |kind: &str| events.iter().filter(|e| e.kind == kind).count();
    assert_eq!(count("leg_prepared"), 3, "each leg prepared once");
    assert_eq!(count("leg_final"), 3);

    let w = world.lock();
    assert_eq!(
        w.l1.ledger().erc721_owner(&tokens.art_l1, &U256::from(7u64)),
        Some(w.l1.addresses().starkex_core),
        "ART #7 is escrowed in the StarkEx contract for Bob's vault"
    );
    w.check_conservation().unwrap();
}

/// A leg with two signatures the router does not hold (an ERC-20 approve, then the StarkGate
/// deposit): each is asked for in turn, the route resumes after the last, and a signature that
/// brings the payload no nearer to signed is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leg_with_two_signatures_asks_for_each_in_turn() {
    let env = DemoEnv::new();
    let (world, alice, tokens) = (&env.world, &env.alice, &env.tokens);
    // No key held: Alice signs herself.
    let l1: Arc<dyn SettlementLayer> = Arc::new(env.l1(&[]));
    let usdc = env.usdc();
    let from = Position::owned(Account::L1(alice.l1()));
    let to = Position::owned(starknet_account(alice));
    let route = route("USDC to Starknet", vec![leg(0, LegKind::L1DepositToStarkGate, from, to)]);
    let on = OnWorld::new(world, vec![l1]).await;
    let (ex, store, tenant) = (&on.ex, &on.store, &on.tenant);
    let order = RouteOrder { asset: usdc, amount: Amount::from_u128(5_000_000) };
    let id = on.start(&route, &order).await;
    while ex.run_once().await.unwrap().is_some() {}

    let mut asked = Vec::new();
    for _ in 0..2 {
        let rec = store.get_route(tenant, &id).await.unwrap().unwrap();
        assert_eq!(rec.status, RouteStatus::AwaitingSignature);
        let events = store.events_since(tenant, &id, 0).await.unwrap();
        let request = events.iter().rev().find(|e| e.kind == "leg_awaiting_signature").unwrap();
        let hash = request.data["sign"].as_str().unwrap().to_owned();
        assert!(!asked.contains(&hash), "a new hash each time");
        let raw = hex::decode(hash.trim_start_matches("0x")).unwrap();
        let sig = format!("0x{}", hex::encode(alice.eth.personal_sign(&raw).unwrap()));
        ex.submit_signature(tenant, &id, 0, &sig).await.unwrap();
        // The same signature again brings nothing: refused, nothing changes.
        if asked.is_empty() {
            let before = store.get_route(tenant, &id).await.unwrap().unwrap().version;
            assert!(ex.submit_signature(tenant, &id, 0, &sig).await.is_err());
            assert_eq!(store.get_route(tenant, &id).await.unwrap().unwrap().version, before);
        }
        asked.push(hash);
    }
    let rec = on.drive(&id, 12, 500).await;
    assert_eq!(rec.status, RouteStatus::Completed, "{rec:#?}");
    let w = world.lock();
    assert_eq!(
        w.starknet.erc20_balance(&tokens.usdc_l2, &alice.starknet),
        U256::from(5_000_000u64)
    );
    w.check_conservation().unwrap();
}

/// The escape hatch as a route the executor drives: the operator ignores Alice's full
/// withdrawal; the freeze waits out the 7-day grace period (one `leg_waiting`, no retries
/// spent), the escape carries the availability proof against the frozen root, and the claim
/// pays Alice on L1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_route_full_withdrawal_freeze_escape_claim() {
    use starkroute_sandbox::l1::L1Call;
    use starkroute_sandbox::starkex::engine::FaultSwitches;
    use starkroute_sandbox::world::starkex_asset_type;

    let env = DemoEnv::new();
    let alice = &env.alice;
    let ether = ETHER;
    let key = alice.stark_key();
    {
        let mut world = env.world.lock();
        let eth_type = starkex_asset_type(AssetClass::Eth, None, ETH_QUANTUM).unwrap();
        let vault = world.starkex.vault_for(key, eth_type).unwrap();
        world
            .l1
            .send_and_check(
                alice.l1(),
                U256::from(ether),
                L1Call::DepositEth {
                    stark_key: key.to_u256(),
                    asset_type: eth_type,
                    vault_id: u64::from(vault.get()),
                },
            )
            .unwrap();
        world.advance(6 * 3600);
        world.starkex.set_faults(FaultSwitches {
            ignore_full_withdrawals: true,
            refuse_withdrawals: true,
            ..Default::default()
        });
    }
    let world = &env.world;
    let l1: Arc<dyn SettlementLayer> = Arc::new(env.l1(&[alice]));
    let eth = env.eth();
    let vault_pos = Position::owned(Account::StarkEx(key));
    let escaped = Position { holding: Holding::Claimable, ..vault_pos };
    let on_l1 = Position::owned(Account::L1(alice.l1()));
    let route = Route {
        eta: EtaRange::new(7 * 86_400, 8 * 86_400),
        ..route(
            "escape: full withdrawal → freeze → escape → claim",
            vec![
                leg(0, LegKind::FullWithdrawalRequest, vault_pos, vault_pos),
                leg(1, LegKind::FreezeRequest, vault_pos, vault_pos),
                leg(2, LegKind::Escape, vault_pos, escaped),
                leg(3, LegKind::L1ClaimFromStarkEx, escaped, on_l1),
            ],
        )
    };
    let on = OnWorld::new(world, vec![l1]).await;
    let order = RouteOrder { asset: eth, amount: Amount::from_u128(ether) };
    let id = on.start(&route, &order).await;
    let before = world.lock().l1.ledger().eth_balance(&alice.l1());
    let rec = on.drive(&id, 600, 2_000).await;
    assert_eq!(rec.status, RouteStatus::Completed, "{rec:#?}");
    let events = on.store.events_since(&on.tenant, &id, 0).await.unwrap();
    let waits = events.iter().filter(|e| e.kind == "leg_waiting").count();
    assert!(waits >= 1, "the freeze waited for its grace period");
    assert!(events.iter().all(|e| e.kind != "leg_retry" || e.data["leg"] != 1), "no retry spent");
    let w = world.lock();
    assert!(w.l1.state().starkex.is_frozen());
    assert_eq!(w.l1.ledger().eth_balance(&alice.l1()) - before, U256::from(ether));
    w.check_conservation().unwrap();
}
