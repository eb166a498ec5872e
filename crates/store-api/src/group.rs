//! Group commit: concurrent single transitions share one durable commit.

use std::{sync::Arc, time::Duration};

use async_trait::async_trait;
use starkroute_types::Route;
use tokio::sync::{mpsc, oneshot};

use crate::{
    Applied, Event, IdempotencyKey, LeaseOwner, ListQuery, Op, OpResult, Page, Result, RouteId,
    RouteOrder, RouteRecord, RouteStore, StoreError, TenantId, Timestamp, Transition,
};

type Reply = oneshot::Sender<Result<OpResult>>;
type Queued = (Op, Timestamp, Reply);

/// A [`RouteStore`] whose writes of the executor's loop — [`apply`](RouteStore::apply),
/// [`lease`](RouteStore::lease), [`release`](RouteStore::release) — are gathered into
/// [`batch`](RouteStore::batch)es: while one commit is being made durable, the operations that
/// arrive queue up and go together in the next one (up to `max_batch`). Nothing waits on a
/// timer: alone, an operation is committed at once; under load, one fsync carries many. Each
/// operation still succeeds or is refused on its own, and its call returns only once its commit
/// is durable.
///
/// Every other call goes straight to the inner store.
#[derive(Clone)]
pub struct GroupCommit {
    inner: Arc<dyn RouteStore>,
    queue: mpsc::UnboundedSender<Queued>,
}

impl std::fmt::Debug for GroupCommit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCommit").finish_non_exhaustive()
    }
}

impl GroupCommit {
    /// The default largest batch.
    pub const MAX_BATCH: usize = 256;

    /// Wraps `inner`; spawns the committer on the current tokio runtime (it ends when the last
    /// clone of this store is dropped).
    pub fn new(inner: Arc<dyn RouteStore>, max_batch: usize) -> Self {
        let (queue, rx) = mpsc::unbounded_channel();
        tokio::spawn(committer(inner.clone(), rx, max_batch.max(1)));
        Self { inner, queue }
    }
}

async fn committer(
    store: Arc<dyn RouteStore>,
    mut rx: mpsc::UnboundedReceiver<Queued>,
    max_batch: usize,
) {
    let mut batch = Vec::with_capacity(max_batch);
    while rx.recv_many(&mut batch, max_batch).await > 0 {
        // One `now` for the batch: the latest, so no lease is taken as valid past its expiry.
        let now = batch.iter().map(|(_, at, _)| *at).max().unwrap_or(Timestamp::from_millis(0));
        let (ops, replies): (Vec<_>, Vec<_>) =
            batch.drain(..).map(|(op, _, reply)| (op, reply)).unzip();
        match store.batch(ops, now).await {
            Ok(results) => {
                for (reply, result) in replies.into_iter().zip(results) {
                    // A caller that went away (its task was cancelled) is not an error.
                    let _ = reply.send(Ok(result));
                }
            }
            Err(e) => {
                let retryable = e.is_retryable();
                let message = e.to_string();
                for reply in replies {
                    let _ = reply.send(Err(StoreError::Backend {
                        retryable,
                        source: message.clone().into(),
                    }));
                }
            }
        }
    }
}

#[async_trait]
impl RouteStore for GroupCommit {
    async fn create_route(
        &self,
        tenant: &TenantId,
        idempotency: Option<&IdempotencyKey>,
        route: &Route,
        order: &RouteOrder,
        now: Timestamp,
    ) -> Result<(RouteRecord, bool)> {
        self.inner.create_route(tenant, idempotency, route, order, now).await
    }

    async fn get_route(&self, tenant: &TenantId, id: &RouteId) -> Result<Option<RouteRecord>> {
        self.inner.get_route(tenant, id).await
    }

    async fn list_routes(&self, tenant: &TenantId, query: &ListQuery) -> Result<Page> {
        self.inner.list_routes(tenant, query).await
    }

    async fn lease(
        &self,
        owner: &LeaseOwner,
        duration: Duration,
        now: Timestamp,
    ) -> Result<Option<RouteRecord>> {
        match self.queued(Op::Lease { owner: owner.clone(), duration }, now).await? {
            OpResult::Leased(leased) => Ok(leased.map(|r| *r)),
            other => Err(mismatch(&other)),
        }
    }

    async fn renew_lease(
        &self,
        route: &RouteId,
        owner: &LeaseOwner,
        duration: Duration,
        now: Timestamp,
    ) -> Result<Timestamp> {
        self.inner.renew_lease(route, owner, duration, now).await
    }

    async fn release(&self, route: &RouteId, owner: &LeaseOwner) -> Result<bool> {
        // A release compares no time.
        let op = Op::Release { route: *route, owner: owner.clone(), wake_at: None };
        match self.queued(op, Timestamp::from_millis(i64::MIN)).await? {
            OpResult::Released(released) => Ok(released),
            other => Err(mismatch(&other)),
        }
    }

    async fn release_until(
        &self,
        route: &RouteId,
        owner: &LeaseOwner,
        wake_at: Timestamp,
    ) -> Result<bool> {
        let op = Op::Release { route: *route, owner: owner.clone(), wake_at: Some(wake_at) };
        match self.queued(op, Timestamp::from_millis(i64::MIN)).await? {
            OpResult::Released(released) => Ok(released),
            other => Err(mismatch(&other)),
        }
    }

    async fn apply_batch(
        &self,
        batch: Vec<Transition>,
        now: Timestamp,
    ) -> Result<Vec<Result<Applied>>> {
        self.inner.apply_batch(batch, now).await
    }

    async fn events_since(
        &self,
        tenant: &TenantId,
        route: &RouteId,
        after_seq: u64,
    ) -> Result<Vec<Event>> {
        self.inner.events_since(tenant, route, after_seq).await
    }

    async fn batch(&self, ops: Vec<Op>, now: Timestamp) -> Result<Vec<OpResult>> {
        self.inner.batch(ops, now).await
    }

    async fn apply(&self, transition: Transition, now: Timestamp) -> Result<Applied> {
        match self.queued(Op::Apply(transition), now).await? {
            OpResult::Applied(applied) => applied,
            other => Err(mismatch(&other)),
        }
    }
}

impl GroupCommit {
    async fn queued(&self, op: Op, now: Timestamp) -> Result<OpResult> {
        let (reply, answer) = oneshot::channel();
        self.queue.send((op, now, reply)).map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

fn mismatch(got: &OpResult) -> StoreError {
    StoreError::corrupt(format!("the batch answered another operation: {got:?}"))
}

fn closed() -> StoreError {
    StoreError::Backend { retryable: true, source: "the group committer has stopped".into() }
}
