//! The behaviours every `WebhookStore` (with its `RouteStore`) must have: endpoints per tenant,
//! outbox rows committed with their events, deliveries leased in order per route, attempts
//! recorded, replay, and the tenant-wide event cursor.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde_json::json;
use starkroute_store::{
    Attempt, AttemptOutcome, DeliveryState, Fence, LeaseOwner, LeasedDelivery, LegChange, LegPatch,
    NewEvent, NewWebhook, RouteId, RouteStore, StoreError, TenantId, Timestamp, Transition,
    WebhookSecret, WebhookStore, ALL_EVENTS,
};
use starkroute_types::LegStatus;

use super::{at, owner, sample_order, sample_route, tenant, T0};

/// Calls `$m!(behaviour $(, args)*)` for every webhook behaviour below.
macro_rules! for_each_webhook_behaviour {
    ($m:ident $(, $arg:expr)*) => {
        $m!(webhooks_are_tenant_scoped_and_rotate $(, $arg)*);
        $m!(outbox_rows_commit_with_their_events $(, $arg)*);
        $m!(deliveries_lease_in_order_per_route $(, $arg)*);
        $m!(concurrent_leasers_never_share_a_delivery $(, $arg)*);
        $m!(attempts_are_recorded_and_deliveries_replayed $(, $arg)*);
        $m!(events_after_pages_through_the_tenant_log $(, $arg)*);
        $m!(view_tokens_are_hashed_replaced_and_revoked $(, $arg)*);
    };
}
pub(crate) use for_each_webhook_behaviour;

const LEASE: Duration = Duration::from_secs(30);

fn secret(s: &str) -> WebhookSecret {
    WebhookSecret::new(format!("whsec_{s:0>20}")).unwrap()
}

fn new_hook(events: &[&str]) -> NewWebhook {
    NewWebhook {
        url: "https://hooks.example.com/starkroute".into(),
        events: events.iter().map(|s| (*s).to_owned()).collect(),
        description: "orders".into(),
        secret: secret("one"),
    }
}

async fn create<S: RouteStore + ?Sized>(store: &S, t: &TenantId) -> RouteId {
    let (record, _) =
        store.create_route(t, None, &sample_route(2), &sample_order(), T0).await.unwrap();
    record.id
}

/// Appends events to a route that no executor holds (version-fenced); returns the new version.
async fn append<S: RouteStore + ?Sized>(
    store: &S,
    route: RouteId,
    version: u64,
    kinds: &[&str],
    now: Timestamp,
) -> u64 {
    let t = Transition {
        route,
        fence: Fence::Version(version),
        leg: None,
        status: None,
        events: kinds.iter().map(|k| NewEvent::new(*k, json!({ "kind": k }))).collect(),
    };
    store.apply(t, now).await.unwrap().version
}

fn ok_attempt(now: Timestamp) -> Attempt {
    Attempt { at: now, status: Some(200), latency_ms: 3, error: None, response: Some("ok".into()) }
}

async fn lease_all<S: WebhookStore + ?Sized>(
    store: &S,
    who: &LeaseOwner,
    now: Timestamp,
) -> Vec<LeasedDelivery> {
    store.lease_deliveries(who, LEASE, 100, now).await.unwrap()
}

fn keys(leased: &[LeasedDelivery]) -> Vec<(RouteId, u64)> {
    let mut k: Vec<_> =
        leased.iter().map(|d| (d.delivery.event.route, d.delivery.event.seq)).collect();
    k.sort();
    k
}

pub(crate) async fn webhooks_are_tenant_scoped_and_rotate<S: RouteStore + WebhookStore>(store: &S) {
    let (a, b) = (tenant("acme"), tenant("globex"));
    let one =
        store.create_webhook(&a, &new_hook(&["leg_final", "route_completed"]), T0).await.unwrap();
    let two = store.create_webhook(&a, &new_hook(&[ALL_EVENTS]), at(1)).await.unwrap();
    let theirs = store.create_webhook(&b, &new_hook(&[ALL_EVENTS]), at(2)).await.unwrap();
    assert_eq!(one.tenant, a);
    assert_eq!(one.events, ["leg_final", "route_completed"]);
    assert_eq!(
        (one.url.as_str(), one.description.as_str()),
        ("https://hooks.example.com/starkroute", "orders")
    );
    assert_eq!(one.secret, secret("one"));
    assert!(one.previous_secret.is_none());
    assert_eq!(
        store.list_webhooks(&a).await.unwrap().iter().map(|w| w.id).collect::<Vec<_>>(),
        [one.id, two.id]
    );
    assert_eq!(store.get_webhook(&a, &one.id).await.unwrap().as_ref(), Some(&one));
    assert!(store.get_webhook(&b, &one.id).await.unwrap().is_none(), "tenant isolation");
    assert!(store.get_webhook(&a, &theirs.id).await.unwrap().is_none(), "tenant isolation");

    // Rotation keeps the old secret until the grace period ends.
    assert!(store
        .rotate_secret(&b, &one.id, &secret("two"), at(60), at(3))
        .await
        .unwrap()
        .is_none());
    let rotated =
        store.rotate_secret(&a, &one.id, &secret("two"), at(60), at(3)).await.unwrap().unwrap();
    assert_eq!(rotated.secret, secret("two"));
    assert_eq!(rotated.previous_secret, Some((secret("one"), at(60))));
    assert_eq!(rotated.updated_at, at(3));
    assert_eq!(rotated.signing_secrets(at(59)), [&secret("two"), &secret("one")]);
    assert_eq!(rotated.signing_secrets(at(60)), [&secret("two")]);

    // Refused input stores nothing.
    let none = NewWebhook { events: vec![], ..new_hook(&[]) };
    assert!(matches!(store.create_webhook(&a, &none, T0).await, Err(StoreError::Invalid(_))));
    let bad = new_hook(&["Leg Final"]);
    assert!(matches!(store.create_webhook(&a, &bad, T0).await, Err(StoreError::Invalid(_))));
    assert_eq!(store.list_webhooks(&a).await.unwrap().len(), 2);

    assert!(!store.delete_webhook(&b, &one.id).await.unwrap(), "another tenant's");
    assert!(store.delete_webhook(&a, &one.id).await.unwrap());
    assert!(!store.delete_webhook(&a, &one.id).await.unwrap());
    assert_eq!(store.list_webhooks(&a).await.unwrap().len(), 1);
    assert_eq!(store.list_webhooks(&b).await.unwrap().len(), 1);
}

pub(crate) async fn outbox_rows_commit_with_their_events<S: RouteStore + WebhookStore>(store: &S) {
    let (a, b) = (tenant("acme"), tenant("globex"));
    let all = store.create_webhook(&a, &new_hook(&[ALL_EVENTS, "leg_final"]), T0).await.unwrap();
    let finals = store.create_webhook(&a, &new_hook(&["leg_final"]), T0).await.unwrap();
    let theirs = store.create_webhook(&b, &new_hook(&[ALL_EVENTS]), T0).await.unwrap();

    // Creating a route appends route_created and route_order: two deliveries for `all` (once
    // each, though it subscribes twice over), none for `finals`, none for the other tenant.
    let route = create(store, &a).await;
    let list = |w| store.list_deliveries(&a, w, None, 100);
    let d = list(&all.id).await.unwrap();
    assert_eq!(d.iter().map(|d| d.event.seq).collect::<Vec<_>>(), [2, 1], "newest first");
    assert!(d.iter().all(|d| d.state == DeliveryState::Pending && d.attempts == 0));
    assert!(d
        .iter()
        .all(|d| d.event.route == route && d.next_attempt_at == T0 && d.queued_at == T0));
    assert_eq!(d[1].event.kind, "route_created");
    assert!(list(&finals.id).await.unwrap().is_empty());
    assert!(store.list_deliveries(&b, &theirs.id, None, 100).await.unwrap().is_empty());
    assert!(store.list_deliveries(&b, &all.id, None, 100).await.unwrap().is_empty(), "isolation");

    // An applied transition's events get theirs in its transaction …
    let v = append(store, route, 1, &["leg_final"], at(1)).await;
    assert_eq!(list(&all.id).await.unwrap().len(), 3);
    let f = list(&finals.id).await.unwrap();
    assert_eq!(
        f.iter().map(|d| (d.event.seq, d.event.kind.as_str())).collect::<Vec<_>>(),
        [(3, "leg_final")]
    );
    assert_eq!(f[0].event.data, json!({ "kind": "leg_final" }));

    // … and a refused one (wrong leg status; in a batch beside an applied one) leaves none.
    let refused = Transition {
        route,
        fence: Fence::Version(v),
        leg: Some(LegChange {
            index: 0,
            from: LegStatus::Submitted,
            to: LegStatus::FinalOnL1,
            patch: LegPatch::default(),
        }),
        status: None,
        events: vec![NewEvent::new("leg_final", json!({}))],
    };
    let other = create(store, &a).await;
    let applied = Transition {
        route: other,
        fence: Fence::Version(1),
        leg: None,
        status: None,
        events: vec![NewEvent::new("leg_final", json!({}))],
    };
    let results = store.apply_batch(vec![refused, applied], at(2)).await.unwrap();
    assert!(matches!(results[0], Err(StoreError::Conflict { .. })));
    assert!(results[1].is_ok());
    let f = list(&finals.id).await.unwrap();
    assert_eq!(f.iter().map(|d| d.event.route).collect::<Vec<_>>(), [other, route]);
    assert_eq!(store.outbox_stats().await.unwrap().pending, 3 + 3 + 2);
    assert_eq!(store.outbox_stats().await.unwrap().oldest_pending, Some(T0));

    // Deleting an endpoint drops its deliveries; new events no longer reach it.
    assert!(store.delete_webhook(&a, &all.id).await.unwrap());
    assert!(list(&all.id).await.unwrap().is_empty());
    append(store, route, v, &["route_completed"], at(3)).await;
    assert_eq!(store.outbox_stats().await.unwrap().pending, 2, "the leg_final endpoint's two");
}

pub(crate) async fn deliveries_lease_in_order_per_route<S: RouteStore + WebhookStore>(store: &S) {
    let a = tenant("acme");
    let hook = store.create_webhook(&a, &new_hook(&[ALL_EVENTS]), T0).await.unwrap();
    let (r1, r2) = (create(store, &a).await, create(store, &a).await);
    append(store, r1, 1, &["leg_final"], T0).await;
    let (w1, w2) = (owner("w1"), owner("w2"));

    // Only the first pending delivery of each route is due, to one leaser.
    let got = lease_all(store, &w1, at(1)).await;
    let mut heads = vec![(r1, 1), (r2, 1)];
    heads.sort();
    assert_eq!(keys(&got), heads);
    assert!(got.iter().all(|d| d.webhook == hook));
    assert!(lease_all(store, &w2, at(1)).await.is_empty(), "leased, and the rest wait their turn");

    // Delivering r1's head makes its next event due; a retry later holds r2's back until then.
    let d1 = got.iter().find(|d| d.delivery.event.route == r1).unwrap().delivery.id;
    let d2 = got.iter().find(|d| d.delivery.event.route == r2).unwrap().delivery.id;
    assert!(store
        .record_attempt(d1, &w1, &ok_attempt(at(2)), AttemptOutcome::Delivered)
        .await
        .unwrap());
    let failed = Attempt {
        status: Some(503),
        error: Some("503 Service Unavailable".into()),
        ..ok_attempt(at(2))
    };
    assert!(store.record_attempt(d2, &w1, &failed, AttemptOutcome::RetryAt(at(20))).await.unwrap());
    let got = lease_all(store, &w2, at(3)).await;
    assert_eq!(keys(&got), [(r1, 2)]);
    let got2 = lease_all(store, &w2, at(20)).await;
    assert_eq!(keys(&got2), [(r2, 1)], "due again at its retry time; r1's seq 2 is still leased");
    assert_eq!(got2[0].delivery.attempts, 1);
    assert_eq!(got2[0].delivery.last_attempt.as_ref().and_then(|a| a.status), Some(503));

    // An expired lease is taken over, and the old holder's result is refused.
    let taken = lease_all(store, &w1, at(3).saturating_add(LEASE)).await;
    assert_eq!(keys(&taken), [(r1, 2)]);
    let late = ok_attempt(at(40));
    let recorded = store.record_attempt(got[0].delivery.id, &w2, &late, AttemptOutcome::Delivered);
    assert!(!recorded.await.unwrap(), "w2's lease was taken over");
    let by_id: HashMap<u64, DeliveryState> = store
        .list_deliveries(&a, &hook.id, None, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.id, d.state))
        .collect();
    assert_eq!(by_id[&got[0].delivery.id], DeliveryState::Pending);
    assert_eq!(by_id[&d1], DeliveryState::Delivered);
}

pub(crate) async fn concurrent_leasers_never_share_a_delivery<S: RouteStore + WebhookStore>(
    store: &S,
) {
    let a = tenant("acme");
    store.create_webhook(&a, &new_hook(&[ALL_EVENTS]), T0).await.unwrap();
    for _ in 0..20 {
        create(store, &a).await;
    }
    let now = at(1);
    let one = |name: &'static str| async move {
        let who = owner(name);
        let mut got = Vec::new();
        loop {
            let batch = store.lease_deliveries(&who, LEASE, 3, now).await.unwrap();
            if batch.is_empty() {
                return got;
            }
            got.extend(batch.into_iter().map(|d| d.delivery.id));
        }
    };
    let (g1, g2, g3) = tokio::join!(one("w1"), one("w2"), one("w3"));
    let got: Vec<u64> = [g1, g2, g3].concat();
    assert_eq!(got.len(), 20, "each route's head leased exactly once");
    assert_eq!(got.iter().collect::<HashSet<_>>().len(), 20);
}

pub(crate) async fn attempts_are_recorded_and_deliveries_replayed<S: RouteStore + WebhookStore>(
    store: &S,
) {
    let (a, b) = (tenant("acme"), tenant("globex"));
    let hook = store.create_webhook(&a, &new_hook(&[ALL_EVENTS]), T0).await.unwrap();
    let route = create(store, &a).await;
    let w = owner("w");
    let head = lease_all(store, &w, at(1)).await.remove(0).delivery;
    assert_eq!(head.event.seq, 1);

    // A 500, then a 400: two attempts, the delivery given up, the route's next one due.
    let body = "é".repeat(400);
    let e500 = Attempt {
        at: at(1),
        status: Some(500),
        latency_ms: 12,
        error: Some("HTTP 500".into()),
        response: Some(body.clone()),
    };
    assert!(store
        .record_attempt(head.id, &w, &e500, AttemptOutcome::RetryAt(at(2)))
        .await
        .unwrap());
    let again = lease_all(store, &w, at(2)).await;
    assert_eq!(again.iter().map(|d| d.delivery.id).collect::<Vec<_>>(), [head.id]);
    let e400 = Attempt {
        at: at(2),
        status: Some(400),
        latency_ms: 7,
        error: Some("HTTP 400".into()),
        response: None,
    };
    assert!(store.record_attempt(head.id, &w, &e400, AttemptOutcome::GiveUp).await.unwrap());
    let next = lease_all(store, &w, at(3)).await;
    assert_eq!(keys(&next), [(route, 2)], "a given-up delivery does not block the route");

    let attempts = store.delivery_attempts(&a, head.id).await.unwrap();
    assert_eq!(attempts.iter().map(|a| a.status).collect::<Vec<_>>(), [Some(500), Some(400)]);
    assert_eq!((attempts[0].latency_ms, attempts[0].at), (12, at(1)));
    let kept = attempts[0].response.as_deref().unwrap();
    assert!(kept.len() <= Attempt::MAX_RESPONSE && body.starts_with(kept) && !kept.is_empty());
    assert!(store.delivery_attempts(&b, head.id).await.unwrap().is_empty(), "isolation");
    let listed = store.list_deliveries(&a, &hook.id, None, 100).await.unwrap();
    let given_up = listed.iter().find(|d| d.id == head.id).unwrap();
    assert_eq!((given_up.state, given_up.attempts), (DeliveryState::Failed, 2));
    assert_eq!(given_up.last_attempt.as_ref().unwrap().error.as_deref(), Some("HTTP 400"));

    // Paging, newest first.
    let page = store.list_deliveries(&a, &hook.id, None, 1).await.unwrap();
    assert_eq!(page.len(), 1);
    let rest = store.list_deliveries(&a, &hook.id, Some(page[0].id), 10).await.unwrap();
    assert_eq!(rest.iter().map(|d| d.id).collect::<Vec<_>>(), [head.id]);

    // Replay: only by its tenant; queued again from now, leased again.
    assert!(store.retry_delivery(&b, &hook.id, head.id, at(10)).await.unwrap().is_none());
    let replayed = store.retry_delivery(&a, &hook.id, head.id, at(10)).await.unwrap().unwrap();
    assert_eq!(
        (replayed.state, replayed.queued_at, replayed.next_attempt_at),
        (DeliveryState::Pending, at(10), at(10))
    );
    let seq2 = next[0].delivery.id;
    assert!(store
        .record_attempt(seq2, &w, &ok_attempt(at(10)), AttemptOutcome::Delivered)
        .await
        .unwrap());
    let got = lease_all(store, &w, at(10)).await;
    assert_eq!(got.iter().map(|d| d.delivery.id).collect::<Vec<_>>(), [head.id]);
    assert!(store
        .record_attempt(head.id, &w, &ok_attempt(at(11)), AttemptOutcome::Delivered)
        .await
        .unwrap());
    let done = store.list_deliveries(&a, &hook.id, None, 100).await.unwrap();
    assert!(done.iter().all(|d| d.state == DeliveryState::Delivered));
    assert_eq!(done.iter().find(|d| d.id == head.id).unwrap().delivered_at, Some(at(11)));
    assert_eq!(store.outbox_stats().await.unwrap().pending, 0);
    assert_eq!(store.outbox_stats().await.unwrap().oldest_pending, None);
}

pub(crate) async fn events_after_pages_through_the_tenant_log<S: RouteStore + WebhookStore>(
    store: &S,
) {
    let (a, b) = (tenant("acme"), tenant("globex"));
    let r1 = create(store, &a).await;
    create(store, &b).await;
    let r2 = create(store, &a).await;
    append(store, r1, 1, &["leg_final"], at(1)).await;

    let all = store.events_after(&a, 0, 100).await.unwrap();
    // This tenant's, each route's in order (routes interleave as the backend numbered them).
    let seen: Vec<(RouteId, u64)> = all.iter().map(|e| (e.event.route, e.event.seq)).collect();
    let of = |r: RouteId| seen.iter().filter(|(x, _)| *x == r).map(|(_, s)| *s).collect::<Vec<_>>();
    assert_eq!((of(r1), of(r2), seen.len()), (vec![1, 2, 3], vec![1, 2], 5));
    assert!(all.windows(2).all(|w| w[0].cursor < w[1].cursor));
    assert!(all.iter().any(|e| e.event.kind == "leg_final"));

    // Pages resume after their last cursor; later events come after every cursor handed out.
    let page = store.events_after(&a, 0, 2).await.unwrap();
    assert_eq!(page, all[..2]);
    let rest = store.events_after(&a, page[1].cursor, 100).await.unwrap();
    assert_eq!(rest, all[2..]);
    append(store, r2, 1, &["route_completed"], at(2)).await;
    let newer = store.events_after(&a, all[4].cursor, 100).await.unwrap();
    assert!(newer.iter().all(|e| e.cursor > all[4].cursor));
    assert_eq!(newer.iter().map(|e| (e.event.route, e.event.seq)).collect::<Vec<_>>(), [(r2, 3)]);
    assert_eq!(store.events_after(&b, 0, 100).await.unwrap().len(), 2);
}

/// A route's view token: only its hash is kept, for the route's tenant only; a new one replaces
/// the old, revoking removes it, and another tenant cannot set one.
pub(crate) async fn view_tokens_are_hashed_replaced_and_revoked<S: RouteStore + WebhookStore>(
    store: &S,
) {
    let (a, b) = (tenant("acme"), tenant("globex"));
    let route = create(store, &a).await;
    assert_eq!(store.view_token(&route).await.unwrap(), None);
    assert!(!store.set_view_token(&b, &route, Some("ab"), T0).await.unwrap(), "not theirs");
    assert_eq!(store.view_token(&route).await.unwrap(), None, "nothing written");
    assert!(store.set_view_token(&a, &route, Some("ab"), T0).await.unwrap());
    assert_eq!(store.view_token(&route).await.unwrap(), Some((a.clone(), "ab".to_owned())));
    assert!(store.set_view_token(&a, &route, Some("cd"), at(1)).await.unwrap());
    assert_eq!(store.view_token(&route).await.unwrap(), Some((a.clone(), "cd".to_owned())));
    assert!(!store.set_view_token(&b, &route, None, at(2)).await.unwrap());
    assert!(store.view_token(&route).await.unwrap().is_some(), "another tenant cannot revoke");
    assert!(store.set_view_token(&a, &route, None, at(2)).await.unwrap());
    assert_eq!(store.view_token(&route).await.unwrap(), None);
    assert!(!store.set_view_token(&a, &RouteId::new(), Some("ab"), T0).await.unwrap());
}
