//! Core types of starkroute: layers, accounts, assets, amounts and quantization, routes and legs,
//! and the ids of routes and tenants.
//!
//! Every value that comes from outside is parsed into one of these types, and parsing validates:
//! an invalid Stark key, an out-of-range vault id or an amount that is not a multiple of its
//! quantum cannot be constructed. No IO, no async.

mod account;
mod amount;
mod asset;
mod error;
mod felt;
mod ids;
mod route;

pub use account::{
    Account, EthAddress, StarkKey, StarknetAddress, VaultId, STARKNET_ADDRESS_BOUND,
};
pub use amount::{Amount, QuantizedAmount, Quantum, Wei};
pub use asset::{
    Asset, AssetClass, Representation, StarkExAssetId, StarkExAssetType, StarkExListing, Token,
    TokenId,
};
pub use error::{AmountError, ParseError, UnrepresentableAsset};
pub use felt::{felt_from_u256, felt_to_u256, parse_felt, parse_u256, Felt, FIELD_PRIME};
pub use ids::{RouteId, TenantId, Timestamp};
pub use route::{
    EtaRange, FeeItem, FeeKind, Holding, Leg, LegKind, LegStatus, Party, Position, Route,
    RouteStatus,
};

/// The U256 integer type used for amounts, token ids and raw 256-bit values.
pub use alloy_primitives::U256;

/// The three settlement layers starkroute moves assets between.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Layer {
    /// Ethereum L1.
    L1,
    /// A StarkEx deployment (ImmutableX-style spot exchange).
    StarkEx,
    /// Starknet.
    Starknet,
}

impl Layer {
    /// All layers, in a fixed order.
    pub const ALL: [Layer; 3] = [Layer::L1, Layer::StarkEx, Layer::Starknet];

    /// The lower-case name used in JSON, URLs and the CLI.
    pub const fn as_str(self) -> &'static str {
        match self {
            Layer::L1 => "l1",
            Layer::StarkEx => "starkex",
            Layer::Starknet => "starknet",
        }
    }
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Layer {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "l1" | "ethereum" => Ok(Layer::L1),
            "starkex" => Ok(Layer::StarkEx),
            "starknet" => Ok(Layer::Starknet),
            _ => Err(ParseError::new(format!(
                "unknown layer {s:?}: expected one of l1, starkex, starknet"
            ))),
        }
    }
}
