//! The embedded sandbox stack: the HTTP API over the in-process sandbox, in one process with no
//! set-up (`starkroute serve` without a `[network]`, the demo, the examples and the tests).
//!
//! [`SandboxStack`] wires the concrete parts together: the demo world ([`Demo`]) behind a
//! [`SharedWorld`]; the sandbox's StarkEx REST API on a loopback port with the production StarkEx
//! adapter ([`StarkExLayer`]) talking to it; the in-process L1 and Starknet adapters; and the
//! [`Core`] (a SQLite store under the data directory, an executor, the API's state).
//!
//! The executor runs on the wall clock: its lease and retry times are real time, while the legs'
//! finality follows the world's virtual clock, which runs `sandbox.speed` times faster.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use starkroute_executor::Clock;
use starkroute_layer::SettlementLayer;
use starkroute_sandbox::adapters::{SandboxL1, SandboxStarknet};
use starkroute_sandbox::world::{
    run_clock, starkex_router, Demo, DemoParty, DemoTokens, SharedWorld,
};
use starkroute_starkex::{StarkExClient, StarkExLayer};
use starkroute_types::StarknetAddress;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::shared::{build_core, Core};
use crate::config::Config;
use crate::error::{Error, Result};

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
    pub async fn start(config: &Config, api_clock: Arc<dyn Clock>) -> Result<Self> {
        let Demo { world, alice, bob, tokens } = Demo::new()?;
        let world = SharedWorld::new(world);
        let (shutdown, mut stop) = watch::channel(false);

        let bind_error = |source| Error::Bind {
            key: "sandbox.starkex_listen",
            addr: config.sandbox.starkex_listen,
            source,
        };
        let listener = tokio::net::TcpListener::bind(config.sandbox.starkex_listen)
            .await
            .map_err(bind_error)?;
        let starkex_addr = listener.local_addr().map_err(bind_error)?;
        let starkex_url = format!("http://{starkex_addr}");
        let app = starkex_router(&world);
        let starkex_server = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(layer = "starkex", error = %e, "the sandbox's StarkEx API stopped");
            }
        });

        let alice_sn = StarknetAddress::new(alice.starknet).map_err(Error::DemoAccount)?;
        let bob_sn = StarknetAddress::new(bob.starknet).map_err(Error::DemoAccount)?;
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
        let client = StarkExClient::new(&starkex_url).map_err(Error::StarkExClient)?;
        let starkex: Arc<dyn SettlementLayer> = Arc::new(
            // The engine serves the availability endpoints at its API's URL.
            StarkExLayer::new(client.clone(), stark_keys)
                .with_availability(client)
                .with_eth_keys(l1_keys)
                .with_directory(HashMap::from([
                    (alice.stark_key(), alice.l1()),
                    (bob.stark_key(), bob.l1()),
                ])),
        );
        let layers = vec![l1, starknet, starkex];

        let core = build_core(config, layers, api_clock, shutdown, None).await?;
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
