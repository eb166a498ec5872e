//! The port the executor and the API talk to.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};
use starkroute_types::{LegStatus, Route};

use crate::{
    Applied, Event, Fence, IdempotencyKey, LeaseOwner, LegChange, LegPatch, ListQuery, NewEvent,
    Page, Result, RouteChange, RouteId, RouteOrder, RouteRecord, StoreError, TenantId, Timestamp,
    Transition,
};

/// One operation of a [`RouteStore::batch`].
#[derive(Debug, Clone)]
pub enum Op {
    /// [`RouteStore::apply`].
    Apply(Transition),
    /// [`RouteStore::lease`].
    Lease {
        /// The leaser.
        owner: LeaseOwner,
        /// For how long.
        duration: Duration,
    },
    /// [`RouteStore::release`], or [`RouteStore::release_until`] with a wake-up time.
    Release {
        /// The route.
        route: RouteId,
        /// Its holder.
        owner: LeaseOwner,
        /// The route's next wake-up, if it changes.
        wake_at: Option<Timestamp>,
    },
}

/// The result of one [`Op`].
#[derive(Debug)]
pub enum OpResult {
    /// Of an [`Op::Apply`]: applied, or refused.
    Applied(Result<Applied>),
    /// Of an [`Op::Lease`]: the route leased, if one was due.
    Leased(Option<Box<RouteRecord>>),
    /// Of an [`Op::Release`]: whether the lease was held.
    Released(bool),
}

/// Durable storage of routes, their legs and prepared payloads, their event logs and the
/// idempotency keys that created them.
///
/// Every write is one database transaction committed durably before the call returns, so a leg's
/// prepared payload saved with [`save_prepared`](RouteStore::save_prepared) survives a crash that
/// happens while it is being sent. Writes that change a route are *fenced* (see [`Fence`]) and
/// compare-and-set on the status, and append their events in the same transaction.
///
/// All times come from the caller (`now`): the store reads no clock.
#[async_trait]
pub trait RouteStore: Send + Sync {
    /// Creates a pending route with its planned legs and what it moves (`order`, kept in
    /// [`RouteRecord::order`]), appending a `route_created` event (seq 1) and the order's
    /// [`ORDER_EVENT`](crate::ORDER_EVENT) (seq [`RouteOrder::EVENT_SEQ`], the event
    /// [`RouteRecord::order_event`] rebuilds), all in one transaction.
    ///
    /// With an idempotency key already used by this tenant, creates nothing: returns the existing
    /// route with `false` if the fingerprint matches, [`StoreError::IdempotencyConflict`] if not.
    /// Returns `true` when the route was created by this call.
    async fn create_route(
        &self,
        tenant: &TenantId,
        idempotency: Option<&IdempotencyKey>,
        route: &Route,
        order: &RouteOrder,
        now: Timestamp,
    ) -> Result<(RouteRecord, bool)>;

    /// The tenant's route with that id; `None` if there is none or it belongs to another tenant.
    async fn get_route(&self, tenant: &TenantId, id: &RouteId) -> Result<Option<RouteRecord>>;

    /// A page of the tenant's routes, newest first.
    async fn list_routes(&self, tenant: &TenantId, query: &ListQuery) -> Result<Page>;

    /// Leases one route that needs work, if any, to `owner` until `now + duration`.
    ///
    /// A route needs work when it is pending or running, its wake-up time has come and it is not
    /// leased or its lease has expired (an instance that died loses its routes this way). The
    /// earliest-due route is taken. Two concurrent callers never get the same route.
    async fn lease(
        &self,
        owner: &LeaseOwner,
        duration: Duration,
        now: Timestamp,
    ) -> Result<Option<RouteRecord>>;

    /// Extends `owner`'s unexpired lease to `now + duration` and returns the new expiry;
    /// [`StoreError::LeaseLost`] if it no longer holds it.
    async fn renew_lease(
        &self,
        route: &RouteId,
        owner: &LeaseOwner,
        duration: Duration,
        now: Timestamp,
    ) -> Result<Timestamp>;

    /// Gives up `owner`'s lease on the route; `false` if it did not hold it (any more).
    async fn release(&self, route: &RouteId, owner: &LeaseOwner) -> Result<bool>;

    /// Gives up `owner`'s lease and sets the route's next wake-up to `wake_at`, in one write: a
    /// status poll that found nothing new needs no commit of its own (if the instance dies
    /// before releasing, the lease lapses and the route is simply polled again).
    async fn release_until(
        &self,
        route: &RouteId,
        owner: &LeaseOwner,
        wake_at: Timestamp,
    ) -> Result<bool>;

    /// Applies many transitions in one database transaction (one durable commit).
    ///
    /// Each transition is atomic on its own: one that is refused (lease lost, conflict, not found)
    /// leaves no trace and does not stop the others. The outer error means the commit itself
    /// failed and nothing was applied; the inner results are in the order of `batch`.
    async fn apply_batch(
        &self,
        batch: Vec<Transition>,
        now: Timestamp,
    ) -> Result<Vec<Result<Applied>>>;

    /// The tenant's route's events with a sequence number greater than `after_seq`, in order
    /// (`0` replays the whole log; an SSE `Last-Event-ID` resumes after it).
    async fn events_since(
        &self,
        tenant: &TenantId,
        route: &RouteId,
        after_seq: u64,
    ) -> Result<Vec<Event>>;

    /// Runs leases, releases and transitions in one durable commit, in order; each succeeds or
    /// is refused on its own (a lease finding nothing due is `Leased(None)`). The outer error means
    /// the commit failed and nothing was applied. The SQL stores make this one transaction; the
    /// default runs the operations one by one.
    async fn batch(&self, ops: Vec<Op>, now: Timestamp) -> Result<Vec<OpResult>> {
        let mut out = Vec::with_capacity(ops.len());
        for op in ops {
            out.push(match op {
                Op::Apply(t) => OpResult::Applied(self.apply(t, now).await),
                Op::Lease { owner, duration } => {
                    OpResult::Leased(self.lease(&owner, duration, now).await?.map(Box::new))
                }
                Op::Release { route, owner, wake_at: None } => {
                    OpResult::Released(self.release(&route, &owner).await?)
                }
                Op::Release { route, owner, wake_at: Some(at) } => {
                    OpResult::Released(self.release_until(&route, &owner, at).await?)
                }
            });
        }
        Ok(out)
    }

    /// Applies one transition in its own durable commit.
    async fn apply(&self, transition: Transition, now: Timestamp) -> Result<Applied> {
        let mut results = self.apply_batch(vec![transition], now).await?;
        results.pop().unwrap_or_else(|| Err(StoreError::corrupt("empty batch result")))
    }

    /// Write-ahead of a send: stores a leg's exact prepared payload and moves it from `planned` to
    /// `prepared`, appending `leg_prepared`. Durable when it returns.
    async fn save_prepared(
        &self,
        route: &RouteId,
        leg: u16,
        payload: Value,
        owner: &LeaseOwner,
        now: Timestamp,
    ) -> Result<Applied> {
        let change = LegChange {
            index: leg,
            from: LegStatus::Planned,
            to: LegStatus::Prepared,
            patch: LegPatch { prepared: Some(payload), ..LegPatch::default() },
        };
        let event = NewEvent::new("leg_prepared", json!({ "leg": leg }));
        self.record_leg_transition(route, change, event, Fence::Lease(owner.clone()), now).await
    }

    /// A fenced compare-and-set on one leg with its event.
    async fn record_leg_transition(
        &self,
        route: &RouteId,
        change: LegChange,
        event: NewEvent,
        fence: Fence,
        now: Timestamp,
    ) -> Result<Applied> {
        let t = Transition {
            route: *route,
            fence,
            leg: Some(change),
            status: None,
            events: vec![event],
        };
        self.apply(t, now).await
    }

    /// A fenced compare-and-set on a route's status with its event.
    async fn record_route_transition(
        &self,
        route: &RouteId,
        change: RouteChange,
        event: NewEvent,
        fence: Fence,
        now: Timestamp,
    ) -> Result<Applied> {
        let t = Transition {
            route: *route,
            fence,
            leg: None,
            status: Some(change),
            events: vec![event],
        };
        self.apply(t, now).await
    }
}
