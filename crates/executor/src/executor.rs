//! The driver: leases routes from the store and moves them through the machine with the layers.

use std::{collections::HashMap, future::Future, sync::Arc, time::Duration};

use serde_json::json;
use starkroute_layer::{AdapterError, Prepared, SettlementLayer};
use starkroute_store_api::{
    Applied, Event, Fence, IdempotencyKey, LeaseOwner, LegChange, LegPatch, LegRecord, NewEvent,
    RouteChange, RouteId, RouteRecord, RouteStore, StoreError, TenantId, Timestamp,
    Transition as StoreTransition,
};
use starkroute_types::{Layer, LegStatus, Route};
use tokio::sync::{broadcast, Notify};
use tracing::Instrument as _;

use crate::{
    config::hash_bytes,
    drive::Drive,
    eta::{EtaAnnouncer, EtaEstimator, RouteEta},
    machine::{
        cancel_plan, on_event, route_on_event, LegEvent, LegView, Refusal, RouteEvent, Transition,
    },
    metrics::{Counter, ExecutorMetrics},
    Clock, Error, ExecutorConfig, Outcome, Result, RouteOrder,
};

/// How many events a slow subscriber may fall behind before it misses some (it can replay them
/// from the store with `events_since`).
const EVENT_BUFFER: usize = 1024;

/// How often an API-side write (signature, cancel) retries while the route is leased.
const API_RETRIES: u32 = 100;
const API_RETRY_WAIT: Duration = Duration::from_millis(20);

/// The durable route executor. Cheap to share behind an `Arc`; several executors (with distinct
/// [`LeaseOwner`]s) may run on one store, in one process or many: leasing gives each route to
/// one of them at a time.
pub struct Executor {
    pub(crate) store: Arc<dyn RouteStore>,
    layers: HashMap<Layer, Arc<dyn SettlementLayer>>,
    pub(crate) owner: LeaseOwner,
    pub(crate) config: ExecutorConfig,
    pub(crate) clock: Arc<dyn Clock>,
    events: broadcast::Sender<Event>,
    wake: Notify,
    pub(crate) metrics: ExecutorMetrics,
    /// Live ETAs: what legs of each kind took on their layers.
    pub(crate) eta: EtaEstimator,
    /// The last `eta_changed` per route.
    pub(crate) announced: EtaAnnouncer,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor")
            .field("owner", &self.owner)
            .field("layers", &self.layers.keys().collect::<Vec<_>>())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Executor {
    /// An executor on `store`, sending legs through `layers` (one adapter per layer; a later one
    /// for the same layer replaces an earlier one), leasing routes as `owner`.
    pub fn new(
        store: Arc<dyn RouteStore>,
        layers: impl IntoIterator<Item = Arc<dyn SettlementLayer>>,
        owner: LeaseOwner,
        config: ExecutorConfig,
        clock: Arc<dyn Clock>,
    ) -> Self {
        let layers = layers.into_iter().map(|l| (l.layer(), l)).collect();
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let metrics = ExecutorMetrics::default();
        Self {
            store,
            layers,
            owner,
            config,
            clock,
            events,
            wake: Notify::new(),
            metrics,
            eta: EtaEstimator::default(),
            announced: EtaAnnouncer::default(),
        }
    }

    /// The live ETA estimator (what legs of each kind took on their layers, seen by this
    /// executor).
    pub fn estimator(&self) -> &EtaEstimator {
        &self.eta
    }

    /// A route's expected completion and its legs', now (see [`crate::eta`]).
    pub fn eta(&self, rec: &RouteRecord) -> RouteEta {
        self.eta.route(rec, self.clock.now())
    }

    /// What this executor has met so far: the errors it retried or gave up on, how routes ended.
    pub fn metrics(&self) -> &ExecutorMetrics {
        &self.metrics
    }

    /// This instance's lease owner.
    pub fn owner(&self) -> &LeaseOwner {
        &self.owner
    }

    /// The settings.
    pub fn config(&self) -> &ExecutorConfig {
        &self.config
    }

    /// Every event this executor stores, as it is committed (a subscriber that lags behind
    /// misses events and can replay them from the store's `events_since`).
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    pub(crate) fn publish(&self, applied: &Applied) {
        for e in &applied.events {
            // No subscriber is not an error.
            let _ = self.events.send(e.clone());
        }
    }

    /// Creates a route with what it moves, and wakes the run loop.
    ///
    /// The store creates the route, its order and their events in one transaction
    /// (idempotently, with `idempotency`); the order's event is published to subscribers.
    pub async fn create_route(
        &self,
        tenant: &TenantId,
        idempotency: Option<&IdempotencyKey>,
        route: &Route,
        order: &RouteOrder,
    ) -> Result<RouteRecord> {
        self.create_route_once(tenant, idempotency, route, order).await.map(|(rec, _)| rec)
    }

    /// [`create_route`](Self::create_route), also saying whether this call created the route
    /// (`false`: its idempotency key had already created it, and that route is returned).
    pub async fn create_route_once(
        &self,
        tenant: &TenantId,
        idempotency: Option<&IdempotencyKey>,
        route: &Route,
        order: &RouteOrder,
    ) -> Result<(RouteRecord, bool)> {
        let (rec, created) =
            self.store.create_route(tenant, idempotency, route, order, self.clock.now()).await?;
        if created {
            tracing::info!(route_id = %rec.id, %tenant, legs = rec.legs.len(), "route created");
            if let Some(event) = rec.order_event() {
                // No subscriber is not an error.
                let _ = self.events.send(event);
            }
        }
        self.wake.notify_one();
        Ok((rec, created))
    }

    async fn get(&self, tenant: &TenantId, id: &RouteId) -> Result<RouteRecord> {
        self.store.get_route(tenant, id).await?.ok_or(Error::NotFound(*id))
    }

    /// Leases one due route, advances it as far as it can go without waiting (a leg that became
    /// final is followed by the next leg at once: an L1 claim is sent as soon as its withdrawal
    /// is final, without a poll interval in between), and releases it with its next wake-up
    /// time. Returns the route, or `None` when no route was due.
    ///
    /// Every error is logged (with the route id once a route is leased) and counted in
    /// [`metrics`](Self::metrics) before it is returned.
    pub async fn run_once(&self) -> Result<Option<RouteId>> {
        let now = self.clock.now();
        let leased = match self.store.lease(&self.owner, self.config.lease_duration, now).await {
            Ok(leased) => leased,
            Err(e) => {
                let e = Error::from(e);
                self.record_error(None, None, "leasing a route", &e);
                return Err(e);
            }
        };
        let Some(rec) = leased else {
            return Ok(None);
        };
        let id = rec.id;
        let span = tracing::info_span!("route", route_id = %id);
        self.drive_leased(rec, now).instrument(span).await
    }

    /// Drives a route this instance just leased, then releases it (unless its lease was lost).
    async fn drive_leased(&self, rec: RouteRecord, now: Timestamp) -> Result<Option<RouteId>> {
        let id = rec.id;
        let lease_until = rec.lease.as_ref().map_or(now, |l| l.expires_at);
        let mut drive = Drive::new(self, rec, lease_until);
        let result = drive.run().await;
        match result {
            // Someone else holds the route now: it is not ours to release.
            Err(Error::Store(StoreError::LeaseLost { .. })) => {
                self.metrics.count(Counter::LeaseLost);
                tracing::warn!(route_id = %id, "lease lost: another instance drives the route now");
                Ok(Some(id))
            }
            other => {
                let released = match drive.deferred_wake() {
                    Some(at) => self.store.release_until(&id, &self.owner, at).await,
                    None => self.store.release(&id, &self.owner).await,
                };
                if let Err(e) = other {
                    self.record_error(Some(id), drive.at_leg(), "driving the route", &e);
                    if let Err(r) = released {
                        self.record_error(Some(id), None, "releasing the route", &Error::from(r));
                    }
                    return Err(e);
                }
                if let Err(e) = released {
                    let e = Error::from(e);
                    self.record_error(Some(id), None, "releasing the route", &e);
                    return Err(e);
                }
                Ok(Some(id))
            }
        }
    }

    /// Logs an error of the run loop and counts it: a store error (warning if retryable, the
    /// route waits in the store meanwhile) or another one (an error: it needs an operator). `leg`
    /// is the leg (index, layer) the drive was on, if any.
    fn record_error(
        &self,
        route: Option<RouteId>,
        leg: Option<(u16, Layer)>,
        doing: &str,
        e: &Error,
    ) {
        let route_id = route.map(tracing::field::display);
        let layer = leg.map(|(_, l)| tracing::field::display(l));
        let leg = leg.map(|(i, _)| i);
        let retryable = e.is_retryable();
        if let Error::Store(_) = e {
            self.metrics.count(Counter::StoreError);
            if retryable {
                tracing::warn!(route_id, leg, layer, retryable, error = %e, "store error while {doing}");
            } else {
                tracing::error!(route_id, leg, layer, retryable, error = %e, "store error while {doing}");
            }
        } else {
            self.metrics.count(Counter::DriveError);
            tracing::error!(route_id, leg, layer, retryable, error = %e, "error while {doing}");
        }
    }

    /// Runs [`run_once`](Self::run_once) until `stop` completes: back to back while routes are
    /// due, otherwise waiting a poll interval (or until a signature, a new route or a cancel
    /// wakes it). Errors (a database that is down) were logged and counted by `run_once`; the
    /// loop backs off on them (the [`Backoff`](crate::Backoff) schedule, growing while they last)
    /// and every route keeps its state in the store meanwhile.
    pub async fn run(&self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        let salt = hash_bytes(self.owner.as_str().as_bytes());
        let mut failures = 0u32;
        loop {
            let wait = match self.run_once().await {
                Ok(Some(_)) => {
                    failures = 0;
                    None
                }
                Ok(None) => {
                    failures = 0;
                    Some(self.config.poll_interval)
                }
                Err(_) => {
                    failures = failures.saturating_add(1);
                    let delay = self.config.backoff.delay(failures, salt);
                    tracing::debug!(failures, delay_ms = delay.as_millis() as u64, "backing off");
                    Some(delay)
                }
            };
            match wait {
                None => tokio::select! {
                    biased;
                    () = &mut stop => return,
                    () = std::future::ready(()) => {}
                },
                Some(wait) => tokio::select! {
                    () = &mut stop => return,
                    () = tokio::time::sleep(wait) => {}
                    () = self.wake.notified() => {}
                },
            }
        }
    }

    /// Runs `drivers` run loops side by side until `stop` completes, each driving its own leased
    /// route: while one waits on a layer or on a commit, the others go on. Over a
    /// [`GroupCommit`](starkroute_store_api::GroupCommit) store their writes share durable commits.
    /// Each loop finishes the step it is in before returning.
    pub async fn run_concurrently(&self, drivers: usize, stop: impl Future<Output = ()>) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let loops = (0..drivers.max(1)).map(|_| {
            let mut rx = rx.clone();
            self.run(async move {
                // A closed channel means stop as well.
                let _ = rx.wait_for(|stop| *stop).await;
            })
        });
        let stopper = async move {
            stop.await;
            let _ = tx.send(true);
        };
        tokio::join!(stopper, futures_util::future::join_all(loops));
    }

    /// Attaches a user's signature to a leg paused on it and resumes the route.
    ///
    /// The signature is checked by the leg's layer against the stored payload; a wrong one is
    /// refused ([`Error::SignatureRefused`]) and the leg stays paused with the same payload.
    pub async fn submit_signature(
        &self,
        tenant: &TenantId,
        route: &RouteId,
        leg: u16,
        signature: &str,
    ) -> Result<()> {
        for _ in 0..API_RETRIES {
            let rec = self.get(tenant, route).await?;
            let record = rec.legs.get(usize::from(leg)).ok_or(Refusal::NoSuchLeg { leg })?;
            let Transition::To(to) = on_event(record.status, &LegEvent::SignatureAccepted)? else {
                return Err(Refusal::NotAwaitingSignature { status: record.status }.into());
            };
            let status = route_on_event(rec.status, RouteEvent::Resumed)?;
            let prepared = decode_prepared(&rec, record)?;
            let layer = self.layer(prepared.layer)?;
            let signed = layer
                .attach_signature(&prepared, signature)
                .await
                .map_err(Error::SignatureRefused)?;
            if signed.hash != prepared.hash || signed.needs_signature == prepared.needs_signature {
                return Err(Error::SignatureRefused(AdapterError::permanent(
                    "the adapter returned another payload, or one no nearer to signed",
                )));
            }
            let payload = serde_json::to_value(&signed).map_err(|e| corrupt(rec.id, e))?;
            // A payload with several signatures (an L1 approve and its deposit; a StarkEx
            // transfer's Stark then Ethereum signature): this one is kept, the leg stays paused
            // on the next.
            if let Some(next) = &signed.needs_signature {
                let t = StoreTransition {
                    route: rec.id,
                    fence: Fence::Version(rec.version),
                    leg: Some(LegChange {
                        index: leg,
                        from: record.status,
                        to: record.status,
                        patch: LegPatch { prepared: Some(payload.clone()), ..LegPatch::default() },
                    }),
                    status: None,
                    events: vec![NewEvent::new(
                        "leg_awaiting_signature",
                        json!({
                            "leg": leg,
                            "kind": record.kind,
                            "hash": signed.hash,
                            "nonce": signed.nonce,
                            "scheme": next.scheme,
                            "signer": next.signer,
                            "sign": next.hash,
                            "payload": payload,
                        }),
                    )],
                };
                match self.store.apply(t, self.clock.now()).await {
                    Ok(applied) => {
                        self.publish(&applied);
                        return Ok(());
                    }
                    Err(StoreError::Conflict { .. } | StoreError::Leased { .. }) => {
                        tokio::time::sleep(API_RETRY_WAIT).await;
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            let t = StoreTransition {
                route: rec.id,
                fence: Fence::Version(rec.version),
                leg: Some(LegChange {
                    index: leg,
                    from: record.status,
                    to,
                    patch: LegPatch {
                        prepared: Some(payload),
                        next_attempt_at: Some(None),
                        last_error: Some(None),
                        ..LegPatch::default()
                    },
                }),
                status: Some(RouteChange { from: rec.status, to: status, outcome: None }),
                events: vec![NewEvent::new(
                    "signature_accepted",
                    json!({ "leg": leg, "hash": signed.hash }),
                )],
            };
            match self.store.apply(t, self.clock.now()).await {
                Ok(applied) => {
                    self.publish(&applied);
                    self.wake.notify_one();
                    return Ok(());
                }
                Err(StoreError::Conflict { .. } | StoreError::Leased { .. }) => {
                    tokio::time::sleep(API_RETRY_WAIT).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(busy(*route))
    }

    /// Cancels a route, if no irreversible leg may have been sent yet; otherwise refuses with
    /// the leg that was ([`Refusal::IrreversibleSent`]). Returns the outcome stored with it.
    pub async fn cancel(&self, tenant: &TenantId, route: &RouteId) -> Result<Outcome> {
        for _ in 0..API_RETRIES {
            let rec = self.get(tenant, route).await?;
            let legs: Vec<LegView> = rec.legs.iter().map(LegView::from).collect();
            let to_cancel = cancel_plan(rec.status, &legs)?;
            let status = route_on_event(rec.status, RouteEvent::Cancelled)?;
            let order = rec.order.clone();
            // The asset has not moved: it is where the first leg that moves it starts.
            let start = rec.route.legs.iter().find(|l| l.kind.moves_asset()).unwrap_or(
                // A route has at least one leg (the store refuses empty ones).
                &rec.route.legs[0],
            );
            let outcome = Outcome::cancelled(start.from, order.as_ref());
            let outcome_json = serde_json::to_value(&outcome).map_err(|e| corrupt(rec.id, e))?;
            // One commit: the route first (it carries the first cancelled leg), then the other
            // legs, each fenced on the version the previous one produced.
            let mut batch = Vec::with_capacity(to_cancel.len().max(1));
            let cancel_leg = |index: u16| LegChange {
                index,
                from: rec.legs[usize::from(index)].status,
                to: LegStatus::Cancelled,
                patch: LegPatch::default(),
            };
            let mut legs_iter = to_cancel.iter().copied();
            batch.push(StoreTransition {
                route: rec.id,
                fence: Fence::Version(rec.version),
                leg: legs_iter.next().map(cancel_leg),
                status: Some(RouteChange {
                    from: rec.status,
                    to: status,
                    outcome: Some(outcome_json.clone()),
                }),
                events: vec![NewEvent::new(
                    "route_cancelled",
                    json!({ "legs": to_cancel, "outcome": outcome_json }),
                )],
            });
            for (n, index) in (1u64..).zip(legs_iter) {
                batch.push(StoreTransition {
                    route: rec.id,
                    fence: Fence::Version(rec.version + n),
                    leg: Some(cancel_leg(index)),
                    status: None,
                    events: vec![NewEvent::new("leg_cancelled", json!({ "leg": index }))],
                });
            }
            let mut results = self.store.apply_batch(batch, self.clock.now()).await?.into_iter();
            match results.next() {
                Some(Ok(applied)) => {
                    self.publish(&applied);
                    for applied in results.flatten() {
                        self.publish(&applied);
                    }
                    self.metrics.count(Counter::RouteCancelled);
                    tracing::info!(route_id = %rec.id, legs = ?to_cancel, "route cancelled");
                    return Ok(outcome);
                }
                Some(Err(StoreError::Conflict { .. } | StoreError::Leased { .. })) => {
                    tokio::time::sleep(API_RETRY_WAIT).await;
                }
                Some(Err(e)) => return Err(e.into()),
                None => return Err(StoreError::Corrupt("empty batch result".into()).into()),
            }
        }
        Err(busy(*route))
    }

    pub(crate) fn layer(&self, layer: Layer) -> Result<&Arc<dyn SettlementLayer>> {
        self.layers.get(&layer).ok_or(Error::NoAdapter(layer))
    }
}

pub(crate) fn corrupt(route: RouteId, what: impl std::fmt::Display) -> Error {
    Error::Corrupt { route, what: what.to_string() }
}

fn busy(route: RouteId) -> Error {
    Error::Store(StoreError::Conflict {
        route,
        expected: "a quiet moment".into(),
        found: "the route kept changing or stayed leased".into(),
    })
}

pub(crate) fn decode_prepared(rec: &RouteRecord, leg: &LegRecord) -> Result<Prepared> {
    let v = leg.prepared.as_ref().ok_or_else(|| {
        corrupt(rec.id, format!("leg {} is {:?} without a payload", leg.index, leg.status))
    })?;
    <Prepared as serde::Deserialize>::deserialize(v)
        .map_err(|e| corrupt(rec.id, format!("leg {}: {e}", leg.index)))
}
