//! The stacks the API runs, as siblings over one [`Core`] (the store, the executor, the API's
//! state and the shutdown signal):
//!
//! - [`sandbox`]: the embedded sandbox (in-process L1, StarkEx engine, Starknet) — no set-up;
//! - [`devnet`]: real local nodes (anvil, starknet-devnet) with the embedded StarkEx engine
//!   operating a StarkEx contract on anvil.
//!
//! [`Stack::start`] picks one from the configuration's `[network]`.
//!
//! Shutdown: the API stops accepting connections and finishes the requests in flight (open event
//! streams end), the executor finishes the step it is taking, and the store is closed. Every
//! route's state is in the store, so a restart resumes each one where it stopped.

pub mod devnet;
pub mod sandbox;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use serde_json::json;
use starkroute_executor::{Backoff, Clock, Executor, ExecutorConfig, SystemClock};
use starkroute_layer::SettlementLayer;
use starkroute_sandbox::world::DemoParty;
use starkroute_store::{LeaseOwner, RouteStore, SqliteStore};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use devnet::{DevParty, DevnetStack};
pub use sandbox::{DemoInfo, SandboxStack};

use crate::api::{self, AppState, Deps};
use crate::config::Config;
use crate::error::{Error, Result};

/// The store, the executor, the API's state and the shutdown signal: what every stack shares.
#[derive(Debug)]
pub struct Core {
    /// The SQLite store.
    pub store: Arc<SqliteStore>,
    /// The executor.
    pub executor: Arc<Executor>,
    /// The API's state.
    pub state: AppState,
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
    let state = AppState::new(
        config,
        Deps {
            store: dyn_store,
            executor: executor.clone(),
            layers,
            clock: api_clock,
            shutdown: shutdown.subscribe(),
        },
    )?;
    Ok(Core { store, executor, state, shutdown })
}

/// What the API runs over: the embedded sandbox (no `[network]`), or real local nodes
/// (`[network] name = "devnet"`).
#[derive(Debug)]
pub enum Stack {
    /// The embedded sandbox.
    Sandbox(Box<SandboxStack>),
    /// anvil + starknet-devnet + the embedded StarkEx engine.
    Devnet(Box<DevnetStack>),
}

impl Stack {
    /// Builds the stack `config` names; the API runs on the wall clock.
    pub async fn start(config: &Config) -> Result<Self> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        match &config.network {
            None => Ok(Self::Sandbox(Box::new(SandboxStack::start(config, clock).await?))),
            Some(n) if n.name == "devnet" => {
                Ok(Self::Devnet(Box::new(DevnetStack::start(config, n, clock).await?)))
            }
            Some(n) => Err(Error::Unsupported {
                key: "network.name",
                reason: format!(
                    "serve runs the embedded sandbox (no [network] section) or local nodes \
                     (name = \"devnet\"), not {:?}: routing on a public network needs its \
                     StarkEx operator's API and funded keys, which this build does not configure",
                    n.name
                ),
            }),
        }
    }

    /// The store, the executor and the API's state.
    pub fn core(&self) -> &Core {
        match self {
            Self::Sandbox(s) => &s.core,
            Self::Devnet(d) => &d.core,
        }
    }

    /// Starts the executor's loop (and the sandbox's clock, at `sandbox.speed`) until shutdown.
    pub fn spawn(&self, config: &Config) -> Vec<JoinHandle<()>> {
        let mut tasks = vec![self.core().spawn_executor()];
        if let Self::Sandbox(s) = self {
            tasks.push(s.spawn_world_clock(config.sandbox.speed));
        }
        tasks
    }

    /// Stops what is left and closes the store. Call after the loops have returned.
    pub async fn close(self) {
        match self {
            Self::Sandbox(s) => s.close().await,
            Self::Devnet(d) => d.close().await,
        }
    }

    /// What a start-up banner says about the stack: its API, parties and custody.
    pub fn describe(&self, config: &Config) -> serde_json::Value {
        let custodial = if config.sandbox.custodial_alice {
            "the router signs Alice's legs; Bob's pause for his signature"
        } else {
            "every leg pauses for its sender's signature"
        };
        match self {
            Self::Sandbox(s) => json!({ "sandbox": {
                "speed": format!("{} simulated seconds per second", config.sandbox.speed),
                "starkex_api": s.starkex_url,
                "alice": party(&s.demo.alice),
                "bob": party(&s.demo.bob),
                "custodial": custodial,
            }}),
            Self::Devnet(d) => {
                let mut v = d.describe();
                v["custodial"] = json!(custodial);
                json!({ "devnet": v })
            }
        }
    }
}

fn party(p: &DemoParty) -> serde_json::Value {
    json!({
        "l1": p.l1().to_string(),
        "starkex": p.stark_key().to_string(),
        "starknet": p.starknet.to_fixed_hex_string(),
    })
}
