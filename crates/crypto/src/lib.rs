#![doc = include_str!("../README.md")]

pub mod asset;
mod error;
pub mod keys;
pub mod message;
pub mod signature;
pub mod starknet;
pub mod vault;

pub use asset::{
    asset_info, asset_type, mintable_asset_id, nft_asset_id, starkex_asset, StarkExAsset,
};
pub use error::{CryptoError, Result};
pub use keys::{
    derive_imx_stark_private_key, derive_imx_stark_private_key_with,
    derive_stark_private_key_from_seed, eip2645_index, eip2645_path, grind_key, grind_key_with,
    EthPrivateKey, GrindVariant,
};
pub use message::{
    ConditionalTransferMsg, FeeInfo, LimitOrderMsg, LimitOrderWithFeeMsg, TransferMsg,
    TransferWithFeeMsg,
};
pub use signature::{
    is_valid_stark_key, registration_keccak, registration_message_hash, registration_signature,
    verify, StarkPrivateKey, StarkSignature, EC_ORDER,
};
pub use starknet::{
    felts_to_u256, is_valid_starknet_address, l1_to_l2_message_hash, l2_to_l1_message_hash,
    selector, sn_keccak, u256_to_felts,
};
pub use vault::{vault_leaf_hash, MerkleProof, VaultTree, EMPTY_VAULT_LEAF};

/// The Pedersen hash `H(a, b)` StarkEx uses everywhere (messages, vault leaves, Merkle nodes).
///
/// A thin re-export point so callers need not depend on `starknet-crypto` directly.
#[inline]
pub fn pedersen(a: &starkroute_types::Felt, b: &starkroute_types::Felt) -> starkroute_types::Felt {
    starknet_crypto::pedersen_hash(a, b)
}
