//! A store that goes away while a route is being driven: the executor logs the error with the
//! route's id, counts it, backs off, and finishes the route once the store is back.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use starkroute_executor::Executor;
use starkroute_layer::SettlementLayer;
use starkroute_store::{
    Applied, Event, IdempotencyKey, LeaseOwner, ListQuery, Page, RouteId, RouteOrder, RouteRecord,
    RouteStore, StoreError, TenantId, Timestamp, Transition,
};
use starkroute_types::{LegStatus, Route, RouteStatus};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing::{Level, Subscriber};
use tracing_subscriber::layer::{Context, SubscriberExt as _};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::Layer;

use crate::driver::{config, create, gift, Harness};

/// A real store that can be switched off: while it is down, every call fails as a database that
/// cannot be reached does (a retryable backend error).
struct FlakyStore {
    inner: Arc<dyn RouteStore>,
    down: AtomicBool,
    /// Go down as soon as a route has been leased (so the drive of that route meets the outage).
    down_after_lease: AtomicBool,
}

impl FlakyStore {
    fn new(inner: Arc<dyn RouteStore>) -> Self {
        Self { inner, down: AtomicBool::new(false), down_after_lease: AtomicBool::new(false) }
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn check(&self) -> Result<(), StoreError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(StoreError::backend(true, "connection refused (the test's store is down)"));
        }
        Ok(())
    }
}

#[async_trait]
impl RouteStore for FlakyStore {
    async fn create_route(
        &self,
        tenant: &TenantId,
        idempotency: Option<&IdempotencyKey>,
        route: &Route,
        order: &RouteOrder,
        now: Timestamp,
    ) -> Result<(RouteRecord, bool), StoreError> {
        self.check()?;
        self.inner.create_route(tenant, idempotency, route, order, now).await
    }

    async fn get_route(
        &self,
        tenant: &TenantId,
        id: &RouteId,
    ) -> Result<Option<RouteRecord>, StoreError> {
        self.check()?;
        self.inner.get_route(tenant, id).await
    }

    async fn list_routes(&self, tenant: &TenantId, query: &ListQuery) -> Result<Page, StoreError> {
        self.check()?;
        self.inner.list_routes(tenant, query).await
    }

    async fn lease(
        &self,
        owner: &LeaseOwner,
        duration: Duration,
        now: Timestamp,
    ) -> Result<Option<RouteRecord>, StoreError> {
        self.check()?;
        let leased = self.inner.lease(owner, duration, now).await?;
        if leased.is_some() && self.down_after_lease.swap(false, Ordering::SeqCst) {
            self.set_down(true);
        }
        Ok(leased)
    }

    async fn renew_lease(
        &self,
        route: &RouteId,
        owner: &LeaseOwner,
        duration: Duration,
        now: Timestamp,
    ) -> Result<Timestamp, StoreError> {
        self.check()?;
        self.inner.renew_lease(route, owner, duration, now).await
    }

    async fn release(&self, route: &RouteId, owner: &LeaseOwner) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.release(route, owner).await
    }

    async fn release_until(
        &self,
        route: &RouteId,
        owner: &LeaseOwner,
        wake_at: Timestamp,
    ) -> Result<bool, StoreError> {
        self.check()?;
        self.inner.release_until(route, owner, wake_at).await
    }

    async fn apply_batch(
        &self,
        batch: Vec<Transition>,
        now: Timestamp,
    ) -> Result<Vec<Result<Applied, StoreError>>, StoreError> {
        self.check()?;
        self.inner.apply_batch(batch, now).await
    }

    async fn events_since(
        &self,
        tenant: &TenantId,
        route: &RouteId,
        after_seq: u64,
    ) -> Result<Vec<Event>, StoreError> {
        self.check()?;
        self.inner.events_since(tenant, route, after_seq).await
    }
}

/// One captured log event: its level, message and fields, with the fields of the spans it was
/// logged in (outermost first, the event's own last).
#[derive(Debug, Clone)]
struct Logged {
    level: Level,
    fields: HashMap<String, String>,
}

impl Logged {
    fn get(&self, field: &str) -> Option<&str> {
        self.fields.get(field).map(String::as_str)
    }
}

#[derive(Default)]
struct Fields(HashMap<String, String>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

/// A `tracing` layer that keeps every event of the executor.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<Logged>>>);

impl Capture {
    fn events(&self) -> Vec<Logged> {
        self.0.lock().unwrap().clone()
    }
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Capture {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(fields);
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        if !event.metadata().target().starts_with("starkroute_executor") {
            return;
        }
        let mut fields = HashMap::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(f) = span.extensions().get::<Fields>() {
                    fields.extend(f.0.clone());
                }
            }
        }
        let mut own = Fields::default();
        event.record(&mut own);
        fields.extend(own.0);
        self.0.lock().unwrap().push(Logged { level: *event.metadata().level(), fields });
    }
}

/// The acceptance test of issue 12's tracing part: a route whose store is unreachable logs the
/// error with its route id and increments a metric, and the executor keeps going once the store
/// is back. (A current-thread runtime: the capturing subscriber is this thread's default, and
/// the run loop's task runs on it too.)
#[tokio::test]
async fn a_store_outage_is_logged_with_the_route_counted_and_waited_out() {
    let logs = Capture::default();
    let _guard =
        tracing::subscriber::set_default(tracing_subscriber::registry().with(logs.clone()));
    tracing::callsite::rebuild_interest_cache();
    let h = Harness::new().await;
    let store = Arc::new(FlakyStore::new(h.store.clone()));
    let layers: Vec<Arc<dyn SettlementLayer>> =
        vec![h.l1.clone(), h.starkex.clone(), h.starknet.clone()];
    let ex = Arc::new(Executor::new(
        store.clone(),
        layers,
        LeaseOwner::new("a").unwrap(),
        config(),
        h.clock.clone(),
    ));
    let id = create(&h, &ex, &gift()).await;
    assert_eq!(ex.metrics().snapshot().store_errors, 0);

    // The store goes away while the route is being driven: its first write fails.
    store.down_after_lease.store(true, Ordering::SeqCst);
    let err = ex.run_once().await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    let after_drive = ex.metrics().snapshot();
    // The failed write, and the release that could not be written either.
    assert_eq!(after_drive.store_errors, 2, "{after_drive:?}");
    assert_eq!(after_drive.drive_errors, 0);
    let logged = logs.events();
    let route_id = id.to_string();
    let warned: Vec<&Logged> = logged
        .iter()
        .filter(|e| e.level == Level::WARN && e.get("route_id") == Some(route_id.as_str()))
        .collect();
    assert!(
        warned.iter().any(|e| {
            e.get("message") == Some("store error while driving the route")
                && e.get("retryable") == Some("true")
                // The leg the drive was on, and its layer (the gift starts on Starknet).
                && e.get("leg") == Some("0")
                && e.get("layer") == Some("starknet")
                && e.get("error").is_some_and(|m| m.contains("connection refused"))
        }),
        "{logged:#?}"
    );
    assert!(
        warned.iter().any(|e| e.get("message") == Some("store error while releasing the route")),
        "{logged:#?}"
    );
    // Nothing was written: the leg is still planned, its payload was never sent.
    let rec = h.get(&id).await;
    assert_eq!((rec.status, rec.legs[0].status), (RouteStatus::Pending, LegStatus::Planned));
    assert!(h.starknet.executions(&route_id, 0).is_empty());

    // The run loop meets the outage too: it logs and counts each failed lease, and backs off.
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
    tokio::time::sleep(Duration::from_millis(500)).await;
    let during = ex.metrics().snapshot();
    assert!(during.store_errors > after_drive.store_errors, "{during:?}");
    assert!(
        logs.events().iter().any(|e| e.level == Level::WARN
            && e.get("message") == Some("store error while leasing a route")
            && e.get("route_id").is_none()),
        "a failed lease names no route"
    );

    // The store is back; once the dead drive's lease has lapsed, the route is driven to the end.
    // (Other tests of this binary may have registered the completion's log call site in the
    // instant before this test's subscriber existed, caching "no one listens"; recompute.)
    tracing::callsite::rebuild_interest_cache();
    store.set_down(false);
    h.clock.advance(config().lease_duration);
    let mut status = RouteStatus::Pending;
    for _ in 0..200 {
        status = h.get(&id).await.status;
        if status == RouteStatus::Completed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    stop_tx.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(5), runner).await.unwrap().unwrap();
    assert_eq!(status, RouteStatus::Completed);
    for leg in 0..3 {
        let landed = h.l1.executions(&route_id, leg).len()
            + h.starknet.executions(&route_id, leg).len()
            + h.starkex.executions(&route_id, leg).len();
        assert_eq!(landed, 1, "leg {leg} executed {landed} times");
    }
    let end = ex.metrics().snapshot();
    assert_eq!((end.routes_completed, end.routes_failed, end.drive_errors), (1, 0, 0));
    assert!(end.store_errors >= during.store_errors);
    assert!(
        logs.events().iter().any(|e| e.level == Level::INFO
            && e.get("message") == Some("route completed")
            && e.get("route_id") == Some(route_id.as_str())),
        "the completion is logged"
    );
}
