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

use std::path::{Path, PathBuf};
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
use starkroute_executor::Clock;
use starkroute_keys::{AccountFile, KeyKind, PermissionPolicy, ScryptParams};
use starkroute_planner::AccountReadiness;
use starkroute_types::{
    Account, AssetClass, EthAddress, Felt, Layer, Quantum, StarkExListing, StarkKey,
    StarknetAddress, Token,
};

use super::network::NetworkStack;
use super::shared::Core;
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
    /// The network file the generic stack runs on.
    pub network_file: PathBuf,
    /// The live fees quotes are priced with.
    pub fees: Arc<super::fees::LiveFees>,
}

impl std::fmt::Debug for DevnetStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevnetStack").field("dev", &self.dev).finish_non_exhaustive()
    }
}

/// What [`provision`] leaves behind: the contracts deployed and funded, the engine operating
/// the StarkEx contract (its REST API up, Starknet's state updates running), the demo parties,
/// and a network file (with the keystores it names) that the generic stack runs on.
pub struct Provisioned {
    /// The engine, the state updater and the REST API over the deployment.
    pub dev: DevStack,
    /// Alice.
    pub alice: DevParty,
    /// Bob.
    pub bob: DevParty,
    /// The network file: `[network]` with every deployed address, the topology with USDC and
    /// ART, and `[signers]` naming Alice's keystores when `sandbox.custodial_alice`.
    pub network_file: PathBuf,
}

impl std::fmt::Debug for Provisioned {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provisioned")
            .field("dev", &self.dev)
            .field("network_file", &self.network_file)
            .finish_non_exhaustive()
    }
}

/// Deploys on the nodes of `network` (see the module), starts the engine as the StarkEx
/// operator, and writes into `dir` (created; files are never overwritten) a network file and
/// the keystores of the keys the router holds, their password in a private file beside them.
/// The file names the nodes and the deployed contracts; nothing in it deploys or knows a test
/// key: `serve --config FILE` runs the generic network stack on it.
pub async fn provision(
    config: &Config,
    network: &NetworkConfig,
    dir: &Path,
) -> Result<Provisioned> {
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
        .map_err(|source| Error::L1Node { url: super::network::scrub(network, &l1_url), source })?;
    if chain_id != ANVIL_CHAIN_ID || network.l1_chain_id != ANVIL_CHAIN_ID {
        return Err(Error::Unsupported {
            key: "network.l1_chain_id",
            reason: format!(
                "the devnet stack signs with anvil's published test keys and runs only on \
                 anvil's chain {ANVIL_CHAIN_ID}; the node is chain {chain_id}, the file says {}",
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
    deployment::mint_usdc(&provider, &who, d.usdc.l1, alice.l1.address(), AU256::from(ALICE_USDC))
        .await
        .map_err(|source| Error::DevStack { step: "deploy", source })?;
    for (p, key) in [(&alice, ANVIL_KEYS[1]), (&bob, ANVIL_KEYS[3])] {
        deployment::register_on_starkex(&provider, &signer(key)?, &d.l1, p.l1.address(), &p.stark)
            .await
            .map_err(|source| Error::DevStack { step: "registration", source })?;
    }
    deployment::mint_art_on_starknet(&sn_url, &who, d.art.l2, alice.starknet.felt(), ALICE_ART_ID)
        .await
        .map_err(|source| Error::DevStack { step: "deploy", source })?;

    let planned = topology_with(config, &d, [&alice, &bob])?;
    let dev_config = DevStackConfig {
        starkex_listen: config.sandbox.starkex_listen,
        ..DevStackConfig::local(l1_url.clone(), sn_url.clone())
    };
    let dev = DevStack::start(dev_config, &who, d, true)
        .await
        .map_err(|source| Error::DevStack { step: "devnet stack", source })?;
    let held = if config.sandbox.custodial_alice { Some(&alice) } else { None };
    let network_file =
        write_network_file(dir, &planned, network, &dev, held, &l1_url, &sn_url).await?;
    Ok(Provisioned { dev, alice, bob, network_file })
}

fn io(what: &'static str) -> impl Fn(std::io::Error) -> Error {
    move |e| Error::Deployment { what, source: Box::new(e) }
}

fn keys_err(what: &'static str) -> impl Fn(starkroute_keys::KeyError) -> Error {
    move |e| Error::Deployment { what, source: Box::new(e) }
}

fn toml_value<T: serde::Serialize>(what: &'static str, v: &T) -> Result<toml::Value> {
    toml::Value::try_from(v).map_err(|e| Error::Deployment { what, source: Box::new(e) })
}

/// Writes the network file (and the keystores of `held`) into `dir`.
async fn write_network_file(
    dir: &Path,
    planned: &Config,
    network: &NetworkConfig,
    dev: &DevStack,
    held: Option<&DevParty>,
    l1_url: &str,
    sn_url: &str,
) -> Result<PathBuf> {
    use toml::Value as V;
    let d = &dev.deployment;
    std::fs::create_dir_all(dir.join("keys")).map_err(io("network directory"))?;
    let table = |pairs: Vec<(&str, V)>| {
        V::Table(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
    };
    let s = |v: String| V::String(v);
    let mut signers = toml::Table::new();
    if let Some(p) = held {
        let password = starkroute_keys::Password::new(format!(
            "{:#x}",
            starkroute_keys::random_salt().map_err(keys_err("password"))?
        ));
        starkroute_keys::write_new_file(&dir.join("keys/password"), password.expose().as_bytes())
            .map_err(keys_err("password file"))?;
        let keystore = |kind, hex: &str, file: &str| -> Result<()> {
            let key = starkroute_keys::PrivateKey::from_hex(kind, hex).map_err(keys_err("key"))?;
            let ks = starkroute_keys::encrypt_key(kind, &key, &password, ScryptParams::LIGHT)
                .map_err(keys_err("keystore"))?;
            starkroute_keys::write_keystore(&dir.join("keys").join(file), &ks)
                .map_err(keys_err("keystore"))
        };
        keystore(KeyKind::Eth, p.eth_hex, "alice-l1.json")?;
        keystore(KeyKind::Stark, ALICE_STARK, "alice-stark.json")?;
        keystore(KeyKind::Starknet, &format!("{:#x}", p.starknet_key), "alice-starknet.json")?;
        let class = class_hash_at(sn_url, p.starknet.felt()).await?;
        let public = StarkPrivateKey::from_felt(p.starknet_key)
            .map_err(|e| Error::DemoKey(Box::new(e)))?
            .public_key()
            .felt();
        let account = AccountFile::deployed_open_zeppelin(public, class, p.starknet.felt());
        starkroute_keys::write_new_file(
            &dir.join("keys/alice-account.json"),
            account.to_json().as_bytes(),
        )
        .map_err(keys_err("account file"))?;
        let entry = |keystore: &str| {
            table(vec![
                ("keystore", s(format!("keys/{keystore}"))),
                ("password_file", s("keys/password".into())),
            ])
        };
        signers.insert("l1".into(), V::Array(vec![entry("alice-l1.json")]));
        signers.insert("starkex".into(), V::Array(vec![entry("alice-stark.json")]));
        let mut sn = entry("alice-starknet.json");
        if let V::Table(t) = &mut sn {
            t.insert("account".into(), s("keys/alice-account.json".into()));
        }
        signers.insert("starknet".into(), V::Array(vec![sn]));
    }
    let hex_l1 = |a: alloy::primitives::Address| s(format!("{a:#x}"));
    let hex_l2 = |f: Felt| s(format!("{f:#066x}"));
    let net = table(vec![
        ("name", s(network.name.clone())),
        ("l1_chain_id", V::Integer(i64::try_from(ANVIL_CHAIN_ID).unwrap_or(31337))),
        ("starknet_chain_id", s(network.starknet_chain_id.clone())),
        ("l1_rpc_url", s(l1_url.to_owned())),
        ("starknet_rpc_url", s(sn_url.to_owned())),
        ("starknet_core", hex_l1(d.l1.messaging)),
        ("l1_confirmations", V::Integer(1)),
        (
            "starkgate",
            table(vec![(
                "tokens",
                table(vec![(
                    "USDC",
                    table(vec![
                        ("l1_bridge", hex_l1(d.l1.starkgate)),
                        ("l2_bridge", hex_l2(d.l2_token_bridge)),
                    ]),
                )]),
            )]),
        ),
        (
            "nft_bridge",
            table(vec![("l1", hex_l1(d.l1.nft_bridge)), ("l2", hex_l2(d.l2_nft_bridge))]),
        ),
        (
            "starkex",
            table(vec![
                ("live", V::Boolean(true)),
                ("api_url", s(dev.starkex_url.clone())),
                // The engine serves the data-availability endpoints at its API's URL.
                ("availability_url", s(dev.starkex_url.clone())),
                ("core", hex_l1(d.l1.starkex_core)),
            ]),
        ),
    ]);
    let api = table(vec![
        ("listen", s(planned.api.listen.to_string())),
        (
            "tenants",
            V::Array(
                planned
                    .api
                    .tenants
                    .iter()
                    .map(|t| {
                        table(vec![
                            ("name", s(t.name.clone())),
                            ("key_sha256", s(t.key_sha256.clone())),
                        ])
                    })
                    .collect(),
            ),
        ),
    ]);
    let ex = &planned.executor;
    let int = |v: u64| V::Integer(i64::try_from(v).unwrap_or(i64::MAX));
    let executor = table(vec![
        ("owner", s(ex.owner.clone())),
        ("poll_interval_ms", int(ex.poll_interval_ms)),
        ("lease_ms", int(ex.lease_ms)),
        ("backoff_initial_ms", int(ex.backoff_initial_ms)),
        ("backoff_max_ms", int(ex.backoff_max_ms)),
    ]);
    let mut file = toml::Table::new();
    file.insert("topology".into(), toml_value("topology", &planned.topology)?);
    file.insert("costs".into(), toml_value("costs", &planned.costs)?);
    file.insert("api".into(), api);
    file.insert(
        "store".into(),
        table(vec![("data_dir", s(planned.data_dir().display().to_string()))]),
    );
    file.insert("executor".into(), executor);
    file.insert("network".into(), net);
    file.insert("signers".into(), V::Table(signers));
    let text = format!(
        "# A network file written by starkroute's devnet provisioning: the nodes, the contracts it\n\
         # deployed, the topology, and the router's keystores (password in keys/password).\n\
         # `starkroute doctor --config THIS` checks it; `starkroute serve --config THIS` runs it.\n\n{}",
        toml::to_string(&file).map_err(|e| Error::Deployment { what: "network file", source: Box::new(e) })?
    );
    let path = dir.join("network.toml");
    starkroute_keys::write_new_file(&path, text.as_bytes()).map_err(keys_err("network file"))?;
    Ok(path)
}

/// The class of the contract at `address` on the Starknet node.
async fn class_hash_at(starknet_rpc: &str, address: Felt) -> Result<Felt> {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "starknet_getClassHashAt",
        "params": {"block_id": "latest", "contract_address": format!("{address:#x}")}});
    let v: Value = reqwest::Client::new()
        .post(starknet_rpc)
        .json(&body)
        .send()
        .await
        .map_err(|source| Error::StarknetNode { source: source.without_url() })?
        .json()
        .await
        .map_err(|source| Error::StarknetNode { source: source.without_url() })?;
    v["result"].as_str().and_then(|s| Felt::from_hex(s).ok()).ok_or_else(|| Error::Unsupported {
        key: "network.starknet_rpc_url",
        reason: format!("starknet_getClassHashAt answered {v}"),
    })
}

impl DevnetStack {
    /// Deploys on the nodes of `network` and writes a network file ([`provision`], under
    /// `store.data_dir`), then runs the generic network stack on that file: its checks
    /// (`doctor`) first, then the production adapters with the keys it names.
    pub async fn start(
        config: &Config,
        network: &NetworkConfig,
        api_clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let dir = config.data_dir().join(format!("devnet-{stamp}"));
        let p = provision(config, network, &dir).await?;
        let written = Config::load(Some(&p.network_file))?;
        // The file's network, topology and keys; this process's API, store and executor.
        let mut run = config.clone();
        run.topology = written.topology;
        run.network = written.network;
        run.signers = written.signers;
        run.base_dir = written.base_dir;
        let signers =
            run.signers.load(&run.base_dir, PermissionPolicy::Refuse).map_err(Error::Signers)?;
        let report = crate::doctor::check(&run, &signers).await;
        if !report.ok() {
            return Err(Error::Doctor { failures: report.failures() });
        }
        let Some(net) = run.network.clone() else {
            return Err(Error::Unsupported { key: "network", reason: "not written".into() });
        };
        let stack = NetworkStack::start(&run, &net, &signers, api_clock).await?;
        Ok(Self {
            dev: p.dev,
            alice: p.alice,
            bob: p.bob,
            core: stack.core,
            network_file: p.network_file,
            fees: stack.fees,
        })
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
            "network_file": self.network_file.display().to_string(),
        })
    }
}
