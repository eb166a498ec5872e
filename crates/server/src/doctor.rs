//! `starkroute doctor`: checks a configured network against the chains before anything runs on
//! it (`serve` runs the same checks at start and refuses to start on a failure).
//!
//! - each node answers and its chain id is the file's; the Starknet node's JSON-RPC spec version
//!   is one the Starknet adapter supports;
//! - there is code at every configured L1 address and a deployed class at every Starknet one;
//! - the bridges agree with each other and with the file: StarkGate's L1 bridge names the
//!   configured L2 bridge (`l2TokenBridge`), the L2 bridge names the L1 one (`get_l1_bridge`)
//!   and maps each token's L1 address to its Starknet address and back (`get_l2_token`,
//!   `get_l1_token`); the NFT bridge's sides name each other (`l2Bridge`, `get_l1_bridge`);
//! - the StarkEx core has every listed token's asset type registered with its quantum
//!   (`isAssetRegistered`, `getQuantum`), and the StarkEx API answers;
//! - the router's own accounts: each L1 key holds `network.min_balance.l1_wei`, each Starknet
//!   account is deployed and holds `network.min_balance.starknet_fri` of the fee token, each
//!   Stark key is registered on the StarkEx core.
//!
//! Each failure is one line naming the configuration key, what was expected and what the chain
//! says. Node URLs are never printed (a provider's URL carries its key): errors quoting one have
//! it replaced by its key.

use std::time::Duration;

use alloy::primitives::{Address, U256};
use alloy::sol_types::SolCall;
use serde::Serialize;
use serde_json::{json, Value};
use starkroute_ethereum::bindings::{NftBridge, StarkExCore, StarkGateBridge};
use starkroute_keys::Signers;
use starkroute_types::{Asset, AssetClass, Felt, Layer, StarknetAddress};

use crate::config::{Config, NetworkConfig, STRK_ON_STARKNET};
use crate::stack::network::scrub;

/// JSON-RPC spec versions (major.minor) the Starknet adapter is known to work with: starknet-rs
/// implements 0.9, and its methods are exercised against starknet-devnet's 0.10.
pub const SUPPORTED_STARKNET_SPECS: [&str; 2] = ["0.9", "0.10"];

/// One check: the key it is about, what the file expects, what the chain says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The configuration key (`network.l1_chain_id`, `signers.l1[0]`, …).
    pub key: String,
    /// Whether the chain agrees.
    pub ok: bool,
    /// What the file expects.
    pub expected: String,
    /// What the chain says.
    pub actual: String,
}

impl Check {
    /// The one line a person reads.
    pub fn line(&self) -> String {
        if self.ok {
            format!("ok   {}: {}", self.key, self.actual)
        } else {
            format!("FAIL {}: expected {}, found {}", self.key, self.expected, self.actual)
        }
    }
}

/// Every check of a network, in order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The checks.
    pub checks: Vec<Check>,
}

impl Report {
    /// No check failed.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }

    /// The failed checks' lines.
    pub fn failures(&self) -> Vec<String> {
        self.checks.iter().filter(|c| !c.ok).map(Check::line).collect()
    }

    /// Every line.
    pub fn lines(&self) -> Vec<String> {
        self.checks.iter().map(Check::line).collect()
    }

    /// `{"ok": …, "checks": [{key, ok, expected, actual}]}`.
    pub fn to_json(&self) -> Value {
        json!({ "ok": self.ok(), "checks": self.checks })
    }

    fn pass(&mut self, key: impl Into<String>, what: impl Into<String>) {
        let what = what.into();
        self.checks.push(Check { key: key.into(), ok: true, expected: what.clone(), actual: what });
    }

    fn fail(
        &mut self,
        key: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) {
        self.checks.push(Check {
            key: key.into(),
            ok: false,
            expected: expected.into(),
            actual: actual.into(),
        });
    }

    fn check(&mut self, key: impl Into<String>, expected: String, actual: String, ok: bool) {
        if ok {
            self.pass(key, actual);
        } else {
            self.fail(key, expected, actual);
        }
    }
}

/// A JSON-RPC node, its answers with the configured URL scrubbed out of errors.
struct Node<'a> {
    http: reqwest::Client,
    url: String,
    network: &'a NetworkConfig,
}

impl Node<'_> {
    async fn call(&self, method: &str, params: Value) -> Result<Value, String> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let resp = self.http.post(&self.url).json(&body).send().await.map_err(|e| {
            scrub(self.network, &format!("no answer ({})", error_chain(&e.without_url())))
        })?;
        let status = resp.status();
        let v: Value = resp
            .json()
            .await
            .map_err(|e| format!("HTTP {status}, not JSON-RPC ({})", e.without_url()))?;
        if let Some(err) = v.get("error") {
            return Err(scrub(self.network, &format!("{method} failed: {err}")));
        }
        v.get("result")
            .cloned()
            .ok_or_else(|| scrub(self.network, &format!("{method}: no result in {v}")))
    }

    async fn eth_call<C: SolCall>(&self, to: Address, call: C) -> Result<C::Return, String> {
        let data = format!("0x{}", hex::encode(call.abi_encode()));
        let out = self
            .call("eth_call", json!([{"to": format!("{to:#x}"), "data": data}, "latest"]))
            .await?;
        let bytes = out
            .as_str()
            .and_then(|s| hex::decode(s.trim_start_matches("0x")).ok())
            .ok_or_else(|| format!("eth_call answered {out}"))?;
        C::abi_decode_returns(&bytes).map_err(|e| format!("an undecodable answer ({e})"))
    }

    async fn sn_call(
        &self,
        to: Felt,
        function: &str,
        calldata: &[Felt],
    ) -> Result<Vec<Felt>, String> {
        let selector = starknet_core::utils::get_selector_from_name(function)
            .map_err(|e| format!("selector of {function}: {e}"))?;
        let request = json!({
            "contract_address": format!("{to:#x}"),
            "entry_point_selector": format!("{selector:#x}"),
            "calldata": calldata.iter().map(|f| format!("{f:#x}")).collect::<Vec<_>>(),
        });
        let out =
            self.call("starknet_call", json!({"request": request, "block_id": "latest"})).await?;
        out.as_array()
            .ok_or_else(|| format!("starknet_call answered {out}"))?
            .iter()
            .map(|f| {
                f.as_str().and_then(|s| Felt::from_hex(s).ok()).ok_or_else(|| format!("felt {f}"))
            })
            .collect()
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn hex_u64(v: &Value) -> Option<u64> {
    v.as_str().and_then(|s| u64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
}

fn short_string(f: &Felt) -> String {
    let bytes = f.to_bytes_be();
    let s: String = bytes.iter().skip_while(|b| **b == 0).map(|b| *b as char).collect();
    if s.chars().all(|c| c.is_ascii_graphic()) && !s.is_empty() {
        s
    } else {
        format!("{f:#x}")
    }
}

fn eth_of_felt(f: &Felt) -> String {
    let b = f.to_bytes_be();
    format!("{:#x}", Address::from_slice(&b[12..]))
}

/// Runs every check of `config`'s `[network]` for the router's `signers`.
pub async fn check(config: &Config, signers: &Signers) -> Report {
    let mut r = Report::default();
    let Some(network) = &config.network else {
        r.fail("network", "a [network] section", "the file has none (the sandbox needs no checks)");
        return r;
    };
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .connect_timeout(Duration::from_secs(5))
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            r.fail("network", "an HTTP client", e.to_string());
            return r;
        }
    };
    let l1 = match &network.l1_rpc_url {
        Some(url) => Some(Node { http: http.clone(), url: url.clone(), network }),
        None => {
            r.fail(
                "network.l1_rpc_url",
                "an Ethereum JSON-RPC endpoint",
                "none is configured (set it in the file or STARKROUTE_NETWORK__L1_RPC_URL)",
            );
            None
        }
    };
    let sn = match &network.starknet_rpc_url {
        Some(url) => Some(Node { http: http.clone(), url: url.clone(), network }),
        None => {
            r.fail(
                "network.starknet_rpc_url",
                "a Starknet JSON-RPC endpoint",
                "none is configured (set it in the file or STARKROUTE_NETWORK__STARKNET_RPC_URL)",
            );
            None
        }
    };
    let l1 = match l1 {
        Some(n) => l1_node(&mut r, n, network).await,
        None => None,
    };
    let sn = match sn {
        Some(n) => starknet_node(&mut r, n, network).await,
        None => None,
    };
    if let Some(l1) = &l1 {
        l1_code(&mut r, l1, config, network).await;
    }
    if let Some(sn) = &sn {
        starknet_classes(&mut r, sn, config, network).await;
    }
    if let (Some(l1), Some(sn)) = (&l1, &sn) {
        starkgate(&mut r, l1, sn, config, network).await;
        nft_bridge(&mut r, l1, sn, network).await;
    }
    if config.topology.layers.contains(&Layer::StarkEx) {
        if let Some(l1) = &l1 {
            starkex_core(&mut r, l1, config, network, signers).await;
        }
        starkex_api(&mut r, &http, network).await;
    }
    if let Some(l1) = &l1 {
        for (i, s) in signers.l1.iter().enumerate() {
            let key = format!("signers.l1[{i}]");
            let who = s.address();
            let want = U256::from(network.min_balance.l1_wei.0);
            match l1.call("eth_getBalance", json!([format!("{who:#x}"), "latest"])).await {
                Ok(v) => match v.as_str().and_then(|s| U256::from_str_radix(s.trim_start_matches("0x"), 16).ok()) {
                    Some(have) => r.check(
                        key,
                        format!("{who:#x} to hold at least {want} wei (network.min_balance.l1_wei) for its legs' fees"),
                        format!("{who:#x} holds {have} wei"),
                        have >= want,
                    ),
                    None => r.fail(key, "a balance", format!("eth_getBalance answered {v}")),
                },
                Err(e) => r.fail(key, format!("the balance of {who:#x}"), e),
            }
        }
    }
    if let Some(sn) = &sn {
        let token = network
            .starknet_fee_token
            .map(|a| a.felt())
            .unwrap_or_else(|| Felt::from_hex(STRK_ON_STARKNET).unwrap_or(Felt::ZERO));
        for (i, a) in signers.starknet.iter().enumerate() {
            let key = format!("signers.starknet[{i}]");
            let who = a.address();
            match class_at(sn, who.felt()).await {
                Ok(Some(_)) => r.pass(key.clone(), format!("account {who} is deployed")),
                Ok(None) => {
                    r.fail(
                        key,
                        format!("a deployed account at {who}"),
                        "no contract is deployed there (deploy it, e.g. `starkli account deploy`)",
                    );
                    continue;
                }
                Err(e) => {
                    r.fail(key, format!("a deployed account at {who}"), e);
                    continue;
                }
            }
            let want = U256::from(network.min_balance.starknet_fri.0);
            match sn.sn_call(token, "balance_of", &[who.felt()]).await {
                Ok(v) if !v.is_empty() => {
                    let lo = U256::from_be_slice(&v[0].to_bytes_be());
                    let hi = v.get(1).map_or(U256::ZERO, |h| U256::from_be_slice(&h.to_bytes_be()));
                    let have = lo + (hi << 128);
                    r.check(
                        key,
                        format!("{who} to hold at least {want} of the fee token {token:#x} (network.min_balance.starknet_fri)"),
                        format!("{who} holds {have}"),
                        have >= want,
                    );
                }
                Ok(v) => r.fail(key, "a balance", format!("balance_of answered {v:?}")),
                Err(e) => r.fail(key, format!("the fee-token balance of {who}"), e),
            }
        }
    }
    r
}

async fn l1_node<'a>(r: &mut Report, n: Node<'a>, network: &NetworkConfig) -> Option<Node<'a>> {
    match n.call("eth_chainId", json!([])).await {
        Ok(v) => match hex_u64(&v) {
            Some(id) => {
                r.pass("network.l1_rpc_url", "the L1 node answers");
                r.check(
                    "network.l1_chain_id",
                    format!("chain id {}", network.l1_chain_id),
                    format!("chain id {id}"),
                    id == network.l1_chain_id,
                );
                (id == network.l1_chain_id).then_some(n)
            }
            None => {
                r.fail(
                    "network.l1_rpc_url",
                    "an Ethereum JSON-RPC node",
                    format!("eth_chainId answered {v}"),
                );
                None
            }
        },
        Err(e) => {
            r.fail("network.l1_rpc_url", "an Ethereum JSON-RPC node answering eth_chainId", e);
            None
        }
    }
}

async fn starknet_node<'a>(
    r: &mut Report,
    n: Node<'a>,
    network: &NetworkConfig,
) -> Option<Node<'a>> {
    let id = match n.call("starknet_chainId", json!([])).await {
        Ok(v) => match v.as_str().and_then(|s| Felt::from_hex(s).ok()) {
            Some(f) => f,
            None => {
                r.fail(
                    "network.starknet_rpc_url",
                    "a Starknet JSON-RPC node",
                    format!("starknet_chainId answered {v}"),
                );
                return None;
            }
        },
        Err(e) => {
            r.fail(
                "network.starknet_rpc_url",
                "a Starknet JSON-RPC node answering starknet_chainId",
                e,
            );
            return None;
        }
    };
    r.pass("network.starknet_rpc_url", "the Starknet node answers");
    let got = short_string(&id);
    let same = got == network.starknet_chain_id;
    r.check(
        "network.starknet_chain_id",
        format!("chain id {}", network.starknet_chain_id),
        format!("chain id {got}"),
        same,
    );
    match n.call("starknet_specVersion", json!([])).await {
        Ok(v) => {
            let version = v.as_str().unwrap_or_default().to_owned();
            let minor: String = version.split('.').take(2).collect::<Vec<_>>().join(".");
            r.check(
                "network.starknet_rpc_url",
                format!(
                    "a JSON-RPC spec version the adapter supports ({})",
                    SUPPORTED_STARKNET_SPECS.join(", ")
                ),
                format!("spec version {v}"),
                SUPPORTED_STARKNET_SPECS.contains(&minor.as_str()),
            );
        }
        Err(e) => r.fail("network.starknet_rpc_url", "starknet_specVersion", e),
    }
    same.then_some(n)
}

/// The class hash at `address`, `None` when nothing is deployed there.
async fn class_at(sn: &Node<'_>, address: Felt) -> Result<Option<String>, String> {
    match sn
        .call(
            "starknet_getClassHashAt",
            json!({"block_id": "latest", "contract_address": format!("{address:#x}")}),
        )
        .await
    {
        Ok(v) => Ok(Some(v.as_str().unwrap_or_default().to_owned())),
        Err(e) if e.contains("\"code\":20") || e.contains("Contract not found") => Ok(None),
        Err(e) => Err(e),
    }
}

async fn l1_code(r: &mut Report, l1: &Node<'_>, config: &Config, network: &NetworkConfig) {
    let mut addresses: Vec<(String, Address)> = Vec::new();
    let mut add = |key: String, a: Option<starkroute_types::EthAddress>| {
        if let Some(a) = a {
            addresses.push((key, a.address()));
        }
    };
    add("network.starknet_core".into(), network.starknet_core);
    add("network.starkgate.eth_l1_bridge".into(), network.starkgate.eth_l1_bridge);
    add("network.starkgate.multi_l1_bridge".into(), network.starkgate.multi_l1_bridge);
    for (sym, t) in &network.starkgate.tokens {
        add(format!("network.starkgate.tokens.{sym}.l1_bridge"), Some(t.l1_bridge));
    }
    add("network.nft_bridge.l1".into(), network.nft_bridge.l1);
    if config.topology.layers.contains(&Layer::StarkEx) {
        add("network.starkex.core".into(), network.starkex.core);
        add("network.starkex.registration".into(), network.starkex.registration);
    }
    for (i, t) in config.topology.tokens.iter().enumerate() {
        add(format!("topology.tokens[{i}].l1 ({})", t.symbol), t.l1);
    }
    for (key, a) in addresses {
        match l1.call("eth_getCode", json!([format!("{a:#x}"), "latest"])).await {
            Ok(v) => {
                let code = v.as_str().unwrap_or_default();
                let has = code.len() > 2;
                r.check(
                    key,
                    format!("contract code at {a:#x}"),
                    if has {
                        format!("{a:#x} has {} bytes of code", (code.len() - 2) / 2)
                    } else {
                        format!("no code at {a:#x}")
                    },
                    has,
                );
            }
            Err(e) => r.fail(key, format!("contract code at {a:#x}"), e),
        }
    }
}

async fn starknet_classes(r: &mut Report, sn: &Node<'_>, config: &Config, network: &NetworkConfig) {
    let mut addresses: Vec<(String, StarknetAddress)> = Vec::new();
    let mut add = |key: String, a: Option<StarknetAddress>| {
        if let Some(a) = a {
            addresses.push((key, a));
        }
    };
    add("network.starkgate.eth_l2_bridge".into(), network.starkgate.eth_l2_bridge);
    add("network.starkgate.multi_l2_bridge".into(), network.starkgate.multi_l2_bridge);
    for (sym, t) in &network.starkgate.tokens {
        add(format!("network.starkgate.tokens.{sym}.l2_bridge"), Some(t.l2_bridge));
    }
    add("network.nft_bridge.l2".into(), network.nft_bridge.l2);
    add("network.starknet_fee_token".into(), network.starknet_fee_token);
    for (i, t) in config.topology.tokens.iter().enumerate() {
        add(format!("topology.tokens[{i}].starknet ({})", t.symbol), t.starknet);
    }
    for (key, a) in addresses {
        match class_at(sn, a.felt()).await {
            Ok(Some(class)) => r.pass(key, format!("{a} is a deployed contract of class {class}")),
            Ok(None) => r.fail(
                key,
                format!("a deployed contract at {a}"),
                format!("no contract is deployed at {a}"),
            ),
            Err(e) => r.fail(key, format!("a deployed contract at {a}"), e),
        }
    }
}

async fn starkgate(
    r: &mut Report,
    l1: &Node<'_>,
    sn: &Node<'_>,
    config: &Config,
    network: &NetworkConfig,
) {
    let g = &network.starkgate;
    let mut pairs: Vec<(String, Address, Felt, Vec<&starkroute_types::Token>)> = Vec::new();
    let bridged: Vec<_> =
        config.topology.tokens.iter().filter(|t| t.l1.is_some() && t.starknet.is_some()).collect();
    if let (Some(a), Some(b)) = (g.multi_l1_bridge, g.multi_l2_bridge) {
        let tokens =
            bridged.iter().copied().filter(|t| !g.tokens.contains_key(&t.symbol)).collect();
        pairs.push(("network.starkgate.multi".into(), a.address(), b.felt(), tokens));
    }
    if let (Some(a), Some(b)) = (g.eth_l1_bridge, g.eth_l2_bridge) {
        pairs.push(("network.starkgate.eth".into(), a.address(), b.felt(), vec![]));
    }
    for (sym, t) in &g.tokens {
        let tokens = bridged.iter().copied().filter(|x| &x.symbol == sym).collect();
        pairs.push((
            format!("network.starkgate.tokens.{sym}"),
            t.l1_bridge.address(),
            t.l2_bridge.felt(),
            tokens,
        ));
    }
    for (prefix, l1_bridge, l2_bridge, tokens) in pairs {
        let (k1, k2) = if prefix.ends_with(".multi") || prefix.ends_with(".eth") {
            let side = prefix.rsplit('.').next().unwrap_or_default().to_owned();
            (
                format!("network.starkgate.{side}_l2_bridge"),
                format!("network.starkgate.{side}_l1_bridge"),
            )
        } else {
            (format!("{prefix}.l2_bridge"), format!("{prefix}.l1_bridge"))
        };
        match l1.eth_call(l1_bridge, StarkGateBridge::l2TokenBridgeCall {}).await {
            Ok(v) => {
                let named = Felt::from_bytes_be(&v.to_be_bytes::<32>());
                r.check(
                    k1.clone(),
                    format!("the L1 bridge {l1_bridge:#x} to name the L2 bridge {l2_bridge:#x}"),
                    format!("l2TokenBridge() of {l1_bridge:#x} is {named:#x}"),
                    named == l2_bridge,
                );
            }
            Err(e) => r.fail(k1.clone(), format!("l2TokenBridge() of {l1_bridge:#x}"), e),
        }
        match sn.sn_call(l2_bridge, "get_l1_bridge", &[]).await {
            Ok(v) if !v.is_empty() => {
                let named = eth_of_felt(&v[0]);
                let want = format!("{l1_bridge:#x}");
                r.check(
                    k2.clone(),
                    format!("the L2 bridge {l2_bridge:#x} to name the L1 bridge {want}"),
                    format!("get_l1_bridge() of {l2_bridge:#x} is {named}"),
                    named == want,
                );
            }
            Ok(v) => r.fail(k2.clone(), "an L1 bridge", format!("get_l1_bridge answered {v:?}")),
            Err(e) => r.fail(k2.clone(), format!("get_l1_bridge() of {l2_bridge:#x}"), e),
        }
        for t in tokens {
            let (Some(t1), Some(t2)) = (t.l1, t.starknet) else { continue };
            let i = config.topology.tokens.iter().position(|x| x.symbol == t.symbol).unwrap_or(0);
            let key = format!("topology.tokens[{i}].starknet ({})", t.symbol);
            let l1_felt = Felt::from_bytes_be_slice(t1.address().as_slice());
            match sn.sn_call(l2_bridge, "get_l2_token", &[l1_felt]).await {
                Ok(v) if !v.is_empty() => r.check(
                    key.clone(),
                    format!("the L2 bridge to map {} to {t2}", t1),
                    format!("get_l2_token({}) of {l2_bridge:#x} is {:#x}", t1, v[0]),
                    v[0] == t2.felt(),
                ),
                Ok(v) => r.fail(key.clone(), "an L2 token", format!("get_l2_token answered {v:?}")),
                Err(e) => r.fail(key.clone(), format!("get_l2_token({t1}) of {l2_bridge:#x}"), e),
            }
            let key = format!("topology.tokens[{i}].l1 ({})", t.symbol);
            match sn.sn_call(l2_bridge, "get_l1_token", &[t2.felt()]).await {
                Ok(v) if !v.is_empty() => {
                    let named = eth_of_felt(&v[0]);
                    r.check(
                        key,
                        format!("the L2 bridge to map {t2} back to {}", t1),
                        format!("get_l1_token({t2}) of {l2_bridge:#x} is {named}"),
                        named == format!("{:#x}", t1.address()),
                    );
                }
                Ok(v) => r.fail(key, "an L1 token", format!("get_l1_token answered {v:?}")),
                Err(e) => r.fail(key, format!("get_l1_token({t2}) of {l2_bridge:#x}"), e),
            }
        }
    }
}

async fn nft_bridge(r: &mut Report, l1: &Node<'_>, sn: &Node<'_>, network: &NetworkConfig) {
    let (Some(a), Some(b)) = (network.nft_bridge.l1, network.nft_bridge.l2) else { return };
    let (a, b) = (a.address(), b.felt());
    match l1.eth_call(a, NftBridge::l2BridgeCall {}).await {
        Ok(v) => {
            let named = Felt::from_bytes_be(&v.to_be_bytes::<32>());
            r.check(
                "network.nft_bridge.l2",
                format!("the L1 NFT bridge {a:#x} to name the L2 bridge {b:#x}"),
                format!("l2Bridge() of {a:#x} is {named:#x}"),
                named == b,
            );
        }
        Err(e) => r.fail("network.nft_bridge.l2", format!("l2Bridge() of {a:#x}"), e),
    }
    match sn.sn_call(b, "get_l1_bridge", &[]).await {
        Ok(v) if !v.is_empty() => {
            let named = eth_of_felt(&v[0]);
            r.check(
                "network.nft_bridge.l1",
                format!("the L2 NFT bridge {b:#x} to name the L1 bridge {a:#x}"),
                format!("get_l1_bridge() of {b:#x} is {named}"),
                named == format!("{a:#x}"),
            );
        }
        Ok(v) => {
            r.fail("network.nft_bridge.l1", "an L1 bridge", format!("get_l1_bridge answered {v:?}"))
        }
        Err(e) => r.fail("network.nft_bridge.l1", format!("get_l1_bridge() of {b:#x}"), e),
    }
}

async fn starkex_core(
    r: &mut Report,
    l1: &Node<'_>,
    config: &Config,
    network: &NetworkConfig,
    signers: &Signers,
) {
    let Some(core) = network.starkex.core else {
        r.fail(
            "network.starkex.core",
            "the StarkEx core contract (starkex is among topology.layers)",
            "none is configured",
        );
        return;
    };
    let core = core.address();
    for (i, t) in config.topology.tokens.iter().enumerate() {
        let Some(listing) = &t.starkex else { continue };
        if !matches!(t.class, AssetClass::Eth | AssetClass::Erc20 | AssetClass::Erc721) {
            continue;
        }
        let key = format!("topology.tokens[{i}].starkex.quantum ({})", t.symbol);
        // The asset type does not depend on the token id: any id gives it.
        let asset = Asset {
            token: t.clone(),
            token_id: (t.class == AssetClass::Erc721)
                .then(|| starkroute_types::TokenId(U256::from(1u8))),
            minting_blob: None,
        };
        let sx = match starkroute_crypto::starkex_asset(&asset) {
            Ok(sx) => sx,
            Err(e) => {
                r.fail(key, "a StarkEx asset type", e.to_string());
                continue;
            }
        };
        let asset_type = U256::from_be_bytes(sx.asset_type.0.to_bytes_be());
        let registered =
            match l1.eth_call(core, StarkExCore::isAssetRegisteredCall(asset_type)).await {
                Ok(b) => b,
                Err(e) => {
                    r.fail(key, format!("isAssetRegistered({asset_type:#x})"), e);
                    continue;
                }
            };
        if !registered {
            r.fail(
                key,
                format!(
                    "asset type {asset_type:#x} registered with quantum {}",
                    listing.quantum.get()
                ),
                format!("asset type {asset_type:#x} is not registered on {core:#x}"),
            );
            continue;
        }
        match l1.eth_call(core, StarkExCore::getQuantumCall { presumedAssetType: asset_type }).await
        {
            Ok(q) => r.check(
                key,
                format!("quantum {}", listing.quantum.get()),
                format!("asset type {asset_type:#x} has quantum {q}"),
                q == U256::from(listing.quantum.get()),
            ),
            Err(e) => r.fail(key, format!("getQuantum({asset_type:#x})"), e),
        }
    }
    for (i, k) in signers.starkex.iter().enumerate() {
        let key = format!("signers.starkex[{i}]");
        let stark = k.public_key();
        match l1.eth_call(core, StarkExCore::getEthKeyCall { ownerKey: stark.to_u256() }).await {
            Ok(a) => r.check(
                key,
                format!("the Stark key {stark} registered on the StarkEx core"),
                if a.is_zero() {
                    format!("{stark} is not registered")
                } else {
                    format!("{stark} is registered to {a:#x}")
                },
                !a.is_zero(),
            ),
            Err(e) => r.fail(key, "getEthKey", e),
        }
    }
}

async fn starkex_api(r: &mut Report, http: &reqwest::Client, network: &NetworkConfig) {
    let url = format!("{}/v1/tokens", network.starkex.api_url.trim_end_matches('/'));
    match http.get(&url).send().await {
        Ok(resp) if resp.status().is_success() => {
            r.pass("network.starkex.api_url", "the StarkEx API answers GET /v1/tokens")
        }
        Ok(resp) => r.fail(
            "network.starkex.api_url",
            "the StarkEx API answering GET /v1/tokens",
            format!("HTTP {}", resp.status()),
        ),
        Err(e) => r.fail(
            "network.starkex.api_url",
            "the StarkEx API answering GET /v1/tokens",
            format!("no answer ({})", error_chain(&e.without_url())),
        ),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Overrides;

    fn s(v: &str) -> toml::Value {
        toml::Value::String(v.into())
    }

    /// A loopback port nothing listens on.
    fn closed_port() -> u16 {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    }

    #[tokio::test]
    async fn an_unreachable_node_is_one_line_naming_its_key_and_never_its_url() {
        let port = closed_port();
        let secret_url = format!("http://user:provider-secret@127.0.0.1:{port}/v3/provider-secret");
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/sepolia.toml");
        let o = Overrides::new().with_flag("network.l1_rpc_url", s(&secret_url), "test").with_flag(
            "network.starknet_rpc_url",
            s(&format!("http://127.0.0.1:{port}/rpc/provider-secret")),
            "test",
        );
        let config = Config::layered(Some(&file), &o).unwrap();
        let report = check(&config, &Signers::default()).await;
        assert!(!report.ok());
        let failures = report.failures();
        assert_eq!(failures.len(), 2, "{failures:#?}");
        assert!(
            failures[0].starts_with("FAIL network.l1_rpc_url: expected an Ethereum JSON-RPC node answering eth_chainId, found no answer ("),
            "{}",
            failures[0]
        );
        assert!(
            failures[1]
                .starts_with("FAIL network.starknet_rpc_url: expected a Starknet JSON-RPC node"),
            "{}",
            failures[1]
        );
        let all = format!("{} {}", failures.join("\n"), report.to_json());
        assert!(!all.contains("provider-secret"), "{all}");
    }

    #[tokio::test]
    async fn missing_endpoints_are_named_by_their_keys() {
        let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/mainnet.toml");
        let config = Config::layered(Some(&file), &Overrides::new()).unwrap();
        let report = check(&config, &Signers::default()).await;
        let keys: Vec<_> = report.checks.iter().filter(|c| !c.ok).map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["network.l1_rpc_url", "network.starknet_rpc_url"]);
    }

    #[test]
    fn a_starknet_chain_id_reads_as_its_short_string() {
        assert_eq!(short_string(&Felt::from_hex("0x534e5f5345504f4c4941").unwrap()), "SN_SEPOLIA");
        assert_eq!(short_string(&Felt::from_hex("0x1").unwrap()), "0x1");
    }
}
