//! End-to-end executor throughput on the sandbox, against the store's own fsync-bound commit
//! rate measured in the same run, and memory per in-flight route.
//!
//! `cargo bench -p starkroute-executor --bench throughput` (set `ROUTES`, `INFLIGHT` to change
//! the sizes). Prints one line per figure.
//!
//! 1. *Commit rate*: one transition per durable commit, back to back, on the same SQLite file
//!    (WAL, `synchronous=FULL`): the bound of anything that commits one write at a time.
//! 2. *Executor, one driver, plain store*: every lease, transition and release its own commit.
//! 3. *Executor, 64 drivers, group commit*: the same routes; concurrent drivers' writes share
//!    commits ([`GroupCommit`]).
//!
//! Routes: two L1 legs each (ETH from a sender to a second address of its own, and back), signed
//! by the sandbox adapter's keystore, final at 12 confirmations. The sandbox clock advances one
//! L1 block at a time as fast as the loop can go (about one per millisecond), beside the
//! executor (real-time clock, 5 ms polls). "Legs per second" counts legs that reached `final_on_l1`, each durably recorded.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::{
    collections::HashMap,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};

use serde_json::json;
use starkroute_crypto::EthPrivateKey;
use starkroute_executor::{Backoff, Executor, ExecutorConfig, RouteOrder, SystemClock};
use starkroute_layer::SettlementLayer;
use starkroute_sandbox::adapters::SandboxL1;
use starkroute_sandbox::world::{Demo, SharedWorld};
use starkroute_store::{
    Fence, GroupCommit, LeaseOwner, LegChange, LegPatch, ListQuery, NewEvent, RouteId, RouteStore,
    SqliteStore, TenantId, Timestamp, Transition,
};
use starkroute_types::{
    Account, Amount, Asset, AssetClass, EtaRange, Layer, Leg, LegKind, LegStatus, Party, Position,
    Route, RouteStatus, Token, Wei, U256,
};

const ETHER: u128 = 1_000_000_000_000_000_000;

struct Env {
    world: SharedWorld,
    keys: HashMap<starkroute_types::EthAddress, EthPrivateKey>,
    pairs: Vec<(Account, Account)>,
}

fn env(routes: usize) -> Env {
    let Demo { mut world, .. } = Demo::new().unwrap();
    let mut keys = HashMap::new();
    let mut pairs = Vec::with_capacity(routes);
    for i in 0..routes {
        let n = u64::try_from(i).unwrap();
        let a = EthPrivateKey::from_hex(&format!("{:064x}", 0x00a1_0000_0000 + n)).unwrap();
        let b = EthPrivateKey::from_hex(&format!("{:064x}", 0x00b2_0000_0000 + n)).unwrap();
        world.l1.ledger_mut().genesis_eth(a.address(), U256::from(ETHER));
        pairs.push((Account::L1(a.address()), Account::L1(b.address())));
        keys.insert(a.address(), a);
        keys.insert(b.address(), b);
    }
    world.reset_baseline();
    Env { world: SharedWorld::new(world), keys, pairs }
}

fn eth() -> Asset {
    Asset::fungible(Token {
        symbol: "ETH".into(),
        class: AssetClass::Eth,
        decimals: 18,
        home: Layer::L1,
        l1: None,
        starknet: None,
        starkex: None,
    })
    .unwrap()
}

fn route(a: Account, b: Account) -> Route {
    let leg = |index, from, to| Leg {
        index,
        kind: LegKind::L1Transfer,
        from: Position::owned(from),
        to: Position::owned(to),
        signer: Party::Sender,
        fees: vec![],
        eta: EtaRange::new(12, 144),
        description: "L1 transfer".into(),
    };
    Route {
        summary: "there and back".into(),
        legs: vec![leg(0, a, b), leg(1, b, a)],
        total_fee_wei: Wei::ZERO,
        eta: EtaRange::new(24, 288),
        destination: Position::owned(a),
        needs_recipient_action: false,
        assumptions: vec![],
    }
}

fn config() -> ExecutorConfig {
    ExecutorConfig {
        lease_duration: Duration::from_secs(30),
        poll_interval: Duration::from_millis(5),
        backoff: Backoff {
            initial: Duration::from_millis(1),
            max: Duration::from_millis(50),
            ..Backoff::default()
        },
        ..ExecutorConfig::default()
    }
}

fn now() -> Timestamp {
    use starkroute_executor::Clock as _;
    SystemClock.now()
}

/// Durable commits per second, one transition each, back to back.
async fn commit_rate(store: &SqliteStore, tenant: &TenantId, commits: u32) -> f64 {
    let route = route(
        Account::L1("0x00000000000000000000000000000000000000a1".parse().unwrap()),
        Account::L1("0x00000000000000000000000000000000000000b2".parse().unwrap()),
    );
    let order = RouteOrder { asset: eth(), amount: Amount::from_u128(ETHER / 10) };
    let (rec, _) = store.create_route(tenant, None, &route, &order, now()).await.unwrap();
    let mut version = rec.version;
    let started = Instant::now();
    for i in 0..commits {
        let t = Transition {
            route: rec.id,
            fence: Fence::Version(version),
            leg: Some(LegChange {
                index: 0,
                from: LegStatus::Planned,
                to: LegStatus::Planned,
                patch: LegPatch { attempts: Some(i), ..LegPatch::default() },
            }),
            status: None,
            events: vec![NewEvent::new("tick", json!({ "i": i }))],
        };
        version = store.apply(t, now()).await.unwrap().version;
    }
    f64::from(commits) / started.elapsed().as_secs_f64()
}

async fn completed(store: &dyn RouteStore, tenant: &TenantId) -> usize {
    let mut n = 0;
    let mut cursor: Option<RouteId> = None;
    loop {
        let q = ListQuery { status: Some(RouteStatus::Completed), cursor, limit: 500 };
        let page = store.list_routes(tenant, &q).await.unwrap();
        n += page.routes.len();
        match page.next {
            Some(c) => cursor = Some(c),
            None => return n,
        }
    }
}

/// Runs `routes` routes to completion with `drivers` concurrent drivers; legs per second.
async fn executor_rate(
    store: Arc<dyn RouteStore>,
    tenant: &TenantId,
    routes: usize,
    drivers: usize,
) -> (f64, f64) {
    let env = env(routes);
    let l1: Arc<dyn SettlementLayer> =
        Arc::new(SandboxL1::new(env.world.clone(), env.keys.clone()));
    let ex = Arc::new(Executor::new(
        store.clone(),
        [l1],
        LeaseOwner::new(format!("bench-{drivers}")).unwrap(),
        config(),
        Arc::new(SystemClock),
    ));
    for (a, b) in &env.pairs {
        let order = RouteOrder { asset: eth(), amount: Amount::from_u128(ETHER / 10) };
        ex.create_route(tenant, None, &route(*a, *b), &order).await.unwrap();
    }
    let done = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let clock = {
        let (world, done) = (env.world.clone(), done.clone());
        tokio::spawn(async move {
            while !done.load(Ordering::SeqCst) {
                world.lock().advance(12);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    let running = {
        let (ex, done) = (ex.clone(), done.clone());
        tokio::spawn(async move {
            ex.run_concurrently(drivers, async move {
                while !done.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
            .await;
        })
    };
    // Completions as the executor publishes them (the store is read only if the count lagged).
    let mut events = ex.subscribe();
    let (mut done_routes, mut leg_transitions) = (0, 0u64);
    while done_routes < routes {
        match events.recv().await {
            Ok(e) if e.kind == "route_completed" => done_routes += 1,
            Ok(e) if LEG_TRANSITIONS.contains(&e.kind.as_str()) => leg_transitions += 1,
            Ok(_) => {}
            Err(_) => done_routes = completed(&*store, tenant).await,
        }
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::SeqCst);
    running.await.unwrap();
    clock.await.unwrap();
    env.world.lock().check_conservation().unwrap();
    let secs = elapsed.as_secs_f64();
    ((2 * routes) as f64 / secs, leg_transitions as f64 / secs)
}

/// The events of a leg's status changes, each a durable commit of the leg's record.
const LEG_TRANSITIONS: [&str; 4] =
    ["leg_prepared", "leg_submitted", "leg_accepted_on_l2", "leg_final"];

fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
    pages * 4
}

/// Memory per in-flight route: `n` routes whose first leg is sent and waiting for
/// confirmations (the clock stands still), the executor polling them.
async fn memory_per_route(dir: &std::path::Path, n: usize) -> (f64, u64) {
    let store: Arc<dyn RouteStore> =
        Arc::new(SqliteStore::open(&dir.join("inflight.db")).await.unwrap());
    let store: Arc<dyn RouteStore> = Arc::new(GroupCommit::new(store, GroupCommit::MAX_BATCH));
    let tenant = TenantId::new("inflight").unwrap();
    let env = env(n);
    let l1: Arc<dyn SettlementLayer> =
        Arc::new(SandboxL1::new(env.world.clone(), env.keys.clone()));
    let ex = Arc::new(Executor::new(
        store.clone(),
        [l1],
        LeaseOwner::new("inflight").unwrap(),
        ExecutorConfig { poll_interval: Duration::from_millis(200), ..config() },
        Arc::new(SystemClock),
    ));
    let before = rss_kib();
    for (a, b) in &env.pairs {
        let order = RouteOrder { asset: eth(), amount: Amount::from_u128(ETHER / 10) };
        ex.create_route(&tenant, None, &route(*a, *b), &order).await.unwrap();
    }
    let done = Arc::new(AtomicBool::new(false));
    let running = {
        let (ex, done) = (ex.clone(), done.clone());
        tokio::spawn(async move {
            ex.run_concurrently(64, async move {
                while !done.load(Ordering::SeqCst) {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
            })
            .await;
        })
    };
    // Until every route's first leg is submitted (all in flight at once), then a few polls more.
    loop {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let mut cursor = None;
        let mut submitted = 0;
        loop {
            let q = ListQuery { status: None, cursor, limit: 500 };
            let page = store.list_routes(&tenant, &q).await.unwrap();
            submitted +=
                page.routes.iter().filter(|r| r.legs[0].status == LegStatus::Submitted).count();
            match page.next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        if submitted == n {
            break;
        }
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let after = rss_kib();
    done.store(true, Ordering::SeqCst);
    running.await.unwrap();
    let per_route = (after.saturating_sub(before)) as f64 * 1024.0 / n as f64;
    (per_route, after)
}

fn main() {
    let routes: usize = std::env::var("ROUTES").ok().and_then(|v| v.parse().ok()).unwrap_or(500);
    let inflight: usize =
        std::env::var("INFLIGHT").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let rt =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async move {
        let dir = tempfile::tempdir().unwrap();
        let tenant = TenantId::new("bench").unwrap();

        // The disk's fsync rate drifts on a shared machine: measure it before, between and
        // after the executor runs, and report against the highest (the strictest bound).
        let base = SqliteStore::open(&dir.path().join("commit.db")).await.unwrap();
        let mut rates = vec![commit_rate(&base, &tenant, 1000).await];

        let plain: Arc<dyn RouteStore> =
            Arc::new(SqliteStore::open(&dir.path().join("plain.db")).await.unwrap());
        let one = executor_rate(plain, &tenant, routes, 1).await;
        rates.push(commit_rate(&base, &tenant, 1000).await);

        let inner: Arc<dyn RouteStore> =
            Arc::new(SqliteStore::open(&dir.path().join("group.db")).await.unwrap());
        let grouped: Arc<dyn RouteStore> =
            Arc::new(GroupCommit::new(inner, GroupCommit::MAX_BATCH));
        let many = executor_rate(grouped, &tenant, routes, 64).await;
        rates.push(commit_rate(&base, &tenant, 1000).await);

        let rate = rates.iter().copied().fold(0.0, f64::max);
        let shown: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
        println!(
            "store: {rate:.0} durable commits/s at best (runs: {}; one transition each, SQLite WAL, synchronous=FULL)",
            shown.join(", ")
        );
        for (name, (legs, transitions)) in
            [("1 driver, plain store", one), ("64 drivers, group commit", many)]
        {
            println!(
                "executor, {name}: {legs:.0} legs completed/s = {:.1}% of the commit rate; \
                 {transitions:.0} leg transitions committed/s = {:.1}%",
                100.0 * legs / rate,
                100.0 * transitions / rate
            );
        }

        let (per_route, rss) = memory_per_route(dir.path(), inflight).await;
        println!(
            "memory: {per_route:.0} bytes per in-flight route ({inflight} routes in flight, process RSS {} MiB, sandbox included)",
            rss / 1024
        );
    });
}
