//! The behaviours every `RouteStore` must have, each a function over `&dyn RouteStore` on an
//! empty store. Run against SQLite by `tests/it` and against a real PostgreSQL server by
//! `tests/postgres`.

use std::{collections::HashSet, time::Duration};

use serde_json::json;
use starkroute_store::{
    Fence, IdempotencyKey, LeaseOwner, LegChange, LegPatch, ListQuery, NewEvent, RouteChange,
    RouteId, RouteOrder, RouteStore, StoreError, TenantId, Timestamp, Transition, ORDER_EVENT,
};
use starkroute_types::{
    Account, Amount, Asset, AssetClass, EtaRange, Layer, Leg, LegKind, LegStatus, Party, Position,
    Route, RouteStatus, Token, Wei,
};

/// Calls `$m!(behaviour $(, args)*)` for every behaviour below.
macro_rules! for_each_behaviour {
    ($m:ident $(, $arg:expr)*) => {
        $m!(create_get_list_isolates_tenants $(, $arg)*);
        $m!(idempotent_create $(, $arg)*);
        $m!(concurrent_idempotent_create $(, $arg)*);
        $m!(concurrent_leasers_never_share_a_route $(, $arg)*);
        $m!(expired_lease_is_taken_over_and_fences_the_old_owner $(, $arg)*);
        $m!(compare_and_set_refuses_wrong_from_status $(, $arg)*);
        $m!(events_are_gap_free_and_replayable $(, $arg)*);
        $m!(prepared_payload_is_written_ahead $(, $arg)*);
        $m!(batch_applies_each_transition_on_its_own $(, $arg)*);
        $m!(version_fenced_writes_wait_for_the_lease $(, $arg)*);
        $m!(lease_takes_only_due_active_routes $(, $arg)*);
        $m!(renew_and_release $(, $arg)*);
        $m!(release_until_defers_the_route $(, $arg)*);
    };
}
pub(crate) use for_each_behaviour;

pub(crate) mod webhooks;

pub(crate) const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);
pub(crate) const LEASE: Duration = Duration::from_secs(10);

pub(crate) fn at(secs: i64) -> Timestamp {
    Timestamp::from_millis(T0.as_millis() + secs * 1000)
}

pub(crate) fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

pub(crate) fn owner(name: &str) -> LeaseOwner {
    LeaseOwner::new(name).unwrap()
}

pub(crate) fn sample_route(legs: u16) -> Route {
    let alice = Account::L1("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".parse().unwrap());
    let position = Position::owned(alice);
    Route {
        summary: format!("{legs} l1 transfers"),
        legs: (0..legs)
            .map(|index| Leg {
                index,
                kind: LegKind::L1Transfer,
                from: position,
                to: position,
                signer: Party::Sender,
                fees: vec![],
                eta: EtaRange::new(1, 2),
                description: format!("leg {index}"),
            })
            .collect(),
        total_fee_wei: Wei::ZERO,
        eta: EtaRange::new(1, 2),
        destination: position,
        needs_recipient_action: false,
        assumptions: vec![],
    }
}

/// What the sample routes move: 0.5 ETH.
pub(crate) fn sample_order() -> RouteOrder {
    let eth = Token {
        symbol: "ETH".into(),
        class: AssetClass::Eth,
        decimals: 18,
        home: Layer::L1,
        l1: None,
        starknet: None,
        starkex: None,
    };
    RouteOrder {
        asset: Asset::fungible(eth).unwrap(),
        amount: Amount::from_u128(500_000_000_000_000_000),
    }
}

async fn create(store: &dyn RouteStore, t: &TenantId) -> RouteId {
    let (record, created) =
        store.create_route(t, None, &sample_route(2), &sample_order(), T0).await.unwrap();
    assert!(created);
    record.id
}

fn leg_change(index: u16, from: LegStatus, to: LegStatus) -> LegChange {
    LegChange { index, from, to, patch: LegPatch::default() }
}

fn route_change(from: RouteStatus, to: RouteStatus) -> RouteChange {
    RouteChange { from, to, outcome: None }
}

fn ev(kind: &str) -> NewEvent {
    NewEvent::new(kind, json!({ "kind": kind }))
}

pub(crate) async fn create_get_list_isolates_tenants(store: &dyn RouteStore) {
    let (a, b) = (tenant("acme"), tenant("globex"));
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(create(store, &a).await);
    }
    let theirs = create(store, &b).await;

    let rec = store.get_route(&a, &ids[0]).await.unwrap().expect("own route");
    assert_eq!(rec.tenant, a);
    assert_eq!(rec.status, RouteStatus::Pending);
    assert_eq!(rec.route, sample_route(2));
    assert_eq!(rec.legs.len(), 2);
    assert!(rec.legs.iter().all(|l| l.status == LegStatus::Planned && l.prepared.is_none()));
    assert_eq!((rec.version, rec.last_event_seq), (1, 2));
    assert_eq!((rec.created_at, rec.updated_at, rec.wake_at), (T0, T0, T0));
    assert!(rec.lease.is_none() && rec.outcome.is_none());
    // What it moves is stored with it, and the same transaction logged it after `route_created`.
    assert_eq!(rec.order, Some(sample_order()));
    let events = store.events_since(&a, &rec.id, 0).await.unwrap();
    assert_eq!(
        events.iter().map(|e| (e.seq, e.kind.as_str())).collect::<Vec<_>>(),
        [(1, "route_created"), (2, ORDER_EVENT)]
    );
    assert_eq!(Some(&events[1]), rec.order_event().as_ref());
    assert_eq!(events[1].data, serde_json::to_value(sample_order()).unwrap());

    assert!(store.get_route(&b, &ids[0]).await.unwrap().is_none(), "tenant isolation");
    assert!(store.get_route(&a, &theirs).await.unwrap().is_none(), "tenant isolation");
    assert!(store.get_route(&a, &RouteId::new()).await.unwrap().is_none());
    assert!(matches!(store.events_since(&b, &ids[0], 0).await, Err(StoreError::NotFound { .. })));

    // Newest first, paged.
    let page = store.list_routes(&a, &ListQuery::first(2)).await.unwrap();
    let mut newest_first = ids.clone();
    newest_first.sort();
    newest_first.reverse();
    assert_eq!(page.routes.iter().map(|r| r.id).collect::<Vec<_>>(), newest_first[..2]);
    assert!(page.routes.iter().all(|r| r.legs.len() == 2));
    let cursor = page.next.expect("a second page");
    let q = ListQuery { status: None, cursor: Some(cursor), limit: 2 };
    let page2 = store.list_routes(&a, &q).await.unwrap();
    assert_eq!(page2.routes.iter().map(|r| r.id).collect::<Vec<_>>(), newest_first[2..]);
    assert_eq!(page2.next, None);

    let pending = ListQuery { status: Some(RouteStatus::Pending), cursor: None, limit: 10 };
    assert_eq!(store.list_routes(&a, &pending).await.unwrap().routes.len(), 3);
    let done = ListQuery { status: Some(RouteStatus::Completed), ..pending.clone() };
    assert!(store.list_routes(&a, &done).await.unwrap().routes.is_empty());
    let theirs_page = store.list_routes(&b, &ListQuery::first(10)).await.unwrap();
    assert_eq!(theirs_page.routes.iter().map(|r| r.id).collect::<Vec<_>>(), [theirs]);
    assert!(matches!(
        store.list_routes(&a, &ListQuery::first(0)).await,
        Err(StoreError::Invalid(_))
    ));
}

pub(crate) async fn idempotent_create(store: &dyn RouteStore) {
    let (a, b) = (tenant("acme"), tenant("globex"));
    let key = IdempotencyKey::new("req-1", "sha256:aaaa").unwrap();
    let (first, created) =
        store.create_route(&a, Some(&key), &sample_route(1), &sample_order(), T0).await.unwrap();
    assert!(created);
    let (again, created) =
        store.create_route(&a, Some(&key), &sample_route(1), &sample_order(), at(5)).await.unwrap();
    assert!(!created);
    assert_eq!(again, first);
    assert_eq!(store.list_routes(&a, &ListQuery::first(10)).await.unwrap().routes.len(), 1);

    let other_body = IdempotencyKey::new("req-1", "sha256:bbbb").unwrap();
    match store.create_route(&a, Some(&other_body), &sample_route(2), &sample_order(), at(6)).await
    {
        Err(StoreError::IdempotencyConflict { key, route }) => {
            assert_eq!((key.as_str(), route), ("req-1", first.id));
        }
        other => panic!("expected an idempotency conflict, got {other:?}"),
    }
    assert_eq!(store.list_routes(&a, &ListQuery::first(10)).await.unwrap().routes.len(), 1);

    // Keys are per tenant.
    let (theirs, created) =
        store.create_route(&b, Some(&key), &sample_route(1), &sample_order(), T0).await.unwrap();
    assert!(created);
    assert_ne!(theirs.id, first.id);
}

pub(crate) async fn concurrent_idempotent_create(store: &dyn RouteStore) {
    let a = tenant("acme");
    let key = IdempotencyKey::new("req-race", "fp").unwrap();
    let (route, order) = (sample_route(2), sample_order());
    let one = || store.create_route(&a, Some(&key), &route, &order, T0);
    let (r1, r2, r3, r4) = tokio::join!(one(), one(), one(), one());
    let results = [r1.unwrap(), r2.unwrap(), r3.unwrap(), r4.unwrap()];
    assert_eq!(results.iter().filter(|(_, created)| *created).count(), 1);
    assert!(results.iter().all(|(r, _)| r.id == results[0].0.id));
    assert_eq!(store.list_routes(&a, &ListQuery::first(10)).await.unwrap().routes.len(), 1);
}

/// Leases until nothing is left, returning what this owner got.
async fn drain(store: &dyn RouteStore, who: &LeaseOwner, now: Timestamp) -> Vec<RouteId> {
    let mut got = Vec::new();
    while let Some(rec) = store.lease(who, LEASE, now).await.unwrap() {
        assert_eq!(rec.lease.as_ref().map(|l| &l.owner), Some(who));
        got.push(rec.id);
    }
    got
}

pub(crate) async fn concurrent_leasers_never_share_a_route(store: &dyn RouteStore) {
    let a = tenant("acme");
    let mut all = HashSet::new();
    for _ in 0..24 {
        all.insert(create(store, &a).await);
    }
    let owners = [owner("w1"), owner("w2"), owner("w3"), owner("w4")];
    let now = at(1);
    let (g1, g2, g3, g4) = tokio::join!(
        drain(store, &owners[0], now),
        drain(store, &owners[1], now),
        drain(store, &owners[2], now),
        drain(store, &owners[3], now),
    );
    let got: Vec<RouteId> = [g1, g2, g3, g4].concat();
    assert_eq!(got.len(), all.len(), "each route leased exactly once");
    assert_eq!(got.into_iter().collect::<HashSet<_>>(), all);
    assert!(store.lease(&owner("w5"), LEASE, now).await.unwrap().is_none());
}

/// Two stores over the same database (two router instances) never lease the same route.
pub(crate) async fn two_instances_never_share_a_route(x: &dyn RouteStore, y: &dyn RouteStore) {
    let a = tenant("acme");
    let mut all = HashSet::new();
    for i in 0..30 {
        all.insert(create(if i % 2 == 0 { x } else { y }, &a).await);
    }
    let now = at(1);
    let owners = [owner("x1"), owner("y1"), owner("x2"), owner("y2")];
    let (g1, g2, g3, g4) = tokio::join!(
        drain(x, &owners[0], now),
        drain(y, &owners[1], now),
        drain(x, &owners[2], now),
        drain(y, &owners[3], now),
    );
    let got: Vec<RouteId> = [g1, g2, g3, g4].concat();
    assert_eq!(got.len(), all.len(), "each route leased exactly once");
    assert_eq!(got.into_iter().collect::<HashSet<_>>(), all);
}

pub(crate) async fn expired_lease_is_taken_over_and_fences_the_old_owner(store: &dyn RouteStore) {
    let a = tenant("acme");
    let id = create(store, &a).await;
    let (old, new) = (owner("old"), owner("new"));
    assert_eq!(store.lease(&old, LEASE, at(0)).await.unwrap().map(|r| r.id), Some(id));
    assert!(store.lease(&new, LEASE, at(5)).await.unwrap().is_none(), "lease still live");

    // Lapsed but not yet taken: the old owner is already fenced off.
    let late = store.save_prepared(&id, 0, json!({"nonce": 1}), &old, at(10)).await;
    assert!(matches!(late, Err(StoreError::LeaseLost { .. })), "{late:?}");

    let taken = store.lease(&new, LEASE, at(10)).await.unwrap().expect("expired lease taken over");
    assert_eq!(taken.id, id);
    assert_eq!(taken.lease.as_ref().map(|l| (&l.owner, l.expires_at)), Some((&new, at(20))));

    // The old owner's writes, renewals and release all fail and change nothing.
    for now in [at(9), at(11)] {
        let r = store.save_prepared(&id, 0, json!({"nonce": 1}), &old, now).await;
        assert!(matches!(r, Err(StoreError::LeaseLost { .. })), "{r:?}");
        let r = store.renew_lease(&id, &old, LEASE, now).await;
        assert!(matches!(r, Err(StoreError::LeaseLost { .. })), "{r:?}");
    }
    let t = Transition {
        route: id,
        fence: Fence::Lease(old.clone()),
        leg: None,
        status: Some(route_change(RouteStatus::Pending, RouteStatus::Cancelled)),
        events: vec![ev("route_cancelled")],
    };
    assert!(matches!(store.apply(t, at(11)).await, Err(StoreError::LeaseLost { .. })));
    assert!(!store.release(&id, &old).await.unwrap());
    let rec = store.get_route(&a, &id).await.unwrap().unwrap();
    assert_eq!((rec.status, rec.version, rec.last_event_seq), (RouteStatus::Pending, 1, 2));
    assert_eq!(rec.legs[0].status, LegStatus::Planned);
    assert!(rec.legs[0].prepared.is_none());

    // The new owner's fenced writes go through.
    let applied = store.save_prepared(&id, 0, json!({"nonce": 2}), &new, at(12)).await.unwrap();
    assert_eq!(applied.version, 2);
    let rec = store.get_route(&a, &id).await.unwrap().unwrap();
    assert_eq!(rec.legs[0].prepared, Some(json!({"nonce": 2})));
}

pub(crate) async fn compare_and_set_refuses_wrong_from_status(store: &dyn RouteStore) {
    let a = tenant("acme");
    let id = create(store, &a).await;
    let me = owner("me");
    store.lease(&me, LEASE, T0).await.unwrap().unwrap();
    let fence = Fence::Lease(me.clone());
    let before = store.get_route(&a, &id).await.unwrap().unwrap();

    let wrong_leg = store
        .record_leg_transition(
            &id,
            leg_change(0, LegStatus::Prepared, LegStatus::Submitted),
            ev("leg_submitted"),
            fence.clone(),
            at(1),
        )
        .await;
    match wrong_leg {
        Err(StoreError::Conflict { expected, found, .. }) => {
            assert_eq!((expected.as_str(), found.as_str()), ("leg 0 prepared", "leg 0 planned"));
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    let wrong_route = store
        .record_route_transition(
            &id,
            route_change(RouteStatus::Running, RouteStatus::Completed),
            ev("route_completed"),
            fence.clone(),
            at(1),
        )
        .await;
    assert!(matches!(wrong_route, Err(StoreError::Conflict { .. })), "{wrong_route:?}");
    // Route status right, leg status wrong: neither is applied.
    let mixed = Transition {
        route: id,
        fence: fence.clone(),
        leg: Some(leg_change(1, LegStatus::Submitted, LegStatus::FinalOnL1)),
        status: Some(route_change(RouteStatus::Pending, RouteStatus::Running)),
        events: vec![ev("leg_final"), ev("route_running")],
    };
    assert!(matches!(store.apply(mixed, at(1)).await, Err(StoreError::Conflict { .. })));
    let missing_leg = store
        .record_leg_transition(
            &id,
            leg_change(7, LegStatus::Planned, LegStatus::Prepared),
            ev("x"),
            fence.clone(),
            at(1),
        )
        .await;
    assert!(matches!(missing_leg, Err(StoreError::NotFound { .. })), "{missing_leg:?}");
    let missing_route = store
        .record_route_transition(
            &RouteId::new(),
            route_change(RouteStatus::Pending, RouteStatus::Running),
            ev("x"),
            fence.clone(),
            at(1),
        )
        .await;
    assert!(matches!(missing_route, Err(StoreError::NotFound { .. })), "{missing_route:?}");

    let after = store.get_route(&a, &id).await.unwrap().unwrap();
    assert_eq!(after, before, "refused transitions leave the route untouched");
    assert_eq!(store.events_since(&a, &id, 0).await.unwrap().len(), 2);

    // The right from-status goes through, with both changes and both events.
    let ok = Transition {
        route: id,
        fence,
        leg: Some(leg_change(0, LegStatus::Planned, LegStatus::AwaitingSignature)),
        status: Some(route_change(RouteStatus::Pending, RouteStatus::AwaitingSignature)),
        events: vec![ev("leg_awaiting_signature"), ev("route_awaiting_signature")],
    };
    let applied = store.apply(ok, at(2)).await.unwrap();
    assert_eq!(applied.version, 2);
    assert_eq!(applied.events.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4]);
    let rec = store.get_route(&a, &id).await.unwrap().unwrap();
    assert_eq!(rec.status, RouteStatus::AwaitingSignature);
    assert_eq!(rec.legs[0].status, LegStatus::AwaitingSignature);
    assert_eq!((rec.version, rec.last_event_seq, rec.updated_at), (2, 4, at(2)));
}

pub(crate) async fn events_are_gap_free_and_replayable(store: &dyn RouteStore) {
    let a = tenant("acme");
    let id = create(store, &a).await;
    let me = owner("me");
    store.lease(&me, LEASE, T0).await.unwrap().unwrap();
    let fence = Fence::Lease(me.clone());
    let steps = [
        (LegStatus::Planned, LegStatus::Prepared),
        (LegStatus::Prepared, LegStatus::Submitted),
        (LegStatus::Submitted, LegStatus::AcceptedOnL2),
        (LegStatus::AcceptedOnL2, LegStatus::FinalOnL1),
    ];
    for (i, (from, to)) in steps.into_iter().enumerate() {
        // A refused step between the good ones must not leave a hole in the sequence.
        let refused = store
            .record_leg_transition(&id, leg_change(0, to, to), ev("bad"), fence.clone(), at(1))
            .await;
        assert!(refused.is_err());
        let kind = format!("step_{i}");
        let applied = store
            .record_leg_transition(&id, leg_change(0, from, to), ev(&kind), fence.clone(), at(1))
            .await
            .unwrap();
        assert_eq!(applied.events.len(), 1);
        assert_eq!(applied.events[0].seq, i as u64 + 3);
        assert_eq!(applied.events[0].kind, kind);
    }
    let all = store.events_since(&a, &id, 0).await.unwrap();
    assert_eq!(all.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2, 3, 4, 5, 6]);
    assert_eq!(all[0].kind, "route_created");
    assert_eq!(all[0].at, T0);
    assert_eq!((all[1].kind.as_str(), all[1].at), (ORDER_EVENT, T0));
    assert_eq!(all[2].data, json!({"kind": "step_0"}));
    assert!(all.iter().all(|e| e.route == id));
    for after in 0..=7u64 {
        let replay = store.events_since(&a, &id, after).await.unwrap();
        let expected: Vec<u64> = (after + 1..=6).collect();
        assert_eq!(replay.iter().map(|e| e.seq).collect::<Vec<_>>(), expected);
        assert_eq!(replay[..], all[(after.min(6)) as usize..]);
    }
    let rec = store.get_route(&a, &id).await.unwrap().unwrap();
    assert_eq!(rec.last_event_seq, 6);
}

pub(crate) async fn prepared_payload_is_written_ahead(store: &dyn RouteStore) {
    let a = tenant("acme");
    let id = create(store, &a).await;
    let me = owner("me");
    store.lease(&me, LEASE, T0).await.unwrap().unwrap();
    let payload = json!({"tx": "0x02f8", "hash": "0xabc", "nonce": 7, "big": "123456789012345678901234567890"});
    let applied = store.save_prepared(&id, 0, payload.clone(), &me, at(1)).await.unwrap();
    assert_eq!(applied.events[0].kind, "leg_prepared");

    // Durable and visible before any send.
    let rec = store.get_route(&a, &id).await.unwrap().unwrap();
    assert_eq!(rec.legs[0].status, LegStatus::Prepared);
    assert_eq!(rec.legs[0].prepared.as_ref(), Some(&payload));
    assert_eq!(rec.legs[1].prepared, None);

    // A second prepare of the same leg (a new nonce) is refused: the first may still land.
    let again = store.save_prepared(&id, 0, json!({"nonce": 8}), &me, at(2)).await;
    assert!(matches!(again, Err(StoreError::Conflict { .. })), "{again:?}");

    let submitted = LegChange {
        index: 0,
        from: LegStatus::Prepared,
        to: LegStatus::Submitted,
        patch: LegPatch {
            submission: Some("0xabc".into()),
            attempts: Some(1),
            next_attempt_at: Some(Some(at(30))),
            last_error: Some(Some("timeout".into())),
            ..LegPatch::default()
        },
    };
    store
        .record_leg_transition(&id, submitted, ev("leg_submitted"), Fence::Lease(me), at(3))
        .await
        .unwrap();
    let rec = store.get_route(&a, &id).await.unwrap().unwrap();
    let leg = &rec.legs[0];
    assert_eq!(leg.status, LegStatus::Submitted);
    assert_eq!(leg.prepared.as_ref(), Some(&payload), "kept across later transitions");
    assert_eq!(leg.submission.as_deref(), Some("0xabc"));
    assert_eq!((leg.attempts, leg.next_attempt_at), (1, Some(at(30))));
    assert_eq!(leg.last_error.as_deref(), Some("timeout"));
    assert_eq!(leg.updated_at, at(3));
    assert_eq!(rec.wake_at, at(30), "the leg's next attempt wakes the route");
}

pub(crate) async fn batch_applies_each_transition_on_its_own(store: &dyn RouteStore) {
    let a = tenant("acme");
    let (r1, r2) = (create(store, &a).await, create(store, &a).await);
    let me = owner("me");
    drain(store, &me, T0).await;
    let fence = Fence::Lease(me.clone());
    let leg = |route, from, to| Transition {
        route,
        fence: fence.clone(),
        leg: Some(leg_change(0, from, to)),
        status: None,
        events: vec![ev("leg")],
    };
    let batch = vec![
        leg(r1, LegStatus::Planned, LegStatus::Prepared),
        leg(r2, LegStatus::Submitted, LegStatus::FinalOnL1), // wrong from
        leg(r2, LegStatus::Planned, LegStatus::Prepared),
        leg(r1, LegStatus::Prepared, LegStatus::Submitted), // sees the first one
        Transition {
            fence: Fence::Lease(owner("other")),
            ..leg(r1, LegStatus::Submitted, LegStatus::Failed)
        },
    ];
    let results = store.apply_batch(batch, at(1)).await.unwrap();
    assert_eq!(results.len(), 5);
    assert!(results[0].is_ok());
    assert!(matches!(results[1], Err(StoreError::Conflict { .. })));
    assert!(results[2].is_ok());
    assert_eq!(results[3].as_ref().unwrap().events[0].seq, 4);
    assert!(matches!(results[4], Err(StoreError::LeaseLost { .. })));
    let rec1 = store.get_route(&a, &r1).await.unwrap().unwrap();
    let rec2 = store.get_route(&a, &r2).await.unwrap().unwrap();
    assert_eq!(
        (rec1.legs[0].status, rec1.version, rec1.last_event_seq),
        (LegStatus::Submitted, 3, 4)
    );
    assert_eq!(
        (rec2.legs[0].status, rec2.version, rec2.last_event_seq),
        (LegStatus::Prepared, 2, 3)
    );
    assert!(store.apply_batch(vec![], at(1)).await.unwrap().is_empty());
}

pub(crate) async fn version_fenced_writes_wait_for_the_lease(store: &dyn RouteStore) {
    let a = tenant("acme");
    let id = create(store, &a).await;
    let me = owner("executor");
    store.lease(&me, LEASE, T0).await.unwrap().unwrap();
    let cancel = |version| Transition {
        route: id,
        fence: Fence::Version(version),
        leg: None,
        status: Some(RouteChange {
            from: RouteStatus::Pending,
            to: RouteStatus::Cancelled,
            outcome: Some(json!({"asset_at": "l1:alice", "recovery": "none needed"})),
        }),
        events: vec![ev("route_cancelled")],
    };
    let leased = store.apply(cancel(1), at(1)).await;
    match &leased {
        Err(e @ StoreError::Leased { owner, until, .. }) => {
            assert_eq!((owner, *until), (&me, at(10)));
            assert!(e.is_retryable());
        }
        other => panic!("expected Leased, got {other:?}"),
    }
    // The executor moves on (version 2) and releases; a stale cancel is refused.
    store.save_prepared(&id, 0, json!({"n": 1}), &me, at(2)).await.unwrap();
    assert!(store.release(&id, &me).await.unwrap());
    assert!(matches!(store.apply(cancel(1), at(3)).await, Err(StoreError::Conflict { .. })));
    let applied = store.apply(cancel(2), at(3)).await.unwrap();
    assert_eq!(applied.version, 3);
    let rec = store.get_route(&a, &id).await.unwrap().unwrap();
    assert_eq!(rec.status, RouteStatus::Cancelled);
    assert_eq!(rec.outcome, Some(json!({"asset_at": "l1:alice", "recovery": "none needed"})));
    assert!(store.lease(&me, LEASE, at(4)).await.unwrap().is_none(), "terminal: never leased");
}

pub(crate) async fn lease_takes_only_due_active_routes(store: &dyn RouteStore) {
    let a = tenant("acme");
    let me = owner("me");
    let (backoff, paused, done) =
        (create(store, &a).await, create(store, &a).await, create(store, &a).await);
    drain(store, &me, T0).await;
    let fence = Fence::Lease(me.clone());
    let retry_later = LegChange {
        index: 0,
        from: LegStatus::Planned,
        to: LegStatus::Planned,
        patch: LegPatch {
            attempts: Some(1),
            next_attempt_at: Some(Some(at(60))),
            ..LegPatch::default()
        },
    };
    store
        .record_leg_transition(&backoff, retry_later, ev("retry"), fence.clone(), at(1))
        .await
        .unwrap();
    let pause = route_change(RouteStatus::Pending, RouteStatus::AwaitingSignature);
    store
        .record_route_transition(&paused, pause, ev("paused"), fence.clone(), at(1))
        .await
        .unwrap();
    let finish = route_change(RouteStatus::Pending, RouteStatus::Completed);
    store.record_route_transition(&done, finish, ev("done"), fence.clone(), at(1)).await.unwrap();
    for id in [backoff, paused, done] {
        assert!(store.release(&id, &me).await.unwrap());
    }

    assert!(store.lease(&me, LEASE, at(59)).await.unwrap().is_none(), "nothing due yet");
    let rec = store.lease(&me, LEASE, at(60)).await.unwrap().expect("due at its next attempt");
    assert_eq!(rec.id, backoff);
    assert_eq!(rec.wake_at, at(60));
    assert!(store.lease(&owner("other"), LEASE, at(65)).await.unwrap().is_none());

    // Clearing the next attempt makes the route due at once.
    let now_due = LegChange {
        index: 0,
        from: LegStatus::Planned,
        to: LegStatus::Planned,
        patch: LegPatch { next_attempt_at: Some(None), ..LegPatch::default() },
    };
    store.record_leg_transition(&backoff, now_due, ev("retry_now"), fence, at(61)).await.unwrap();
    store.release(&backoff, &me).await.unwrap();
    let rec = store.lease(&me, LEASE, at(61)).await.unwrap().expect("due now");
    assert_eq!((rec.id, rec.wake_at, rec.legs[0].next_attempt_at), (backoff, at(61), None));
}

pub(crate) async fn renew_and_release(store: &dyn RouteStore) {
    let a = tenant("acme");
    let id = create(store, &a).await;
    let me = owner("me");
    store.lease(&me, LEASE, T0).await.unwrap().unwrap();
    assert_eq!(store.renew_lease(&id, &me, LEASE, at(8)).await.unwrap(), at(18));
    assert!(store.lease(&owner("other"), LEASE, at(12)).await.unwrap().is_none(), "renewed");
    // Fenced writes work until the renewed expiry.
    store.save_prepared(&id, 0, json!({}), &me, at(17)).await.unwrap();
    assert!(matches!(
        store.renew_lease(&id, &me, LEASE, at(18)).await,
        Err(StoreError::LeaseLost { .. })
    ));
    assert!(matches!(
        store.renew_lease(&RouteId::new(), &me, LEASE, at(1)).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.release(&id, &me).await.unwrap());
    assert!(!store.release(&id, &me).await.unwrap());
    let rec = store.get_route(&a, &id).await.unwrap().unwrap();
    assert!(rec.lease.is_none());
    let next = store.lease(&owner("other"), LEASE, at(19)).await.unwrap().expect("released");
    assert_eq!(next.id, id);
}

pub(crate) async fn release_until_defers_the_route(store: &dyn RouteStore) {
    let a = tenant("acme");
    let id = create(store, &a).await;
    let me = owner("me");
    store.lease(&me, LEASE, T0).await.unwrap().unwrap();
    let before = store.get_route(&a, &id).await.unwrap().unwrap();
    assert!(store.release_until(&id, &me, at(30)).await.unwrap());
    assert!(!store.release_until(&id, &me, at(40)).await.unwrap(), "not held any more");
    let rec = store.get_route(&a, &id).await.unwrap().unwrap();
    assert_eq!((rec.wake_at, rec.version), (at(30), before.version), "no transition");
    assert!(rec.lease.is_none());
    assert!(store.lease(&me, LEASE, at(29)).await.unwrap().is_none(), "not due before its wake-up");
    assert_eq!(store.lease(&me, LEASE, at(30)).await.unwrap().unwrap().id, id);
}

/// Routes created before the store kept asset and amount with the route had them only in their
/// `route_order` event: schema migration 2 copies them from there. `run` executes SQL on the
/// store's database; `backfill` is that migration's `UPDATE`. The route whose event is missing
/// keeps no order (as before, it cannot be driven).
pub(crate) async fn legacy_routes_get_their_order_from_the_event<F, Fut>(
    store: &dyn RouteStore,
    run: F,
    backfill: &str,
) where
    F: Fn(String) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let a = tenant("acme");
    let (with_event, without_event) = (create(store, &a).await, create(store, &a).await);
    // What a route looked like before migration 2: no columns, an event (or none).
    run("UPDATE routes SET asset = NULL, amount = NULL".to_owned()).await;
    run(format!(
        "DELETE FROM events WHERE route_id = '{without_event}' AND kind = '{ORDER_EVENT}'"
    ))
    .await;
    for id in [with_event, without_event] {
        let rec = store.get_route(&a, &id).await.unwrap().unwrap();
        assert_eq!(rec.order, None);
        assert_eq!(rec.order_event(), None);
    }
    run(backfill.to_owned()).await;
    let rec = store.get_route(&a, &with_event).await.unwrap().unwrap();
    assert_eq!(rec.order, Some(sample_order()));
    let rec = store.get_route(&a, &without_event).await.unwrap().unwrap();
    assert_eq!(rec.order, None);
}

/// The backfill statement of a `0002_route_order.sql` migration: from its `UPDATE` on.
pub(crate) fn backfill_of(migration: &str) -> &str {
    &migration[migration.find("UPDATE routes").expect("the migration backfills")..]
}
