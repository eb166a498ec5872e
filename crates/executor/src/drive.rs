//! One lease's work on one route: the steps the machine decides, each a call to a layer and a
//! fenced commit. Every step on a leg runs in a `leg` span (leg index, layer) inside the run
//! loop's `route` span; every layer error is logged and counted before it is retried or given up
//! on.
//!
//! Kept in one file (about 920 lines of code): one step per leg status, each beside the fenced commit
//! it makes; split, the fencing would be read in pieces.

use serde_json::{json, Value};
use starkroute_layer::{AdapterError, LegIntent, LegProgress};
use starkroute_store_api::{
    Applied, Fence, IdempotencyKey, LegChange, LegPatch, LegRecord, NewEvent, RouteChange,
    RouteOrder, RouteRecord, Timestamp, Transition as StoreTransition,
};
use starkroute_types::{
    EtaRange, Holding, Layer, Leg, LegKind, LegStatus, Party, Position, Route, RouteStatus, Wei,
};
use tracing::Instrument as _;

use crate::{
    config::hash_bytes,
    eta,
    executor::{corrupt, decode_prepared},
    machine::{
        decide_record, on_event, route_on_event, Action, LegEvent, Refusal, RouteEvent, Transition,
    },
    metrics::Counter,
    Executor, Outcome, Result,
};

/// Whether the driver goes on with the route it holds.
enum Flow {
    Continue,
    Stop,
}

/// One lease's work on one route.
pub(crate) struct Drive<'a> {
    ex: &'a Executor,
    rec: RouteRecord,
    lease_until: Timestamp,
    /// A leg this drive stored the payload of and has not tried to send yet: it can be sent
    /// without asking its layer first.
    fresh: Option<u16>,
    /// A wake-up time not committed yet (a poll that found nothing new): written with the
    /// release instead of a commit of its own.
    deferred_wake: Option<Timestamp>,
    /// The leg (index, layer) the last step worked on, for the run loop's error log.
    at_leg: Option<(u16, Layer)>,
}

impl<'a> Drive<'a> {
    /// A drive of `rec`, leased by `ex` until `lease_until`.
    pub(crate) fn new(ex: &'a Executor, rec: RouteRecord, lease_until: Timestamp) -> Self {
        Self { ex, rec, lease_until, fresh: None, deferred_wake: None, at_leg: None }
    }

    /// The wake-up time to release the route with, if it was not committed.
    pub(crate) fn deferred_wake(&self) -> Option<Timestamp> {
        self.deferred_wake
    }

    /// The leg (index and layer) the drive was working on when it stopped.
    pub(crate) fn at_leg(&self) -> Option<(u16, Layer)> {
        self.at_leg
    }

    /// Advances the route as far as it goes without waiting, up to the configured step count.
    pub(crate) async fn run(&mut self) -> Result<()> {
        for _ in 0..self.ex.config.max_steps_per_lease {
            self.renew_if_needed().await?;
            let action = decide_record(&self.rec, self.ex.clock.now());
            let leg = match action {
                Action::Prepare(i) | Action::Reconcile(i) | Action::Poll(i) => Some(i),
                _ => None,
            };
            let flow = match leg.and_then(|i| self.rec.legs.get(usize::from(i))) {
                Some(l) => {
                    self.at_leg = Some((l.index, l.kind.layer()));
                    let span = tracing::info_span!("leg", leg = l.index, layer = %l.kind.layer());
                    self.step(action).instrument(span).await?
                }
                None => {
                    self.at_leg = None;
                    self.step(action).await?
                }
            };
            if let Flow::Stop = flow {
                break;
            }
        }
        Ok(())
    }

    async fn step(&mut self, action: Action) -> Result<Flow> {
        Ok(match action {
            Action::Prepare(i) => self.prepare(i).await?,
            Action::Reconcile(i) if self.fresh == Some(i) => self.send(i).await?,
            Action::Reconcile(i) | Action::Poll(i) => self.poll(i).await?,
            Action::AwaitSignature(_) => self.pause().await?,
            Action::Complete => self.complete().await?,
            Action::Fail(i) => self.finish_failed(i).await?,
            Action::Cancel => self.finish_cancelled().await?,
            Action::Sleep(_) | Action::Idle => Flow::Stop,
            Action::Inconsistent(refusal) => return Err(refusal.into()),
        })
    }

    /// Logs a settlement-layer error on a leg and counts it, retried or given up on.
    fn layer_error(&self, leg: &LegRecord, message: &str, retried: bool) {
        let (route_id, layer) = (self.rec.id, leg.kind.layer());
        if retried {
            self.ex.metrics.count(Counter::AdapterRetried);
            tracing::warn!(
                %route_id, leg = leg.index, %layer, retryable = true, attempt = leg.attempts + 1,
                error = message, "layer error, retrying after a backoff"
            );
        } else {
            self.ex.metrics.count(Counter::AdapterPermanent);
            tracing::error!(
                %route_id, leg = leg.index, %layer, retryable = false, error = message,
                "layer error, giving up on the leg"
            );
        }
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

    /// What the route moves, as stored with it.
    fn order(&self) -> Option<RouteOrder> {
        self.rec.order.clone()
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
        mut events: Vec<NewEvent>,
    ) -> Result<()> {
        let now = self.ex.clock.now();
        // What the leg's layer took in the status it leaves, for the live ETAs (recorded once
        // the transition is stored).
        let observed = leg.as_ref().filter(|c| c.from != c.to).and_then(|c| {
            let l = self.rec.legs.get(usize::from(c.index))?;
            let ms = now.as_millis().saturating_sub(l.updated_at.as_millis());
            let dwell = std::time::Duration::from_millis(u64::try_from(ms).unwrap_or(0));
            Some((l.kind, c.from, c.to, dwell))
        });
        let mut t = StoreTransition {
            route: self.rec.id,
            fence: Fence::Lease(self.ex.owner.clone()),
            leg,
            status,
            events: vec![],
        };
        // The route as it will be: its ETA, announced in the same commit when it moved enough.
        let mut projected = self.rec.clone();
        let none = Applied { route: self.rec.id, version: self.rec.version, events: vec![] };
        apply_local(&mut projected, &t, &none, now);
        if let Some((kind, from, to, dwell)) = observed {
            self.ex.eta.observe(kind, from, to, dwell);
        }
        let announce = self.eta_changed(&projected, now).await?;
        if let Some((event, _)) = &announce {
            events.push(event.clone());
        }
        t.events = events;
        let applied = self.ex.store.apply(t.clone(), now).await?;
        apply_local(&mut self.rec, &t, &applied, now);
        if self.rec.status.is_terminal() {
            self.ex.announced.forget(&self.rec.id);
        } else if let Some((_, a)) = announce {
            self.ex.announced.set(self.rec.id, a);
        }
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
        let Some(order) = self.order() else {
            // A route from before the store kept the order, whose order was never recorded:
            // look again later rather than spin on it.
            let at = self.ex.clock.now().saturating_add(self.ex.config.poll_interval);
            let error = "the route has no asset and amount stored with it";
            tracing::warn!(route_id = %self.rec.id, leg = i, error, "cannot prepare the leg");
            let patch = LegPatch {
                next_attempt_at: Some(Some(at)),
                last_error: Some(Some(error.to_owned())),
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
            route_id: self.rec.id,
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
            // What to do, for a receiver that only needs that: who signs what, and where.
            let required = NewEvent::new(
                "signature_required",
                json!({
                    "leg": i,
                    "kind": leg.kind,
                    "scheme": request.scheme,
                    "signer": request.signer,
                    "sign": request.hash,
                    "submit_to": format!("/v1/routes/{}/legs/{i}/signature", self.rec.id),
                }),
            );
            self.commit(Some(change), status, vec![event, required]).await?;
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
            self.layer_error(leg, &reason, false);
            self.fail(leg.index, leg.status, reason, false).await
        }
    }

    /// Records a retryable failure; the leg keeps its status and is tried again after the
    /// backoff delay.
    async fn back_off(&mut self, leg: &LegRecord, attempts: u32, error: &str) -> Result<Flow> {
        self.layer_error(leg, error, true);
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
            Err(e) => {
                self.layer_error(&leg, &e.message, false);
                self.fail(i, leg.status, e.message, false).await
            }
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
            // Nothing new: no commit (unless the leg just went past its worst-case ETA); the
            // release carries the next wake-up. (Should this instance die first, its lease
            // lapses and the route is simply polled again.)
            Transition::Stay => {
                if let Some(stuck) = self.stuck(i, &leg, prepared.layer).await? {
                    self.commit(None, None, vec![stuck]).await?;
                } else if !self.past_worst_case(i, &leg)
                    && self.eta_changed(&self.rec.clone(), self.ex.clock.now()).await?.is_some()
                {
                    // The leg is late enough to move the route's ETA: the commit carries the
                    // `eta_changed` event. (Past its worst case, `route_stuck` has said so and
                    // the ETA keeps moving in the route's answer without more events.)
                    self.commit(None, None, vec![]).await?;
                }
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
                let mut events =
                    vec![NewEvent::new(kind, json!({ "leg": i, "hash": prepared.hash }))];
                if to == LegStatus::FinalOnL1 {
                    events.extend(self.claim_available(i + 1));
                }
                let change = LegChange { index: i, from: leg.status, to, patch };
                self.commit(Some(change), None, events).await?;
                Ok(Flow::Continue)
            }
            Transition::Reprepare { reason } => {
                let attempts = leg.attempts.saturating_add(1);
                if attempts >= self.ex.config.max_prepare_attempts {
                    let reason = format!("failed {attempts} times on its layer: {reason}");
                    self.layer_error(&leg, &reason, false);
                    return self.fail(i, leg.status, reason, false).await;
                }
                self.layer_error(&leg, &reason, true);
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
                self.layer_error(&leg, &reason, false);
                self.fail(i, leg.status, reason, landed).await
            }
        }
    }

    /// `claim_available` when leg `next` is an L1 claim that the leg just final made possible:
    /// the L2→L1 message is consumable, or the StarkEx withdrawal balance is credited. The claim
    /// pays the recipient whoever sends it; the executor sends it next.
    fn claim_available(&self, next: u16) -> Option<NewEvent> {
        let plan = self.rec.route.legs.get(usize::from(next))?;
        let what = match plan.kind {
            LegKind::L1ClaimFromStarkGate => "StarkGate `withdraw` on L1",
            LegKind::L1ClaimFromNftBridge => "the NFT bridge's `withdrawTokens` on L1",
            LegKind::L1ClaimFromStarkEx => "`withdraw` on the StarkEx contract on L1",
            _ => return None,
        };
        Some(NewEvent::new(
            "claim_available",
            json!({
                "leg": next,
                "kind": plan.kind,
                "claim": what,
                "available_at": self.ex.clock.now(),
                "anyone_may_send": true,
                "pays": plan.to,
            }),
        ))
    }

    /// `eta_changed` when the route's expected completion (`rec` as it will be after the commit
    /// at `now`) moved from the last one announced by more than the thresholds of
    /// [`crate::eta`], at most once per leg status change or per [`eta::MIN_INTERVAL`]. The last
    /// announcement is remembered by the executor; after a restart it is read back from the
    /// route's latest `eta_changed` event, or is the route's initial ETA.
    async fn eta_changed(
        &self,
        rec: &RouteRecord,
        now: Timestamp,
    ) -> Result<Option<(NewEvent, eta::Announced)>> {
        // A final route, or one whose every leg is final (its completion is the next commit),
        // says so with its own event.
        if rec.status.is_terminal() || rec.legs.iter().all(|l| l.status == LegStatus::FinalOnL1) {
            return Ok(None);
        }
        let estimate = self.ex.eta.route(rec, now);
        let Some(new) = estimate.route else { return Ok(None) };
        let statuses = eta::statuses(rec);
        let last = match self.ex.announced.get(&rec.id) {
            Some(a) => a,
            None => {
                let a = self.eta_baseline(rec).await?;
                self.ex.announced.set(rec.id, a);
                a
            }
        };
        let allowed = statuses != last.statuses || now >= last.at.saturating_add(eta::MIN_INTERVAL);
        if !allowed || !eta::is_significant(last.expected_at, last.remaining_secs, new.expected_at)
        {
            return Ok(None);
        }
        let current = rec.legs.iter().find(|l| !l.status.is_terminal());
        let legs: Vec<Value> = estimate
            .legs
            .iter()
            .enumerate()
            .map(|(i, e)| json!({ "leg": i, "expected_at": e.map(|e| e.expected_at) }))
            .collect();
        tracing::info!(
            route_id = %rec.id,
            leg = current.map(|l| l.index),
            previous = last.expected_at.as_millis(),
            expected_at = new.expected_at.as_millis(),
            "route ETA changed"
        );
        let event = NewEvent::new(
            "eta_changed",
            json!({
                "leg": current.map(|l| l.index),
                "status": current.map(|l| l.status),
                "expected_at": new.expected_at,
                "remaining_secs": new.remaining_secs,
                "remaining": new.remaining,
                "source": new.source,
                "previous_expected_at": last.expected_at,
                "legs": legs,
            }),
        );
        let a = eta::Announced {
            expected_at: new.expected_at,
            remaining_secs: new.remaining_secs,
            at: now,
            statuses,
        };
        Ok(Some((event, a)))
    }

    /// The last ETA announced for a route this executor has not announced one for: its latest
    /// `eta_changed` event, or else its initial estimate.
    async fn eta_baseline(&self, rec: &RouteRecord) -> Result<eta::Announced> {
        let recent = self
            .ex
            .store
            .events_since(&rec.tenant, &rec.id, rec.last_event_seq.saturating_sub(64))
            .await?;
        if let Some(e) = recent.iter().rev().find(|e| e.kind == "eta_changed") {
            let expected_at = e.data["expected_at"].as_i64().map(Timestamp::from_millis);
            let remaining_secs = e.data["remaining_secs"].as_u64();
            if let (Some(expected_at), Some(remaining_secs)) = (expected_at, remaining_secs) {
                return Ok(eta::Announced { expected_at, remaining_secs, at: e.at, statuses: 0 });
            }
        }
        let mut initial = rec.clone();
        for l in &mut initial.legs {
            l.status = LegStatus::Planned;
        }
        initial.status = RouteStatus::Pending;
        let at = rec.created_at;
        let route = self.ex.eta.route(&initial, at).route;
        let remaining_secs = route.map_or(0, |e| e.remaining_secs);
        Ok(eta::Announced {
            expected_at: at.saturating_add(std::time::Duration::from_secs(remaining_secs)),
            remaining_secs,
            at,
            statuses: 0,
        })
    }

    /// Whether leg `i` has waited past its planned worst case in its current status.
    fn past_worst_case(&self, i: u16, leg: &LegRecord) -> bool {
        self.rec.route.legs.get(usize::from(i)).is_some_and(|plan| {
            let deadline =
                leg.updated_at.saturating_add(std::time::Duration::from_secs(plan.eta.max_secs));
            self.ex.clock.now() > deadline
        })
    }

    /// `route_stuck`, once per leg and episode (the leg's last change): the leg is past its
    /// worst-case ETA with nothing new on its layer. Says what the router is waiting for, on
    /// which layer, since when and by when it was expected. `None` before the deadline, or when
    /// this episode was reported already (found among the route's latest events: while a leg
    /// waits, nothing else happens on its route).
    async fn stuck(&self, i: u16, leg: &LegRecord, layer: Layer) -> Result<Option<NewEvent>> {
        let Some(plan) = self.rec.route.legs.get(usize::from(i)) else { return Ok(None) };
        let deadline =
            leg.updated_at.saturating_add(std::time::Duration::from_secs(plan.eta.max_secs));
        if self.ex.clock.now() <= deadline {
            return Ok(None);
        }
        let recent = self
            .ex
            .store
            .events_since(
                &self.rec.tenant,
                &self.rec.id,
                self.rec.last_event_seq.saturating_sub(16),
            )
            .await?;
        let since = json!(leg.updated_at);
        if recent
            .iter()
            .any(|e| e.kind == "route_stuck" && e.data["leg"] == i && e.data["since"] == since)
        {
            return Ok(None);
        }
        let waiting_for = match (layer, leg.status) {
            (Layer::Starknet, LegStatus::AcceptedOnL2) => {
                "the Starknet state update on L1 (the transaction is accepted on L2)"
            }
            (Layer::Starknet, _) => "Starknet to accept the transaction",
            (Layer::StarkEx, _) => "the StarkEx operator to include it in a batch proven on L1",
            (Layer::L1, _) if leg.kind == LegKind::L1DepositToStarkEx => {
                "the StarkEx operator to pick up the deposit"
            }
            (Layer::L1, _)
                if matches!(
                    leg.kind,
                    LegKind::L1DepositToStarkGate | LegKind::L1DepositToNftBridge
                ) =>
            {
                "the L1→L2 message to be executed on Starknet"
            }
            (Layer::L1, _) => "confirmations on L1",
        };
        tracing::warn!(
            route_id = %self.rec.id, leg = i, layer = %layer, waiting_for,
            "leg past its worst-case ETA"
        );
        Ok(Some(NewEvent::new(
            "route_stuck",
            json!({
                "leg": i,
                "kind": leg.kind,
                "layer": layer,
                "status": leg.status,
                "waiting_for": waiting_for,
                "since": since,
                "expected_by": deadline,
                "eta": plan.eta,
            }),
        )))
    }

    /// `recovery_required` before a failed route's `route_failed`, when the asset needs an action
    /// to be recovered (a claim, an escape); names it and where the asset is.
    fn recovery_required(outcome: &Value) -> Option<NewEvent> {
        let recovery = outcome.get("recovery")?;
        if recovery == "none" {
            return None;
        }
        Some(NewEvent::new(
            "recovery_required",
            json!({
                "recovery": recovery,
                "instructions": outcome.get("instructions"),
                "asset_at": outcome.get("asset_at"),
                "failed_leg": outcome.get("failed_leg"),
            }),
        ))
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
        let Some(order) = self.order() else {
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
            vec![
                NewEvent::new("escape_started", json!({ "leg": i, "route": escape.id })),
                NewEvent::new(
                    "recovery_started",
                    json!({
                        "leg": i,
                        "route": escape.id,
                        "path": "full withdrawal request → freeze after the grace period → escape with the vault's proof → claim on L1",
                        "eta": route.eta,
                    }),
                ),
            ],
        )
        .await?;
        tracing::warn!(
            route_id = %self.rec.id, leg = i, escape_route = %escape.id,
            "the operator left the withdrawal unserved: escape route started"
        );
        self.fail(i, leg.status, reason, false).await
    }

    fn outcome_failed(&self, i: u16, reason: &str, landed: bool) -> Result<Value> {
        let order = self.order();
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
        let outcome = self.outcome_failed(i, &reason, landed)?;
        let status = self.route_change(RouteEvent::Failed, Some(outcome.clone()))?;
        let patch = LegPatch { last_error: Some(Some(reason.clone())), ..LegPatch::default() };
        let change = LegChange { index: i, from, to: LegStatus::Failed, patch };
        let mut events = vec![NewEvent::new("leg_failed", json!({ "leg": i, "reason": reason }))];
        events.extend(Self::recovery_required(&outcome));
        events.push(NewEvent::new("route_failed", json!({ "outcome": outcome })));
        self.commit(Some(change), status, events).await?;
        self.route_failed(i, &reason);
        Ok(Flow::Stop)
    }

    fn route_failed(&self, leg: u16, reason: &str) {
        self.ex.metrics.count(Counter::RouteFailed);
        tracing::error!(route_id = %self.rec.id, leg, reason, "route failed");
    }

    async fn finish_failed(&mut self, i: u16) -> Result<Flow> {
        let reason = self.leg(i)?.last_error.clone().unwrap_or_else(|| "leg failed".into());
        let outcome = self.outcome_failed(i, &reason, false)?;
        let status = self.route_change(RouteEvent::Failed, Some(outcome.clone()))?;
        let mut events: Vec<NewEvent> = Self::recovery_required(&outcome).into_iter().collect();
        events.push(NewEvent::new("route_failed", json!({ "outcome": outcome })));
        self.commit(None, status, events).await?;
        self.route_failed(i, &reason);
        Ok(Flow::Stop)
    }

    async fn finish_cancelled(&mut self) -> Result<Flow> {
        let order = self.order();
        let start = self.rec.route.legs.iter().find(|l| l.kind.moves_asset());
        let at = start.unwrap_or(&self.rec.route.legs[0]).from;
        let outcome = serde_json::to_value(Outcome::cancelled(at, order.as_ref()))
            .map_err(|e| corrupt(self.rec.id, e))?;
        let status = self.route_change(RouteEvent::Cancelled, Some(outcome.clone()))?;
        let event = NewEvent::new("route_cancelled", json!({ "outcome": outcome }));
        self.commit(None, status, vec![event]).await?;
        self.ex.metrics.count(Counter::RouteCancelled);
        tracing::info!(route_id = %self.rec.id, "route cancelled");
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
        let order = self.order();
        let outcome = Outcome::completed(self.rec.route.destination, order.as_ref());
        let outcome = serde_json::to_value(&outcome).map_err(|e| corrupt(self.rec.id, e))?;
        let status = self.route_change(RouteEvent::Completed, Some(outcome.clone()))?;
        let event = NewEvent::new("route_completed", json!({ "outcome": outcome }));
        self.commit(None, status, vec![event]).await?;
        self.ex.metrics.count(Counter::RouteCompleted);
        tracing::info!(route_id = %self.rec.id, "route completed");
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
