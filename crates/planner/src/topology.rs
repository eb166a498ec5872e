//! What the planner knows about the world: enabled layers, tokens, bridges, policies, account
//! readiness, and the cost and latency models. All of it is configuration, never hard-coded.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use starkroute_types::{Account, EtaRange, EthAddress, Layer, Token, Wei};

/// The world the planner plans in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topology {
    /// Layers the router may use.
    #[serde(default = "all_layers")]
    pub layers: Vec<Layer>,
    /// Known tokens with their representation on each layer.
    #[serde(default)]
    pub tokens: Vec<Token>,
    /// The StarkEx deployment's policies.
    #[serde(default)]
    pub starkex: StarkExPolicy,
    /// StarkGate (ETH/ERC-20 between L1 and Starknet).
    #[serde(default)]
    pub starkgate: StarkGatePolicy,
    /// The NFT bridge (Starklane interface, ERC-721 between L1 and Starknet).
    #[serde(default)]
    pub nft_bridge: NftBridgePolicy,
    /// Facts about accounts: registered on StarkEx, deployed on Starknet.
    #[serde(default)]
    pub readiness: Vec<AccountReadiness>,
}

fn all_layers() -> Vec<Layer> {
    Layer::ALL.to_vec()
}

fn yes() -> bool {
    true
}

impl Topology {
    /// Whether a layer is enabled.
    pub fn has_layer(&self, layer: Layer) -> bool {
        self.layers.contains(&layer)
    }

    /// Whether an account is ready (registered on StarkEx, deployed on Starknet; L1 addresses
    /// always are), or `None` when the topology has no fact about it.
    pub fn readiness_of(&self, account: &Account) -> Option<bool> {
        if matches!(account, Account::L1(_)) {
            return Some(true);
        }
        self.readiness.iter().rev().find(|r| r.account == *account).map(|r| r.ready)
    }

    /// Looks a token up by symbol (case-insensitive) or by its L1 or Starknet address.
    pub fn find_token(&self, key: &str) -> Option<&Token> {
        let l1 = key.parse::<EthAddress>().ok();
        let l2 = key.parse::<starkroute_types::StarknetAddress>().ok();
        self.tokens.iter().find(|t| {
            t.symbol.eq_ignore_ascii_case(key)
                || (l1.is_some() && t.l1 == l1)
                || (l2.is_some() && t.starknet == l2)
        })
    }
}

/// Policies of the StarkEx deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StarkExPolicy {
    /// ERC-721 deposits are accepted only for tokens minted on this deployment (ImmutableX's rule).
    #[serde(default)]
    pub nft_deposits_only_minted_here: bool,
    /// Transfers and deposits need the receiving Stark key to be registered (ImmutableX's rule).
    #[serde(default = "yes")]
    pub recipient_must_be_registered: bool,
}

impl Default for StarkExPolicy {
    fn default() -> Self {
        Self { nft_deposits_only_minted_here: false, recipient_must_be_registered: true }
    }
}

/// StarkGate settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StarkGatePolicy {
    /// Whether the router may use StarkGate.
    #[serde(default = "yes")]
    pub enabled: bool,
}

impl Default for StarkGatePolicy {
    fn default() -> Self {
        Self { enabled: true }
    }
}

/// NFT bridge settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NftBridgePolicy {
    /// Whether the router may use the NFT bridge.
    #[serde(default = "yes")]
    pub enabled: bool,
    /// L1 collections the bridge accepts; empty means every collection.
    #[serde(default)]
    pub whitelist: Vec<EthAddress>,
}

impl Default for NftBridgePolicy {
    fn default() -> Self {
        Self { enabled: true, whitelist: Vec::new() }
    }
}

/// A readiness fact about one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountReadiness {
    /// The account.
    pub account: Account,
    /// Registered (StarkEx) or deployed (Starknet).
    pub ready: bool,
}

/// Gas and fee parameters. Gas units are typical figures for each call (see the README for how
/// they were measured); prices are what the operator configures or an oracle feeds in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CostModel {
    /// L1 gas price (max fee per gas) in wei.
    pub l1_gas_price_wei: Wei,
    /// Starknet price per gas unit, in wei.
    pub starknet_gas_price_wei: Wei,
    /// StarkGate's L1→L2 message fee (`estimateDepositFeeWei`: 20000 · 5 gwei = 10^14).
    pub l1_to_l2_message_fee_wei: Wei,
    /// The NFT bridge's minimum L1→L2 message fee.
    pub nft_bridge_message_fee_wei: Wei,
    /// The StarkEx operator's fee per transfer or withdrawal.
    pub starkex_operator_fee_wei: Wei,
    /// Gas units per call.
    pub gas: GasTable,
    /// Latencies.
    pub latency: LatencyModel,
    /// Where the prices above were read, on a configured network (set by the server's live fee
    /// source from the chains; never configuration): each fee item then names its source and
    /// block.
    #[serde(skip)]
    pub live: LivePrices,
}

/// Where a cost model's prices come from when they were read from the chains.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LivePrices {
    /// `l1_gas_price_wei`'s source.
    pub l1_gas: Option<PriceSource>,
    /// `starknet_gas_price_wei`'s source.
    pub starknet_gas: Option<PriceSource>,
    /// `l1_to_l2_message_fee_wei`'s source (the default StarkGate bridge's fee).
    pub l1_to_l2_message: Option<PriceSource>,
    /// The StarkGate message fee of each token with a bridge of its own (upper-case symbol →
    /// fee and source): its deposits pay this instead of `l1_to_l2_message_fee_wei`.
    pub message_fee_by_token: BTreeMap<String, (Wei, PriceSource)>,
    /// `nft_bridge_message_fee_wei`'s source.
    pub nft_bridge_message: Option<PriceSource>,
    /// `starkex_operator_fee_wei`'s source.
    pub starkex_operator: Option<PriceSource>,
    /// Gas units estimated on the chain for a token's call (upper-case symbol, then the
    /// `costs.gas` key, [`crate::gas_call`]), with the estimate's method and block: they
    /// replace the model's units of that call for that token.
    pub gas_units: BTreeMap<String, BTreeMap<&'static str, (u64, PriceSource)>>,
}

/// Where one price was read: the RPC method or contract function (or the configuration key of
/// a price the chain does not publish), and the block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceSource {
    /// `eth_feeHistory`, `estimateDepositFeeWei`, `costs.nft_bridge_message_fee_wei`, …
    pub source: &'static str,
    /// The latest block of the layer when it was read, if read from a chain.
    pub block: Option<u64>,
}

impl Default for CostModel {
    fn default() -> Self {
        Self {
            l1_gas_price_wei: Wei(20_000_000_000),
            starknet_gas_price_wei: Wei(100_000_000),
            l1_to_l2_message_fee_wei: Wei(100_000_000_000_000),
            nft_bridge_message_fee_wei: Wei(100_000_000_000_000),
            starkex_operator_fee_wei: Wei(0),
            gas: GasTable::default(),
            latency: LatencyModel::default(),
            live: LivePrices::default(),
        }
    }
}

/// Gas units per call, by asset shape where it differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[allow(missing_docs)]
pub struct GasTable {
    pub l1_eth_transfer: u64,
    pub l1_erc20_transfer: u64,
    pub l1_erc721_transfer: u64,
    /// `approve` / `setApprovalForAll` before a token deposit.
    pub l1_approval: u64,
    pub starkex_deposit_eth: u64,
    pub starkex_deposit_erc20: u64,
    pub starkex_deposit_nft: u64,
    pub starkex_withdraw: u64,
    pub starkex_withdraw_nft: u64,
    pub starkex_withdraw_and_mint: u64,
    pub starkgate_deposit: u64,
    pub starkgate_withdraw: u64,
    pub nft_bridge_deposit: u64,
    pub nft_bridge_withdraw: u64,
    pub starknet_transfer: u64,
    pub starknet_withdraw: u64,
    pub starknet_nft_withdraw: u64,
    pub starknet_account_deploy: u64,
}

impl Default for GasTable {
    fn default() -> Self {
        Self {
            l1_eth_transfer: 21_000,
            l1_erc20_transfer: 55_000,
            l1_erc721_transfer: 65_000,
            l1_approval: 46_000,
            starkex_deposit_eth: 70_000,
            starkex_deposit_erc20: 95_000,
            starkex_deposit_nft: 120_000,
            starkex_withdraw: 60_000,
            starkex_withdraw_nft: 90_000,
            starkex_withdraw_and_mint: 160_000,
            starkgate_deposit: 110_000,
            starkgate_withdraw: 85_000,
            nft_bridge_deposit: 220_000,
            nft_bridge_withdraw: 180_000,
            starknet_transfer: 1_500_000,
            starknet_withdraw: 3_000_000,
            starknet_nft_withdraw: 4_000_000,
            starknet_account_deploy: 4_500_000,
        }
    }
}

/// How long things take, as ranges in seconds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LatencyModel {
    /// L1 block time and the confirmations waited for before a deposit counts.
    pub l1_block_secs: u64,
    /// Confirmations the router waits for on L1.
    pub l1_confirmations: u64,
    /// Time until a StarkEx off-chain operation (transfer, withdrawal request) is accepted.
    pub starkex_accept: EtaRange,
    /// Time from a StarkEx operation to its batch being proven on L1 (ImmutableX: 12–24 h).
    pub starkex_batch: EtaRange,
    /// Time for the operator to pick up a confirmed L1 deposit.
    pub starkex_deposit_pickup: EtaRange,
    /// Time until a Starknet transaction is ACCEPTED_ON_L2.
    pub starknet_accept: EtaRange,
    /// Time from a Starknet transaction to the state update on L1 that carries it.
    pub starknet_state_update: EtaRange,
    /// Time for an L1→L2 message to be executed on Starknet once confirmed on L1.
    pub l1_to_l2_delivery: EtaRange,
}

impl Default for LatencyModel {
    fn default() -> Self {
        Self {
            l1_block_secs: 12,
            l1_confirmations: 12,
            starkex_accept: EtaRange::new(1, 30),
            starkex_batch: EtaRange::new(2 * 3600, 24 * 3600),
            starkex_deposit_pickup: EtaRange::new(60, 15 * 60),
            starknet_accept: EtaRange::new(2, 60),
            starknet_state_update: EtaRange::new(3600, 12 * 3600),
            l1_to_l2_delivery: EtaRange::new(60, 20 * 60),
        }
    }
}

impl LatencyModel {
    /// One L1 transaction until it has the configured confirmations.
    pub fn l1_final(&self) -> EtaRange {
        let confirmed = self.l1_block_secs.saturating_mul(self.l1_confirmations.max(1));
        EtaRange::new(self.l1_block_secs, confirmed.saturating_add(3 * self.l1_block_secs))
    }
}
