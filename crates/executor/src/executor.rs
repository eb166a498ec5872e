//! The driver: leases routes from the store and moves them through the machine with the layers.

use std::{collections::HashMap, future::Future, sync::Arc, time::Duration};

use serde_json::{json, Value};
use starkroute_layer::{AdapterError, LegIntent, LegProgress, Prepared, SettlementLayer};
use starkroute_store::{
    Applied, Event, Fence, IdempotencyKey, LeaseOwner, LegChange, LegPatch, LegRecord, NewEvent,
    RouteChange, RouteId, RouteRecord, RouteStore, StoreError, TenantId, Timestamp,
    Transition as StoreTransition,
};
use starkroute_types::{
    EtaRange, Holding, Layer, Leg, LegKind, LegStatus, Party, Position, Route, RouteStatus, Wei,
};
use tokio::sync::{broadcast, Notify};

use crate::{
    config::hash_bytes,
    machine::{
        cancel_plan, decide_record, on_event, route_on_event, Action, LegEvent, LegView, Refusal,
        RouteEvent, Transition,
    },
    Clock, Error, ExecutorConfig, Outcome, Result, RouteOrder,
};

/// How many events a slow subscriber may fall behind before it misses some (it can replay them
/// from the store with `events_since`).
const EVENT_BUFFER: usize = 1024;

/// How often an API-side write (signature, cancel, order) retries while the route is leased.
const API_RETRIES: u32 = 100;
const API_RETRY_WAIT: Duration = Duration::from_millis(20);

/// The durable route executor. Cheap to share behind an `Arc`; several executors (with distinct
/// [`LeaseOwner`]s) may run on one store, in one process or many: leasing gives each route to
/// one of them at a time.
pub struct Executor {
    store: Arc<dyn RouteStore>,
    layers: HashMap<Layer, Arc<dyn SettlementLayer>>,
    owner: LeaseOwner,
    config: ExecutorConfig,
    clock: Arc<dyn Clock>,
    events: broadcast::Sender<Event>,
    wake: Notify,
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

/// Whether the driver goes on with the route it holds.
enum Flow {
    Continue,
    Stop,
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
        Self { store, layers, owner, config, clock, events, wake: Notify::new() }
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

    fn publish(&self, applied: &Applied) {
        for e in &applied.events {
            // No subscriber is not an error.
            let _ = self.events.send(e.clone());
        }
    }

    /// Creates a route with what it moves, and wakes the run loop.
    ///
    /// The route is created by the store (idempotently, with `idempotency`), then its
    /// [`RouteOrder`] is appended to its log. A route is not driven before its order is there.
    pub async fn create_route(
        &self,
        tenant: &TenantId,
        idempotency: Option<&IdempotencyKey>,
        route: &Route,
        order: &RouteOrder,
    ) -> Result<RouteRecord> {
        let (mut rec, _created) =
            self.store.create_route(tenant, idempotency, route, self.clock.now()).await?;
        let event = order.to_event().map_err(|e| corrupt(rec.id, e))?;
        for _ in 0..API_RETRIES {
            let events = self.store.events_since(tenant, &rec.id, 0).await?;
            if RouteOrder::find(&events).is_some() {
                break;
            }
            let t = StoreTransition {
                route: rec.id,
                fence: Fence::Version(rec.version),
                // Wakes the route now, in case an executor looked at it before its order was in.
                leg: Some(LegChange {
                    index: 0,
                    from: LegStatus::Planned,
                    to: LegStatus::Planned,
                    patch: LegPatch { next_attempt_at: Some(None), ..LegPatch::default() },
                }),
                status: None,
                events: vec![event.clone()],
            };
            match self.store.apply(t, self.clock.now()).await {
                Ok(applied) => {
                    self.publish(&applied);
                    break;
                }
                Err(StoreError::Conflict { .. } | StoreError::Leased { .. }) => {
                    tokio::time::sleep(API_RETRY_WAIT).await;
                    rec = self.get(tenant, &rec.id).await?;
                }
                Err(e) => return Err(e.into()),
            }
        }
        self.wake.notify_one();
        self.get(tenant, &rec.id).await
    }

    async fn get(&self, tenant: &TenantId, id: &RouteId) -> Result<RouteRecord> {
        self.store.get_route(tenant, id).await?.ok_or(Error::NotFound(*id))
    }

    /// Leases one due route, advances it as far as it can go without waiting (a leg that became
    /// final is followed by the next leg at once: an L1 claim is sent as soon as its withdrawal
    /// is final, without a poll interval in between), and releases it with its next wake-up
    /// time. Returns the route, or `None` when no route was due.
    pub async fn run_once(&self) -> Result<Option<RouteId>> {
        let now = self.clock.now();
        let Some(rec) = self.store.lease(&self.owner, self.config.lease_duration, now).await?
        else {
            return Ok(None);
        };
        let id = rec.id;
        let lease_until = rec.lease.as_ref().map_or(now, |l| l.expires_at);
        let mut drive =
            Drive { ex: self, rec, order: None, lease_until, fresh: None, deferred_wake: None };
        let result = drive.run().await;
        match result {
            // Someone else holds the route now: it is not ours to release.
            Err(Error::Store(StoreError::LeaseLost { .. })) => Ok(Some(id)),
            other => {
                let released = match drive.deferred_wake {
                    Some(at) => self.store.release_until(&id, &self.owner, at).await,
                    None => self.store.release(&id, &self.owner).await,
                };
                other?;
                released?;
                Ok(Some(id))
            }
        }
    }

    /// Runs [`run_once`](Self::run_once) until `stop` completes: back to back while routes are
    /// due, otherwise waiting a poll interval (or until a signature, a new route or a cancel
    /// wakes it). Errors (a database that is down) are waited out the same way; every route
    /// keeps its state in the store meanwhile.
    pub async fn run(&self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let busy = matches!(self.run_once().await, Ok(Some(_)));
            if busy {
                tokio::select! {
                    biased;
                    () = &mut stop => return,
                    () = std::future::ready(()) => {}
                }
            } else {
                tokio::select! {
                    () = &mut stop => return,
                    () = tokio::time::sleep(self.config.poll_interval) => {}
                    () = self.wake.notified() => {}
                }
            }
        }
    }

    /// Runs `drivers` run loops side by side until `stop` completes, each driving its own leased
    /// route: while one waits on a layer or on a commit, the others go on. Over a
    /// [`GroupCommit`](starkroute_store::GroupCommit) store their writes share durable commits.
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
            let order = self.order(&rec).await?;
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

    fn layer(&self, layer: Layer) -> Result<&Arc<dyn SettlementLayer>> {
        self.layers.get(&layer).ok_or(Error::NoAdapter(layer))
    }

    async fn order(&self, rec: &RouteRecord) -> Result<Option<RouteOrder>> {
        let events = self.store.events_since(&rec.tenant, &rec.id, 0).await?;
        RouteOrder::find(&events).transpose().map_err(|e| corrupt(rec.id, e))
    }
}

fn corrupt(route: RouteId, what: impl std::fmt::Display) -> Error {
    Error::Corrupt { route, what: what.to_string() }
}

fn busy(route: RouteId) -> Error {
    Error::Store(StoreError::Conflict {
        route,
        expected: "a quiet moment".into(),
        found: "the route kept changing or stayed leased".into(),
    })
}

fn decode_prepared(rec: &RouteRecord, leg: &LegRecord) -> Result<Prepared> {
    let v = leg.prepared.as_ref().ok_or_else(|| {
        corrupt(rec.id, format!("leg {} is {:?} without a payload", leg.index, leg.status))
    })?;
    <Prepared as serde::Deserialize>::deserialize(v)
        .map_err(|e| corrupt(rec.id, format!("leg {}: {e}", leg.index)))
}

/// One lease's work on one route.
struct Drive<'a> {
    ex: &'a Executor,
    rec: RouteRecord,
    /// Loaded when first needed.
    order: Option<Option<RouteOrder>>,
    lease_until: Timestamp,
    /// A leg this drive stored the payload of and has not tried to send yet: it can be sent
    /// without asking its layer first.
    fresh: Option<u16>,
    /// A wake-up time not committed yet (a poll that found nothing new): written with the
    /// release instead of a commit of its own.
    deferred_wake: Option<Timestamp>,
}

impl Drive<'_> {
    async fn run(&mut self) -> Result<()> {
        for _ in 0..self.ex.config.max_steps_per_lease {
            self.renew_if_needed().await?;
            let action = decide_record(&self.rec, self.ex.clock.now());
            let flow = match action {
                Action::Prepare(i) => self.prepare(i).await?,
                Action::Reconcile(i) if self.fresh == Some(i) => self.send(i).await?,
                Action::Reconcile(i) | Action::Poll(i) => self.poll(i).await?,
                Action::AwaitSignature(_) => self.pause().await?,
                Action::Complete => self.complete().await?,
                Action::Fail(i) => self.finish_failed(i).await?,
                Action::Cancel => self.finish_cancelled().await?,
                Action::Sleep(_) | Action::Idle => Flow::Stop,
                Action::Inconsistent(refusal) => return Err(refusal.into()),
            };
            if let Flow::Stop = flow {
                break;
            }
        }
        Ok(())
    }

    async fn renew_if_needed(&mut self) -> Result<()> {
        let now = self.ex.clock.now();
        if now.saturating_add(self.ex.config.lease_duration / 2) >= self.lease_until {
            self.lease_until = self
                .ex
                .store
                .renew_lease(&self.rec.id, &self.ex.owner, self.ex.config.lease_duration, now)
                .await?;
        }
        Ok(())
    }

    fn leg(&self, i: u16) -> Result<&LegRecord> {
        self.rec.legs.get(usize::from(i)).ok_or_else(|| Refusal::NoSuchLeg { leg: i }.into())
    }

    async fn order(&mut self) -> Result<Option<RouteOrder>> {
        if self.order.is_none() {
            self.order = Some(self.ex.order(&self.rec).await?);
        }
        Ok(self.order.clone().flatten())
    }

    fn salt(&self, leg: u16) -> u64 {
        hash_bytes(self.rec.id.to_string().as_bytes()) ^ u64::from(leg)
    }

    /// Applies a transition under this drive's lease, keeps the in-memory record in step and
    /// publishes the events.
    async fn commit(
        &mut self,
        leg: Option<LegChange>,
        status: Option<RouteChange>,
        events: Vec<NewEvent>,
    ) -> Result<()> {
        let now = self.ex.clock.now();
        let t = StoreTransition {
            route: self.rec.id,
            fence: Fence::Lease(self.ex.owner.clone()),
            leg,
            status,
            events,
        };
        let applied = self.ex.store.apply(t.clone(), now).await?;
        apply_local(&mut self.rec, &t, &applied, now);
        // The store set the route's wake-up from this transition; release with the record's.
        if self.deferred_wake.is_some() {
            self.deferred_wake = Some(self.rec.wake_at);
        }
        self.ex.publish(&applied);
        Ok(())
    }

    fn route_change(
        &self,
        event: RouteEvent,
        outcome: Option<Value>,
    ) -> Result<Option<RouteChange>> {
        let to = route_on_event(self.rec.status, event)?;
        Ok((to != self.rec.status || outcome.is_some()).then_some(RouteChange {
            from: self.rec.status,
            to,
            outcome,
        }))
    }

    async fn prepare(&mut self, i: u16) -> Result<Flow> {
        let Some(order) = self.order().await? else {
            // Created but its order not recorded yet (or created outside the executor): look
            // again later rather than spin on it.
            let at = self.ex.clock.now().saturating_add(self.ex.config.poll_interval);
            let patch = LegPatch {
                next_attempt_at: Some(Some(at)),
                last_error: Some(Some(format!(
                    "no {} event: asset and amount unknown",
                    crate::ORDER_EVENT
                ))),
                ..LegPatch::default()
            };
            self.commit(Some(same(i, LegStatus::Planned, patch)), None, vec![]).await?;
            return Ok(Flow::Stop);
        };
        let leg = self.leg(i)?.clone();
        let plan = &self.rec.route.legs[usize::from(i)];
        let previous = match i.checked_sub(1) {
            Some(p) => {
                let prev = self.leg(p)?;
                Some(decode_prepared(&self.rec, prev)?.hash)
            }
            None => None,
        };
        let intent = LegIntent {
            route_id: self.rec.id.to_string(),
            leg_index: i,
            kind: leg.kind,
            asset: order.asset.clone(),
            amount: order.amount,
            from: plan.from,
            to: plan.to,
            previous,
        };
        let prepared = match self.ex.layer(leg.kind.layer()) {
            Ok(layer) => layer.prepare(&intent).await,
            Err(e) => Err(AdapterError::retryable(e.to_string())),
        };
        let prepared = match prepared {
            Ok(p) => p,
            Err(e) => return self.prepare_failed(&leg, e).await,
        };
        let needs_signature = prepared.needs_signature.is_some();
        let Transition::To(to) = on_event(leg.status, &LegEvent::Prepared { needs_signature })?
        else {
            return Err(Refusal::AlreadyPrepared { status: leg.status }.into());
        };
        let payload = serde_json::to_value(&prepared).map_err(|e| corrupt(self.rec.id, e))?;
        let patch = LegPatch {
            prepared: Some(payload.clone()),
            attempts: Some(0),
            next_attempt_at: Some(None),
            last_error: Some(None),
            ..LegPatch::default()
        };
        let change = LegChange { index: i, from: leg.status, to, patch };
        if let Some(request) = &prepared.needs_signature {
            let status = self.route_change(RouteEvent::Paused, None)?;
            let event = NewEvent::new(
                "leg_awaiting_signature",
                json!({
                    "leg": i,
                    "kind": leg.kind,
                    "hash": prepared.hash,
                    "nonce": prepared.nonce,
                    "scheme": request.scheme,
                    "signer": request.signer,
                    "sign": request.hash,
                    "payload": payload,
                }),
            );
            self.commit(Some(change), status, vec![event]).await?;
            return Ok(Flow::Stop);
        }
        // Write-ahead: the exact payload is durable before it is sent.
        let status = self.route_change(RouteEvent::Started, None)?;
        let event = NewEvent::new(
            "leg_prepared",
            json!({ "leg": i, "kind": leg.kind, "hash": prepared.hash, "nonce": prepared.nonce }),
        );
        self.commit(Some(change), status, vec![event]).await?;
        self.fresh = Some(i);
        Ok(Flow::Continue)
    }

    async fn prepare_failed(&mut self, leg: &LegRecord, e: AdapterError) -> Result<Flow> {
        // A rule's waiting period (a freeze grace period): wait it out, it is not a failure.
        if let (true, Some(at)) = (e.retryable, e.not_before) {
            let at = Timestamp::from_millis(at)
                .max(self.ex.clock.now().saturating_add(self.ex.config.poll_interval));
            let patch = LegPatch {
                next_attempt_at: Some(Some(at)),
                last_error: Some(Some(e.message.clone())),
                ..LegPatch::default()
            };
            let event = NewEvent::new(
                "leg_waiting",
                json!({ "leg": leg.index, "until": at, "reason": e.message }),
            );
            self.commit(Some(same(leg.index, leg.status, patch)), None, vec![event]).await?;
            return Ok(Flow::Continue);
        }
        let attempts = leg.attempts.saturating_add(1);
        if e.retryable && attempts < self.ex.config.max_prepare_attempts {
            self.back_off(leg, attempts, &e.message).await
        } else {
            let reason = if e.retryable {
                format!("gave up after {attempts} attempts to prepare: {}", e.message)
            } else {
                e.message
            };
            self.fail(leg.index, leg.status, reason, false).await
        }
    }

    /// Records a retryable failure; the leg keeps its status and is tried again after the
    /// backoff delay.
    async fn back_off(&mut self, leg: &LegRecord, attempts: u32, error: &str) -> Result<Flow> {
        let delay = self.ex.config.backoff.delay(attempts, self.salt(leg.index));
        let at = self.ex.clock.now().saturating_add(delay);
        let patch = LegPatch {
            attempts: Some(attempts),
            next_attempt_at: Some(Some(at)),
            last_error: Some(Some(error.to_owned())),
            ..LegPatch::default()
        };
        let event = NewEvent::new(
            "leg_retry",
            json!({ "leg": leg.index, "status": leg.status, "attempt": attempts, "error": error, "next_attempt_at": at }),
        );
        self.commit(Some(same(leg.index, leg.status, patch)), None, vec![event]).await?;
        Ok(Flow::Continue)
    }

    async fn send(&mut self, i: u16) -> Result<Flow> {
        self.fresh = None;
        let leg = self.leg(i)?.clone();
        let prepared = decode_prepared(&self.rec, &leg)?;
        let to = match on_event(leg.status, &LegEvent::Sent)? {
            Transition::To(to) => to,
            _ => leg.status,
        };
        let sent = match self.ex.layer(prepared.layer) {
            Ok(layer) => layer.send(&prepared).await,
            Err(e) => Err(AdapterError::retryable(e.to_string())),
        };
        match sent {
            Ok(()) => {
                let patch = LegPatch {
                    submission: Some(prepared.hash.clone()),
                    attempts: Some(0),
                    // Ask for its status right away: it may be final already.
                    next_attempt_at: Some(None),
                    last_error: Some(None),
                    ..LegPatch::default()
                };
                let event = NewEvent::new(
                    "leg_submitted",
                    json!({ "leg": i, "hash": prepared.hash, "again": leg.status == LegStatus::Submitted }),
                );
                let change = LegChange { index: i, from: leg.status, to, patch };
                self.commit(Some(change), None, vec![event]).await?;
                Ok(Flow::Continue)
            }
            // It may or may not have landed: the next attempt asks the layer first.
            Err(e) if e.retryable => {
                self.back_off(&leg, leg.attempts.saturating_add(1), &e.message).await
            }
            // The layer refused the payload: it did not execute, the asset has not moved.
            Err(e) => self.fail(i, leg.status, e.message, false).await,
        }
    }

    async fn poll(&mut self, i: u16) -> Result<Flow> {
        let leg = self.leg(i)?.clone();
        let prepared = decode_prepared(&self.rec, &leg)?;
        let progress = match self.ex.layer(prepared.layer) {
            Ok(layer) => layer.status(&prepared).await,
            Err(e) => Err(AdapterError::retryable(e.to_string())),
        };
        let progress = match progress {
            Ok(p) => p,
            // The payload may land whatever the node says now: never give up on it here.
            Err(e) => return self.back_off(&leg, leg.attempts.saturating_add(1), &e.message).await,
        };
        let poll_at = self.ex.clock.now().saturating_add(self.ex.config.poll_interval);
        if self.unserved_withdrawal(&leg, &progress) {
            return self.escape(i, &leg).await;
        }
        let transition = match on_event(leg.status, &LegEvent::Observed(progress.clone())) {
            Ok(t) => t,
            // A node behind reports an older state: keep what we know, ask again later.
            Err(Refusal::Backwards { .. }) => Transition::Stay,
            Err(r) => return Err(r.into()),
        };
        match transition {
            // Nothing new: no commit; the release carries the next wake-up. (Should this
            // instance die first, its lease lapses and the route is simply polled again.)
            Transition::Stay => {
                if let Some(l) = self.rec.legs.get_mut(usize::from(i)) {
                    l.next_attempt_at = Some(poll_at);
                }
                self.rec.wake_at = poll_at;
                self.deferred_wake = Some(poll_at);
                Ok(Flow::Continue)
            }
            Transition::SendAgain => self.send(i).await,
            Transition::To(to) => {
                let next = if to == LegStatus::FinalOnL1 { None } else { Some(poll_at) };
                let patch = LegPatch {
                    submission: Some(prepared.hash.clone()),
                    attempts: Some(0),
                    next_attempt_at: Some(next),
                    last_error: Some(None),
                    ..LegPatch::default()
                };
                let kind = match to {
                    LegStatus::Submitted => "leg_submitted",
                    LegStatus::AcceptedOnL2 => "leg_accepted_on_l2",
                    _ => "leg_final",
                };
                let event = NewEvent::new(kind, json!({ "leg": i, "hash": prepared.hash }));
                let change = LegChange { index: i, from: leg.status, to, patch };
                self.commit(Some(change), None, vec![event]).await?;
                Ok(Flow::Continue)
            }
            Transition::Reprepare { reason } => {
                let attempts = leg.attempts.saturating_add(1);
                if attempts >= self.ex.config.max_prepare_attempts {
                    let reason = format!("failed {attempts} times on its layer: {reason}");
                    return self.fail(i, leg.status, reason, false).await;
                }
                let delay = self.ex.config.backoff.delay(attempts, self.salt(i));
                let at = self.ex.clock.now().saturating_add(delay);
                let patch = LegPatch {
                    attempts: Some(attempts),
                    next_attempt_at: Some(Some(at)),
                    last_error: Some(Some(reason.clone())),
                    ..LegPatch::default()
                };
                let event = NewEvent::new(
                    "leg_reprepare",
                    json!({ "leg": i, "hash": prepared.hash, "reason": reason, "next_attempt_at": at }),
                );
                let change =
                    LegChange { index: i, from: leg.status, to: LegStatus::Planned, patch };
                self.commit(Some(change), None, vec![event]).await?;
                Ok(Flow::Continue)
            }
            Transition::Fail { reason } => {
                let landed = leg.status == LegStatus::AcceptedOnL2;
                self.fail(i, leg.status, reason, landed).await
            }
        }
    }

    /// A StarkEx withdrawal request the operator has left unserved past `escape_after`.
    fn unserved_withdrawal(&self, leg: &LegRecord, progress: &LegProgress) -> bool {
        let Some(after) = self.ex.config.escape_after else { return false };
        leg.kind == LegKind::StarkExWithdrawalRequest
            && leg.status == LegStatus::Submitted
            && matches!(progress, LegProgress::Pending)
            && self.ex.clock.now() >= leg.updated_at.saturating_add(after)
    }

    /// Gives up on an unserved StarkEx withdrawal: starts the escape route for its vault (once:
    /// idempotent by this route's id) and fails this route, pointing at it.
    async fn escape(&mut self, i: u16, leg: &LegRecord) -> Result<Flow> {
        let Some(order) = self.order().await? else {
            return Err(corrupt(self.rec.id, "no order: the escape cannot name the asset"));
        };
        let plan = &self.rec.route.legs[usize::from(i)];
        let vault = Position::owned(plan.from.holder);
        let escaped = Position { holding: Holding::Claimable, ..vault };
        let paid = Position::owned(plan.to.holder);
        let leg_of = |index: u16, kind: LegKind, from: Position, to: Position| Leg {
            index,
            kind,
            from,
            to,
            signer: Party::Sender,
            fees: vec![],
            eta: EtaRange::new(0, 0),
            description: kind.to_string(),
        };
        let route = Route {
            summary: format!(
                "escape hatch for route {}: full withdrawal → freeze → escape → claim",
                self.rec.id
            ),
            legs: vec![
                leg_of(0, LegKind::FullWithdrawalRequest, vault, vault),
                leg_of(1, LegKind::FreezeRequest, vault, vault),
                leg_of(2, LegKind::Escape, vault, escaped),
                leg_of(3, LegKind::L1ClaimFromStarkEx, escaped, paid),
            ],
            total_fee_wei: Wei::ZERO,
            // The grace period is 7 days; the rest is a few L1 blocks.
            eta: EtaRange::new(7 * 86_400, 8 * 86_400),
            destination: paid,
            needs_recipient_action: false,
            assumptions: vec![],
        };
        let key = IdempotencyKey::new(format!("escape-{}", self.rec.id), self.rec.id.to_string())
            .map_err(|e| corrupt(self.rec.id, e))?;
        let tenant = self.rec.tenant.clone();
        let escape = self.ex.create_route(&tenant, Some(&key), &route, &order).await?;
        let after = self.ex.config.escape_after.unwrap_or_default();
        let reason = format!(
            "the operator did not serve the withdrawal within {}s; escape route {} started",
            after.as_secs(),
            escape.id
        );
        self.commit(
            None,
            None,
            vec![NewEvent::new("escape_started", json!({ "leg": i, "route": escape.id }))],
        )
        .await?;
        self.fail(i, leg.status, reason, false).await
    }

    async fn outcome_failed(&mut self, i: u16, reason: &str, landed: bool) -> Result<Value> {
        let order = self.order().await?;
        let plan = &self.rec.route.legs[usize::from(i)];
        let outcome = Outcome::failed(i, plan.kind, reason, plan.from, landed, order.as_ref());
        serde_json::to_value(&outcome).map_err(|e| corrupt(self.rec.id, e))
    }

    /// Fails a leg and its route in one transition, with the outcome.
    async fn fail(
        &mut self,
        i: u16,
        from: LegStatus,
        reason: String,
        landed: bool,
    ) -> Result<Flow> {
        let outcome = self.outcome_failed(i, &reason, landed).await?;
        let status = self.route_change(RouteEvent::Failed, Some(outcome.clone()))?;
        let patch = LegPatch { last_error: Some(Some(reason.clone())), ..LegPatch::default() };
        let change = LegChange { index: i, from, to: LegStatus::Failed, patch };
        let events = vec![
            NewEvent::new("leg_failed", json!({ "leg": i, "reason": reason })),
            NewEvent::new("route_failed", json!({ "outcome": outcome })),
        ];
        self.commit(Some(change), status, events).await?;
        Ok(Flow::Stop)
    }

    async fn finish_failed(&mut self, i: u16) -> Result<Flow> {
        let reason = self.leg(i)?.last_error.clone().unwrap_or_else(|| "leg failed".into());
        let outcome = self.outcome_failed(i, &reason, false).await?;
        let status = self.route_change(RouteEvent::Failed, Some(outcome.clone()))?;
        let event = NewEvent::new("route_failed", json!({ "outcome": outcome }));
        self.commit(None, status, vec![event]).await?;
        Ok(Flow::Stop)
    }

    async fn finish_cancelled(&mut self) -> Result<Flow> {
        let order = self.order().await?;
        let start = self.rec.route.legs.iter().find(|l| l.kind.moves_asset());
        let at = start.unwrap_or(&self.rec.route.legs[0]).from;
        let outcome = serde_json::to_value(Outcome::cancelled(at, order.as_ref()))
            .map_err(|e| corrupt(self.rec.id, e))?;
        let status = self.route_change(RouteEvent::Cancelled, Some(outcome.clone()))?;
        let event = NewEvent::new("route_cancelled", json!({ "outcome": outcome }));
        self.commit(None, status, vec![event]).await?;
        Ok(Flow::Stop)
    }

    async fn pause(&mut self) -> Result<Flow> {
        if self.rec.status != RouteStatus::AwaitingSignature {
            let status = self.route_change(RouteEvent::Paused, None)?;
            let event = NewEvent::new("route_awaiting_signature", json!({}));
            self.commit(None, status, vec![event]).await?;
        }
        Ok(Flow::Stop)
    }

    async fn complete(&mut self) -> Result<Flow> {
        let order = self.order().await?;
        let outcome = Outcome::completed(self.rec.route.destination, order.as_ref());
        let outcome = serde_json::to_value(&outcome).map_err(|e| corrupt(self.rec.id, e))?;
        let status = self.route_change(RouteEvent::Completed, Some(outcome.clone()))?;
        let event = NewEvent::new("route_completed", json!({ "outcome": outcome }));
        self.commit(None, status, vec![event]).await?;
        Ok(Flow::Stop)
    }
}

/// A patch on a leg that keeps its status.
fn same(index: u16, status: LegStatus, patch: LegPatch) -> LegChange {
    LegChange { index, from: status, to: status, patch }
}

/// Mirrors a committed transition in the in-memory record, as the store applied it.
fn apply_local(rec: &mut RouteRecord, t: &StoreTransition, applied: &Applied, now: Timestamp) {
    rec.version = applied.version;
    if let Some(last) = applied.events.last() {
        rec.last_event_seq = last.seq;
    }
    rec.updated_at = now;
    if let Some(change) = &t.status {
        rec.status = change.to;
        if change.outcome.is_some() {
            rec.outcome.clone_from(&change.outcome);
        }
    }
    if let Some(change) = &t.leg {
        if let Some(leg) = rec.legs.get_mut(usize::from(change.index)) {
            let p = &change.patch;
            leg.status = change.to;
            if let Some(v) = &p.prepared {
                leg.prepared = Some(v.clone());
            }
            if let Some(s) = &p.submission {
                leg.submission = Some(s.clone());
            }
            if let Some(n) = p.attempts {
                leg.attempts = n;
            }
            if let Some(at) = p.next_attempt_at {
                leg.next_attempt_at = at;
                rec.wake_at = at.unwrap_or(now);
            }
            if let Some(e) = &p.last_error {
                leg.last_error.clone_from(e);
            }
            leg.updated_at = now;
        }
    }
}
