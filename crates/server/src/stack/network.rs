//! The generic network stack: the production adapters over the nodes and contracts a
//! configuration's `[network]` names, signing with the keys its `[signers]` lists — the L1
//! adapter (alloy) on `l1_rpc_url`, the Starknet adapter (starknet-rs) on `starknet_rpc_url`, the
//! StarkEx adapter on the deployment's REST API — and the [`Core`] over them. Nothing here
//! deploys a contract or knows a test key: a party whose key is not in `[signers]` has its legs
//! paused for a signature.
//!
//! The StarkEx operator's answers the L1 deposit legs need (which vault a deposit goes to) come
//! from the same REST API (`POST /v1/signable-deposit-details`), with the depositor's Ethereum
//! address read from the StarkEx core contract (`getEthKey`).

use std::collections::HashMap;
use std::sync::Arc;

use alloy::network::Ethereum;
use alloy::primitives::{Address, TxKind};
use alloy::providers::{Provider, RootProvider};
use alloy::rpc::types::{TransactionInput, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolCall;
use async_trait::async_trait;
use serde_json::{json, Value};
use starkroute_crypto::keys::EthPrivateKey;
use starkroute_devstack::StarknetMessages;
use starkroute_ethereum::bindings::StarkExCore;
use starkroute_ethereum::{
    EscapeProof, EthereumL1, Keystore, L1Contracts, StarkExOperator, TokenBridge,
};
use starkroute_executor::Clock;
use starkroute_keys::Signers;
use starkroute_layer::{AdapterError, RpcTimeouts, SettlementLayer};
use starkroute_starkex::{StarkExClient, StarkExLayer};
use starkroute_starknet::{L1Messaging, StarknetConfig, StarknetL2};
use starkroute_types::{Asset, EthAddress, Felt, Layer, StarkKey, StarknetAddress, VaultId};
use tokio::sync::watch;

use super::fees::LiveFees;
use super::shared::{build_core, Core};
use crate::config::{Config, NetworkConfig};
use crate::error::{Error, Result};

/// The URLs of a network, required: `(l1_rpc_url, starknet_rpc_url)`.
pub fn rpc_urls(network: &NetworkConfig) -> Result<(String, String)> {
    let l1 = network.l1_rpc_url.clone().ok_or_else(|| Error::Unsupported {
        key: "network.l1_rpc_url",
        reason: "no L1 JSON-RPC endpoint configured (set it in the file or with \
                 STARKROUTE_NETWORK__L1_RPC_URL)"
            .into(),
    })?;
    let sn = network.starknet_rpc_url.clone().ok_or_else(|| Error::Unsupported {
        key: "network.starknet_rpc_url",
        reason: "no Starknet JSON-RPC endpoint configured (set it in the file or with \
                 STARKROUTE_NETWORK__STARKNET_RPC_URL)"
            .into(),
    })?;
    Ok((l1, sn))
}

/// Replaces every occurrence of the configured URLs in `text` by their keys: node errors quote
/// the URL they failed on, and a provider's URL carries its key.
pub fn scrub(network: &NetworkConfig, text: &str) -> String {
    let mut out = text.to_owned();
    for (key, url) in [
        ("<network.l1_rpc_url>", network.l1_rpc_url.as_deref()),
        ("<network.starknet_rpc_url>", network.starknet_rpc_url.as_deref()),
        ("<network.starkex.api_url>", Some(network.starkex.api_url.as_str())),
    ] {
        if let Some(u) = url.filter(|u| !u.is_empty()) {
            out = out.replace(u, key);
            let trimmed = u.trim_end_matches('/');
            if !trimmed.is_empty() {
                out = out.replace(trimmed, key);
            }
        }
    }
    out
}

/// The StarkGate bridge pair the adapters send a token's legs through when the token has no
/// pair of its own in `network.starkgate.tokens`: the multi-token bridge when configured,
/// otherwise the ETH bridge, otherwise none.
pub fn starkgate_pair(network: &NetworkConfig) -> Result<Option<(EthAddress, StarknetAddress)>> {
    let g = &network.starkgate;
    Ok(g.multi_l1_bridge.zip(g.multi_l2_bridge).or(g.eth_l1_bridge.zip(g.eth_l2_bridge)))
}

/// A token's own StarkGate pair: `(the token as StarkGate names it on L1, its Starknet address,
/// the L1 bridge, the L2 bridge)`.
pub type OwnBridge = (Address, Option<Felt>, Address, Felt);

/// The tokens with a StarkGate pair of their own.
pub fn starkgate_per_token(config: &Config, network: &NetworkConfig) -> Result<Vec<OwnBridge>> {
    network
        .starkgate
        .tokens
        .iter()
        .map(|(symbol, b)| {
            let token = config.topology.find_token(symbol).ok_or_else(|| Error::Unsupported {
                key: "network.starkgate.tokens",
                reason: format!("no token {symbol:?} in [[topology.tokens]]"),
            })?;
            let l1 = starkgate_l1_token(token).ok_or_else(|| Error::Unsupported {
                key: "network.starkgate.tokens",
                reason: format!(
                    "{symbol} has a StarkGate bridge but no L1 address (topology.tokens)"
                ),
            })?;
            Ok((l1, token.starknet.map(|a| a.felt()), b.l1_bridge.address(), b.l2_bridge.felt()))
        })
        .collect()
}

/// The token as StarkGate names it on L1: `STARKGATE_ETH` for ether, else its L1 contract.
pub fn starkgate_l1_token(token: &starkroute_types::Token) -> Option<Address> {
    match token.class {
        starkroute_types::AssetClass::Eth => Some(starkroute_ethereum::STARKGATE_ETH),
        _ => token.l1.map(|a| a.address()),
    }
}

fn address_or_zero(a: Option<EthAddress>) -> Address {
    a.map_or(Address::ZERO, |a| a.address())
}

/// The contracts the L1 adapter calls, from the file. A contract the network does not have is
/// the zero address: the adapter refuses a leg that would call it.
pub fn l1_contracts(config: &Config, network: &NetworkConfig) -> Result<L1Contracts> {
    let pair = starkgate_pair(network)?;
    let starkgate_per_token = starkgate_per_token(config, network)?
        .into_iter()
        .map(|(token, _, l1_bridge, l2_bridge)| TokenBridge { token, l1_bridge, l2_bridge })
        .collect();
    Ok(L1Contracts {
        starkex_core: address_or_zero(network.starkex.core),
        messaging: address_or_zero(network.starknet_core),
        starkgate: address_or_zero(pair.map(|p| p.0)),
        nft_bridge: address_or_zero(network.nft_bridge.l1),
        l2_starkgate_bridge: pair.map_or(Felt::ZERO, |p| p.1.felt()),
        starkgate_per_token,
    })
}

/// The StarkEx operator as its REST API and the core contract answer: a deposit's vault from
/// `POST /v1/signable-deposit-details` (the depositor named by the Stark key's registered
/// Ethereum address, `getEthKey`), an escape path from the availability endpoint
/// `/v1/availability/vaults/{id}?root=`. `Debug` shows the core contract only (the API's URL
/// and the node's may carry keys).
#[derive(Clone)]
pub struct RestOperator {
    http: reqwest::Client,
    base: String,
    /// The data-availability source's base URL, if one is configured.
    availability: Option<String>,
    provider: RootProvider<Ethereum>,
    core: Address,
}

impl std::fmt::Debug for RestOperator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestOperator").field("core", &self.core).finish_non_exhaustive()
    }
}

impl RestOperator {
    /// The operator behind `api_url`, whose core contract is `core` on `provider`'s chain, with
    /// the default timeouts.
    pub fn new(api_url: &str, provider: RootProvider<Ethereum>, core: Address) -> Result<Self> {
        Self::with_timeouts(api_url, provider, core, RpcTimeouts::DEFAULT)
    }

    /// The same with these connect and per-request timeouts on the operator's API.
    pub fn with_timeouts(
        api_url: &str,
        provider: RootProvider<Ethereum>,
        core: Address,
        timeouts: RpcTimeouts,
    ) -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .build()
            .map_err(|e| Error::Unsupported {
                key: "network.starkex.api_url",
                reason: format!("HTTP client: {}", e.without_url()),
            })?;
        let base = api_url.trim_end_matches('/').to_owned();
        Ok(Self { http, base, availability: None, provider, core })
    }

    /// Escape paths from the data-availability source at `url` (`network.starkex.availability_url`).
    #[must_use]
    pub fn with_availability(mut self, url: &str) -> Self {
        self.availability = Some(url.trim_end_matches('/').to_owned());
        self
    }

    async fn eth_key_of(&self, key: &StarkKey) -> starkroute_layer::Result<Address> {
        let call = StarkExCore::getEthKeyCall { ownerKey: key.to_u256() };
        let eth = eth_view(&self.provider, self.core, call)
            .await
            .map_err(|e| AdapterError::retryable(format!("getEthKey({key}): {e}")))?;
        if eth.is_zero() {
            return Err(AdapterError::permanent(format!(
                "the Stark key {key} is not registered on the StarkEx contract"
            )));
        }
        Ok(eth)
    }

    async fn get_json(&self, base: &str, path: &str) -> starkroute_layer::Result<Value> {
        let resp =
            self.http.get(format!("{base}{path}")).send().await.map_err(|e| {
                AdapterError::retryable(format!("StarkEx API: {}", e.without_url()))
            })?;
        Self::json(resp).await
    }

    async fn json(resp: reqwest::Response) -> starkroute_layer::Result<Value> {
        let status = resp.status();
        let body: Value = resp
            .json()
            .await
            .map_err(|e| AdapterError::retryable(format!("StarkEx API: {}", e.without_url())))?;
        if status.is_success() {
            Ok(body)
        } else if status.is_server_error() {
            Err(AdapterError::retryable(format!("StarkEx API answered {status}: {body}")))
        } else {
            Err(AdapterError::permanent(format!("StarkEx API answered {status}: {body}")))
        }
    }
}

/// `eth_call` of a view function at the latest block.
pub(crate) async fn eth_view<C: SolCall>(
    provider: &RootProvider<Ethereum>,
    to: Address,
    call: C,
) -> std::result::Result<C::Return, String> {
    let req = TransactionRequest {
        to: Some(TxKind::Call(to)),
        input: TransactionInput::new(call.abi_encode().into()),
        ..Default::default()
    };
    let out = provider.call(req).await.map_err(|e| e.to_string())?;
    C::abi_decode_returns(&out).map_err(|e| format!("undecodable answer: {e}"))
}

fn felt_field(v: &Value, field: &str) -> starkroute_layer::Result<Felt> {
    v[field]
        .as_str()
        .and_then(|s| Felt::from_hex(s).ok())
        .ok_or_else(|| AdapterError::permanent(format!("StarkEx API: no felt {field} in {v}")))
}

#[async_trait]
impl StarkExOperator for RestOperator {
    async fn vault_for(
        &self,
        key: &StarkKey,
        asset_id: &Felt,
    ) -> starkroute_layer::Result<VaultId> {
        Err(AdapterError::permanent(format!(
            "the StarkEx API allocates a deposit's vault by token, not by asset id \
             ({asset_id:#x} for {key}): ask for the asset's deposit vault"
        )))
    }

    async fn deposit_vault(
        &self,
        key: &StarkKey,
        asset: &Asset,
        asset_id: &Felt,
    ) -> starkroute_layer::Result<VaultId> {
        let eth = self.eth_key_of(key).await?;
        let token = starkroute_starkex::token_spec(asset).map_err(AdapterError::from)?;
        let sx = starkroute_crypto::starkex_asset(asset)
            .map_err(|e| AdapterError::permanent(e.to_string()))?;
        // One quantum: the vault does not depend on the amount.
        let body = json!({
            "user": format!("{eth:#x}"),
            "token": token,
            "amount": sx.quantum.get().to_string(),
        });
        let resp = self
            .http
            .post(format!("{}/v1/signable-deposit-details", self.base))
            .json(&body)
            .send()
            .await
            .map_err(|e| AdapterError::retryable(format!("StarkEx API: {}", e.without_url())))?;
        let v = Self::json(resp).await?;
        let (got_key, got_asset) = (felt_field(&v, "stark_key")?, felt_field(&v, "asset_id")?);
        if got_key != key.felt() || got_asset != *asset_id {
            return Err(AdapterError::permanent(format!(
                "signable-deposit-details answered Stark key {got_key:#x} and asset {got_asset:#x}, \
                 expected {key} and {asset_id:#x}"
            )));
        }
        let vault = v["vault_id"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| AdapterError::permanent(format!("StarkEx API: no vault_id in {v}")))?;
        VaultId::new(u64::from(vault)).map_err(|e| AdapterError::permanent(e.to_string()))
    }

    async fn allocated_vault(
        &self,
        key: &StarkKey,
        asset_id: &Felt,
    ) -> starkroute_layer::Result<Option<VaultId>> {
        Err(AdapterError::permanent(format!(
            "which vault {key} holds {asset_id:#x} in is the operator's record, which its REST \
             API does not serve: forced withdrawals need an availability source"
        )))
    }

    async fn escape_proof(
        &self,
        vault: VaultId,
        root: &Felt,
    ) -> starkroute_layer::Result<EscapeProof> {
        let Some(source) = &self.availability else {
            return Err(AdapterError::permanent(
                "an escape needs the vault's Merkle path from a data-availability source, and \
                 network.starkex.availability_url is not configured",
            ));
        };
        let path = format!("/v1/availability/vaults/{}?root={root:#x}", vault.get());
        let v = self.get_json(source, &path).await?;
        let siblings = v["siblings"]
            .as_array()
            .ok_or_else(|| AdapterError::permanent(format!("availability: no siblings in {v}")))?
            .iter()
            .map(|s| {
                s.as_str()
                    .and_then(|s| Felt::from_hex(s).ok())
                    .ok_or_else(|| AdapterError::permanent(format!("availability: sibling {s}")))
            })
            .collect::<starkroute_layer::Result<Vec<_>>>()?;
        let quantized_balance = v["quantized_balance"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| AdapterError::permanent(format!("availability: balance in {v}")))?;
        Ok(EscapeProof { asset_id: felt_field(&v, "asset_id")?, quantized_balance, siblings })
    }
}

/// Everything `serve` runs on a configured network.
pub struct NetworkStack {
    /// The network's name (`sepolia`, `mainnet`, …).
    pub name: String,
    /// The accounts the router signs for.
    pub signing: Value,
    /// The store, the executor, the API's state and the shutdown signal.
    pub core: Core,
    /// The live fees quotes are priced with (refreshed by [`super::Stack::spawn`]).
    pub fees: Arc<LiveFees>,
}

/// The production adapters over a network, and what the banner says about the accounts they
/// sign for: what `serve` and `worker --config` both run.
pub struct NetworkLayers {
    /// L1 first, then Starknet, then StarkEx when the topology has it.
    pub layers: Vec<Arc<dyn SettlementLayer>>,
    /// The accounts the router signs for (addresses, no keys).
    pub signing: Value,
}

impl std::fmt::Debug for NetworkLayers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkLayers").field("signing", &self.signing).finish_non_exhaustive()
    }
}

impl std::fmt::Debug for NetworkStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NetworkStack")
            .field("name", &self.name)
            .field("signing", &self.signing)
            .finish_non_exhaustive()
    }
}

fn eth_key(signer: &PrivateKeySigner) -> Result<EthPrivateKey> {
    EthPrivateKey::from_bytes(&signer.to_bytes().0).map_err(|e| Error::DemoKey(Box::new(e)))
}

impl NetworkStack {
    /// Builds the production adapters over `network` signing with `signers`, the live fee
    /// source (read once before the API serves), and the core. The caller has checked the
    /// network (`doctor`).
    pub async fn start(
        config: &Config,
        network: &NetworkConfig,
        signers: &Signers,
        api_clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        let NetworkLayers { layers, signing } =
            NetworkLayers::build(config, network, signers).await?;
        let router = super::estimates::RouterAccounts {
            l1: signers.l1.first().map(|s| s.address()),
            starknet: signers.starknet.first().map(|a| a.address().felt()),
        };
        let fees = Arc::new(LiveFees::new(config, network, router)?);
        // Warm before the first quote; a failure is logged and counted, and quotes are refused
        // (503) until a refresh succeeds.
        fees.refresh().await;
        let core =
            build_core(config, layers, api_clock, watch::channel(false).0, Some(fees.clone()))
                .await?;
        Ok(Self { name: network.name.clone(), signing, core, fees })
    }
}

impl NetworkLayers {
    /// The production adapters over `network`, signing with `signers`. The caller has checked
    /// the network (`doctor`).
    pub async fn build(
        config: &Config,
        network: &NetworkConfig,
        signers: &Signers,
    ) -> Result<Self> {
        let (l1_url, sn_url) = rpc_urls(network)?;
        let node = |key: &'static str| {
            move |e: String| Error::Unsupported { key, reason: scrub(network, &e) }
        };
        let contracts = l1_contracts(config, network)?;
        let timeouts = network.rpc_timeouts();
        let pair = starkgate_pair(network)?;
        let messaging =
            network.starknet_core.map(|core| L1Messaging { rpc_url: l1_url.clone(), core });
        let starknet_keys: HashMap<StarknetAddress, Felt> =
            signers.starknet.iter().map(|a| (a.address(), a.key().expose_secret())).collect();
        let sn_config = StarknetConfig {
            starkgate_bridge: pair.map(|p| p.1.felt()),
            starkgate_per_token: starkgate_per_token(config, network)?
                .into_iter()
                .filter_map(|(_, l2_token, _, l2_bridge)| Some((l2_token?, l2_bridge)))
                .collect(),
            nft_bridge: network.nft_bridge.l2.map(|a| a.felt()),
            l1: messaging,
            timeouts,
            ..StarknetConfig::new(sn_url.clone())
        };
        let starknet = Arc::new(
            StarknetL2::connect(sn_config, starknet_keys)
                .await
                .map_err(|e| node("network.starknet_rpc_url")(e.to_string()))?,
        );
        let keystore = Keystore::new(signers.l1.clone());
        let mut l1 = EthereumL1::connect_with(&l1_url, contracts.clone(), keystore, timeouts)
            .await
            .map_err(|e| node("network.l1_rpc_url")(e.to_string()))?
            .with_confirmations(network.l1_confirmations.unwrap_or(12))
            .with_l2_messages(Arc::new(StarknetMessages(starknet.clone())));
        let mut layers: Vec<Arc<dyn SettlementLayer>> = vec![starknet.clone()];
        let mut directory = HashMap::new();
        if config.topology.layers.contains(&Layer::StarkEx) {
            let core = network.starkex.core.ok_or_else(|| Error::Unsupported {
                key: "network.starkex.core",
                reason: "starkex is among topology.layers but its core contract is not configured"
                    .into(),
            })?;
            let mut operator = RestOperator::with_timeouts(
                &network.starkex.api_url,
                l1.provider().clone(),
                core.address(),
                timeouts,
            )?;
            let availability = match &network.starkex.availability_url {
                Some(url) => {
                    operator = operator.with_availability(url);
                    Some(
                        StarkExClient::with_timeouts(url, timeouts)
                            .map_err(Error::StarkExClient)?,
                    )
                }
                None => None,
            };
            for k in &signers.starkex {
                let key = k.public_key();
                let eth = operator
                    .eth_key_of(&key)
                    .await
                    .map_err(|e| node("signers.starkex")(e.to_string()))?;
                directory.insert(
                    key,
                    EthAddress::new(eth).map_err(|e| node("signers.starkex")(e.to_string()))?,
                );
            }
            l1 = l1.with_operator(Arc::new(operator));
            let client = StarkExClient::with_timeouts(&network.starkex.api_url, timeouts)
                .map_err(Error::StarkExClient)?;
            let eth_keys = signers
                .l1
                .iter()
                .map(|s| Ok((eth_key(s)?.address(), eth_key(s)?)))
                .collect::<Result<HashMap<_, _>>>()?;
            let mut starkex = StarkExLayer::new(client, signers.stark_keys())
                .with_eth_keys(eth_keys)
                .with_directory(directory.clone());
            if let Some(source) = availability {
                starkex = starkex.with_availability(source);
            }
            layers.push(Arc::new(starkex));
        }
        layers.insert(0, Arc::new(l1));
        let signing = json!({
            "l1": signers.l1.iter().map(|s| format!("{:#x}", s.address())).collect::<Vec<_>>(),
            "starkex": directory.iter().map(|(k, e)| json!({"stark_key": k.to_string(), "l1": e.to_string()})).collect::<Vec<_>>(),
            "starknet": signers.starknet.iter().map(|a| a.address().to_string()).collect::<Vec<_>>(),
        });
        Ok(Self { layers, signing })
    }
}

impl NetworkStack {
    /// Closes the store. Call after the executor's loop has returned.
    pub async fn close(self) {
        self.core.signal_shutdown();
        self.core.store.close().await;
    }

    /// What the banner says: the network, its contracts, the accounts the router signs for.
    /// Never a URL (a provider's URL carries its key).
    pub fn describe(&self, network: &NetworkConfig) -> Value {
        json!({
            "name": self.name,
            "l1_chain_id": network.l1_chain_id,
            "starknet_chain_id": network.starknet_chain_id,
            "l1_rpc": "network.l1_rpc_url (not shown)",
            "starknet_rpc": "network.starknet_rpc_url (not shown)",
            "signs_for": self.signing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_errors_have_the_configured_urls_replaced_by_their_keys() {
        let text = "[network]\nname = \"x\"\nl1_chain_id = 1\nstarknet_chain_id = \"SN_MAIN\"\n\
                    l1_rpc_url = \"https://eth.example/v3/SECRET\"\n\
                    starknet_rpc_url = \"https://sn.example/rpc/SECRET2/\"\n\
                    [network.starkex]\nlive = false\napi_url = \"https://imx.example/?apikey=SECRET3\"\n\
                    [topology]\nlayers = [\"l1\", \"starknet\"]\n";
        let c = Config::parse("x", text).unwrap();
        let n = c.network.unwrap();
        let e = "error sending request for url (https://eth.example/v3/SECRET): refused; \
                 https://sn.example/rpc/SECRET2 and https://imx.example/?apikey=SECRET3";
        let out = scrub(&n, e);
        assert!(!out.contains("SECRET"), "{out}");
        assert!(out.contains("<network.l1_rpc_url>") && out.contains("<network.starknet_rpc_url>"));
        assert!(out.contains("<network.starkex.api_url>"), "{out}");
    }

    #[test]
    fn tokens_with_their_own_starkgate_bridge_use_it_and_the_others_the_default_pair() {
        let base = "[topology]\nlayers = [\"l1\", \"starknet\"]\n\
                    [[topology.tokens]]\nsymbol = \"ETH\"\nclass = \"eth\"\nhome = \"l1\"\n\
                    [[topology.tokens]]\nsymbol = \"B\"\nclass = \"erc20\"\nhome = \"l1\"\n\
                    l1 = \"0x0000000000000000000000000000000000000009\"\nstarknet = \"0x99\"\n\
                    [network]\nname = \"x\"\nl1_chain_id = 1\nstarknet_chain_id = \"SN_MAIN\"\n\
                    [network.starkex]\nlive = false\napi_url = \"http://127.0.0.1:1\"\n\
                    [network.starkgate]\nmulti_l1_bridge = \"0x0000000000000000000000000000000000000005\"\n\
                    multi_l2_bridge = \"0x6\"\n\
                    [network.starkgate.tokens.ETH]\nl1_bridge = \"0x0000000000000000000000000000000000000001\"\nl2_bridge = \"0x2\"\n\
                    [network.starkgate.tokens.B]\nl1_bridge = \"0x0000000000000000000000000000000000000003\"\nl2_bridge = \"0x4\"\n";
        let c = Config::parse("x", base).unwrap();
        let n = c.network.clone().unwrap();
        let l1 = l1_contracts(&c, &n).unwrap();
        assert_eq!(l1.starkgate, Address::with_last_byte(5), "the multi-token bridge by default");
        assert_eq!(l1.l2_starkgate_bridge, Felt::from(6u8));
        let eth = l1
            .starkgate_per_token
            .iter()
            .find(|b| b.token == starkroute_ethereum::STARKGATE_ETH)
            .unwrap();
        assert_eq!((eth.l1_bridge, eth.l2_bridge), (Address::with_last_byte(1), Felt::from(2u8)));
        let b =
            l1.starkgate_per_token.iter().find(|b| b.token == Address::with_last_byte(9)).unwrap();
        assert_eq!((b.l1_bridge, b.l2_bridge), (Address::with_last_byte(3), Felt::from(4u8)));
        let l2 = starkgate_per_token(&c, &n).unwrap();
        assert!(l2
            .iter()
            .any(|(_, t, _, b)| *t == Some(Felt::from(0x99u8)) && *b == Felt::from(4u8)));
    }

    #[test]
    fn the_rest_operators_debug_shows_no_url() {
        let provider =
            RootProvider::<Ethereum>::new_http("https://eth.example/v3/SECRET".parse().unwrap());
        let op = RestOperator::new(
            "https://imx.example/?apikey=SECRET2",
            provider,
            Address::with_last_byte(1),
        )
        .unwrap();
        let d = format!("{op:?}");
        assert!(!d.contains("SECRET") && !d.contains("example"), "{d}");
    }
}
