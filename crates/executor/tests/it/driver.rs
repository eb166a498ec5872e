//! The driver on a real SQLite store (a temp file) with the in-test layer.

use std::path::PathBuf;

use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

use starkroute_executor::machine::Refusal;
use starkroute_executor::{
    Backoff, Error, Executor, ExecutorConfig, ManualClock, Outcome, Recovery, RouteOrder,
};
use starkroute_layer::{AdapterError, SettlementLayer};
use starkroute_store::{
    Event, LeaseOwner, ListQuery, RouteId, RouteRecord, RouteStore, SqliteStore, TenantId,
    Timestamp,
};
use starkroute_types::{
    Account, Amount, Asset, AssetClass, Holding, Layer, Leg, LegKind, LegStatus, Position, Route,
    RouteStatus, Token,
};

use starkroute_testkit::routes::leg;

use crate::fake::{FakeLayer, Hang};

const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

pub fn config() -> ExecutorConfig {
    ExecutorConfig {
        lease_duration: Duration::from_secs(30),
        poll_interval: Duration::from_secs(1),
        backoff: Backoff {
            initial: Duration::from_millis(200),
            max: Duration::from_secs(2),
            multiplier: 2,
            jitter_percent: 20,
            seed: 42,
        },
        max_prepare_attempts: 4,
        max_steps_per_lease: 64,
        escape_after: None,
    }
}

pub struct Harness {
    _dir: tempfile::TempDir,
    path: PathBuf,
    pub store: Arc<SqliteStore>,
    pub clock: Arc<ManualClock>,
    pub l1: Arc<FakeLayer>,
    pub starkex: Arc<FakeLayer>,
    pub starknet: Arc<FakeLayer>,
    pub tenant: TenantId,
}

impl Harness {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("starkroute.db");
        let store = Arc::new(SqliteStore::open(&path).await.unwrap());
        Self {
            _dir: dir,
            path,
            store,
            clock: Arc::new(ManualClock::new(T0)),
            l1: Arc::new(FakeLayer::new(Layer::L1)),
            starkex: Arc::new(FakeLayer::new(Layer::StarkEx)),
            starknet: Arc::new(FakeLayer::new(Layer::Starknet)),
            tenant: TenantId::new("acme").unwrap(),
        }
    }

    /// A second store on the same file, as a restarted (or another) process opens it.
    pub async fn reopen(&self) -> Arc<SqliteStore> {
        Arc::new(SqliteStore::open(&self.path).await.unwrap())
    }

    pub fn executor_on(&self, store: Arc<SqliteStore>, owner: &str) -> Arc<Executor> {
        let layers: Vec<Arc<dyn SettlementLayer>> =
            vec![self.l1.clone(), self.starkex.clone(), self.starknet.clone()];
        Arc::new(Executor::new(
            store,
            layers,
            LeaseOwner::new(owner).unwrap(),
            config(),
            self.clock.clone(),
        ))
    }

    pub fn executor(&self, owner: &str) -> Arc<Executor> {
        self.executor_on(self.store.clone(), owner)
    }

    pub async fn get(&self, id: &RouteId) -> RouteRecord {
        self.store.get_route(&self.tenant, id).await.unwrap().unwrap()
    }

    pub async fn events(&self, id: &RouteId) -> Vec<Event> {
        self.store.events_since(&self.tenant, id, 0).await.unwrap()
    }

    pub async fn kinds(&self, id: &RouteId) -> Vec<String> {
        self.events(id).await.into_iter().map(|e| e.kind).collect()
    }

    /// Runs the executor until the route stops (terminal or paused), moving the clock on by a
    /// poll interval whenever nothing is due.
    pub async fn drive(&self, ex: &Executor, id: &RouteId) -> RouteRecord {
        for _ in 0..200 {
            while ex.run_once().await.unwrap().is_some() {}
            let rec = self.get(id).await;
            if rec.status.is_terminal() || rec.status == RouteStatus::AwaitingSignature {
                return rec;
            }
            self.clock.advance(Duration::from_secs(1));
        }
        panic!("route {id} did not stop: {:?}", self.get(id).await);
    }
}

fn alice_l1() -> Account {
    Account::parse(Layer::L1, "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed").unwrap()
}
fn alice_starknet() -> Account {
    Account::parse(Layer::Starknet, "0x1234").unwrap()
}
fn alice_starkex() -> Account {
    Account::parse(Layer::StarkEx, "0x5678").unwrap()
}
fn bob_starkex() -> Account {
    Account::parse(Layer::StarkEx, "0x9abc").unwrap()
}

/// A route of `legs` built by hand.
fn route(legs: Vec<Leg>) -> Route {
    starkroute_testkit::routes::route("test", legs)
}

/// Alice's gift: Starknet NFT bridge → claim on L1 → deposit into Bob's StarkEx vault.
pub fn gift() -> Route {
    let on_starknet = Position::owned(alice_starknet());
    let claimable = Position { holding: Holding::Claimable, ..Position::owned(alice_l1()) };
    let on_l1 = Position::owned(alice_l1());
    let bob = Position::owned(bob_starkex());
    route(vec![
        leg(0, LegKind::StarknetNftWithdraw, on_starknet, claimable),
        leg(1, LegKind::L1ClaimFromNftBridge, claimable, on_l1),
        leg(2, LegKind::L1DepositToStarkEx, on_l1, bob),
    ])
}

/// StarkEx transfer to Bob (signed by Alice), then Bob withdraws to L1 and claims.
fn transfer_then_withdraw() -> Route {
    let alice = Position::owned(alice_starkex());
    let bob = Position::owned(bob_starkex());
    let claimable = Position { holding: Holding::Claimable, ..Position::owned(alice_l1()) };
    route(vec![
        leg(0, LegKind::StarkExTransfer, alice, bob),
        leg(1, LegKind::StarkExWithdrawalRequest, bob, claimable),
        leg(2, LegKind::L1ClaimFromStarkEx, claimable, Position::owned(alice_l1())),
    ])
}

pub fn order() -> RouteOrder {
    let token = Token {
        symbol: "USDC".into(),
        class: AssetClass::Erc20,
        decimals: 6,
        home: Layer::L1,
        l1: None,
        starknet: None,
        starkex: None,
    };
    RouteOrder { asset: Asset::fungible(token).unwrap(), amount: Amount::from_u128(5_000_000) }
}

pub async fn create(h: &Harness, ex: &Executor, r: &Route) -> RouteId {
    ex.create_route(&h.tenant, None, r, &order()).await.unwrap().id
}

fn outcome(rec: &RouteRecord) -> Outcome {
    serde_json::from_value(rec.outcome.clone().unwrap()).unwrap()
}

/// Every leg of the route landed exactly once on `layer`s, from one prepared payload.
fn landed_once(layers: &[&FakeLayer], id: &RouteId, legs: u16) {
    let id = id.to_string();
    for i in 0..legs {
        let execs: Vec<String> = layers.iter().flat_map(|l| l.executions(&id, i)).collect();
        assert_eq!(execs.len(), 1, "leg {i} executed {execs:?}");
        let prepares: u32 = layers.iter().map(|l| l.prepares(&id, i)).sum();
        assert_eq!(prepares, 1, "leg {i} prepared {prepares} times");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_completes_and_publishes_every_event() {
    let h = Harness::new().await;
    for l in [&h.l1, &h.starkex, &h.starknet] {
        l.script(|s| s.steps_to_final = 3);
    }
    let ex = h.executor("a");
    let mut sub = ex.subscribe();
    let id = create(&h, &ex, &gift()).await;
    let rec = h.drive(&ex, &id).await;

    assert_eq!(rec.status, RouteStatus::Completed);
    assert!(rec.legs.iter().all(|l| l.status == LegStatus::FinalOnL1));
    let out = outcome(&rec);
    assert_eq!(out.result, "completed");
    assert_eq!(out.asset_at.position, Position::owned(bob_starkex()));
    assert_eq!(out.asset_at.amount, Some(order().amount));
    landed_once(&[&h.l1, &h.starknet], &id, 3);

    let kinds = h.kinds(&id).await;
    assert_eq!(kinds[..4], ["route_created", "route_order", "leg_prepared", "leg_submitted"]);
    assert_eq!(kinds.last().unwrap(), "route_completed");
    for want in ["leg_accepted_on_l2", "leg_final"] {
        assert_eq!(kinds.iter().filter(|k| *k == want).count(), 3, "{want} in {kinds:?}");
    }
    // The claim's intent names the withdrawal it consumes.
    let prepared: starkroute_layer::Prepared =
        serde_json::from_value(rec.legs[1].prepared.clone().unwrap()).unwrap();
    let withdraw: starkroute_layer::Prepared =
        serde_json::from_value(rec.legs[0].prepared.clone().unwrap()).unwrap();
    assert_eq!(prepared.payload["previous"], withdraw.hash.as_str());

    // Subscribers saw exactly what was stored after creation, in order.
    let stored = h.events(&id).await;
    let mut seen = vec![];
    while let Ok(e) = sub.try_recv() {
        seen.push(e);
    }
    assert_eq!(seen, stored[1..]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keeper_claims_as_soon_as_the_withdrawal_is_final() {
    let h = Harness::new().await;
    h.starknet.script(|s| s.steps_to_final = 3);
    let ex = h.executor("a");
    let id = create(&h, &ex, &gift()).await;
    let rec = h.drive(&ex, &id).await;
    assert_eq!(rec.status, RouteStatus::Completed);
    let events = h.events(&id).await;
    let at = |kind: &str, leg: u64| {
        events.iter().find(|e| e.kind == kind && e.data["leg"] == leg).unwrap().at
    };
    // The withdrawal became final after polls; the claim was sent in the same step, with no
    // poll interval in between.
    assert!(at("leg_final", 0) > at("leg_submitted", 0));
    assert_eq!(at("leg_submitted", 1), at("leg_final", 0));
    assert_eq!(at("leg_final", 2), at("leg_final", 0), "the L1 legs were final at once");
}

/// Kills the executor inside `send` (at the `hang` point) on leg 0, restarts a new executor on a
/// freshly opened store on the same file after the lease lapsed, and drives the route to the end.
async fn crash_in_send(hang: Hang) -> (Harness, RouteId) {
    let h = Harness::new().await;
    h.starknet.script(|s| s.hang = Some(hang));
    let first = h.executor("first");
    let id = create(&h, &first, &gift()).await;
    let task = tokio::spawn({
        let first = first.clone();
        async move { first.run_once().await }
    });
    while h.starknet.hung() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    drop(first);

    let rec = h.get(&id).await;
    assert_eq!(rec.legs[0].status, LegStatus::Prepared, "stored before the send, not after");
    assert!(rec.legs[0].prepared.is_some());

    let store = h.reopen().await;
    let second = h.executor_on(store, "second");
    assert_eq!(second.run_once().await.unwrap(), None, "the dead instance's lease still holds");
    h.clock.advance(config().lease_duration);
    let rec = h.drive(&second, &id).await;
    assert_eq!(rec.status, RouteStatus::Completed);
    landed_once(&[&h.l1, &h.starknet], &id, 3);
    (h, id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_between_save_prepared_and_send_is_reconciled_then_sent_once() {
    let (h, id) = crash_in_send(Hang::BeforeSend).await;
    let rec = h.get(&id).await;
    let hash = rec.legs[0].submission.clone().unwrap();
    assert_eq!(h.starknet.send_calls(&hash), 1);
    let calls: Vec<_> = h.starknet.log().into_iter().filter(|(_, x)| *x == hash).collect();
    assert_eq!(calls[0].0, "status", "the layer was asked before anything was sent: {calls:?}");
    assert_eq!(calls[1].0, "send");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_send_is_not_sent_again() {
    let (h, id) = crash_in_send(Hang::AfterSend).await;
    let hash = h.get(&id).await.legs[0].submission.clone().unwrap();
    assert_eq!(h.starknet.send_calls(&hash), 1, "found on the layer: not resent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_send_is_sent_again_with_the_same_payload() {
    let h = Harness::new().await;
    h.starknet.script(|s| s.lose_sends = 1);
    let ex = h.executor("a");
    let id = create(&h, &ex, &gift()).await;
    let rec = h.drive(&ex, &id).await;
    assert_eq!(rec.status, RouteStatus::Completed);
    let hash = rec.legs[0].submission.clone().unwrap();
    assert_eq!(h.starknet.send_calls(&hash), 2, "the same payload, twice");
    landed_once(&[&h.l1, &h.starknet], &id, 3);
    let again = h.events(&id).await.into_iter().filter(|e| e.kind == "leg_submitted");
    assert_eq!(
        again.map(|e| e.data["again"].as_bool().unwrap()).collect::<Vec<_>>(),
        [false, true, false, false]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retryable_errors_back_off_and_succeed() {
    let h = Harness::new().await;
    h.starknet.script(|s| {
        s.fail_prepare.extend([
            AdapterError::retryable("rpc timeout"),
            AdapterError::retryable("rate limited"),
        ]);
        s.fail_send.push_back(AdapterError::retryable("connection reset"));
        s.fail_status.push_back(AdapterError::retryable("node behind"));
    });
    let ex = h.executor("a");
    let id = create(&h, &ex, &gift()).await;

    // First attempt fails: backed off, recorded, and not due before its time.
    assert_eq!(ex.run_once().await.unwrap(), Some(id));
    let rec = h.get(&id).await;
    let leg = &rec.legs[0];
    assert_eq!((leg.status, leg.attempts), (LegStatus::Planned, 1));
    assert_eq!(leg.last_error.as_deref(), Some("rpc timeout"));
    let wait = leg.next_attempt_at.unwrap().as_millis() - T0.as_millis();
    assert!((160..=200).contains(&wait), "initial 200ms minus up to 20% jitter: {wait}");
    assert_eq!(rec.wake_at, leg.next_attempt_at.unwrap());
    assert_eq!(ex.run_once().await.unwrap(), None, "not due yet");

    let rec = h.drive(&ex, &id).await;
    assert_eq!(rec.status, RouteStatus::Completed);
    landed_once(&[&h.l1, &h.starknet], &id, 3);
    let retries: Vec<Event> =
        h.events(&id).await.into_iter().filter(|e| e.kind == "leg_retry").collect();
    let errors: Vec<&str> = retries.iter().map(|e| e.data["error"].as_str().unwrap()).collect();
    assert_eq!(errors, ["rpc timeout", "rate limited", "connection reset", "node behind"]);
    assert_eq!(retries[1].data["attempt"], 2, "attempts count up");
    assert!(rec.legs.iter().all(|l| l.last_error.is_none()), "cleared on success");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backoff_is_reproducible() {
    let mut waits = vec![];
    for _ in 0..2 {
        let h = Harness::new().await;
        h.starknet.script(|s| {
            s.fail_prepare.extend((0..3).map(|_| AdapterError::retryable("down")));
        });
        let ex = h.executor("a");
        let id = create(&h, &ex, &gift()).await;
        h.drive(&ex, &id).await;
        let at: Vec<_> = h
            .events(&id)
            .await
            .into_iter()
            .filter(|e| e.kind == "leg_retry")
            .map(|e| e.data["next_attempt_at"].as_i64().unwrap() - e.at.as_millis())
            .collect();
        waits.push(at);
    }
    // Route ids differ between runs, so compare the shape: growing, capped, jittered ≤ 20%.
    for w in &waits {
        assert_eq!(w.len(), 3);
        for (i, ms) in w.iter().enumerate() {
            let full = 200 << i;
            assert!(*ms <= full && *ms >= full * 8 / 10, "{w:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retryable_prepare_failures_give_up_with_an_outcome() {
    let h = Harness::new().await;
    h.starknet.script(|s| s.fail_prepare.extend((0..10).map(|_| AdapterError::retryable("down"))));
    let ex = h.executor("a");
    let id = create(&h, &ex, &gift()).await;
    let rec = h.drive(&ex, &id).await;
    assert_eq!(rec.status, RouteStatus::Failed);
    assert_eq!(rec.legs[0].status, LegStatus::Failed);
    let out = outcome(&rec);
    assert_eq!(out.asset_at.position, Position::owned(alice_starknet()));
    assert_eq!(out.recovery, Recovery::None);
    assert!(out.reason.unwrap().contains("gave up after 4 attempts"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_failure_on_the_claim_says_claim_on_l1() {
    let h = Harness::new().await;
    h.l1.script(|s| {
        s.fails_on_layer
            .insert(LegKind::L1ClaimFromNftBridge, ("execution reverted".into(), false));
    });
    let ex = h.executor("a");
    let id = create(&h, &ex, &gift()).await;
    let rec = h.drive(&ex, &id).await;
    assert_eq!(rec.status, RouteStatus::Failed);
    assert_eq!(
        rec.legs.iter().map(|l| l.status).collect::<Vec<_>>(),
        [LegStatus::FinalOnL1, LegStatus::Failed, LegStatus::Planned]
    );
    let out = outcome(&rec);
    assert_eq!(out.result, "failed");
    assert_eq!((out.failed_leg, out.failed_kind), (Some(1), Some(LegKind::L1ClaimFromNftBridge)));
    assert_eq!(out.asset_at.layer, Layer::L1);
    assert_eq!(out.asset_at.position.holder, alice_l1());
    assert_eq!(out.asset_at.position.holding, Holding::Claimable);
    assert_eq!(out.asset_at.asset, Some(order().asset));
    assert_eq!(out.asset_at.amount, Some(order().amount));
    assert_eq!(out.recovery, Recovery::ClaimOnL1);
    assert_eq!(out.reason.as_deref(), Some("execution reverted"));
    let kinds = h.kinds(&id).await;
    assert_eq!(kinds[kinds.len() - 3..], ["leg_failed", "recovery_required", "route_failed"]);
    // The claim was announced once the withdraw was final, before it was tried.
    let events = h.events(&id).await;
    let claim = events.iter().find(|e| e.kind == "claim_available").expect("claim_available");
    assert_eq!(claim.data["leg"], 1);
    assert_eq!(claim.data["kind"], "l1_claim_from_nft_bridge");
    assert_eq!(claim.data["anyone_may_send"], true);
    let final0 = events.iter().position(|e| e.kind == "leg_final").unwrap();
    assert_eq!(events[final0 + 1].kind, "claim_available", "in the same commit as leg 0's final");
    let recovery = events.iter().find(|e| e.kind == "recovery_required").unwrap();
    assert_eq!(recovery.data["recovery"], "claim_on_l1");
    assert_eq!(recovery.data["asset_at"]["layer"], "l1");
    assert!(recovery.data["instructions"].as_str().unwrap().contains("claim it on L1"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn permanent_send_refusal_on_starkex_says_escape() {
    let h = Harness::new().await;
    h.starkex.script(|s| s.fail_send.push_back(AdapterError::permanent("INVALID_VAULT")));
    let ex = h.executor("a");
    let id = create(&h, &ex, &transfer_then_withdraw()).await;
    let rec = h.drive(&ex, &id).await;
    assert_eq!(rec.status, RouteStatus::Failed);
    let out = outcome(&rec);
    assert_eq!(out.asset_at.position, Position::owned(alice_starkex()), "the transfer never ran");
    assert_eq!(out.recovery, Recovery::Escape);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_layer_failure_that_a_new_payload_can_fix_prepares_anew() {
    let h = Harness::new().await;
    h.starknet.script(|s| {
        s.fails_on_layer.insert(LegKind::StarknetNftWithdraw, ("nonce too old".into(), true));
    });
    let ex = h.executor("a");
    let id = create(&h, &ex, &gift()).await;
    assert_eq!(ex.run_once().await.unwrap(), Some(id));
    let rec = h.get(&id).await;
    assert_eq!((rec.legs[0].status, rec.legs[0].attempts), (LegStatus::Planned, 1));
    h.starknet.script(|s| s.fails_on_layer.clear());
    let rec = h.drive(&ex, &id).await;
    assert_eq!(rec.status, RouteStatus::Completed);
    assert_eq!(h.starknet.prepares(&id.to_string(), 0), 2, "the failed payload can no longer land");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_pauses_wrong_one_is_refused_right_one_resumes() {
    let h = Harness::new().await;
    h.starkex.script(|s| {
        s.signature_for.insert(LegKind::StarkExTransfer);
    });
    let ex = h.executor("a");
    let id = create(&h, &ex, &transfer_then_withdraw()).await;
    let rec = h.drive(&ex, &id).await;
    assert_eq!(rec.status, RouteStatus::AwaitingSignature);
    assert_eq!(rec.legs[0].status, LegStatus::AwaitingSignature);
    let paused = h.events(&id).await.into_iter().find(|e| e.kind == "leg_awaiting_signature");
    let paused = paused.unwrap();
    let prepared: starkroute_layer::Prepared =
        serde_json::from_value(rec.legs[0].prepared.clone().unwrap()).unwrap();
    assert_eq!(paused.data["hash"], prepared.hash.as_str());
    assert_eq!(paused.data["sign"], prepared.hash.as_str());
    assert_eq!(paused.data["payload"], rec.legs[0].prepared.clone().unwrap());
    let required = h.events(&id).await.into_iter().find(|e| e.kind == "signature_required");
    let required = required.expect("signature_required beside leg_awaiting_signature");
    assert_eq!(required.data["sign"], prepared.hash.as_str());
    assert_eq!(required.data["submit_to"], format!("/v1/routes/{id}/legs/0/signature"));
    assert_eq!(required.data["scheme"], paused.data["scheme"]);
    h.clock.advance(Duration::from_secs(3600));
    assert_eq!(ex.run_once().await.unwrap(), None, "a paused route is not driven");

    let wrong = ex.submit_signature(&h.tenant, &id, 0, "sig:0xnope").await;
    assert!(matches!(wrong, Err(Error::SignatureRefused(_))), "{wrong:?}");
    let not_paused = ex.submit_signature(&h.tenant, &id, 1, "sig:x").await;
    assert!(matches!(
        not_paused,
        Err(Error::Refused(Refusal::NotAwaitingSignature { status: LegStatus::Planned }))
    ));
    let still = h.get(&id).await;
    assert_eq!(still.legs[0], rec.legs[0], "the leg stays paused with the same payload");
    assert_eq!(still.status, RouteStatus::AwaitingSignature);

    ex.submit_signature(&h.tenant, &id, 0, &format!("sig:{}", prepared.hash)).await.unwrap();
    let resumed = h.get(&id).await;
    assert_eq!(resumed.status, RouteStatus::Running);
    assert_eq!(resumed.legs[0].status, LegStatus::Prepared);
    let again = ex.submit_signature(&h.tenant, &id, 0, &format!("sig:{}", prepared.hash)).await;
    assert!(matches!(again, Err(Error::Refused(Refusal::NotAwaitingSignature { .. }))));

    let rec = h.drive(&ex, &id).await;
    assert_eq!(rec.status, RouteStatus::Completed);
    let sent: starkroute_layer::Prepared =
        serde_json::from_value(rec.legs[0].prepared.clone().unwrap()).unwrap();
    assert_eq!(sent.hash, prepared.hash, "the signed payload is the one that was shown");
    assert_eq!(sent.payload["signature"], format!("sig:{}", prepared.hash).as_str());
    assert_eq!(h.starkex.send_calls(&prepared.hash), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_before_the_irreversible_leg_is_sent() {
    let h = Harness::new().await;
    h.starkex.script(|s| {
        s.signature_for.insert(LegKind::StarkExTransfer);
    });
    let ex = h.executor("a");
    // Never started.
    let fresh = create(&h, &ex, &gift()).await;
    let out = ex.cancel(&h.tenant, &fresh).await.unwrap();
    assert_eq!(out.asset_at.position, Position::owned(alice_starknet()));
    let rec = h.get(&fresh).await;
    assert_eq!(rec.status, RouteStatus::Cancelled);
    assert!(rec.legs.iter().all(|l| l.status == LegStatus::Cancelled));
    assert_eq!(ex.run_once().await.unwrap(), None);

    // Paused on the user's signature of the first (irreversible) leg: nothing is out yet.
    let paused = create(&h, &ex, &transfer_then_withdraw()).await;
    h.drive(&ex, &paused).await;
    let out = ex.cancel(&h.tenant, &paused).await.unwrap();
    assert_eq!(out.result, "cancelled");
    assert_eq!(out.asset_at.position, Position::owned(alice_starkex()));
    let rec = h.get(&paused).await;
    assert_eq!(rec.status, RouteStatus::Cancelled);
    assert_eq!(outcome(&rec), out);
    assert!(h.kinds(&paused).await.contains(&"route_cancelled".to_owned()));
    let twice = ex.cancel(&h.tenant, &paused).await;
    assert!(matches!(twice, Err(Error::Refused(Refusal::RouteTerminal { .. }))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_after_the_irreversible_leg_was_sent_is_refused() {
    let h = Harness::new().await;
    h.starknet.script(|s| s.steps_to_final = 100);
    let ex = h.executor("a");
    let id = create(&h, &ex, &gift()).await;
    ex.run_once().await.unwrap();
    assert_eq!(h.get(&id).await.legs[0].status, LegStatus::Submitted);
    let refused = ex.cancel(&h.tenant, &id).await;
    match refused {
        Err(Error::Refused(r @ Refusal::IrreversibleSent { leg: 0, .. })) => {
            assert!(r.to_string().contains("cannot be undone"), "{r}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.get(&id).await.status, RouteStatus::Running);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_executors_never_drive_the_same_route_at_once() {
    let mut h = Harness::new().await;
    for l in [&mut h.l1, &mut h.starkex, &mut h.starknet] {
        let layer = Arc::get_mut(l).unwrap();
        layer.delay = Duration::from_millis(2);
        layer.script(|s| s.steps_to_final = 2);
    }
    let a = h.executor("a");
    let b = h.executor_on(h.reopen().await, "b");
    let mut ids = vec![];
    for _ in 0..8 {
        ids.push(create(&h, &a, &gift()).await);
    }
    let work = |ex: Arc<Executor>| async move {
        let mut driven = 0;
        for _ in 0..400 {
            match ex.run_once().await {
                Ok(Some(_)) => driven += 1,
                Ok(None) => tokio::time::sleep(Duration::from_millis(2)).await,
                Err(e) => assert!(e.is_retryable(), "{e}"),
            }
        }
        driven
    };
    let clock = h.clock.clone();
    let ticker = tokio::spawn(async move {
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(10)).await;
            clock.advance(Duration::from_secs(1));
        }
    });
    let (da, db) = tokio::join!(tokio::spawn(work(a)), tokio::spawn(work(b)));
    ticker.await.unwrap();
    let (da, db) = (da.unwrap(), db.unwrap());
    assert!(da > 0 && db > 0, "both instances took work: {da} and {db} leases");
    for l in [&h.l1, &h.starkex, &h.starknet] {
        assert_eq!(l.overlaps(), 0, "two executors were inside one route's calls at once");
    }
    for id in &ids {
        assert_eq!(h.get(id).await.status, RouteStatus::Completed, "{id}");
        landed_once(&[&h.l1, &h.starknet], id, 3);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_run_loop_drives_routes_until_stopped() {
    let h = Harness::new().await;
    let ex = h.executor("a");
    let ids = [create(&h, &ex, &gift()).await, create(&h, &ex, &gift()).await];
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let runner = tokio::spawn({
        let ex = ex.clone();
        async move {
            ex.run(async {
                let _ = stop_rx.await;
            })
            .await;
        }
    });
    for _ in 0..500 {
        let mut done = true;
        for id in &ids {
            done &= h.get(id).await.status == RouteStatus::Completed;
        }
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), runner).await.unwrap().unwrap();
    for id in &ids {
        assert_eq!(h.get(id).await.status, RouteStatus::Completed);
    }
}

/// The keeper: a StarkEx withdrawal the operator leaves unserved past `escape_after` fails its
/// route (asset still in the vault, recovery: escape) and starts one escape route for the vault;
/// driving the failed route again starts no second one. Without `escape_after` it just waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unserved_withdrawal_starts_one_escape_route_when_configured() {
    let h = Harness::new().await;
    h.starkex.script(|s| {
        s.pending_forever.insert(LegKind::StarkExWithdrawalRequest);
    });
    let bob = Position::owned(bob_starkex());
    let claimable = Position { holding: Holding::Claimable, ..Position::owned(alice_l1()) };
    let r = route(vec![
        leg(0, LegKind::StarkExWithdrawalRequest, bob, claimable),
        leg(1, LegKind::L1ClaimFromStarkEx, claimable, Position::owned(alice_l1())),
    ]);

    // Off by default: the route keeps waiting.
    let patient = h.executor("patient");
    let waiting = create(&h, &patient, &r).await;
    for _ in 0..30 {
        while patient.run_once().await.unwrap().is_some() {}
        h.clock.advance(Duration::from_secs(600));
    }
    assert_eq!(h.get(&waiting).await.status, RouteStatus::Running);
    // Past its worst-case ETA (2 s), the leg is reported stuck once, with what it waits for.
    let stuck: Vec<_> =
        h.events(&waiting).await.into_iter().filter(|e| e.kind == "route_stuck").collect();
    assert_eq!(stuck.len(), 1, "{stuck:?}");
    assert_eq!(stuck[0].data["leg"], 0);
    assert_eq!(stuck[0].data["layer"], "starkex");
    assert_eq!(stuck[0].data["status"], "submitted");
    assert!(stuck[0].data["waiting_for"].as_str().unwrap().contains("batch"));
    assert!(stuck[0].data["expected_by"].as_i64() > stuck[0].data["since"].as_i64());

    let keeper = Arc::new(Executor::new(
        h.store.clone(),
        [h.l1.clone() as Arc<dyn SettlementLayer>, h.starkex.clone(), h.starknet.clone()],
        LeaseOwner::new("keeper").unwrap(),
        ExecutorConfig { escape_after: Some(Duration::from_secs(3600)), ..config() },
        h.clock.clone(),
    ));
    let id = create(&h, &keeper, &r).await;
    while keeper.run_once().await.unwrap().is_some() {}
    assert_eq!(h.get(&id).await.legs[0].status, LegStatus::Submitted);
    h.clock.advance(Duration::from_secs(1800));
    while keeper.run_once().await.unwrap().is_some() {}
    assert_eq!(h.get(&id).await.status, RouteStatus::Running, "not yet an hour");
    h.clock.advance(Duration::from_secs(1800));
    while keeper.run_once().await.unwrap().is_some() {}

    let rec = h.get(&id).await;
    assert_eq!(rec.status, RouteStatus::Failed);
    let o = outcome(&rec);
    assert_eq!(o.recovery, Recovery::Escape);
    assert_eq!(o.asset_at.position, bob, "still in the vault");
    let events = h.events(&id).await;
    let started = events.iter().find(|e| e.kind == "escape_started").expect("escape_started");
    let recovery = events.iter().find(|e| e.kind == "recovery_started").expect("recovery_started");
    assert_eq!(recovery.data["route"], started.data["route"]);
    assert!(events.iter().any(|e| e.kind == "recovery_required" && e.data["recovery"] == "escape"));
    let escape_id: RouteId = started.data["route"].as_str().unwrap().parse().unwrap();
    let escape = h.get(&escape_id).await;
    let kinds: Vec<LegKind> = escape.route.legs.iter().map(|l| l.kind).collect();
    assert_eq!(
        kinds,
        [
            LegKind::FullWithdrawalRequest,
            LegKind::FreezeRequest,
            LegKind::Escape,
            LegKind::L1ClaimFromStarkEx
        ]
    );
    assert_eq!(escape.route.legs[0].from, bob);
    assert_eq!(escape.route.destination, Position::owned(alice_l1()));
    // The keeper drives every route of the store: the patient executor's route, unserved as
    // long, is escaped too. Each failed route has exactly one escape route, however often the
    // keeper runs.
    for _ in 0..5 {
        while keeper.run_once().await.unwrap().is_some() {}
        h.clock.advance(Duration::from_secs(600));
    }
    let list = h
        .store
        .list_routes(&h.tenant, &ListQuery { status: None, cursor: None, limit: 100 })
        .await
        .unwrap();
    let escapes = list.routes.iter().filter(|r| r.route.summary.starts_with("escape hatch"));
    assert_eq!(
        escapes.count(),
        2,
        "{:#?}",
        list.routes.iter().map(|r| &r.route.summary).collect::<Vec<_>>()
    );
    assert_eq!(list.routes.len(), 4);
    assert_eq!(h.get(&waiting).await.status, RouteStatus::Failed);
}

/// Live ETAs: a leg that takes longer than the model moves the route's ETA out, announced by
/// `eta_changed` exactly once per threshold crossing (more than 20% of what remained and more
/// than 30 s, at most once a minute without a status change); what it took then feeds the
/// estimate of the next leg of its kind.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_leg_announces_its_new_eta_once_per_crossing() {
    let h = Harness::new().await;
    h.starkex.script(|s| {
        s.pending_forever.insert(LegKind::StarkExTransfer);
    });
    let mut transfer = leg(
        0,
        LegKind::StarkExTransfer,
        Position::owned(alice_starkex()),
        Position::owned(bob_starkex()),
    );
    // The model: 60 s to 600 s, 330 s expected.
    transfer.eta = starkroute_types::EtaRange::new(60, 600);
    let r = route(vec![transfer]);
    // An endpoint subscribed to `eta_changed` only: its deliveries are written by the same
    // transactions as the events (the outbox).
    use starkroute_store::WebhookStore as _;
    let hook = starkroute_store::NewWebhook {
        url: "https://hooks.example.com/eta".into(),
        events: vec!["eta_changed".into()],
        description: "etas".into(),
        secret: starkroute_store::WebhookSecret::new(format!("whsec_{:0>20}", 1)).unwrap(),
    };
    let hook = h.store.create_webhook(&h.tenant, &hook, T0).await.unwrap();
    let ex = h.executor("a");
    let id = create(&h, &ex, &r).await;
    let eta_events = |events: Vec<Event>| -> Vec<Event> {
        events.into_iter().filter(|e| e.kind == "eta_changed").collect()
    };
    let at = |secs: u64| T0.saturating_add(Duration::from_secs(secs));
    while ex.run_once().await.unwrap().is_some() {}
    let rec = h.get(&id).await;
    assert_eq!(rec.legs[0].status, LegStatus::Submitted);
    let eta = ex.eta(&rec);
    assert_eq!(eta.route.unwrap().expected_at, at(330), "the model's expectation");
    assert_eq!(eta.route.unwrap().source, starkroute_executor::EtaSource::Model);

    // On time: no announcement.
    h.clock.advance(Duration::from_secs(300));
    while ex.run_once().await.unwrap().is_some() {}
    assert!(eta_events(h.events(&id).await).is_empty());

    // Late (400 s in, past the expected 330 s): the ETA becomes the worst case, once.
    for _ in 0..8 {
        h.clock.advance(Duration::from_secs(10));
        while ex.run_once().await.unwrap().is_some() {}
        // 400 s .. 470 s: the ETA slides by less than the thresholds after the first move.
    }
    let changed = eta_events(h.events(&id).await);
    assert_eq!(changed.len(), 1, "{changed:?}");
    let e = &changed[0];
    assert_eq!(e.at, at(330), "the first poll at the expected 330 s");
    assert_eq!(e.data["leg"], 0);
    assert_eq!(e.data["status"], "submitted");
    assert_eq!(e.data["previous_expected_at"], json!(at(330)));
    assert_eq!(e.data["expected_at"], json!(at(600)), "what is left of the worst case");
    assert_eq!(e.data["remaining_secs"], 270);
    assert_eq!(e.data["source"], "model");
    assert_eq!(e.data["legs"][0]["expected_at"], json!(at(600)));
    // The route's answer agrees.
    assert_eq!(ex.eta(&h.get(&id).await).route.unwrap().expected_at, at(600));

    // Another instance takes over (a restart): it reads the last announcement back from the
    // route's events rather than announcing the same move again. Past the worst case the ETA
    // keeps moving out; the second crossing is announced once more.
    let ex = h.executor("b");
    for _ in 0..15 {
        h.clock.advance(Duration::from_secs(10));
        while ex.run_once().await.unwrap().is_some() {}
        if starkroute_executor::Clock::now(&*h.clock) < at(490) {
            assert_eq!(eta_events(h.events(&id).await).len(), 1, "nothing new before 490 s");
        }
    }
    let changed = eta_events(h.events(&id).await);
    assert_eq!(changed.len(), 2, "{changed:?}");
    assert_eq!(changed[1].data["previous_expected_at"], json!(at(600)));
    let second = changed[1].data["expected_at"].as_i64().unwrap();
    assert!(second > at(600).as_millis(), "later again: {second}");

    // The operator serves it: the route completes; nothing is announced for a final route.
    h.starkex.script(|s| {
        s.pending_forever.clear();
    });
    let done = h.drive(&ex, &id).await;
    assert_eq!(done.status, RouteStatus::Completed);
    let n = eta_events(h.events(&id).await).len();
    assert_eq!(n, 2, "no announcement when it completes");
    let outbox = h.store.list_deliveries(&h.tenant, &hook.id, None, 100).await.unwrap();
    let mut seqs: Vec<u64> = outbox.iter().map(|d| d.event.seq).collect();
    seqs.sort_unstable();
    let announced: Vec<u64> = eta_events(h.events(&id).await).iter().map(|e| e.seq).collect();
    assert_eq!(seqs, announced, "one webhook delivery per eta_changed, none for other events");
    let took = (done.legs[0].updated_at.as_millis() - T0.as_millis()) as u64 / 1000;

    // The next transfer is estimated from what this one took, not from the model.
    let next = create(&h, &ex, &r).await;
    let eta = ex.eta(&h.get(&next).await).route.unwrap();
    assert_eq!(eta.source, starkroute_executor::EtaSource::Observed);
    assert_eq!(eta.remaining_secs, took, "observed {took} s");
}
