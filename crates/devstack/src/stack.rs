//! The running parts around a [`Deployment`]: the engine operating the StarkEx contract (and its
//! REST API on loopback), Starknet's state updates on L1, and the three production adapters
//! wired to them.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use alloy::network::Ethereum;
use alloy::providers::RootProvider;
use starkroute_crypto::keys::EthPrivateKey;
use starkroute_crypto::StarkPrivateKey;
use starkroute_ethereum::{EthereumL1, Keystore};
use starkroute_starkex::{StarkExClient, StarkExLayer};
use starkroute_starkex_engine::{StarkExConfig, StarkExEngine, TokenListing};
use starkroute_starknet::{L1Messaging, StarknetConfig, StarknetL2};
use starkroute_types::{EthAddress, Felt, StarkKey, StarknetAddress};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::deployment::{Deployers, Deployment, USDC_QUANTUM};
use crate::{Error, L1Operator, Result, StarknetMessages, StateUpdater};

/// Where the nodes are and how often the operators act.
#[derive(Debug, Clone)]
pub struct DevStackConfig {
    /// The L1 node's JSON-RPC URL (anvil).
    pub l1_rpc_url: String,
    /// The Starknet node's JSON-RPC URL (starknet-devnet).
    pub starknet_rpc_url: String,
    /// Where the engine's REST API listens (port 0: any free port).
    pub starkex_listen: SocketAddr,
    /// Seconds between the engine's batches.
    pub batch_interval_secs: u64,
    /// L1 confirmations before the engine credits a deposit.
    pub deposit_confirmations: u64,
    /// How often the engine reads the contract and ticks.
    pub operator_interval: Duration,
    /// How often Starknet's state update runs.
    pub update_interval: Duration,
}

impl DevStackConfig {
    /// Local nodes at these URLs, a batch every 2 seconds, one confirmation.
    pub fn local(l1_rpc_url: impl Into<String>, starknet_rpc_url: impl Into<String>) -> Self {
        Self {
            l1_rpc_url: l1_rpc_url.into(),
            starknet_rpc_url: starknet_rpc_url.into(),
            starkex_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            batch_interval_secs: 2,
            deposit_confirmations: 1,
            operator_interval: Duration::from_millis(300),
            update_interval: Duration::from_millis(500),
        }
    }
}

/// The engine, the state updater and the REST API, running until [`DevStack::stop`] (or drop).
pub struct DevStack {
    /// The configuration.
    pub config: DevStackConfig,
    /// The contracts.
    pub deployment: Deployment,
    /// The L1 node.
    pub provider: RootProvider<Ethereum>,
    /// The engine as StarkEx operator.
    pub operator: Arc<L1Operator>,
    /// The engine's REST API base URL.
    pub starkex_url: String,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for DevStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevStack")
            .field("deployment", &self.deployment)
            .field("starkex_url", &self.starkex_url)
            .finish_non_exhaustive()
    }
}

impl DevStack {
    /// Starts the engine over `deployment`'s StarkEx contract (ether and USDC listed), its REST
    /// API, and — when `with_starknet` — loads devnet's postman with the messaging contract and
    /// runs Starknet's state updates.
    pub async fn start(
        config: DevStackConfig,
        who: &Deployers,
        deployment: Deployment,
        with_starknet: bool,
    ) -> Result<Self> {
        let url = config
            .l1_rpc_url
            .parse()
            .map_err(|e| Error::Setup(format!("L1 RPC URL {:?}: {e}", config.l1_rpc_url)))?;
        let provider = RootProvider::<Ethereum>::new_http(url);
        let usdc =
            EthAddress::new(deployment.usdc.l1).map_err(|e| Error::Setup(format!("USDC: {e}")))?;
        let engine = StarkExEngine::new(StarkExConfig {
            batch_interval_secs: config.batch_interval_secs,
            deposit_confirmations: config.deposit_confirmations,
            tokens: vec![
                TokenListing::eth(),
                TokenListing {
                    symbol: "USDC".into(),
                    name: "USD Coin".into(),
                    decimals: 6,
                    token: Some(usdc),
                    quantum: USDC_QUANTUM,
                },
            ],
            ..StarkExConfig::default()
        });
        let operator = Arc::new(L1Operator::new(
            engine,
            provider.clone(),
            deployment.l1.starkex_core,
            who.starkex_operator.clone(),
        ));
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        tasks.push(tokio::spawn(operator.clone().run(config.operator_interval, stop_rx.clone())));

        let listener = tokio::net::TcpListener::bind(config.starkex_listen)
            .await
            .map_err(|e| Error::Setup(format!("StarkEx API on {}: {e}", config.starkex_listen)))?;
        let addr = listener.local_addr().map_err(|e| Error::Setup(e.to_string()))?;
        let app = operator.router();
        let mut api_stop = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = api_stop.wait_for(|s| *s).await;
                })
                .await;
            if let Err(e) = served {
                tracing::error!(layer = "starkex", error = %e, "the engine's StarkEx API stopped");
            }
        }));

        if with_starknet {
            let updater = Arc::new(StateUpdater::new(
                config.starknet_rpc_url.clone(),
                provider.clone(),
                deployment.l1.messaging,
                who.l1.clone(),
            ));
            updater.load_postman(&config.l1_rpc_url).await?;
            let interval = config.update_interval;
            let rx = stop_rx.clone();
            tasks.push(tokio::spawn(async move { updater.run(interval, rx).await }));
        }
        Ok(Self {
            config,
            deployment,
            provider,
            operator,
            starkex_url: format!("http://{addr}"),
            stop,
            tasks,
        })
    }

    /// The Starknet adapter: the deployed bridges, withdrawals final once the messaging
    /// contract counts their message; signs for `keys`.
    pub async fn starknet_layer(
        &self,
        keys: HashMap<StarknetAddress, Felt>,
    ) -> Result<Arc<StarknetL2>> {
        let core = EthAddress::new(self.deployment.l1.messaging)
            .map_err(|e| Error::Setup(format!("messaging: {e}")))?;
        let config = StarknetConfig {
            starkgate_bridge: Some(self.deployment.l2_token_bridge),
            nft_bridge: Some(self.deployment.l2_nft_bridge),
            l1: Some(L1Messaging { rpc_url: self.config.l1_rpc_url.clone(), core }),
            ..StarknetConfig::new(self.config.starknet_rpc_url.clone())
        };
        let layer = StarknetL2::connect(config, keys)
            .await
            .map_err(|e| Error::Setup(format!("Starknet adapter: {e}")))?;
        Ok(Arc::new(layer))
    }

    /// The L1 adapter: the engine answers its operator questions; NFT-bridge claims read the
    /// withdraw's message through `starknet` (when there is one); one confirmation is final on
    /// a local node.
    pub async fn l1_layer(
        &self,
        keys: Keystore,
        starknet: Option<Arc<StarknetL2>>,
    ) -> Result<Arc<EthereumL1>> {
        let mut l1 = EthereumL1::connect(&self.config.l1_rpc_url, self.deployment.l1.clone(), keys)
            .await
            .map_err(|e| Error::Setup(format!("L1 adapter: {e}")))?
            .with_confirmations(1)
            .with_operator(self.operator.clone());
        if let Some(s) = starknet {
            l1 = l1.with_l2_messages(Arc::new(StarknetMessages(s)));
        }
        Ok(Arc::new(l1))
    }

    /// The StarkEx adapter over the engine's REST API: signs with `stark_keys` (and the
    /// `eth_keys` of their L1 addresses); `directory` maps Stark keys to L1 addresses.
    pub fn starkex_layer(
        &self,
        stark_keys: HashMap<StarkKey, StarkPrivateKey>,
        eth_keys: HashMap<EthAddress, EthPrivateKey>,
        directory: HashMap<StarkKey, EthAddress>,
    ) -> Result<Arc<StarkExLayer>> {
        let client = StarkExClient::new(&self.starkex_url)
            .map_err(|e| Error::Setup(format!("StarkEx client: {e}")))?;
        // The engine serves the availability endpoints at its API's URL.
        Ok(Arc::new(
            StarkExLayer::new(client.clone(), stark_keys)
                .with_availability(client)
                .with_eth_keys(eth_keys)
                .with_directory(directory),
        ))
    }

    /// Stops the loops and the API.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

impl Drop for DevStack {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }
}
