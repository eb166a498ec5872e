//! StarkEx asset encoding: asset info, asset type and asset id.
//!
//! Sources: `starkex-contracts` `TokenAssetData.sol` / `TokenRegister.sol` (what the L1 contract
//! computes on deposit and withdrawal) and `starkware-crypto-utils/src/js/asset.ts` (the same in
//! JS). The contract is the authority: an asset id computed differently here would send funds to a
//! vault nobody can withdraw from, so every byte of the preimage is spelled out below.

use alloy_primitives::{keccak256, U256};
use starkroute_types::{
    felt_from_u256, Asset, AssetClass, EthAddress, Felt, Quantum, StarkExAssetId, StarkExAssetType,
    TokenId,
};

use crate::{CryptoError, Result};

/// `bytes4(keccak256("ETH()"))`.
pub const ETH_SELECTOR: [u8; 4] = [0x83, 0x22, 0xff, 0xf2];
/// `bytes4(keccak256("ERC20Token(address)"))`.
pub const ERC20_SELECTOR: [u8; 4] = [0xf4, 0x72, 0x61, 0xb0];
/// `bytes4(keccak256("ERC721Token(address,uint256)"))`.
pub const ERC721_SELECTOR: [u8; 4] = [0x02, 0x57, 0x17, 0x92];
/// `bytes4(keccak256("MintableERC20Token(address)"))`.
pub const MINTABLE_ERC20_SELECTOR: [u8; 4] = [0x68, 0x64, 0x6e, 0x2d];
/// `bytes4(keccak256("MintableERC721Token(address,uint256)"))`.
pub const MINTABLE_ERC721_SELECTOR: [u8; 4] = [0xb8, 0xb8, 0x66, 0x72];

/// `2^250 - 1`: asset types and non-mintable asset ids keep the low 250 bits of a keccak.
const MASK_250: U256 = U256::from_limbs([u64::MAX, u64::MAX, u64::MAX, 0x03ff_ffff_ffff_ffff]);
/// `2^240 - 1`: mintable asset ids keep 240 bits and then set the mintability bit 250.
const MASK_240: U256 = U256::from_limbs([u64::MAX, u64::MAX, u64::MAX, 0x0000_ffff_ffff_ffff]);
/// `1 << 250`, the bit that marks an asset id as mintable.
const MINTABLE_BIT: U256 = U256::from_limbs([0, 0, 0, 1 << 58]);

/// The StarkEx identity of one asset on a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StarkExAsset {
    /// The asset type (what `registerToken` and deposits name).
    pub asset_type: StarkExAssetType,
    /// The asset id (what vaults and signed messages name).
    pub asset_id: StarkExAssetId,
    /// The quantum (1 for NFTs).
    pub quantum: Quantum,
}

/// The 4-byte selector of an asset class.
pub const fn selector_of(class: AssetClass) -> [u8; 4] {
    match class {
        AssetClass::Eth => ETH_SELECTOR,
        AssetClass::Erc20 => ERC20_SELECTOR,
        AssetClass::Erc721 => ERC721_SELECTOR,
        AssetClass::MintableErc20 => MINTABLE_ERC20_SELECTOR,
        AssetClass::MintableErc721 => MINTABLE_ERC721_SELECTOR,
    }
}

/// The `assetInfo` bytes the StarkEx contract registers for a token.
///
/// ETH: the 4-byte selector alone. Every other class: `selector ‖ uint256(tokenAddress)` (36
/// bytes). For ETH the token address is ignored rather than refused, because token configs may
/// carry a bridge-specific placeholder address for ETH (StarkGate's `0x455448`), which StarkEx
/// never sees.
pub fn asset_info(class: AssetClass, l1_token: Option<&EthAddress>) -> Result<Vec<u8>> {
    let selector = selector_of(class);
    if class == AssetClass::Eth {
        return Ok(selector.to_vec());
    }
    let token = l1_token.ok_or_else(|| CryptoError::Asset {
        symbol: class.to_string(),
        reason: "a token contract address is required for its asset info".into(),
    })?;
    let mut info = Vec::with_capacity(36);
    info.extend_from_slice(&selector);
    info.extend_from_slice(&token.to_u256().to_be_bytes::<32>());
    Ok(info)
}

/// `assetType = keccak256(assetInfo ‖ uint256(quantum)) & (2^250 - 1)`.
pub fn asset_type(info: &[u8], quantum: Quantum) -> StarkExAssetType {
    let mut preimage = Vec::with_capacity(info.len() + 32);
    preimage.extend_from_slice(info);
    preimage.extend_from_slice(&U256::from(quantum.get()).to_be_bytes::<32>());
    StarkExAssetType(masked_felt(U256::from_be_bytes(keccak256(&preimage).0) & MASK_250))
}

/// ERC-721 asset id: `keccak256("NFT:" ‖ uint256(assetType) ‖ uint256(tokenId)) & (2^250 - 1)`.
pub fn nft_asset_id(asset_type: &StarkExAssetType, token_id: &TokenId) -> StarkExAssetId {
    let mut preimage = Vec::with_capacity(4 + 64);
    preimage.extend_from_slice(b"NFT:");
    preimage.extend_from_slice(&asset_type.0.to_bytes_be());
    preimage.extend_from_slice(&token_id.0.to_be_bytes::<32>());
    StarkExAssetId(masked_felt(U256::from_be_bytes(keccak256(&preimage).0) & MASK_250))
}

/// Mintable asset id:
/// `(keccak256("MINTABLE:" ‖ uint256(assetType) ‖ keccak256(blob)) & (2^240 - 1)) | 1 << 250`.
///
/// `blob` is the minting blob exactly as passed to `withdrawAndMint` (ImmutableX: the UTF-8 bytes
/// of `{tokenId}:{blueprint}`).
pub fn mintable_asset_id(asset_type: &StarkExAssetType, blob: &[u8]) -> StarkExAssetId {
    let mut preimage = Vec::with_capacity(9 + 64);
    preimage.extend_from_slice(b"MINTABLE:");
    preimage.extend_from_slice(&asset_type.0.to_bytes_be());
    preimage.extend_from_slice(keccak256(blob).as_slice());
    let id = (U256::from_be_bytes(keccak256(&preimage).0) & MASK_240) | MINTABLE_BIT;
    StarkExAssetId(masked_felt(id))
}

/// Encodes an asset for the StarkEx deployment it is listed on.
///
/// Refuses an asset without a StarkEx listing, a non-ETH asset without an L1 contract, an NFT
/// without a token id or with a quantum other than 1, and a mintable asset without a minting blob.
pub fn starkex_asset(asset: &Asset) -> Result<StarkExAsset> {
    let refuse = |reason: &str| CryptoError::Asset { symbol: asset.label(), reason: reason.into() };
    let class = asset.class();
    let listing = asset
        .token
        .starkex
        .as_ref()
        .ok_or_else(|| refuse("not listed on the StarkEx deployment"))?;
    let quantum = listing.quantum;
    if !class.is_fungible() && quantum != Quantum::ONE {
        return Err(refuse("a non-fungible asset must have quantum 1"));
    }
    let info = asset_info(class, asset.token.l1.as_ref())
        .map_err(|_| refuse("no L1 token contract is known, so its asset info is undefined"))?;
    let asset_type = asset_type(&info, quantum);
    let blob = || {
        asset
            .minting_blob
            .as_deref()
            .ok_or_else(|| refuse("a mintable asset needs its minting blob"))
    };
    let asset_id = match class {
        AssetClass::Eth | AssetClass::Erc20 => StarkExAssetId(asset_type.0),
        AssetClass::Erc721 => {
            let token_id =
                asset.token_id.as_ref().ok_or_else(|| refuse("an ERC-721 needs a token id"))?;
            nft_asset_id(&asset_type, token_id)
        }
        AssetClass::MintableErc20 | AssetClass::MintableErc721 => {
            mintable_asset_id(&asset_type, blob()?.as_bytes())
        }
    };
    Ok(StarkExAsset { asset_type, asset_id, quantum })
}

/// Converts a value already masked below 2^251 (< p) to a felt.
fn masked_felt(v: U256) -> Felt {
    // Every caller masks to at most 251 bits, which is below the field prime, so this cannot fail;
    // the fallback keeps the function total without a panic path.
    felt_from_u256(v).unwrap_or(Felt::ZERO)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use starkroute_types::{Layer, StarkExListing, Token};

    fn felt(s: &str) -> Felt {
        Felt::from_hex(s).unwrap()
    }

    fn token(class: AssetClass, l1: Option<&str>, quantum: u128) -> Token {
        Token {
            symbol: "T".into(),
            class,
            decimals: 18,
            home: Layer::L1,
            l1: l1.map(|a| a.parse().unwrap()),
            starknet: None,
            starkex: Some(StarkExListing {
                quantum: Quantum::new(quantum).unwrap(),
                minted_on_starkex: false,
            }),
        }
    }

    #[test]
    fn selectors_are_keccak_of_signatures() {
        for (sig, sel) in [
            ("ETH()", ETH_SELECTOR),
            ("ERC20Token(address)", ERC20_SELECTOR),
            ("ERC721Token(address,uint256)", ERC721_SELECTOR),
            ("MintableERC20Token(address)", MINTABLE_ERC20_SELECTOR),
            ("MintableERC721Token(address,uint256)", MINTABLE_ERC721_SELECTOR),
        ] {
            assert_eq!(keccak256(sig.as_bytes())[..4], sel, "{sig}");
        }
    }

    // assets_precomputed.json (starkex-resources / starkware-crypto-utils).
    #[test]
    fn eth_asset_types() {
        let info = asset_info(AssetClass::Eth, None).unwrap();
        assert_eq!(info, ETH_SELECTOR);
        assert_eq!(
            asset_type(&info, Quantum::new(1).unwrap()).0,
            felt("0x1142460171646987f20c714eda4b92812b22b811f56f27130937c267e29bd9e")
        );
        assert_eq!(
            asset_type(&info, Quantum::new(10_000_000).unwrap()).0,
            felt("0xd5b742d29ab21fdb06ac5c7c460550131c0b30cbc4c911985174c0ea4a92ec")
        );
    }

    #[test]
    fn imx_eth_asset_type_hex_and_decimal() {
        let a = starkex_asset(&Asset::fungible(token(AssetClass::Eth, None, 100_000_000)).unwrap())
            .unwrap();
        let expected = felt("0x02705737cd248ac819034b5de474c8f0368224f72a0fda9e031499d519992d9e");
        assert_eq!(a.asset_type.0, expected);
        assert_eq!(a.asset_id.0, expected);
        assert_eq!(
            a.asset_type.0,
            Felt::from_dec_str(
                "1103114524755001640548555873671808205895038091681120606634696969331999845790"
            )
            .unwrap()
        );
    }

    #[test]
    fn erc20_usdt() {
        let t =
            token(AssetClass::Erc20, Some("0xdAC17F958D2ee523a2206206994597C13D831ec7"), 10_000);
        let a = starkex_asset(&Asset::fungible(t).unwrap()).unwrap();
        let expected = felt("0x352386d5b7c781d47ecd404765307d74edc4d43b0490b8e03c71ac7a7429653");
        assert_eq!(a.asset_type.0, expected);
        assert_eq!(a.asset_id.0, expected, "ERC-20 asset id is its asset type");
    }

    #[test]
    fn erc721_type_and_id() {
        let t = token(AssetClass::Erc721, Some("0xB18ed4768F87b0fFAb83408014f1caF066b91380"), 1);
        let a = starkex_asset(&Asset::nft(t, "4100".parse().unwrap()).unwrap()).unwrap();
        assert_eq!(
            a.asset_type.0,
            felt("0x20c0e279ea2e027258d3056f34eca6e47ad9aaa995b896cafcb68d5a65b115b")
        );
        assert_eq!(
            a.asset_id.0,
            felt("0x2b0ff0c09505bc40f9d1659becf16855a7b2298b010f8a54f4b05325885b40c")
        );
    }

    #[test]
    fn mintable_ids_have_bit_250_and_depend_on_blob() {
        let t = token(
            AssetClass::MintableErc721,
            Some("0xB18ed4768F87b0fFAb83408014f1caF066b91380"),
            1,
        );
        let a = Asset::nft(t, "7".parse().unwrap()).unwrap();
        let enc = starkex_asset(&a).unwrap();
        let id = starkroute_types::felt_to_u256(&enc.asset_id.0);
        assert_eq!(id >> 250, U256::from(1));
        assert_eq!(enc.asset_id, mintable_asset_id(&enc.asset_type, b"{7}:{}"));
        assert_ne!(enc.asset_id, mintable_asset_id(&enc.asset_type, b"{8}:{}"));
    }

    #[test]
    fn refusals() {
        // Not listed.
        let mut t = token(AssetClass::Erc20, Some("0xdAC17F958D2ee523a2206206994597C13D831ec7"), 1);
        t.starkex = None;
        assert!(starkex_asset(&Asset::fungible(t).unwrap()).is_err());
        // ERC-20 without an L1 address.
        let t = token(AssetClass::Erc20, None, 1);
        assert!(starkex_asset(&Asset::fungible(t).unwrap()).is_err());
        // NFT with quantum != 1.
        let t = token(AssetClass::Erc721, Some("0xB18ed4768F87b0fFAb83408014f1caF066b91380"), 2);
        assert!(starkex_asset(&Asset::nft(t, "1".parse().unwrap()).unwrap()).is_err());
        // Mintable ERC-20 without a blob.
        let t =
            token(AssetClass::MintableErc20, Some("0xB18ed4768F87b0fFAb83408014f1caF066b91380"), 1);
        let err = starkex_asset(&Asset::fungible(t).unwrap()).unwrap_err();
        assert!(err.to_string().contains("minting blob"), "{err}");
    }
}
