//! One asset identity across L1, StarkEx and Starknet.

use std::fmt;
use std::str::FromStr;

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};

use crate::account::string_serde;
use crate::felt::{felt_hex, parse_u256, Felt};
use crate::{EthAddress, Layer, ParseError, Quantum, StarknetAddress, UnrepresentableAsset};

/// The kind of an asset, as StarkEx classifies them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetClass {
    /// Native ether.
    Eth,
    /// A fungible ERC-20 token.
    Erc20,
    /// A non-fungible ERC-721 token.
    Erc721,
    /// A fungible token minted on StarkEx, created on L1 by `withdrawAndMint`.
    MintableErc20,
    /// A non-fungible token minted on StarkEx, created on L1 by `withdrawAndMint`.
    MintableErc721,
}

impl AssetClass {
    /// Whether amounts of it are interchangeable (ETH, ERC-20, mintable ERC-20).
    pub const fn is_fungible(self) -> bool {
        matches!(self, Self::Eth | Self::Erc20 | Self::MintableErc20)
    }

    /// Whether it is a StarkEx-mintable asset (its id comes from a minting blob).
    pub const fn is_mintable(self) -> bool {
        matches!(self, Self::MintableErc20 | Self::MintableErc721)
    }
}

impl fmt::Display for AssetClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Eth => "ETH",
            Self::Erc20 => "ERC-20",
            Self::Erc721 => "ERC-721",
            Self::MintableErc20 => "mintable ERC-20",
            Self::MintableErc721 => "mintable ERC-721",
        })
    }
}

/// How a token is listed on a StarkEx deployment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StarkExListing {
    /// Base units per quantized unit (1 for NFTs).
    pub quantum: Quantum,
    /// Whether the token was minted on this StarkEx deployment (mintable assets always are).
    #[serde(default)]
    pub minted_on_starkex: bool,
}

/// A token contract family: the same asset under its address on each layer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Token {
    /// Ticker or collection name, e.g. `ETH`, `USDC`, `ALICE-ART`.
    pub symbol: String,
    /// The asset class.
    pub class: AssetClass,
    /// Decimals of the base unit (0 for NFTs).
    #[serde(default)]
    pub decimals: u8,
    /// The layer the token was created on.
    pub home: Layer,
    /// The L1 contract, if there is one (ETH is native and has none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l1: Option<EthAddress>,
    /// The Starknet contract, if the token exists there (natively or through a bridge mapping).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starknet: Option<StarknetAddress>,
    /// The StarkEx listing, if the token is registered on the StarkEx deployment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starkex: Option<StarkExListing>,
}

/// An ERC-721 token id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TokenId(pub U256);

impl FromStr for TokenId {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_u256(s).map(TokenId)
    }
}

impl fmt::Display for TokenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

string_serde!(TokenId);

/// A StarkEx asset type: `keccak256(assetInfo ‖ quantum) & (2^250 - 1)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StarkExAssetType(#[serde(with = "felt_hex")] pub Felt);

/// A StarkEx asset id (equal to the asset type for fungible, non-mintable assets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StarkExAssetId(#[serde(with = "felt_hex")] pub Felt);

/// How an asset is represented on one layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Representation {
    /// On L1: the token contract, or `None` for native ether.
    L1 {
        /// The ERC-20/ERC-721 contract; `None` for ETH.
        token: Option<EthAddress>,
    },
    /// On StarkEx: a listed asset with its quantum.
    StarkEx {
        /// The quantum of the listing.
        quantum: Quantum,
        /// Whether it was minted on the StarkEx deployment.
        minted_on_starkex: bool,
    },
    /// On Starknet: the L2 token contract.
    Starknet {
        /// The ERC-20/ERC-721 contract on Starknet.
        token: StarknetAddress,
    },
}

/// One concrete asset: a token, and for NFTs the token id (and minting blob when mintable).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Asset {
    /// The token family.
    pub token: Token,
    /// The token id, for ERC-721 and mintable ERC-721.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<TokenId>,
    /// The StarkEx minting blob of a mintable asset (ImmutableX: `{id}:{blueprint}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minting_blob: Option<String>,
}

impl Asset {
    /// A fungible asset of a token; refuses non-fungible classes.
    pub fn fungible(token: Token) -> Result<Self, ParseError> {
        if !token.class.is_fungible() {
            return Err(ParseError::new(format!(
                "{} is {} and needs a token id",
                token.symbol, token.class
            )));
        }
        Ok(Self { token, token_id: None, minting_blob: None })
    }

    /// An NFT of a token; refuses fungible classes.
    pub fn nft(token: Token, token_id: TokenId) -> Result<Self, ParseError> {
        if token.class.is_fungible() {
            return Err(ParseError::new(format!(
                "{} is {} and takes an amount, not a token id",
                token.symbol, token.class
            )));
        }
        let minting_blob = (token.class == AssetClass::MintableErc721)
            // ImmutableX's blob for a token minted with an empty blueprint.
            .then(|| format!("{{{token_id}}}:{{}}"));
        Ok(Self { token, token_id: Some(token_id), minting_blob })
    }

    /// The asset's class.
    pub fn class(&self) -> AssetClass {
        self.token.class
    }

    /// Whether it is fungible.
    pub fn is_fungible(&self) -> bool {
        self.token.class.is_fungible()
    }

    /// A short human label, e.g. `USDC` or `ALICE-ART #7`.
    pub fn label(&self) -> String {
        match self.token_id {
            Some(id) => format!("{} #{id}", self.token.symbol),
            None => self.token.symbol.clone(),
        }
    }

    /// The asset's representation on a layer, or why it has none there.
    pub fn on(&self, layer: Layer) -> Result<Representation, UnrepresentableAsset> {
        let missing = |reason: &str| UnrepresentableAsset {
            symbol: self.label(),
            layer,
            reason: reason.to_owned(),
        };
        match layer {
            Layer::L1 => match (self.token.class, self.token.l1) {
                (AssetClass::Eth, _) => Ok(Representation::L1 { token: None }),
                (_, Some(token)) => Ok(Representation::L1 { token: Some(token) }),
                (_, None) => Err(missing("no L1 contract is known for this token")),
            },
            Layer::StarkEx => match &self.token.starkex {
                Some(listing) => Ok(Representation::StarkEx {
                    quantum: listing.quantum,
                    minted_on_starkex: listing.minted_on_starkex || self.token.class.is_mintable(),
                }),
                None => Err(missing("the token is not registered on the StarkEx deployment")),
            },
            Layer::Starknet => match self.token.starknet {
                Some(token) => Ok(Representation::Starknet { token }),
                None => Err(missing("no Starknet contract is known for this token")),
            },
        }
    }

    /// Whether the asset can exist on a layer.
    pub fn exists_on(&self, layer: Layer) -> bool {
        self.on(layer).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn art() -> Token {
        Token {
            symbol: "ART".into(),
            class: AssetClass::Erc721,
            decimals: 0,
            home: Layer::Starknet,
            l1: None,
            starknet: Some("0x1234".parse().unwrap()),
            starkex: None,
        }
    }

    #[test]
    fn nft_needs_token_id_and_knows_where_it_is() {
        assert!(Asset::fungible(art()).is_err());
        let a = Asset::nft(art(), "7".parse().unwrap()).unwrap();
        assert!(a.exists_on(Layer::Starknet));
        let err = a.on(Layer::L1).unwrap_err();
        assert_eq!(err.layer, Layer::L1);
        assert!(err.to_string().contains("ART #7"));
        assert!(!a.exists_on(Layer::StarkEx));
    }

    #[test]
    fn eth_is_native_on_l1() {
        let eth = Token {
            symbol: "ETH".into(),
            class: AssetClass::Eth,
            decimals: 18,
            home: Layer::L1,
            l1: None,
            starknet: None,
            starkex: Some(StarkExListing {
                quantum: Quantum::new(100_000_000).unwrap(),
                minted_on_starkex: false,
            }),
        };
        let a = Asset::fungible(eth).unwrap();
        assert_eq!(a.on(Layer::L1).unwrap(), Representation::L1 { token: None });
        assert!(matches!(a.on(Layer::StarkEx), Ok(Representation::StarkEx { .. })));
    }

    #[test]
    fn mintable_nft_gets_imx_blob() {
        let mut t = art();
        t.class = AssetClass::MintableErc721;
        let a = Asset::nft(t, "1".parse().unwrap()).unwrap();
        assert_eq!(a.minting_blob.as_deref(), Some("{1}:{}"));
    }
}
