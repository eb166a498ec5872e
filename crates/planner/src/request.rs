//! What a caller asks for.

use serde::{Deserialize, Serialize};
use starkroute_types::{Account, Amount, EthAddress, Layer, StarkKey, StarknetAddress, TokenId};

/// A route request: move an asset from the sender on one layer to the recipient on another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct QuoteRequest {
    /// The asset to move.
    pub asset: AssetRef,
    /// The amount in base units, for fungible assets (absent for NFTs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
    /// The layer the asset is on now.
    pub from: Layer,
    /// The layer it should end on.
    pub to: Layer,
    /// The sender's accounts (the one on `from` is required).
    pub sender: Accounts,
    /// The recipient's accounts (the one on `to` is required).
    pub recipient: Accounts,
    /// What to rank by.
    #[serde(default)]
    pub objective: Objective,
    /// Also propose routes that end on another layer where the recipient has an account
    /// (e.g. Bob deploying his Starknet account instead of receiving on StarkEx).
    #[serde(default)]
    pub allow_other_destinations: bool,
}

/// An asset as a caller names it: a token (symbol, L1 address or Starknet address) and, for an
/// NFT, its token id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AssetRef {
    /// Symbol (`ETH`, `USDC`), L1 address or Starknet address of the token.
    pub token: String,
    /// Token id, for ERC-721s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<TokenId>,
}

/// One party's accounts on each layer; any may be absent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct Accounts {
    /// Ethereum address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l1: Option<EthAddress>,
    /// Stark key on the StarkEx deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starkex: Option<StarkKey>,
    /// Starknet account address (deployed or not).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starknet: Option<StarknetAddress>,
}

impl Accounts {
    /// The account on a layer, if any.
    pub fn on(&self, layer: Layer) -> Option<Account> {
        match layer {
            Layer::L1 => self.l1.map(Account::L1),
            Layer::StarkEx => self.starkex.map(Account::StarkEx),
            Layer::Starknet => self.starknet.map(Account::Starknet),
        }
    }
}

/// What to rank alternatives by.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Objective {
    /// Smallest worst-case ETA first.
    #[default]
    Fastest,
    /// Smallest total fee first.
    Cheapest,
}

impl<'de> Deserialize<'de> for Objective {
    /// Only the JSON string `"fastest"` or `"cheapest"`.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        starkroute_types::deserialize_name(
            d,
            &[("fastest", Objective::Fastest), ("cheapest", Objective::Cheapest)],
            "an objective",
        )
    }
}

impl std::str::FromStr for Objective {
    type Err = starkroute_types::ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "fastest" => Ok(Self::Fastest),
            "cheapest" => Ok(Self::Cheapest),
            _ => Err(starkroute_types::ParseError::new(format!(
                "unknown objective {s:?}: expected fastest or cheapest"
            ))),
        }
    }
}
