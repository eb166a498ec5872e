//! What the adapters did, recorded where the keys are — in this process, outside the workers
//! that get killed: every `prepare` (each one builds and signs a payload), with the payload's
//! identity and nonce, in the order the adapters executed them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;
use starkroute_layer::{LegIntent, LegProgress, Prepared, Readiness, Result, SettlementLayer};
use starkroute_types::{Account, Amount, Asset, Layer, RouteId};

/// One `prepare` the adapter executed: when it started and when it answered (on one counter
/// shared by every call), and the payload it built and signed.
#[derive(Debug, Clone)]
pub struct Preparation {
    pub started: u64,
    pub answered: u64,
    pub prepared: Prepared,
}

/// Every preparation, per leg, in execution order.
#[derive(Debug, Default)]
pub struct Recording {
    clock: AtomicU64,
    legs: Mutex<HashMap<(RouteId, u16), Vec<Preparation>>>,
}

impl Recording {
    fn tick(&self) -> u64 {
        self.clock.fetch_add(1, Ordering::SeqCst)
    }

    /// The preparations of a leg, in the order the adapter answered them.
    pub fn of(&self, route: &RouteId, leg: u16) -> Vec<Preparation> {
        self.legs.lock().get(&(*route, leg)).cloned().unwrap_or_default()
    }

    /// How many `prepare` calls the adapters executed in all.
    pub fn total(&self) -> usize {
        self.legs.lock().values().map(Vec::len).sum()
    }
}

/// An adapter whose `prepare` calls are recorded.
pub struct Recorded {
    inner: Arc<dyn SettlementLayer>,
    recording: Arc<Recording>,
}

impl Recorded {
    pub fn wrap(inner: Arc<dyn SettlementLayer>, recording: Arc<Recording>) -> Arc<Self> {
        Arc::new(Self { inner, recording })
    }
}

#[async_trait]
impl SettlementLayer for Recorded {
    fn layer(&self) -> Layer {
        self.inner.layer()
    }
    async fn balance(&self, account: &Account, asset: &Asset) -> Result<Amount> {
        self.inner.balance(account, asset).await
    }
    async fn readiness(&self, account: &Account) -> Result<Readiness> {
        self.inner.readiness(account).await
    }
    async fn prepare(&self, intent: &LegIntent) -> Result<Prepared> {
        let started = self.recording.tick();
        let p = self.inner.prepare(intent).await?;
        let answered = self.recording.tick();
        let leg = (intent.route_id, intent.leg_index);
        let entry = Preparation { started, answered, prepared: p.clone() };
        self.recording.legs.lock().entry(leg).or_default().push(entry);
        Ok(p)
    }
    async fn attach_signature(&self, prepared: &Prepared, signature: &str) -> Result<Prepared> {
        self.inner.attach_signature(prepared, signature).await
    }
    async fn send(&self, prepared: &Prepared) -> Result<()> {
        self.inner.send(prepared).await
    }
    async fn status(&self, prepared: &Prepared) -> Result<LegProgress> {
        self.inner.status(prepared).await
    }
}
