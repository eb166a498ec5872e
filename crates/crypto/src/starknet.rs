//! Starknet helpers: entry-point selectors, L1↔L2 message hashes and `u256` splitting.
//!
//! Sources: `cairo-lang` `StarknetMessaging.sol` (`getL1ToL2MsgHash`, `getL2ToL1MsgHash`) and
//! `starknet-rs` `starknet-core/src/types/msg.rs` / `utils.rs` (`get_selector_from_name`).

use alloy_primitives::{keccak256, U256};
use starkroute_types::{felt_from_u256, felt_to_u256, EthAddress, Felt, STARKNET_ADDRESS_BOUND};

use crate::{CryptoError, Result};

/// `2^250 - 1`: `sn_keccak` keeps the low 250 bits of keccak256.
const MASK_250: U256 = U256::from_limbs([u64::MAX, u64::MAX, u64::MAX, 0x03ff_ffff_ffff_ffff]);

/// `sn_keccak(data) = keccak256(data) & (2^250 - 1)`.
pub fn sn_keccak(data: &[u8]) -> Felt {
    let v = U256::from_be_bytes(keccak256(data).0) & MASK_250;
    // Below 2^250 < p.
    felt_from_u256(v).unwrap_or(Felt::ZERO)
}

/// The entry-point selector of a function name: `sn_keccak(name)`.
///
/// As in starknet-rs, the default entry points `__default__` and `__l1_default__` have selector 0,
/// and non-ASCII names are refused (they cannot be Cairo identifiers, so a selector for one would
/// silently address nothing).
pub fn selector(name: &str) -> Result<Felt> {
    if name == "__default__" || name == "__l1_default__" {
        return Ok(Felt::ZERO);
    }
    if !name.is_ascii() {
        return Err(CryptoError::Parse(starkroute_types::ParseError::new(format!(
            "{name:?} is not an ASCII identifier"
        ))));
    }
    Ok(sn_keccak(name.as_bytes()))
}

fn word(f: &Felt) -> [u8; 32] {
    f.to_bytes_be()
}

/// The hash `StarknetMessaging` stores for an L1→L2 message:
/// `keccak256(abi.encodePacked(uint256(from), to, nonce, selector, payload.length, payload))`.
pub fn l1_to_l2_message_hash(
    from: &EthAddress,
    to: Felt,
    nonce: U256,
    selector: Felt,
    payload: &[Felt],
) -> [u8; 32] {
    let mut buf = Vec::with_capacity(32 * (5 + payload.len()));
    buf.extend_from_slice(&from.to_u256().to_be_bytes::<32>());
    buf.extend_from_slice(&word(&to));
    buf.extend_from_slice(&nonce.to_be_bytes::<32>());
    buf.extend_from_slice(&word(&selector));
    buf.extend_from_slice(&U256::from(payload.len()).to_be_bytes::<32>());
    for p in payload {
        buf.extend_from_slice(&word(p));
    }
    keccak256(&buf).0
}

/// The hash `StarknetMessaging` counts for an L2→L1 message:
/// `keccak256(abi.encodePacked(from, uint256(to), payload.length, payload))`.
pub fn l2_to_l1_message_hash(from: Felt, to: &EthAddress, payload: &[Felt]) -> [u8; 32] {
    let mut buf = Vec::with_capacity(32 * (3 + payload.len()));
    buf.extend_from_slice(&word(&from));
    buf.extend_from_slice(&to.to_u256().to_be_bytes::<32>());
    buf.extend_from_slice(&U256::from(payload.len()).to_be_bytes::<32>());
    for p in payload {
        buf.extend_from_slice(&word(p));
    }
    keccak256(&buf).0
}

/// Splits a 256-bit integer into Cairo's `u256 { low, high }` felts (128 bits each).
pub fn u256_to_felts(v: U256) -> (Felt, Felt) {
    let bytes = v.to_be_bytes::<32>();
    (Felt::from_bytes_be_slice(&bytes[16..]), Felt::from_bytes_be_slice(&bytes[..16]))
}

/// Joins Cairo's `u256 { low, high }`; refuses halves that do not fit 128 bits.
pub fn felts_to_u256(low: Felt, high: Felt) -> Result<U256> {
    let bound = U256::from(1) << 128;
    let (lo, hi) = (felt_to_u256(&low), felt_to_u256(&high));
    if lo >= bound {
        return Err(CryptoError::out_of_range("low", low.to_hex_string(), "below 2^128"));
    }
    if hi >= bound {
        return Err(CryptoError::out_of_range("high", high.to_hex_string(), "below 2^128"));
    }
    Ok((hi << 128) | lo)
}

/// Whether a felt is a usable Starknet contract address: `0 < a < 2^251 - 256`.
pub fn is_valid_starknet_address(a: &Felt) -> bool {
    *a != Felt::ZERO && felt_to_u256(a) < STARKNET_ADDRESS_BOUND
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn felt(s: &str) -> Felt {
        Felt::from_hex(s).unwrap()
    }

    fn eth(s: &str) -> EthAddress {
        s.parse().unwrap()
    }

    // PROTOCOL D.3 / D.4 constants.
    #[test]
    fn starkgate_selectors() {
        for (name, sel) in [
            ("handle_deposit", "0x2d757788a8d8d6f21d1cd40bce38a8222d70654214e96ff95d8086e684fbee5"),
            (
                "handle_token_deposit",
                "0x1b64b1b3b690b43b9b514fb81377518f4039cd3e4f4914d8a6bdf01d679fb19",
            ),
            (
                "handle_deposit_with_message",
                "0x8bce41827dd5484d80312a2e43bc42a896e3fcf75bf84c2b49339168dfa00a",
            ),
            (
                "handle_token_deployment",
                "0x3d78c7ddffebbba7bd7263963b2e0e86b2ed9e990a4fc1b9aed7acd11b37dbc",
            ),
            (
                "initiate_token_withdraw",
                "0xe5b455a836c7a254df57ed39d023d46b641b331162c6c0b369647056655409",
            ),
            (
                "initiate_withdraw",
                "0xe48e45e0642d5f170bb832c637926f4c85b77d555848b693304600c4275f26",
            ),
        ] {
            assert_eq!(selector(name).unwrap(), felt(sel), "{name}");
        }
        assert_eq!(selector("__default__").unwrap(), Felt::ZERO);
        assert!(selector("transfér").is_err());
    }

    // starknet-rs starknet-core/src/types/msg.rs tests.
    #[test]
    fn l1_to_l2_starknet_rs_vector() {
        let h = l1_to_l2_message_hash(
            &eth("0xc3511006C04EF1d78af4C8E0e74Ec18A6E64Ff9e"),
            felt("0x73314940630fd6dcda0d772d4c972c4e0a9946bef9dabf4ef84eda8ef542b82"),
            U256::from(775628u64),
            felt("0x2d757788a8d8d6f21d1cd40bce38a8222d70654214e96ff95d8086e684fbee5"),
            &[
                felt("0x689ead7d814e51ed93644bc145f0754839b8dcb340027ce0c30953f38f55d7"),
                felt("0x2c68af0bb140000"),
                felt("0x0"),
            ],
        );
        assert_eq!(
            hex::encode(h),
            "c51a543ef9563ad2545342b390b67edfcddf9886aa36846cf70382362fc5fab3"
        );
    }

    #[test]
    fn l2_to_l1_starknet_rs_vector() {
        let h = l2_to_l1_message_hash(
            felt("0x0164cba33fb7152531f6b4cfc3fff26b4d7b26b4900e0881042edd607b428a92"),
            &eth("0xb6dbfaa86bb683152e4fc2401260f9ca249519c0"),
            &[0u64, 0, 0x182b8, 0, 0x384, 0].map(Felt::from),
        );
        assert_eq!(
            hex::encode(h),
            "326a04493fc8f24ac6c6ae7bdba23243ce03ec3aae53f0ed3a0d686eb8cac930"
        );
    }

    // starknet.js src/utils/hash/selector.ts getL2MessageHash doc: StarkGate Sepolia ETH deposit.
    #[test]
    fn starkgate_sepolia_deposit_vector() {
        let h = l1_to_l2_message_hash(
            &eth("0x8453fc6cd1bcfe8d4dfc069c400b433054d47bdc"),
            felt("0x04c5772d1914fe6ce891b64eb35bf3522aeae1315647314aac58b01137607f3f"),
            U256::from(8288u64),
            selector("handle_token_deposit").unwrap(),
            &[
                felt("0x455448"),
                felt("0x914f021563b57a5f785b63661c709da629f3508c"),
                felt("0x7a75bbfece99f70a4862093d16124b5c179b94640e615e9d5384d7e1d463549"),
                Felt::from(9_000_000_000_000_000u64),
                Felt::ZERO,
            ],
        );
        assert_eq!(
            hex::encode(h),
            "2e350fa9d830482605cb68be4fdb9f0cb3e1f95a0c51623ac1a5d1bd997c2090"
        );
    }

    #[test]
    fn starknet_address_bounds() {
        assert!(!is_valid_starknet_address(&Felt::ZERO));
        assert!(is_valid_starknet_address(&Felt::ONE));
        let bound = felt_from_u256(STARKNET_ADDRESS_BOUND).unwrap();
        assert!(!is_valid_starknet_address(&bound));
        assert!(is_valid_starknet_address(&(bound - Felt::ONE)));
        assert!(!is_valid_starknet_address(&Felt::MAX));
    }

    #[test]
    fn u256_halves_refuse_oversized() {
        let two_128 = Felt::from(u128::MAX) + Felt::ONE;
        assert!(felts_to_u256(two_128, Felt::ZERO).is_err());
        assert!(felts_to_u256(Felt::ZERO, two_128).is_err());
        assert_eq!(
            felts_to_u256(Felt::from(u128::MAX), Felt::ZERO).unwrap(),
            U256::from(u128::MAX)
        );
    }

    proptest! {
        #[test]
        fn u256_split_round_trip(limbs in any::<[u64; 4]>()) {
            let v = U256::from_limbs(limbs);
            let (lo, hi) = u256_to_felts(v);
            prop_assert_eq!(felts_to_u256(lo, hi).unwrap(), v);
            prop_assert_eq!(felt_to_u256(&lo), v & ((U256::from(1) << 128) - U256::from(1)));
        }
    }
}
