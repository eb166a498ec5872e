//! Live fees on a configured network: what quotes are priced from instead of the static cost
//! model.
//!
//! - **L1 gas**: `eth_feeHistory` over the last `network.fees.l1_blocks` blocks with the reward
//!   percentile `l1_tip_percentile`: the price is the next block's base fee (the last entry of
//!   `baseFeePerGas`) plus the highest of the blocks' percentile rewards, times each call's gas
//!   units: the chain's estimate where the router's accounts can simulate the call
//!   ([`super::estimates`], every `estimate_secs`), else `[costs.gas]`'.
//! - **Starknet gas**: the latest block's header (`starknet_getBlockWithTxHashes`), its
//!   `l2_gas_price.price_in_wei`, times the call's units, estimated in the same way.
//! - **StarkGate's message fee**: `estimateDepositFeeWei()` of each configured L1 bridge (the
//!   default pair's and each token's own), read at the block of the fee history.
//! - The NFT bridge's message fee and the StarkEx operator's fee have no function on the chain
//!   (the NFT bridge of `contracts/l1` takes any non-zero fee): they stay the configuration's,
//!   and their fee items name the configuration key as their source.
//!
//! A [`LiveFees`] keeps each layer's last reading in a cell refreshed in the background every
//! `refresh_ms`, so a quote never waits on a node while the cache is warm; [`LiveFees::costs`]
//! refuses ([`StaleFees`], a 503 at the API) once a layer's reading is older than
//! `max_age_secs`. Every failed refresh is logged (the layer and the error, never the node's
//! URL) and counted ([`FeeMetrics`], in `/metrics`).
//!
//! Quantities are exact: every price is a `u128` of wei no larger than [`MAX_GAS_PRICE_WEI`], so
//! that any `u64` of gas units times it fits in a `u128`; sums are checked; an answer out of
//! range is an error naming its field, never rounded or saturated.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use alloy::primitives::Address;
use alloy::sol_types::SolCall;
use serde_json::{json, Value};
use starkroute_ethereum::bindings::StarkGateBridge;
use starkroute_planner::{CostModel, LivePrices, PriceSource};
use starkroute_types::{Layer, Wei};
use tokio::task::JoinHandle;

use super::estimates::{GasProbe, RouterAccounts};

/// Estimated gas units by token, then call (the shape of [`LivePrices::gas_units`]).
type GasEstimates = BTreeMap<String, BTreeMap<&'static str, (u64, PriceSource)>>;
use crate::config::{Config, FeeSettings, NetworkConfig};
use crate::error::Result;

/// The highest gas price accepted from a node: `u128::MAX / u64::MAX` wei (about 1.8·10^19,
/// 18 ether per gas), so that gas units (a `u64`) times a price never overflows.
pub const MAX_GAS_PRICE_WEI: u128 = u128::MAX / (u64::MAX as u128);

/// `eth_feeHistory`'s source name in fee items.
pub const L1_SOURCE: &str = "eth_feeHistory";
/// The Starknet block header's source name in fee items.
pub const STARKNET_SOURCE: &str = "starknet_getBlockWithTxHashes";
/// StarkGate's fee function, the source name of its message fees.
pub const STARKGATE_SOURCE: &str = "estimateDepositFeeWei";

/// A node's answer that cannot be used: the field and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeeError {
    /// The node did not answer (connection refused, timeout, HTTP error, JSON-RPC error).
    #[error("{method}: {reason}")]
    Node {
        /// The JSON-RPC method.
        method: &'static str,
        /// What happened (never the URL).
        reason: String,
    },
    /// The answer lacks a field or has a bad value in it.
    #[error("{field}: {reason}")]
    Field {
        /// The field, as `method.path` (`eth_feeHistory.baseFeePerGas[5]`).
        field: String,
        /// Why.
        reason: String,
    },
}

pub(super) fn field(field: impl Into<String>, reason: impl Into<String>) -> FeeError {
    FeeError::Field { field: field.into(), reason: reason.into() }
}

/// A hex quantity (`0x…`, as JSON-RPC writes numbers) of at most 128 bits.
pub(super) fn quantity(v: &Value, name: &str) -> std::result::Result<u128, FeeError> {
    let s = v.as_str().ok_or_else(|| field(name, format!("expected a hex quantity, found {v}")))?;
    let digits = s
        .strip_prefix("0x")
        .ok_or_else(|| field(name, format!("expected a 0x-prefixed hex quantity, found {s:?}")))?;
    if digits.is_empty() || digits.len() > 64 {
        return Err(field(name, format!("expected a hex quantity, found {s:?}")));
    }
    let trimmed = digits.trim_start_matches('0');
    if trimmed.len() > 32 {
        return Err(field(name, format!("{s} does not fit in 128 bits")));
    }
    if trimmed.is_empty() {
        return Ok(0);
    }
    u128::from_str_radix(trimmed, 16)
        .map_err(|_| field(name, format!("expected a hex quantity, found {s:?}")))
}

fn price(v: &Value, name: &str) -> std::result::Result<u128, FeeError> {
    let p = quantity(v, name)?;
    if p > MAX_GAS_PRICE_WEI {
        return Err(field(name, format!("{p} wei per gas is above {MAX_GAS_PRICE_WEI}")));
    }
    Ok(p)
}

/// L1's reading: the gas price of the next block and where it was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L1GasReading {
    /// The newest block of the history (the latest block when read).
    pub block: u64,
    /// The next block's base fee.
    pub base_fee_wei: u128,
    /// The priority fee: the highest percentile reward over the blocks.
    pub tip_wei: u128,
}

impl L1GasReading {
    /// Base fee plus tip, checked against [`MAX_GAS_PRICE_WEI`].
    pub fn gas_price_wei(&self) -> std::result::Result<u128, FeeError> {
        self.base_fee_wei.checked_add(self.tip_wei).filter(|p| *p <= MAX_GAS_PRICE_WEI).ok_or_else(
            || {
                field(
                    "eth_feeHistory",
                    format!(
                        "base fee {} + tip {} is above {MAX_GAS_PRICE_WEI} wei per gas",
                        self.base_fee_wei, self.tip_wei
                    ),
                )
            },
        )
    }
}

/// Parses `eth_feeHistory`'s answer for `blocks` blocks with one reward percentile.
pub fn parse_fee_history(v: &Value, blocks: u64) -> std::result::Result<L1GasReading, FeeError> {
    if !v.is_object() {
        return Err(field("eth_feeHistory", format!("expected an object, found {v}")));
    }
    let oldest = quantity(&v["oldestBlock"], "eth_feeHistory.oldestBlock")?;
    let base = v["baseFeePerGas"].as_array().ok_or_else(|| {
        field(
            "eth_feeHistory.baseFeePerGas",
            format!("expected an array, found {}", v["baseFeePerGas"]),
        )
    })?;
    // One entry per block of the history, plus the next block's.
    if base.len() < 2 || base.len() as u64 > blocks.saturating_add(1) {
        return Err(field(
            "eth_feeHistory.baseFeePerGas",
            format!("expected 2 to {} entries, found {}", blocks.saturating_add(1), base.len()),
        ));
    }
    let n = base.len() - 1;
    let last = base.len() - 1;
    let base_fee_wei = price(&base[last], &format!("eth_feeHistory.baseFeePerGas[{last}]"))?;
    let rewards = v["reward"].as_array().ok_or_else(|| {
        field("eth_feeHistory.reward", format!("expected an array, found {}", v["reward"]))
    })?;
    if rewards.len() != n {
        return Err(field(
            "eth_feeHistory.reward",
            format!("expected {n} entries (one per block), found {}", rewards.len()),
        ));
    }
    let mut tip_wei = 0u128;
    for (i, r) in rewards.iter().enumerate() {
        let name = format!("eth_feeHistory.reward[{i}][0]");
        let one = r
            .as_array()
            .filter(|a| a.len() == 1)
            .ok_or_else(|| field(&name, format!("expected one percentile's reward, found {r}")))?;
        tip_wei = tip_wei.max(price(&one[0], &name)?);
    }
    let newest = oldest
        .checked_add(n as u128 - 1)
        .and_then(|b| u64::try_from(b).ok())
        .ok_or_else(|| field("eth_feeHistory.oldestBlock", format!("{oldest} is out of range")))?;
    let reading = L1GasReading { block: newest, base_fee_wei, tip_wei };
    reading.gas_price_wei()?;
    Ok(reading)
}

/// Starknet's reading: the latest block's L2 gas price in wei.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StarknetGasReading {
    /// The block.
    pub block: u64,
    /// `l2_gas_price.price_in_wei`.
    pub l2_gas_price_wei: u128,
}

/// Parses `starknet_getBlockWithTxHashes`'s header fields.
pub fn parse_starknet_block(v: &Value) -> std::result::Result<StarknetGasReading, FeeError> {
    const M: &str = "starknet_getBlockWithTxHashes";
    if !v.is_object() {
        return Err(field(M, format!("expected a block object, found {v}")));
    }
    let block = v["block_number"].as_u64().ok_or_else(|| {
        field(
            format!("{M}.block_number"),
            format!("expected a block number, found {}", v["block_number"]),
        )
    })?;
    let l2_gas_price_wei =
        price(&v["l2_gas_price"]["price_in_wei"], &format!("{M}.l2_gas_price.price_in_wei"))?;
    Ok(StarknetGasReading { block, l2_gas_price_wei })
}

/// A StarkGate L1 bridge whose message fee is read: the token symbol it serves alone (upper
/// case), or `None` for the default pair's bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeeBridge {
    /// The token with its own bridge, or `None` for the default pair.
    pub token: Option<String>,
    /// The bridge on L1.
    pub l1_bridge: Address,
}

/// One reading of L1: gas price and the bridges' message fees, at one block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L1Reading {
    /// The gas price.
    pub gas: L1GasReading,
    /// Each bridge's `estimateDepositFeeWei()` at `gas.block`.
    pub message_fees: Vec<(FeeBridge, u128)>,
}

/// Refresh counters, per layer (`/metrics`).
#[derive(Debug, Default)]
pub struct FeeMetrics {
    refreshes: [AtomicU64; 2],
    failures: [AtomicU64; 2],
    estimates: [AtomicU64; 2],
    estimate_failures: [AtomicU64; 2],
}

fn slot(layer: Layer) -> usize {
    usize::from(layer != Layer::L1)
}

impl FeeMetrics {
    /// Successful readings of `layer`.
    pub fn refreshes(&self, layer: Layer) -> u64 {
        self.refreshes[slot(layer)].load(Ordering::Relaxed)
    }

    /// Failed readings of `layer`.
    pub fn failures(&self, layer: Layer) -> u64 {
        self.failures[slot(layer)].load(Ordering::Relaxed)
    }

    /// Gas estimates taken on `layer`.
    pub fn estimates(&self, layer: Layer) -> u64 {
        self.estimates[slot(layer)].load(Ordering::Relaxed)
    }

    /// Gas estimates of `layer` that failed (the call reverted or the node did not answer).
    pub fn estimate_failures(&self, layer: Layer) -> u64 {
        self.estimate_failures[slot(layer)].load(Ordering::Relaxed)
    }

    /// Appends the counters in the Prometheus text format.
    pub fn render(&self, s: &mut String) {
        s.push_str("# HELP starkroute_fee_refreshes_total Readings of a layer's live fees.\n");
        s.push_str("# TYPE starkroute_fee_refreshes_total counter\n");
        for layer in [Layer::L1, Layer::Starknet] {
            let _ = writeln!(
                s,
                "starkroute_fee_refreshes_total{{layer=\"{layer}\"}} {}",
                self.refreshes(layer)
            );
        }
        s.push_str(
            "# HELP starkroute_fee_refresh_failures_total Failed readings of a layer's live fees \
             (node unreachable or an unusable answer).\n",
        );
        s.push_str("# TYPE starkroute_fee_refresh_failures_total counter\n");
        for layer in [Layer::L1, Layer::Starknet] {
            let _ = writeln!(
                s,
                "starkroute_fee_refresh_failures_total{{layer=\"{layer}\"}} {}",
                self.failures(layer)
            );
        }
        s.push_str(
            "# HELP starkroute_gas_estimates_total Calls of the router's accounts simulated for \
             their gas units, by outcome (failed: reverted or no answer; the model's units stay).\n",
        );
        s.push_str("# TYPE starkroute_gas_estimates_total counter\n");
        for layer in [Layer::L1, Layer::Starknet] {
            for (outcome, n) in
                [("ok", self.estimates(layer)), ("failed", self.estimate_failures(layer))]
            {
                let _ = writeln!(
                    s,
                    "starkroute_gas_estimates_total{{layer=\"{layer}\",outcome=\"{outcome}\"}} {n}"
                );
            }
        }
    }
}

/// A quote cannot be priced: a layer's last reading is too old (or there is none yet).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{layer} fees are unavailable: {reason}")]
pub struct StaleFees {
    /// The layer.
    pub layer: Layer,
    /// Since when, against which limit.
    pub reason: String,
}

#[derive(Default)]
struct Cells {
    l1: Option<(L1Reading, Instant)>,
    starknet: Option<(StarknetGasReading, Instant)>,
    /// The cost model over both readings, rebuilt when one changes.
    costs: Option<Arc<CostModel>>,
    /// Gas units estimated per token and call, with where and when.
    estimates: GasEstimates,
    /// When the probes last ran.
    estimated_at: Option<Instant>,
}

/// The nodes a [`LiveFees`] reads. `Debug` shows no URL (a provider's URL carries its key).
#[derive(Clone)]
pub struct FeeNodes {
    http: reqwest::Client,
    l1_url: String,
    starknet_url: String,
}

impl std::fmt::Debug for FeeNodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FeeNodes { l1: <network.l1_rpc_url>, starknet: <network.starknet_rpc_url> }")
    }
}

impl FeeNodes {
    /// JSON-RPC clients of the two nodes (10 s timeout per call).
    pub fn new(l1_url: String, starknet_url: String) -> Result<Self> {
        let http =
            reqwest::Client::builder().timeout(Duration::from_secs(10)).build().map_err(|e| {
                crate::error::Error::Unsupported {
                    key: "network.fees",
                    reason: format!("HTTP client: {}", e.without_url()),
                }
            })?;
        Ok(Self { http, l1_url, starknet_url })
    }

    /// A JSON-RPC call to the L1 node.
    pub(super) async fn l1(
        &self,
        method: &'static str,
        params: Value,
    ) -> std::result::Result<Value, FeeError> {
        self.call(&self.l1_url, method, params).await
    }

    /// A JSON-RPC call to the Starknet node.
    pub(super) async fn starknet(
        &self,
        method: &'static str,
        params: Value,
    ) -> std::result::Result<Value, FeeError> {
        self.call(&self.starknet_url, method, params).await
    }

    async fn call(
        &self,
        url: &str,
        method: &'static str,
        params: Value,
    ) -> std::result::Result<Value, FeeError> {
        // A node's own error text might quote the URL it was called on (which carries the
        // provider's key): never let it through.
        let node = |reason: String| FeeError::Node {
            method,
            reason: reason.replace(url, "<url>").replace(url.trim_end_matches('/'), "<url>"),
        };
        let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let resp = self
            .http
            .post(url)
            .json(&body)
            .send()
            .await
            .map_err(|e| node(e.without_url().to_string()))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(node(format!("HTTP {status}")));
        }
        let v: Value = resp.json().await.map_err(|e| node(e.without_url().to_string()))?;
        if let Some(e) = v.get("error") {
            return Err(node(format!("JSON-RPC error {e}")));
        }
        if !v.is_object() {
            return Err(field(method, format!("expected a JSON-RPC answer object, found {v}")));
        }
        v.get("result").cloned().ok_or_else(|| field(method, "no result in the answer"))
    }
}

/// The live fee source of a configured network: a cell per layer, refreshed in the background.
pub struct LiveFees {
    base: CostModel,
    settings: FeeSettings,
    bridges: Vec<FeeBridge>,
    probes: Vec<GasProbe>,
    nodes: Option<FeeNodes>,
    cells: RwLock<Cells>,
    metrics: FeeMetrics,
}

impl std::fmt::Debug for LiveFees {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveFees")
            .field("settings", &self.settings)
            .field("bridges", &self.bridges)
            .field("probes", &self.probes.len())
            .finish_non_exhaustive()
    }
}

impl LiveFees {
    /// The fee source of `network`: its nodes, and the L1 bridges whose message fee is read (the
    /// default StarkGate pair's and each token's own), and the calls of `router`'s accounts
    /// simulated for their gas units ([`super::estimates`]). Reads nothing yet.
    pub fn new(config: &Config, network: &NetworkConfig, router: RouterAccounts) -> Result<Self> {
        let (l1, sn) = super::network::rpc_urls(network)?;
        let mut bridges = Vec::new();
        if let Some((l1_bridge, _)) = super::network::starkgate_pair(network)? {
            bridges.push(FeeBridge { token: None, l1_bridge: l1_bridge.address() });
        }
        for (symbol, b) in &network.starkgate.tokens {
            bridges.push(FeeBridge {
                token: Some(symbol.to_ascii_uppercase()),
                l1_bridge: b.l1_bridge.address(),
            });
        }
        let mut fees = Self::with_nodes(
            config.costs.clone(),
            network.fees.clone(),
            bridges,
            Some(FeeNodes::new(l1, sn)?),
        );
        fees.probes = super::estimates::probes(config, network, router)?;
        Ok(fees)
    }

    /// A fee source over `base` (gas units, latencies, the prices the chain does not publish)
    /// reading `nodes`; without nodes it holds only what [`Self::set_l1`] and
    /// [`Self::set_starknet`] put in (benchmarks).
    pub fn with_nodes(
        base: CostModel,
        settings: FeeSettings,
        bridges: Vec<FeeBridge>,
        nodes: Option<FeeNodes>,
    ) -> Self {
        Self {
            base,
            settings,
            bridges,
            probes: Vec::new(),
            nodes,
            cells: RwLock::default(),
            metrics: FeeMetrics::default(),
        }
    }

    /// The counters.
    pub fn metrics(&self) -> &FeeMetrics {
        &self.metrics
    }

    /// The cost model quotes are priced with now: the static gas units over the last readings.
    /// Refused, naming the layer, when a layer has no reading younger than `max_age_secs`.
    pub fn costs(&self) -> std::result::Result<Arc<CostModel>, StaleFees> {
        self.costs_at(Instant::now())
    }

    fn costs_at(&self, now: Instant) -> std::result::Result<Arc<CostModel>, StaleFees> {
        let max = Duration::from_secs(self.settings.max_age_secs);
        let cells = self.cells.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let ages = [
            (Layer::L1, cells.l1.as_ref().map(|c| c.1)),
            (Layer::Starknet, cells.starknet.as_ref().map(|c| c.1)),
        ];
        for (layer, at) in ages {
            let reason = match at {
                None => "its node has not answered since start".to_owned(),
                Some(at) if now.saturating_duration_since(at) > max => format!(
                    "the last reading is {} s old, older than network.fees.max_age_secs ({} s): \
                     its node does not answer",
                    now.saturating_duration_since(at).as_secs(),
                    max.as_secs()
                ),
                Some(_) => continue,
            };
            return Err(StaleFees { layer, reason });
        }
        cells
            .costs
            .clone()
            .ok_or_else(|| StaleFees { layer: Layer::L1, reason: "no reading yet".into() })
    }

    /// Records an L1 reading taken now.
    pub fn set_l1(&self, reading: L1Reading) -> std::result::Result<(), FeeError> {
        self.set_at(Some(reading), None, Instant::now())
    }

    /// Records a Starknet reading taken now.
    pub fn set_starknet(&self, reading: StarknetGasReading) -> std::result::Result<(), FeeError> {
        self.set_at(None, Some(reading), Instant::now())
    }

    fn set_at(
        &self,
        l1: Option<L1Reading>,
        sn: Option<StarknetGasReading>,
        at: Instant,
    ) -> std::result::Result<(), FeeError> {
        if let Some(r) = &l1 {
            r.gas.gas_price_wei()?;
        }
        let mut cells = self.cells.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let l1 = l1.map(|r| (r, at)).or_else(|| cells.l1.clone());
        let sn = sn.map(|r| (r, at)).or(cells.starknet);
        let costs = match (&l1, &sn) {
            (Some((a, _)), Some((b, _))) => Some(Arc::new(self.price(a, b, &cells.estimates)?)),
            _ => None,
        };
        cells.l1 = l1;
        cells.starknet = sn;
        cells.costs = costs;
        Ok(())
    }

    /// Records gas estimates (token, call → units and where), replacing those of the same calls.
    pub fn set_estimates(
        &self,
        estimates: impl IntoIterator<Item = ((String, &'static str), (u64, PriceSource))>,
    ) -> std::result::Result<(), FeeError> {
        let mut cells = self.cells.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        for ((token, call), estimate) in estimates {
            cells.estimates.entry(token).or_default().insert(call, estimate);
        }
        if let (Some((a, _)), Some((b, _))) = (&cells.l1, &cells.starknet) {
            cells.costs = Some(Arc::new(self.price(a, b, &cells.estimates)?));
        }
        Ok(())
    }

    /// The static model with the readings' prices and their sources.
    fn price(
        &self,
        l1: &L1Reading,
        sn: &StarknetGasReading,
        estimates: &GasEstimates,
    ) -> std::result::Result<CostModel, FeeError> {
        let at = |source, block| PriceSource { source, block: Some(block) };
        let mut costs = self.base.clone();
        costs.l1_gas_price_wei = Wei(l1.gas.gas_price_wei()?);
        costs.starknet_gas_price_wei = Wei(sn.l2_gas_price_wei);
        let mut live = LivePrices {
            l1_gas: Some(at(L1_SOURCE, l1.gas.block)),
            starknet_gas: Some(at(STARKNET_SOURCE, sn.block)),
            nft_bridge_message: Some(PriceSource {
                source: "costs.nft_bridge_message_fee_wei",
                block: None,
            }),
            starkex_operator: Some(PriceSource {
                source: "costs.starkex_operator_fee_wei",
                block: None,
            }),
            l1_to_l2_message: Some(PriceSource {
                source: "costs.l1_to_l2_message_fee_wei",
                block: None,
            }),
            gas_units: estimates.clone(),
            ..LivePrices::default()
        };
        for (bridge, fee) in &l1.message_fees {
            match &bridge.token {
                None => {
                    costs.l1_to_l2_message_fee_wei = Wei(*fee);
                    live.l1_to_l2_message = Some(at(STARKGATE_SOURCE, l1.gas.block));
                }
                Some(t) => {
                    live.message_fee_by_token
                        .insert(t.clone(), (Wei(*fee), at(STARKGATE_SOURCE, l1.gas.block)));
                }
            }
        }
        costs.live = live;
        Ok(costs)
    }

    /// Reads L1: the fee history, then each bridge's message fee at its newest block.
    pub async fn read_l1(&self) -> std::result::Result<L1Reading, FeeError> {
        let nodes = self.nodes.as_ref().ok_or_else(|| field("network.l1_rpc_url", "no node"))?;
        let s = &self.settings;
        let history = nodes
            .call(
                &nodes.l1_url,
                "eth_feeHistory",
                json!([format!("{:#x}", s.l1_blocks), "latest", [s.l1_tip_percentile]]),
            )
            .await?;
        let gas = parse_fee_history(&history, s.l1_blocks)?;
        let mut message_fees = Vec::with_capacity(self.bridges.len());
        let data = format!(
            "0x{}",
            hex::encode(StarkGateBridge::estimateDepositFeeWeiCall {}.abi_encode())
        );
        for b in &self.bridges {
            let out = nodes
                .call(
                    &nodes.l1_url,
                    "eth_call",
                    json!([{ "to": format!("{:#x}", b.l1_bridge), "data": data }, format!("{:#x}", gas.block)]),
                )
                .await?;
            let name = format!("estimateDepositFeeWei() of {:#x}", b.l1_bridge);
            let fee = out
                .as_str()
                .and_then(|s| s.strip_prefix("0x"))
                .filter(|h| h.len() == 64)
                .and_then(|h| hex::decode(h).ok())
                .ok_or_else(|| field(&name, format!("expected one 32-byte word, found {out}")))?;
            let (high, low) = fee.split_at(16);
            if high.iter().any(|b| *b != 0) {
                return Err(field(&name, "does not fit in 128 bits"));
            }
            let mut word = [0u8; 16];
            word.copy_from_slice(low);
            message_fees.push((b.clone(), u128::from_be_bytes(word)));
        }
        Ok(L1Reading { gas, message_fees })
    }

    /// Reads Starknet's latest block header.
    pub async fn read_starknet(&self) -> std::result::Result<StarknetGasReading, FeeError> {
        let nodes =
            self.nodes.as_ref().ok_or_else(|| field("network.starknet_rpc_url", "no node"))?;
        let block = nodes
            .call(
                &nodes.starknet_url,
                "starknet_getBlockWithTxHashes",
                json!({"block_id": "latest"}),
            )
            .await?;
        parse_starknet_block(&block)
    }

    /// Reads both layers once, side by side; a failure is logged (layer and error, no URL) and
    /// counted, and leaves that layer's last reading in place. Then, when due, simulates the
    /// probes at the readings' blocks.
    pub async fn refresh(&self) {
        let (l1, sn) = tokio::join!(self.read_l1(), self.read_starknet());
        let l1 = l1.and_then(|r| self.set_l1(r));
        let sn = sn.and_then(|r| self.set_starknet(r));
        if l1.is_ok() && sn.is_ok() {
            self.estimate_if_due().await;
        }
        for (layer, r) in [(Layer::L1, l1), (Layer::Starknet, sn)] {
            match r {
                Ok(()) => {
                    self.metrics.refreshes[slot(layer)].fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    self.metrics.failures[slot(layer)].fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(layer = %layer, error = %e, "live fee refresh failed");
                }
            }
        }
    }

    /// Simulates every probe when the last run is older than `estimate_secs` (or there was
    /// none). A failed probe is logged and counted; its call keeps its last estimate, or the
    /// model's units.
    async fn estimate_if_due(&self) {
        let Some(nodes) = &self.nodes else { return };
        let (l1_block, message_fees, starknet_block) = {
            let cells = self.cells.read().unwrap_or_else(std::sync::PoisonError::into_inner);
            let due = cells
                .estimated_at
                .is_none_or(|at| at.elapsed() >= Duration::from_secs(self.settings.estimate_secs));
            match (&cells.l1, &cells.starknet) {
                (Some((l1, _)), Some((sn, _))) if due && !self.probes.is_empty() => (
                    l1.gas.block,
                    l1.message_fees.iter().map(|(b, fee)| (b.l1_bridge, *fee)).collect::<Vec<_>>(),
                    sn.block,
                ),
                _ => return,
            }
        };
        let mut estimates = Vec::with_capacity(self.probes.len());
        for probe in &self.probes {
            let layer = probe.layer();
            match nodes.estimate(probe, l1_block, &message_fees, starknet_block).await {
                Ok((units, block)) => {
                    self.metrics.estimates[slot(layer)].fetch_add(1, Ordering::Relaxed);
                    let source = match layer {
                        Layer::L1 => super::estimates::L1_ESTIMATE_SOURCE,
                        _ => super::estimates::STARKNET_ESTIMATE_SOURCE,
                    };
                    let at = PriceSource { source, block: Some(block) };
                    estimates.push(((probe.token.clone(), probe.call), (units, at)));
                }
                Err(e) => {
                    self.metrics.estimate_failures[slot(layer)].fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        layer = %layer, token = %probe.token, call = probe.call, error = %e,
                        "gas estimate failed; the call keeps its last estimate or the model's units"
                    );
                }
            }
        }
        {
            let mut cells = self.cells.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            cells.estimated_at = Some(Instant::now());
        }
        if let Err(e) = self.set_estimates(estimates) {
            tracing::warn!(error = %e, "gas estimates could not be applied");
        }
    }

    /// Refreshes every `refresh_ms` until `stop` resolves.
    pub fn spawn(
        self: &Arc<Self>,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> JoinHandle<()> {
        let fees = self.clone();
        let every = Duration::from_millis(self.settings.refresh_ms);
        tokio::spawn(async move {
            tokio::pin!(stop);
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    () = &mut stop => return,
                    _ = tick.tick() => fees.refresh().await,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn history() -> Value {
        json!({
            "oldestBlock": "0x28",
            "baseFeePerGas": ["0x3b9aca00", "0x3b9aca00", "0x3b9aca00", "0x342770c0"],
            "gasUsedRatio": [0.0, 0.5, 0.0],
            "reward": [["0x0"], ["0x77359400"], ["0x1"]],
        })
    }

    #[test]
    fn the_fee_history_gives_the_next_base_fee_plus_the_highest_percentile_reward() {
        let r = parse_fee_history(&history(), 5).unwrap();
        assert_eq!(
            r,
            L1GasReading { block: 0x2a, base_fee_wei: 0x3427_70c0, tip_wei: 2_000_000_000 }
        );
        assert_eq!(r.gas_price_wei().unwrap(), 875_000_000 + 2_000_000_000);
    }

    #[test]
    fn bad_fee_histories_are_errors_naming_the_field() {
        let cases: [(&str, Value, &str); 8] = [
            ("not an object", json!([]), "eth_feeHistory: expected an object"),
            ("oldestBlock", json!({"oldestBlock": 40}), "eth_feeHistory.oldestBlock: expected a hex quantity"),
            ("no base fees", json!({"oldestBlock": "0x1"}), "eth_feeHistory.baseFeePerGas: expected an array"),
            (
                "a decimal base fee",
                json!({"oldestBlock": "0x1", "baseFeePerGas": ["0x1", "12"], "reward": [["0x0"]]}),
                "eth_feeHistory.baseFeePerGas[1]: expected a 0x-prefixed hex quantity, found \"12\"",
            ),
            (
                "a base fee over 128 bits",
                json!({"oldestBlock": "0x1", "baseFeePerGas": ["0x1", format!("0x1{}", "0".repeat(32))], "reward": [["0x0"]]}),
                "eth_feeHistory.baseFeePerGas[1]: 0x100000000000000000000000000000000 does not fit in 128 bits",
            ),
            (
                "a price no gas amount can be multiplied by",
                json!({"oldestBlock": "0x1", "baseFeePerGas": ["0x1", format!("0x{}", "f".repeat(32))], "reward": [["0x0"]]}),
                "eth_feeHistory.baseFeePerGas[1]: 340282366920938463463374607431768211455 wei per gas is above",
            ),
            (
                "rewards missing a block",
                json!({"oldestBlock": "0x1", "baseFeePerGas": ["0x1", "0x1", "0x1"], "reward": [["0x0"]]}),
                "eth_feeHistory.reward: expected 2 entries (one per block), found 1",
            ),
            (
                "a reward without its percentile",
                json!({"oldestBlock": "0x1", "baseFeePerGas": ["0x1", "0x1"], "reward": [[]]}),
                "eth_feeHistory.reward[0][0]: expected one percentile's reward, found []",
            ),
        ];
        for (what, v, want) in cases {
            let e = parse_fee_history(&v, 5).unwrap_err().to_string();
            assert!(e.starts_with(want), "{what}: {e}");
        }
        let too_many = json!({"oldestBlock": "0x1", "baseFeePerGas": vec!["0x1"; 8], "reward": vec![["0x0"]; 7]});
        let e = parse_fee_history(&too_many, 5).unwrap_err().to_string();
        assert_eq!(e, "eth_feeHistory.baseFeePerGas: expected 2 to 6 entries, found 8");
        // Base fee + tip past the bound: an error, not a saturated price.
        let sum = json!({"oldestBlock": "0x1", "baseFeePerGas": ["0x1", format!("{MAX_GAS_PRICE_WEI:#x}")], "reward": [["0x1"]]});
        let e = parse_fee_history(&sum, 5).unwrap_err().to_string();
        assert!(
            e.starts_with("eth_feeHistory: base fee 18446744073709551617 + tip 1 is above"),
            "{e}"
        );
    }

    #[test]
    fn the_starknet_block_gives_its_l2_gas_price_and_bad_ones_name_the_field() {
        let v = json!({"block_number": 12, "l2_gas_price": {"price_in_wei": "0x2540be400", "price_in_fri": "0x1"}});
        assert_eq!(
            parse_starknet_block(&v).unwrap(),
            StarknetGasReading { block: 12, l2_gas_price_wei: 10_000_000_000 }
        );
        let e = parse_starknet_block(&json!({"block_number": "0xc"})).unwrap_err().to_string();
        assert!(
            e.starts_with("starknet_getBlockWithTxHashes.block_number: expected a block number"),
            "{e}"
        );
        let e = parse_starknet_block(&json!({"block_number": 1, "l2_gas_price": {}}))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with(
                "starknet_getBlockWithTxHashes.l2_gas_price.price_in_wei: expected a hex quantity"
            ),
            "{e}"
        );
    }

    fn fees(max_age_secs: u64) -> LiveFees {
        let settings = FeeSettings { max_age_secs, ..FeeSettings::default() };
        let bridges = vec![
            FeeBridge { token: None, l1_bridge: Address::with_last_byte(1) },
            FeeBridge { token: Some("USDC".into()), l1_bridge: Address::with_last_byte(2) },
        ];
        LiveFees::with_nodes(CostModel::default(), settings, bridges.clone(), None)
    }

    fn l1_reading(base: u128, tip: u128) -> L1Reading {
        let b = |t: Option<&str>, n| FeeBridge {
            token: t.map(str::to_owned),
            l1_bridge: Address::with_last_byte(n),
        };
        L1Reading {
            gas: L1GasReading { block: 100, base_fee_wei: base, tip_wei: tip },
            message_fees: vec![(b(None, 1), 5), (b(Some("USDC"), 2), 7)],
        }
    }

    #[test]
    fn the_cost_model_carries_the_readings_with_their_sources() {
        let f = fees(60);
        assert_eq!(f.costs().unwrap_err().layer, Layer::L1, "nothing read yet");
        f.set_l1(l1_reading(30, 2)).unwrap();
        let e = f.costs().unwrap_err();
        assert_eq!(e.layer, Layer::Starknet, "{e}");
        f.set_starknet(StarknetGasReading { block: 7, l2_gas_price_wei: 11 }).unwrap();
        let c = f.costs().unwrap();
        assert_eq!((c.l1_gas_price_wei, c.starknet_gas_price_wei), (Wei(32), Wei(11)));
        assert_eq!(c.l1_to_l2_message_fee_wei, Wei(5));
        assert_eq!(c.live.l1_gas, Some(PriceSource { source: "eth_feeHistory", block: Some(100) }));
        assert_eq!(c.live.starknet_gas.as_ref().unwrap().block, Some(7));
        assert_eq!(c.live.message_fee_by_token["USDC"].0, Wei(7));
        assert_eq!(c.gas, CostModel::default().gas, "the gas units stay the model's");
    }

    #[test]
    fn a_reading_older_than_the_limit_refuses_naming_its_layer() {
        let f = fees(60);
        let then = Instant::now();
        f.set_at(
            Some(l1_reading(1, 0)),
            Some(StarknetGasReading { block: 1, l2_gas_price_wei: 1 }),
            then,
        )
        .unwrap();
        assert!(f.costs_at(then + Duration::from_secs(60)).is_ok());
        // Starknet read again later; L1 not.
        f.set_at(
            None,
            Some(StarknetGasReading { block: 2, l2_gas_price_wei: 1 }),
            then + Duration::from_secs(30),
        )
        .unwrap();
        let e = f.costs_at(then + Duration::from_secs(61)).unwrap_err();
        assert_eq!(e.layer, Layer::L1);
        assert_eq!(
            e.to_string(),
            "l1 fees are unavailable: the last reading is 61 s old, older than \
             network.fees.max_age_secs (60 s): its node does not answer"
        );
        let e = f.costs_at(then + Duration::from_secs(91)).unwrap_err();
        assert_eq!(e.layer, Layer::L1, "the first stale layer is named");
    }

    #[test]
    fn fees_past_the_bound_are_refused_at_reading_not_saturated() {
        let f = fees(60);
        let e = f.set_l1(l1_reading(MAX_GAS_PRICE_WEI, 1)).unwrap_err();
        f.set_starknet(StarknetGasReading { block: 1, l2_gas_price_wei: 1 }).unwrap();
        assert!(e.to_string().contains("is above"), "{e}");
        // Every u64 of gas units times the largest price fits.
        assert!(u128::from(u64::MAX).checked_mul(MAX_GAS_PRICE_WEI).is_some());
    }

    /// A JSON-RPC node on a loopback socket: a fee history, bridges whose fee is their last
    /// address byte × 10^12, a Starknet block — or, once `broken`, an answer without `reward`.
    async fn node(broken: Arc<std::sync::atomic::AtomicBool>) -> String {
        use axum::routing::post;
        let app = axum::Router::new().route(
            "/{*path}",
            post(move |axum::Json(req): axum::Json<Value>| {
                let broken = broken.load(Ordering::Relaxed);
                async move {
                    let result = match req["method"].as_str().unwrap() {
                        "eth_feeHistory" if broken => {
                            json!({"oldestBlock": "0x10", "baseFeePerGas": ["0x1", "0x1"]})
                        }
                        "eth_feeHistory" => history(),
                        // An approval reverts (as a token without the router's balance
                        // would); anything else costs 0x1d4c0 gas.
                        "eth_estimateGas" => {
                            let data = req["params"][0]["data"].as_str().unwrap();
                            if data.starts_with("0x095ea7b3") {
                                return axum::Json(json!({"jsonrpc": "2.0", "id": 1,
                                    "error": {"code": 3, "message": "execution reverted"}}));
                            }
                            json!("0x1d4c0")
                        }
                        "starknet_getNonce" => json!("0x5"),
                        "starknet_estimateFee" => {
                            let p = &req["params"];
                            assert_eq!(p["simulation_flags"], json!(["SKIP_VALIDATE"]));
                            assert_eq!(p["request"][0]["nonce"], "0x5");
                            json!([{"overall_fee": "0x2710", "l2_gas_price": "0x3", "unit": "FRI"}])
                        }
                        "eth_call" => {
                            let to = req["params"][0]["to"].as_str().unwrap();
                            let last = u128::from_str_radix(&to[to.len() - 2..], 16).unwrap();
                            json!(format!("0x{:064x}", last * 1_000_000_000_000))
                        }
                        _ => json!({"block_number": 77, "l2_gas_price": {"price_in_wei": "0x3e8"}}),
                    };
                    axum::Json(json!({"jsonrpc": "2.0", "id": 1, "result": result}))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    }

    #[tokio::test]
    async fn a_refresh_reads_the_nodes_and_a_failed_one_is_counted_keeping_the_last_reading() {
        let broken = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let url = node(broken.clone()).await;
        let nodes =
            FeeNodes::new(format!("{url}/v3/SECRET"), format!("{url}/starknet/SECRET")).unwrap();
        let bridges = vec![
            FeeBridge { token: None, l1_bridge: Address::with_last_byte(1) },
            FeeBridge { token: Some("USDC".into()), l1_bridge: Address::with_last_byte(2) },
        ];
        let f = LiveFees::with_nodes(
            CostModel::default(),
            FeeSettings::default(),
            bridges,
            Some(nodes),
        );
        f.refresh().await;
        let c = f.costs().unwrap();
        assert_eq!(c.l1_gas_price_wei, Wei(875_000_000 + 2_000_000_000));
        assert_eq!(c.live.l1_gas.as_ref().unwrap().block, Some(0x2a));
        assert_eq!(c.l1_to_l2_message_fee_wei, Wei(1_000_000_000_000));
        assert_eq!(c.live.message_fee_by_token["USDC"].0, Wei(2_000_000_000_000));
        assert_eq!(
            (c.starknet_gas_price_wei, c.live.starknet_gas.as_ref().unwrap().block),
            (Wei(1000), Some(77))
        );
        assert_eq!((f.metrics().refreshes(Layer::L1), f.metrics().failures(Layer::L1)), (1, 0));

        broken.store(true, Ordering::Relaxed);
        f.refresh().await;
        assert_eq!(f.metrics().failures(Layer::L1), 1);
        assert_eq!(f.metrics().failures(Layer::Starknet), 0);
        assert_eq!(
            f.costs().unwrap().l1_gas_price_wei,
            c.l1_gas_price_wei,
            "the last reading stays"
        );
        let e = f.read_l1().await.unwrap_err().to_string();
        assert_eq!(e, "eth_feeHistory.reward: expected an array, found null");

        // An unreachable node: the error names the method, never the URL and its key.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let gone =
            FeeNodes::new(format!("http://127.0.0.1:{port}/v3/SECRET"), url.clone()).unwrap();
        let f =
            LiveFees::with_nodes(CostModel::default(), FeeSettings::default(), vec![], Some(gone));
        let e = f.read_l1().await.unwrap_err().to_string();
        assert!(e.starts_with("eth_feeHistory: ") && !e.contains("SECRET"), "{e}");
        f.refresh().await;
        assert_eq!(f.costs().unwrap_err().layer, Layer::L1);
        assert!(!format!("{f:?}").contains("SECRET"));
    }

    #[tokio::test]
    async fn the_router_accounts_calls_are_estimated_when_due_and_a_reverted_one_keeps_the_model() {
        use starkroute_planner::gas_call;
        let url = node(Arc::new(std::sync::atomic::AtomicBool::new(false))).await;
        let nodes = FeeNodes::new(format!("{url}/l1"), format!("{url}/starknet")).unwrap();
        let bridges = vec![FeeBridge { token: None, l1_bridge: Address::with_last_byte(1) }];
        let settings = FeeSettings { estimate_secs: 3600, ..FeeSettings::default() };
        let mut f = LiveFees::with_nodes(CostModel::default(), settings, bridges, Some(nodes));
        let mut cfg =
            Config::parse("sepolia.toml", include_str!("../../../../config/sepolia.toml")).unwrap();
        let mut network = cfg.network.take().unwrap();
        // One pair for every token, the one whose fee the mock reads.
        network.starkgate.tokens.clear();
        network.starkgate.eth_l1_bridge =
            Some(starkroute_types::EthAddress::new(Address::with_last_byte(1)).unwrap());
        cfg.topology.tokens.retain(|t| t.symbol == "USDC" || t.symbol == "ETH");
        let router = RouterAccounts {
            l1: Some(Address::with_last_byte(0x77)),
            starknet: Some(starkroute_types::Felt::from(0x88u64)),
        };
        f.probes = super::super::estimates::probes(&cfg, &network, router).unwrap();
        f.refresh().await;
        let c = f.costs().unwrap();
        let units =
            |token: &str, call| c.live.gas_units.get(token).and_then(|m| m.get(call)).cloned();
        let (deposit, at) = units("USDC", gas_call::STARKGATE_DEPOSIT).unwrap();
        assert_eq!(
            (deposit, at.source, at.block),
            (0x1d4c0, "eth_estimateGas", Some(0x2a)),
            "at the fee reading's block"
        );
        assert!(units("USDC", gas_call::L1_APPROVAL).is_none(), "reverted: the model's units");
        let (withdraw, at) = units("ETH", gas_call::STARKNET_WITHDRAW).unwrap();
        // 10000 FRI at 3 FRI per L2 gas: 3334 L2 gas, rounded up.
        assert_eq!((withdraw, at.source, at.block), (3334, "starknet_estimateFee", Some(77)));
        assert_eq!(f.metrics().estimate_failures(Layer::L1), 1, "the approval");
        let ok = f.metrics().estimates(Layer::L1) + f.metrics().estimates(Layer::Starknet);
        // Not due again within estimate_secs: a second refresh simulates nothing.
        f.refresh().await;
        let again = f.metrics().estimates(Layer::L1) + f.metrics().estimates(Layer::Starknet);
        assert_eq!(again, ok);
        let mut text = String::new();
        f.metrics().render(&mut text);
        assert!(
            text.contains("starkroute_gas_estimates_total{layer=\"l1\",outcome=\"failed\"} 1\n"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn the_api_quotes_from_the_cache_and_refuses_quotes_and_starts_once_it_is_stale() {
        use axum::body::Body;
        use axum::http::{header, Request, StatusCode};
        use tower::ServiceExt;

        let dir = tempfile::tempdir().unwrap();
        let mut cfg = Config::sandbox().unwrap();
        cfg.store.data_dir = dir.path().to_owned();
        let settings = FeeSettings { max_age_secs: 1, refresh_ms: 50, ..FeeSettings::default() };
        let fees = Arc::new(LiveFees::with_nodes(cfg.costs.clone(), settings, vec![], None));
        let core = super::super::build_core(
            &cfg,
            vec![],
            Arc::new(starkroute_executor::SystemClock),
            tokio::sync::watch::channel(false).0,
            Some(fees.clone()),
        )
        .await
        .unwrap();
        let router = core.router();
        let post = |path: &str, body: Value| {
            let req = Request::post(path)
                .header(header::AUTHORIZATION, "Bearer sr_sandbox_demo")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string()))
                .unwrap();
            let router = router.clone();
            async move {
                let resp = router.oneshot(req).await.unwrap();
                let status = resp.status();
                let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap();
                (status, serde_json::from_slice::<Value>(&bytes).unwrap())
            }
        };
        let gift: Value =
            serde_json::from_str(&starkroute_testkit::files::gift_request_json()).unwrap();

        // Nothing read yet: refused, naming the layer.
        let (st, v) = post("/v1/quotes", gift.clone()).await;
        assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
        assert_eq!(v["error"]["code"], "fees_unavailable");
        assert_eq!(
            v["error"]["message"],
            "l1 fees are unavailable: its node has not answered since start"
        );

        // Read: priced from the readings, each item with its source and block.
        fees.set_l1(l1_reading(30, 2)).unwrap();
        fees.set_starknet(StarknetGasReading { block: 7, l2_gas_price_wei: 11 }).unwrap();
        let (st, quote) = post("/v1/quotes", gift.clone()).await;
        assert_eq!(st, StatusCode::CREATED, "{quote}");
        let items: Vec<&Value> = quote["routes"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r["legs"].as_array().unwrap())
            .flat_map(|l| l["fees"].as_array().unwrap())
            .collect();
        let l1 = items.iter().find(|f| f["kind"] == "l1_gas").unwrap();
        assert_eq!(
            (&l1["source"], &l1["block"], &l1["gas_price_wei"]),
            (&json!("eth_feeHistory"), &json!(100), &json!("32"))
        );
        let sn = items.iter().find(|f| f["kind"] == "starknet_gas").unwrap();
        assert_eq!(
            (&sn["source"], &sn["block"], &sn["gas_price_wei"]),
            (&json!("starknet_getBlockWithTxHashes"), &json!(7), &json!("11"))
        );

        // Past max_age_secs without a reading: the quote's route does not start, and a new
        // quote (the same request included) is refused.
        tokio::time::sleep(Duration::from_millis(2100)).await;
        let start = json!({"quote_id": quote["id"], "route_index": 0});
        let (st, v) = post("/v1/routes", start).await;
        assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
        assert_eq!(v["error"]["code"], "fees_unavailable");
        let (st, v) = post("/v1/quotes", gift).await;
        assert_eq!(st, StatusCode::SERVICE_UNAVAILABLE, "{v}");
        let m = v["error"]["message"].as_str().unwrap();
        assert!(m.starts_with("l1 fees are unavailable: the last reading is 2 s old, older than network.fees.max_age_secs (1 s)"), "{m}");
    }

    #[test]
    fn the_counters_render_per_layer() {
        let f = fees(60);
        f.metrics.failures[slot(Layer::L1)].fetch_add(2, Ordering::Relaxed);
        let mut s = String::new();
        f.metrics().render(&mut s);
        assert!(s.contains("starkroute_fee_refresh_failures_total{layer=\"l1\"} 2\n"), "{s}");
        assert!(s.contains("starkroute_fee_refresh_failures_total{layer=\"starknet\"} 0\n"), "{s}");
    }
}
