//! What every stack shares: the store, the executor, the API's state and the shutdown signal.
//! The stacks ([`super::sandbox`], [`super::devnet`]) build their layers and hand them here.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use starkroute_executor::{Backoff, Clock, Executor, ExecutorConfig, SystemClock};
use starkroute_layer::SettlementLayer;
use starkroute_store::{LeaseOwner, RouteStore, SqliteStore, WebhookStore};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{self, AppState, Deps};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::webhooks::{WebhookMetrics, WebhookWorker};

/// The store, the executor, the API's state and the shutdown signal: what every stack shares.
#[derive(Debug)]
pub struct Core {
    /// The SQLite store.
    pub store: Arc<SqliteStore>,
    /// The executor.
    pub executor: Arc<Executor>,
    /// The API's state.
    pub state: AppState,
    /// The webhook delivery worker (over the same store).
    pub webhooks: Arc<WebhookWorker>,
    shutdown: watch::Sender<bool>,
}

impl Core {
    /// The API over this stack.
    pub fn router(&self) -> Router {
        api::router(self.state.clone())
    }

    /// A future that resolves when the stack is told to shut down.
    pub fn stopped(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let mut rx = self.shutdown.subscribe();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    }

    /// Runs the executor's loop until shutdown.
    pub fn spawn_executor(&self) -> JoinHandle<()> {
        let executor = self.executor.clone();
        let stop = self.stopped();
        tokio::spawn(async move { executor.run(stop).await })
    }

    /// Runs the webhook delivery worker until shutdown (it finishes the batch in flight).
    pub fn spawn_webhooks(&self) -> JoinHandle<()> {
        let worker = self.webhooks.clone();
        let stop = self.stopped();
        tokio::spawn(async move { worker.run(stop).await })
    }

    /// Tells everything to stop (open event streams end, the loops return).
    pub fn signal_shutdown(&self) {
        let _ = self.shutdown.send(true);
    }
}

/// Opens the store under `store.data_dir` and builds the executor over `layers` and the API's
/// state over `config` (its topology is what quotes are planned on); `shutdown` stops them.
pub async fn build_core(
    config: &Config,
    layers: Vec<Arc<dyn SettlementLayer>>,
    api_clock: Arc<dyn Clock>,
    shutdown: watch::Sender<bool>,
    fees: Option<Arc<super::fees::LiveFees>>,
) -> Result<Core> {
    let store = Arc::new(
        SqliteStore::open_dir(config.data_dir())
            .await
            .map_err(|source| Error::Store { path: config.data_dir().to_owned(), source })?,
    );
    let ex = &config.executor;
    let owner = LeaseOwner::new(ex.owner.clone()).map_err(Error::Owner)?;
    let executor_config = ExecutorConfig {
        lease_duration: Duration::from_millis(ex.lease_ms),
        poll_interval: Duration::from_millis(ex.poll_interval_ms),
        backoff: Backoff {
            initial: Duration::from_millis(ex.backoff_initial_ms),
            max: Duration::from_millis(ex.backoff_max_ms),
            ..Backoff::default()
        },
        ..ExecutorConfig::default()
    };
    let dyn_store: Arc<dyn RouteStore> = store.clone();
    let executor = Arc::new(Executor::new(
        dyn_store.clone(),
        layers.clone(),
        owner,
        executor_config,
        Arc::new(SystemClock),
    ));
    let webhook_store: Arc<dyn WebhookStore> = store.clone();
    let webhook_metrics = Arc::new(WebhookMetrics::default());
    let hooks_owner = LeaseOwner::new(format!("{}-webhooks", ex.owner)).map_err(Error::Owner)?;
    let webhooks = Arc::new(
        WebhookWorker::new(
            webhook_store.clone(),
            &config.webhooks,
            hooks_owner,
            Arc::new(SystemClock),
            webhook_metrics.clone(),
        )
        .map_err(|e| Error::Unsupported {
            key: "webhooks",
            reason: format!("the webhook HTTP client could not be built: {e}"),
        })?,
    );
    let state = AppState::new(
        config,
        Deps {
            store: dyn_store,
            executor: executor.clone(),
            layers,
            clock: api_clock,
            shutdown: shutdown.subscribe(),
            webhooks: webhook_store,
            webhook_metrics,
            fees,
        },
    )?;
    Ok(Core { store, executor, state, webhooks, shutdown })
}
