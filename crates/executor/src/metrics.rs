//! What the executor counts: every error it retries or gives up on, and how routes end.
//!
//! Each error is also logged (with `tracing`, naming the route, the leg and the layer); the
//! counters are what an operator graphs and alerts on (the server prints them on `/metrics`).

use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

/// The executor's counters, shared by all its run loops. Read them with
/// [`snapshot`](ExecutorMetrics::snapshot); they only ever grow.
#[derive(Debug, Default)]
pub struct ExecutorMetrics {
    store_errors: AtomicU64,
    leases_lost: AtomicU64,
    adapter_errors_retried: AtomicU64,
    adapter_errors_permanent: AtomicU64,
    drive_errors: AtomicU64,
    routes_completed: AtomicU64,
    routes_failed: AtomicU64,
    routes_cancelled: AtomicU64,
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MetricsSnapshot {
    /// Store calls of the run loop that failed (a database that is down, a refused write); the
    /// route keeps its stored state and is taken up again once the store answers.
    pub store_errors: u64,
    /// Routes this instance stopped driving because another instance took their lease over.
    pub leases_lost: u64,
    /// Settlement-layer errors that are retried after a backoff (a node that timed out, a
    /// transaction that failed in a way a new payload can fix).
    pub adapter_errors_retried: u64,
    /// Settlement-layer errors given up on: refused payloads, legs that failed on their layer,
    /// retries exhausted. Each fails its route.
    pub adapter_errors_permanent: u64,
    /// Other errors of the run loop: stored data the executor cannot read back, a route in a
    /// state the machine refuses.
    pub drive_errors: u64,
    /// Routes driven to `completed`.
    pub routes_completed: u64,
    /// Routes driven to `failed`.
    pub routes_failed: u64,
    /// Routes cancelled (by the API or by the run loop finishing a cancel).
    pub routes_cancelled: u64,
}

impl MetricsSnapshot {
    /// Every counter with its name (e.g. `store_errors`), in a fixed order.
    pub fn counters(&self) -> [(&'static str, u64); 8] {
        [
            ("store_errors", self.store_errors),
            ("leases_lost", self.leases_lost),
            ("adapter_errors_retried", self.adapter_errors_retried),
            ("adapter_errors_permanent", self.adapter_errors_permanent),
            ("drive_errors", self.drive_errors),
            ("routes_completed", self.routes_completed),
            ("routes_failed", self.routes_failed),
            ("routes_cancelled", self.routes_cancelled),
        ]
    }
}

/// Which counter to bump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Counter {
    StoreError,
    LeaseLost,
    AdapterRetried,
    AdapterPermanent,
    DriveError,
    RouteCompleted,
    RouteFailed,
    RouteCancelled,
}

impl ExecutorMetrics {
    /// The counters now.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        MetricsSnapshot {
            store_errors: get(&self.store_errors),
            leases_lost: get(&self.leases_lost),
            adapter_errors_retried: get(&self.adapter_errors_retried),
            adapter_errors_permanent: get(&self.adapter_errors_permanent),
            drive_errors: get(&self.drive_errors),
            routes_completed: get(&self.routes_completed),
            routes_failed: get(&self.routes_failed),
            routes_cancelled: get(&self.routes_cancelled),
        }
    }

    pub(crate) fn count(&self, counter: Counter) {
        let c = match counter {
            Counter::StoreError => &self.store_errors,
            Counter::LeaseLost => &self.leases_lost,
            Counter::AdapterRetried => &self.adapter_errors_retried,
            Counter::AdapterPermanent => &self.adapter_errors_permanent,
            Counter::DriveError => &self.drive_errors,
            Counter::RouteCompleted => &self.routes_completed,
            Counter::RouteFailed => &self.routes_failed,
            Counter::RouteCancelled => &self.routes_cancelled,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_each_counter_on_its_own() {
        let m = ExecutorMetrics::default();
        m.count(Counter::StoreError);
        m.count(Counter::StoreError);
        m.count(Counter::RouteFailed);
        let s = m.snapshot();
        assert_eq!((s.store_errors, s.routes_failed, s.routes_completed), (2, 1, 0));
        let named: Vec<_> = s.counters().into_iter().filter(|(_, n)| *n > 0).collect();
        assert_eq!(named, [("store_errors", 2), ("routes_failed", 1)]);
    }
}
