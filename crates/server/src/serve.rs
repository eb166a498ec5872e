//! `starkroute serve`: the HTTP API over the embedded sandbox, in one process with no set-up.
//!
//! [`SandboxStack`] wires the concrete parts together: the demo world ([`Demo`]) behind a
//! [`SharedWorld`]; the sandbox's StarkEx REST API on a loopback port with the production StarkEx
//! adapter ([`StarkExLayer`]) talking to it; the in-process L1 and Starknet adapters; a SQLite
//! store under the data directory; an [`Executor`] and the API's state. `serve` then runs the
//! world's clock, the executor's loop and the API until SIGINT/SIGTERM.
//!
//! Shutdown: the API stops accepting connections and finishes the requests in flight (open event
//! streams end), the executor finishes the step it is taking, and the store is closed. Every
//! route's state is in the store, so a restart resumes each one where it stopped.
//!
//! The executor runs on the wall clock: its lease and retry times are real time, while the legs'
//! finality follows the world's virtual clock, which runs `sandbox.speed` times faster.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use clap::Args;
use serde_json::json;
use starkroute_executor::{Backoff, Clock, Executor, ExecutorConfig, SystemClock};
use starkroute_layer::SettlementLayer;
use starkroute_sandbox::adapters::{SandboxL1, SandboxStarknet};
use starkroute_sandbox::world::{
    run_clock, starkex_router, Demo, DemoParty, DemoTokens, SharedWorld,
};
use starkroute_starkex::{StarkExClient, StarkExLayer};
use starkroute_store::{LeaseOwner, RouteStore, SqliteStore};
use starkroute_types::StarknetAddress;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{self, AppState, Deps, SANDBOX_DEMO_KEY};
use crate::cli::CliError;
use crate::config::{Config, Overrides};

/// Arguments of `starkroute serve`. Flags override the configuration file and the
/// `STARKROUTE_*` environment variables.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file (default: the embedded config/sandbox.toml).
    #[arg(long, env = "STARKROUTE_CONFIG", value_name = "FILE")]
    config: Option<std::path::PathBuf>,
    /// Address the API listens on [config: api.listen; default 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Directory of the SQLite store [config: store.data_dir; default ./.starkroute].
    #[arg(long, value_name = "DIR")]
    data_dir: Option<std::path::PathBuf>,
    /// Simulated seconds per real second of the sandbox's clock [config: sandbox.speed].
    #[arg(long)]
    speed: Option<u64>,
}

/// A failure to start the stack.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ServeError(pub String);

fn fail(what: &str) -> impl Fn(&dyn std::fmt::Display) -> ServeError + '_ {
    move |e| ServeError(format!("{what}: {e}"))
}

/// The demo parties and tokens of the sandbox world the stack runs.
#[derive(Debug, Clone)]
pub struct DemoInfo {
    /// Alice (whose keys the adapters hold when `sandbox.custodial_alice`).
    pub alice: DemoParty,
    /// Bob (whose legs always pause for his signature).
    pub bob: DemoParty,
    /// Token addresses.
    pub tokens: DemoTokens,
}

/// Everything `serve` runs, built and wired, nothing running yet but the StarkEx REST API.
pub struct SandboxStack {
    /// The sandbox world.
    pub world: SharedWorld,
    /// Its demo parties.
    pub demo: DemoInfo,
    /// The store, the executor, the API's state and the shutdown signal.
    pub core: Core,
    /// Base URL of the sandbox's StarkEx REST API.
    pub starkex_url: String,
    starkex_server: JoinHandle<()>,
}

impl std::fmt::Debug for SandboxStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SandboxStack")
            .field("starkex_url", &self.starkex_url)
            .finish_non_exhaustive()
    }
}

impl SandboxStack {
    /// Builds the stack for `config` (store under `store.data_dir`); the API reads time from
    /// `api_clock` (the wall clock in production; tests move it to expire quotes).
    pub async fn start(config: &Config, api_clock: Arc<dyn Clock>) -> Result<Self, ServeError> {
        let Demo { world, alice, bob, tokens } = Demo::new().map_err(|e| fail("sandbox")(&e))?;
        let world = SharedWorld::new(world);
        let (shutdown, mut stop) = watch::channel(false);

        let listener = tokio::net::TcpListener::bind(config.sandbox.starkex_listen)
            .await
            .map_err(|e| fail("sandbox.starkex_listen")(&e))?;
        let starkex_addr = listener.local_addr().map_err(|e| fail("sandbox.starkex_listen")(&e))?;
        let starkex_url = format!("http://{starkex_addr}");
        let app = starkex_router(&world);
        let starkex_server = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = served {
                eprintln!("starkroute serve: sandbox StarkEx API: {e}");
            }
        });

        let alice_sn = StarknetAddress::new(alice.starknet).map_err(|e| fail("sandbox")(&e))?;
        let bob_sn = StarknetAddress::new(bob.starknet).map_err(|e| fail("sandbox")(&e))?;
        let custodial = config.sandbox.custodial_alice;
        let l1_keys = if custodial {
            HashMap::from([(alice.l1(), alice.eth.clone())])
        } else {
            HashMap::new()
        };
        let sn_keys = if custodial {
            HashMap::from([(alice_sn, alice.stark.clone())])
        } else {
            HashMap::new()
        };
        let l1: Arc<dyn SettlementLayer> = Arc::new(SandboxL1::new(world.clone(), l1_keys.clone()));
        let starknet: Arc<dyn SettlementLayer> =
            Arc::new(SandboxStarknet::new(world.clone(), sn_keys).with_public_keys(HashMap::from(
                [(alice_sn, alice.stark_key()), (bob_sn, bob.stark_key())],
            )));
        let stark_keys = if custodial {
            HashMap::from([(alice.stark_key(), alice.stark.clone())])
        } else {
            HashMap::new()
        };
        let client = StarkExClient::new(&starkex_url).map_err(|e| fail("StarkEx client")(&e))?;
        let starkex: Arc<dyn SettlementLayer> =
            Arc::new(StarkExLayer::new(client, stark_keys).with_eth_keys(l1_keys).with_directory(
                HashMap::from([(alice.stark_key(), alice.l1()), (bob.stark_key(), bob.l1())]),
            ));
        let layers = vec![l1, starknet, starkex];

        let core = build_core(config, layers, api_clock, shutdown).await?;
        Ok(Self { world, demo: DemoInfo { alice, bob, tokens }, core, starkex_url, starkex_server })
    }

    /// Runs the world's clock at `speed` simulated seconds per real second until shutdown.
    pub fn spawn_world_clock(&self, speed: u64) -> JoinHandle<()> {
        tokio::spawn(run_clock(
            self.world.clone(),
            speed,
            Duration::from_millis(50),
            self.core.stopped(),
        ))
    }

    /// Stops what is left (the StarkEx API) and closes the store. Call after the executor's loop
    /// has returned.
    pub async fn close(self) {
        self.core.signal_shutdown();
        let _ = self.starkex_server.await;
        self.core.store.close().await;
    }
}

/// The store, the executor, the API's state and the shutdown signal: what every stack `serve`
/// runs shares.
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
) -> Result<Core, ServeError> {
    let store = Arc::new(
        SqliteStore::open_dir(config.data_dir())
            .await
            .map_err(|e| fail(&format!("store.data_dir {}", config.data_dir().display()))(&e))?,
    );
    let ex = &config.executor;
    let owner = LeaseOwner::new(ex.owner.clone()).map_err(|e| fail("executor.owner")(&e))?;
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
    )
    .map_err(ServeError)?;
    Ok(Core { store, executor, state, shutdown })
}

/// SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    #[cfg(unix)]
    {
        if let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// The configuration `serve` runs with: file, then environment, then flags.
pub fn load_config(args: &ServeArgs) -> Result<Config, CliError> {
    let mut overrides = Overrides::new().with_env(std::env::vars());
    if let Some(l) = args.listen {
        overrides =
            overrides.with_flag("api.listen", toml::Value::String(l.to_string()), "--listen");
    }
    if let Some(d) = &args.data_dir {
        let d = d.to_str().ok_or_else(|| CliError("--data-dir: not UTF-8".into()))?;
        overrides =
            overrides.with_flag("store.data_dir", toml::Value::String(d.into()), "--data-dir");
    }
    if let Some(s) = args.speed {
        let s = i64::try_from(s).map_err(|_| CliError("--speed: too large".into()))?;
        overrides = overrides.with_flag("sandbox.speed", toml::Value::Integer(s), "--speed");
    }
    Ok(Config::layered(args.config.as_deref(), &overrides)?)
}

/// Runs `starkroute serve` until SIGINT/SIGTERM.
/// What `serve` runs: the embedded sandbox (no `[network]`), or real local nodes
/// (`[network] name = "devnet"`).
enum Running {
    Sandbox(Box<SandboxStack>),
    Devnet(Box<crate::devnet::DevnetStack>),
}

impl Running {
    async fn start(config: &Config) -> Result<Self, CliError> {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let err = |e: ServeError| CliError(e.to_string());
        match &config.network {
            None => {
                Ok(Self::Sandbox(Box::new(SandboxStack::start(config, clock).await.map_err(err)?)))
            }
            Some(n) if n.name == "devnet" => Ok(Self::Devnet(Box::new(
                crate::devnet::DevnetStack::start(config, n, clock).await.map_err(err)?,
            ))),
            Some(n) => Err(CliError(format!(
                "network.name: serve runs the embedded sandbox (no [network] section) or local \
                 nodes (name = \"devnet\"), not {:?}: routing on a public network needs its \
                 StarkEx operator's API and funded keys, which this build does not configure",
                n.name
            ))),
        }
    }

    fn core(&self) -> &Core {
        match self {
            Self::Sandbox(s) => &s.core,
            Self::Devnet(d) => &d.core,
        }
    }

    /// The executor's loop, and the sandbox's clock.
    fn spawn(&self, config: &Config) -> Vec<JoinHandle<()>> {
        let mut tasks = vec![self.core().spawn_executor()];
        if let Self::Sandbox(s) = self {
            tasks.push(s.spawn_world_clock(config.sandbox.speed));
        }
        tasks
    }

    async fn close(self) {
        match self {
            Self::Sandbox(s) => s.close().await,
            Self::Devnet(d) => d.close().await,
        }
    }

    fn describe(&self, config: &Config) -> serde_json::Value {
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

/// Runs `starkroute serve` until SIGINT/SIGTERM.
pub(crate) fn run(args: &ServeArgs) -> Result<String, CliError> {
    let config = load_config(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| CliError(format!("tokio runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.api.listen)
            .await
            .map_err(|e| CliError(format!("api.listen: {}: {e}", config.api.listen)))?;
        let bound = listener.local_addr().map_err(|e| CliError(format!("api.listen: {e}")))?;
        let stack = Running::start(&config).await?;
        let loops = stack.spawn(&config);
        let mut banner = json!({
            "api": format!("http://{bound}"),
            "openapi": format!("http://{bound}/openapi.json"),
            "data_dir": config.data_dir().display().to_string(),
        });
        if let (Some(b), serde_json::Value::Object(more)) =
            (banner.as_object_mut(), stack.describe(&config))
        {
            b.extend(more);
        }
        // The sandbox's demo key is public (documented); any other key is never printed.
        if stack.core().state.inner().tenants.knows(SANDBOX_DEMO_KEY).is_some() {
            banner["api_key"] = json!(SANDBOX_DEMO_KEY);
            banner["try"] = json!(format!(
                "curl -s -H 'Authorization: Bearer {SANDBOX_DEMO_KEY}' http://{bound}/v1/assets"
            ));
        }
        println!("{banner}");
        let server = axum::serve(listener, stack.core().router())
            .with_graceful_shutdown(stack.core().stopped());
        let mut server = tokio::spawn(async move { server.await });
        let early = tokio::select! {
            () = shutdown_signal() => None,
            r = &mut server => Some(r),
        };
        eprintln!("starkroute serve: shutting down (finishing the current step)");
        stack.core().signal_shutdown();
        let served = match early {
            Some(r) => r,
            None => server.await,
        };
        for l in loops {
            let _ = l.await;
        }
        stack.close().await;
        served
            .map_err(|e| CliError(format!("server: {e}")))?
            .map_err(|e| CliError(format!("server: {e}")))?;
        Ok::<_, CliError>(())
    })?;
    Ok(json!({ "stopped": true, "resumable": "every route's state is in the store" }).to_string())
}

fn party(p: &DemoParty) -> serde_json::Value {
    json!({
        "l1": p.l1().to_string(),
        "starkex": p.stark_key().to_string(),
        "starknet": p.starknet.to_fixed_hex_string(),
    })
}
