//! What the operator knows about assets: the tokens it lists (ETH and ERC-20s with their quanta,
//! like ImmutableX's `/v1/tokens`), and per asset id the L1 identity needed to count holdings in
//! base units (asset info, quantum, NFT token id, minting blob).

use alloy_primitives::{Address, U256};
use starkroute_crypto::asset::{
    ERC20_SELECTOR, ERC721_SELECTOR, ETH_SELECTOR, MINTABLE_ERC20_SELECTOR,
    MINTABLE_ERC721_SELECTOR,
};
use starkroute_types::{AssetClass, EthAddress, Felt};

use crate::port::AssetKey;

/// ImmutableX's ETH quantum (10^8 wei), so its ETH asset type is
/// `0x02705737cd248ac819034b5de474c8f0368224f72a0fda9e031499d519992d9e` (PROTOCOL.md B.2).
pub const IMX_ETH_QUANTUM: u128 = 100_000_000;

/// A fungible token the exchange lists (ETH or an ERC-20), as `/v1/tokens` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenListing {
    /// Ticker, e.g. `ETH`.
    pub symbol: String,
    /// Full name, e.g. `Ethereum`.
    pub name: String,
    /// Decimals of the base unit.
    pub decimals: u8,
    /// The ERC-20 contract; `None` for ETH.
    pub token: Option<EthAddress>,
    /// Base units per quantized unit.
    pub quantum: u128,
}

impl TokenListing {
    /// ETH with ImmutableX's quantum.
    pub fn eth() -> Self {
        Self {
            symbol: "ETH".into(),
            name: "Ethereum".into(),
            decimals: 18,
            token: None,
            quantum: IMX_ETH_QUANTUM,
        }
    }
}

/// An ERC-721 collection the exchange lists (`/v1/collections`): deposited NFTs of its contract,
/// or tokens minted on the exchange for it (`POST /v2/mints`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionListing {
    /// The L1 ERC-721 contract.
    pub address: EthAddress,
    /// Its name.
    pub name: String,
    /// Its description, if any.
    pub description: Option<String>,
    /// The project owner: the one ETH address whose signature authorises mints of it
    /// (`auth_signature` of `POST /v2/mints`). `None`: nobody may mint it.
    pub owner: Option<EthAddress>,
    /// Its project id.
    pub project_id: u64,
}

/// A royalty on a minted asset (`royalties` of `POST /v2/mints`, `fees` of assets and mints).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Royalty {
    /// Who receives it.
    pub recipient: EthAddress,
    /// The percentage, a decimal in `(0, 100]` kept as written (no float).
    pub percentage: String,
}

/// The L1 identity of one asset id held in vaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetMeta {
    /// The asset class, from the selector of the registered asset info.
    pub class: AssetClass,
    /// The asset type (`== asset id` for ETH and ERC-20).
    pub asset_type: Felt,
    /// The L1 token contract; `None` for ETH.
    pub token: Option<EthAddress>,
    /// The ERC-721 token id (deposited NFTs, and minted ERC-721s: the `{id}` of the blob).
    pub token_id: Option<U256>,
    /// Base units per quantized unit.
    pub quantum: u128,
    /// The minting blob, for a minted asset.
    pub minting_blob: Option<String>,
}

impl AssetMeta {
    /// The conservation key.
    pub fn key(&self) -> AssetKey {
        AssetKey { token: self.token, token_id: self.token_id }
    }

    /// The IMX token `type` string (`ETH`, `ERC20`, `ERC721`).
    pub fn imx_type(&self) -> &'static str {
        match self.class {
            AssetClass::Eth => "ETH",
            AssetClass::Erc20 | AssetClass::MintableErc20 => "ERC20",
            AssetClass::Erc721 | AssetClass::MintableErc721 => "ERC721",
        }
    }
}

/// Reads the class and the token contract out of a registered asset info (`selector` for ETH,
/// `selector ‖ uint256(address)` otherwise).
pub fn parse_asset_info(info: &[u8]) -> Option<(AssetClass, Option<EthAddress>)> {
    let selector: [u8; 4] = info.get(..4)?.try_into().ok()?;
    let class = match selector {
        ETH_SELECTOR => return (info.len() == 4).then_some((AssetClass::Eth, None)),
        ERC20_SELECTOR => AssetClass::Erc20,
        ERC721_SELECTOR => AssetClass::Erc721,
        MINTABLE_ERC20_SELECTOR => AssetClass::MintableErc20,
        MINTABLE_ERC721_SELECTOR => AssetClass::MintableErc721,
        _ => return None,
    };
    if info.len() != 36 || info[4..16].iter().any(|b| *b != 0) {
        return None;
    }
    let token = EthAddress::new(Address::from_slice(&info[16..36])).ok()?;
    Some((class, Some(token)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use starkroute_crypto::asset_info;

    #[test]
    fn asset_info_round_trips() {
        let t: EthAddress = "0xdac17f958d2ee523a2206206994597c13d831ec7".parse().unwrap();
        for class in [
            AssetClass::Erc20,
            AssetClass::Erc721,
            AssetClass::MintableErc20,
            AssetClass::MintableErc721,
        ] {
            let info = asset_info(class, Some(&t)).unwrap();
            assert_eq!(parse_asset_info(&info), Some((class, Some(t))));
        }
        let eth = asset_info(AssetClass::Eth, None).unwrap();
        assert_eq!(parse_asset_info(&eth), Some((AssetClass::Eth, None)));
        assert_eq!(parse_asset_info(&[1, 2, 3]), None);
        assert_eq!(parse_asset_info(&[0xde, 0xad, 0xbe, 0xef]), None);
    }
}
