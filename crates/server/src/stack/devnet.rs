//! The devnet stack (`starkroute serve --config config/devnet.toml`): the API over real local
//! nodes — anvil for L1 and starknet-devnet for Starknet, which the user starts — with the
//! embedded StarkEx engine operating a StarkEx contract on anvil.
//!
//! At start the stack deploys a fresh set of contracts ([`deployment::deploy_all`]: the Cairo
//! bridges on devnet, the Solidity contracts on anvil, a USDC pair and an ART collection), loads
//! devnet's postman with the messaging contract, registers the demo parties' Stark keys on the
//! StarkEx contract, gives Alice 1,000,000 USDC on L1 and ART #7 on Starknet, and adds USDC and
//! ART with their deployed addresses to the planner's topology. The deployers and the demo
//! parties use the nodes' published test accounts (anvil's default keys, devnet's predeployed
//! accounts), so the stack refuses any L1 whose chain id is not anvil's 31337.
//!
//! The engine keeps its vaults in memory: a restart deploys a new set of contracts beside the
//! old ones (restart the nodes too for a clean slate). Routes in the store keep the addresses
//! they were planned with.

use std::collections::HashMap;
use std::sync::Arc;

use alloy::network::Ethereum;
use alloy::primitives::U256 as AU256;
use alloy::providers::{Provider, RootProvider};
use alloy::signers::local::PrivateKeySigner;
use serde_json::{json, Value};
use starkroute_crypto::keys::EthPrivateKey;
use starkroute_crypto::StarkPrivateKey;
use starkroute_devstack::deployment::{self, Deployers, Deployment, USDC_QUANTUM};
use starkroute_devstack::{DevStack, DevStackConfig};
use starkroute_ethereum::Keystore;
use starkroute_executor::Clock;
use starkroute_layer::SettlementLayer;
use starkroute_planner::AccountReadiness;
use starkroute_types::{
    Account, AssetClass, EthAddress, Felt, Layer, Quantum, StarkExListing, StarkKey,
    StarknetAddress, Token,
};

use tokio::sync::watch;

use super::shared::{build_core, Core};
use crate::config::{Config, NetworkConfig};
use crate::error::{Error, Result};

/// anvil's default accounts 0–3 (published test keys: anvil prints them at start).
const ANVIL_KEYS: [&str; 4] = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
];
/// anvil's chain id: the only L1 the devnet stack signs on with published keys.
const ANVIL_CHAIN_ID: u64 = 31337;
/// The demo parties' Stark keys (published test keys, as in the sandbox's demo).
const ALICE_STARK: &str = "0xa11ce";
const BOB_STARK: &str = "0xb0b";
/// What Alice starts with.
const ALICE_USDC: u64 = 1_000_000_000_000; // 1,000,000 USDC
const ALICE_ART_ID: u64 = 7;

/// A demo party on the devnet topology.
#[derive(Clone)]
pub struct DevParty {
    /// The L1 wallet.
    pub l1: EthAddress,
    eth_hex: &'static str,
    eth: EthPrivateKey,
    stark: StarkPrivateKey,
    /// The Stark key registered to `l1` on the StarkEx contract.
    pub stark_key: StarkKey,
    /// A devnet predeployed account.
    pub starknet: StarknetAddress,
    starknet_key: Felt,
}

impl std::fmt::Debug for DevParty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevParty")
            .field("l1", &self.l1)
            .field("stark_key", &self.stark_key)
            .field("starknet", &self.starknet)
            .finish_non_exhaustive()
    }
}

impl DevParty {
    /// What the banner shows.
    pub fn describe(&self) -> Value {
        json!({
            "l1": self.l1.to_string(),
            "starkex": self.stark_key.to_string(),
            "starknet": self.starknet.to_string(),
        })
    }
}

fn party(eth_hex: &'static str, stark_hex: &str, starknet: (Felt, Felt)) -> Result<DevParty> {
    let eth = EthPrivateKey::from_hex(eth_hex).map_err(|e| Error::DemoKey(Box::new(e)))?;
    let stark = StarkPrivateKey::from_hex(stark_hex).map_err(|e| Error::DemoKey(Box::new(e)))?;
    Ok(DevParty {
        l1: eth.address(),
        eth_hex,
        stark_key: stark.public_key(),
        eth,
        stark,
        starknet: StarknetAddress::new(starknet.0).map_err(Error::DemoAccount)?,
        starknet_key: starknet.1,
    })
}

fn signer(hex: &str) -> Result<PrivateKeySigner> {
    hex.parse().map_err(|e: alloy::signers::local::LocalSignerError| Error::DemoKey(Box::new(e)))
}

/// devnet's predeployed accounts (address, private key), in order.
async fn predeployed(starknet_rpc: &str) -> Result<Vec<(Felt, Felt)>> {
    let body =
        json!({"jsonrpc": "2.0", "id": 1, "method": "devnet_getPredeployedAccounts", "params": {}});
    let v: Value = reqwest::Client::new()
        .post(starknet_rpc)
        .json(&body)
        .send()
        .await
        .map_err(|source| Error::StarknetNode { source })?
        .json()
        .await
        .map_err(|source| Error::StarknetNode { source })?;
    let felt = |x: &Value| x.as_str().and_then(|s| Felt::from_hex(s).ok());
    let accounts = v["result"]
        .as_array()
        .ok_or_else(|| Error::Unsupported {
            key: "network.starknet_rpc_url",
            reason: format!(
                "devnet_getPredeployedAccounts answered {v} (is it a starknet-devnet?)"
            ),
        })?
        .iter()
        .filter_map(|a| Some((felt(&a["address"])?, felt(&a["private_key"])?)))
        .collect::<Vec<_>>();
    if accounts.len() < 3 {
        return Err(Error::Unsupported {
            key: "network.starknet_rpc_url",
            reason: format!(
                "devnet has {} predeployed accounts; the stack needs 3 (start it with \
                 --accounts 3 or more)",
                accounts.len()
            ),
        });
    }
    Ok(accounts)
}

/// The topology of `config` plus USDC and ART at their deployed addresses, and the demo
/// parties' readiness.
fn topology_with(config: &Config, d: &Deployment, parties: [&DevParty; 2]) -> Result<Config> {
    let mut config = config.clone();
    let topo = &mut config.topology;
    for symbol in ["USDC", "ART"] {
        if topo.tokens.iter().any(|t| t.symbol == symbol) {
            return Err(Error::Unsupported {
                key: "topology.tokens",
                reason: format!(
                    "{symbol} is deployed by the devnet stack at start; remove it from the file"
                ),
            });
        }
    }
    let eth = |a| {
        EthAddress::new(a).map_err(|e| Error::Deployment { what: "address", source: Box::new(e) })
    };
    let sn = |f| {
        StarknetAddress::new(f)
            .map_err(|e| Error::Deployment { what: "address", source: Box::new(e) })
    };
    topo.tokens.push(Token {
        symbol: "USDC".into(),
        class: AssetClass::Erc20,
        decimals: 6,
        home: Layer::L1,
        l1: Some(eth(d.usdc.l1)?),
        starknet: Some(sn(d.usdc.l2)?),
        starkex: Some(StarkExListing {
            quantum: Quantum::new(USDC_QUANTUM)
                .map_err(|e| Error::Deployment { what: "USDC quantum", source: Box::new(e) })?,
            minted_on_starkex: false,
        }),
    });
    topo.tokens.push(Token {
        symbol: "ART".into(),
        class: AssetClass::Erc721,
        decimals: 0,
        home: Layer::Starknet,
        l1: Some(eth(d.art.l1)?),
        starknet: Some(sn(d.art.l2)?),
        starkex: Some(StarkExListing { quantum: Quantum::ONE, minted_on_starkex: false }),
    });
    for p in parties {
        topo.readiness
            .push(AccountReadiness { account: Account::StarkEx(p.stark_key), ready: true });
        topo.readiness
            .push(AccountReadiness { account: Account::Starknet(p.starknet), ready: true });
    }
    Ok(config)
}

/// Everything `serve` runs on the devnet topology.
pub struct DevnetStack {
    /// The engine, the state updater and the REST API over the deployment.
    pub dev: DevStack,
    /// Alice (whose keys the adapters hold when `sandbox.custodial_alice`).
    pub alice: DevParty,
    /// Bob (whose legs pause for his signature).
    pub bob: DevParty,
    /// The store, the executor, the API's state and the shutdown signal.
    pub core: Core,
}

impl std::fmt::Debug for DevnetStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevnetStack").field("dev", &self.dev).finish_non_exhaustive()
    }
}

impl DevnetStack {
    /// Connects to the nodes of `network`, deploys, and builds the stack (see the module).
    pub async fn start(
        config: &Config,
        network: &NetworkConfig,
        api_clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let l1_url = network.l1_rpc_url.clone().ok_or_else(|| Error::Unsupported {
            key: "network.l1_rpc_url",
            reason: "the devnet stack needs anvil's URL".into(),
        })?;
        let sn_url = network.starknet_rpc_url.clone().ok_or_else(|| Error::Unsupported {
            key: "network.starknet_rpc_url",
            reason: "the devnet stack needs starknet-devnet's URL".into(),
        })?;
        let provider = RootProvider::<Ethereum>::new_http(
            l1_url.parse().map_err(|source| Error::Url { key: "network.l1_rpc_url", source })?,
        );
        let chain_id = provider
            .get_chain_id()
            .await
            .map_err(|source| Error::L1Node { url: crate::config::redact_url(&l1_url), source })?;
        if chain_id != ANVIL_CHAIN_ID || network.l1_chain_id != ANVIL_CHAIN_ID {
            return Err(Error::Unsupported {
                key: "network.l1_chain_id",
                reason: format!(
                    "the devnet stack signs with anvil's published test keys and runs only on \
                     anvil's chain {ANVIL_CHAIN_ID}; the node at {l1_url} is chain {chain_id}, \
                     the file says {}",
                    network.l1_chain_id
                ),
            });
        }
        let accounts = predeployed(&sn_url).await?;
        let who = Deployers {
            l1: signer(ANVIL_KEYS[0])?,
            starkex_operator: signer(ANVIL_KEYS[2])?,
            l2: accounts[0],
        };
        let alice = party(ANVIL_KEYS[1], ALICE_STARK, accounts[1])?;
        let bob = party(ANVIL_KEYS[3], BOB_STARK, accounts[2])?;

        let d = deployment::deploy_all(&provider, &sn_url, &who)
            .await
            .map_err(|source| Error::DevStack { step: "deploy", source })?;
        deployment::mint_usdc(
            &provider,
            &who,
            d.usdc.l1,
            alice.l1.address(),
            AU256::from(ALICE_USDC),
        )
        .await
        .map_err(|source| Error::DevStack { step: "deploy", source })?;
        for (p, key) in [(&alice, ANVIL_KEYS[1]), (&bob, ANVIL_KEYS[3])] {
            deployment::register_on_starkex(
                &provider,
                &signer(key)?,
                &d.l1,
                p.l1.address(),
                &p.stark,
            )
            .await
            .map_err(|source| Error::DevStack { step: "registration", source })?;
        }
        deployment::mint_art_on_starknet(
            &sn_url,
            &who,
            d.art.l2,
            alice.starknet.felt(),
            ALICE_ART_ID,
        )
        .await
        .map_err(|source| Error::DevStack { step: "deploy", source })?;

        let planned = topology_with(config, &d, [&alice, &bob])?;
        let dev_config = DevStackConfig {
            starkex_listen: config.sandbox.starkex_listen,
            ..DevStackConfig::local(l1_url, sn_url)
        };
        let dev = DevStack::start(dev_config, &who, d, true)
            .await
            .map_err(|source| Error::DevStack { step: "devnet stack", source })?;

        let custodial = config.sandbox.custodial_alice;
        let held = if custodial { vec![&alice] } else { vec![] };
        let starknet = dev
            .starknet_layer(held.iter().map(|p| (p.starknet, p.starknet_key)).collect())
            .await
            .map_err(|source| Error::DevStack { step: "Starknet adapter", source })?;
        let keys = held.iter().map(|p| signer(p.eth_hex)).collect::<Result<Vec<_>, _>>()?;
        let l1 = dev
            .l1_layer(Keystore::new(keys), Some(starknet.clone()))
            .await
            .map_err(|source| Error::DevStack { step: "L1 adapter", source })?;
        let starkex = dev
            .starkex_layer(
                held.iter().map(|p| (p.stark_key, p.stark.clone())).collect(),
                held.iter().map(|p| (p.l1, p.eth.clone())).collect(),
                HashMap::from([(alice.stark_key, alice.l1), (bob.stark_key, bob.l1)]),
            )
            .map_err(|source| Error::DevStack { step: "StarkEx adapter", source })?;
        let layers: Vec<Arc<dyn SettlementLayer>> = vec![l1, starknet, starkex];
        let core = build_core(&planned, layers, api_clock, watch::channel(false).0).await?;
        Ok(Self { dev, alice, bob, core })
    }

    /// Stops the engine, the state updater and the REST API, and closes the store. Call after
    /// the executor's loop has returned.
    pub async fn close(self) {
        self.core.signal_shutdown();
        self.dev.stop().await;
        self.core.store.close().await;
    }

    /// What the banner says about the deployment and the demo parties.
    pub fn describe(&self) -> Value {
        json!({
            "starkex_api": self.dev.starkex_url,
            "contracts": self.dev.deployment,
            "alice": self.alice.describe(),
            "bob": self.bob.describe(),
        })
    }
}
