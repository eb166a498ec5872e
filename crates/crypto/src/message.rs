//! StarkEx signed-message hashes (Pedersen), bit-exact with StarkWare's reference code.
//!
//! Sources: `starkex-resources/.../starkex_messages.py` (`get_msg`) and
//! `starkware-crypto-utils/src/js/signature.ts` (`hashMsg`, `hashTransferMsgWithFee`,
//! `hashLimitOrderMsgWithFee`, and the range checks of the `get*MsgHash*` wrappers).
//!
//! Every field is range-checked before packing: an oversized field would silently spill into its
//! neighbour in the packed word and the user would sign something other than what was shown.

use alloy_primitives::U256;
use starknet_crypto::pedersen_hash;
use starkroute_types::{felt_from_u256, Felt};

use crate::{CryptoError, Result};

const TWO_POW_22: u64 = 1 << 22;
const TWO_POW_31: u64 = 1 << 31;
const TWO_POW_63: u64 = 1 << 63;

/// Instruction type of a limit order (old format).
const TYPE_LIMIT_ORDER: u64 = 0;
/// Instruction type of a transfer (old format).
const TYPE_TRANSFER: u64 = 1;
/// Instruction type of a conditional transfer (old format).
const TYPE_CONDITIONAL_TRANSFER: u64 = 2;
/// Instruction type of a limit order with fees.
const TYPE_LIMIT_ORDER_WITH_FEE: u64 = 3;
/// Instruction type of a transfer with fees.
const TYPE_TRANSFER_WITH_FEE: u64 = 4;
/// Instruction type of a conditional transfer with fees.
const TYPE_CONDITIONAL_TRANSFER_WITH_FEE: u64 = 5;

/// A transfer of `amount` quantized units of `asset_id` from `sender_vault` to the vault
/// `receiver_vault` of `receiver_key` (StarkEx instruction type 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferMsg {
    /// The asset id being transferred.
    pub asset_id: Felt,
    /// The receiver's Stark key.
    pub receiver_key: Felt,
    /// The sender's vault id (`< 2^31`; with fees also `[2^63, 2^63 + 2^31)`).
    pub sender_vault: u64,
    /// The receiver's vault id (same ranges as `sender_vault`).
    pub receiver_vault: u64,
    /// The quantized amount, `< 2^63`.
    pub amount: u64,
    /// The nonce, `< 2^31`.
    pub nonce: u64,
    /// Expiration as a timestamp in **hours** since the epoch, `< 2^22`.
    pub expiration_hours: u64,
}

/// A transfer that only executes if `condition` holds (StarkEx instruction type 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConditionalTransferMsg {
    /// The transfer.
    pub transfer: TransferMsg,
    /// The application-defined condition (a field element, usually a fact hash).
    pub condition: Felt,
}

/// A limit order: sell up to `amount_sell` of `asset_id_sell` for at least `amount_buy` of
/// `asset_id_buy` (StarkEx instruction type 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitOrderMsg {
    /// The vault the sold asset comes from.
    pub vault_sell: u64,
    /// The vault the bought asset goes to.
    pub vault_buy: u64,
    /// Quantized amount sold, `< 2^63`.
    pub amount_sell: u64,
    /// Quantized amount bought, `< 2^63`.
    pub amount_buy: u64,
    /// The asset id sold.
    pub asset_id_sell: Felt,
    /// The asset id bought.
    pub asset_id_buy: Felt,
    /// The nonce, `< 2^31`.
    pub nonce: u64,
    /// Expiration in hours since the epoch, `< 2^22`.
    pub expiration_hours: u64,
}

/// The fee part of a with-fee message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeInfo {
    /// The asset the fee is paid in.
    pub fee_asset_id: Felt,
    /// The vault the fee is taken from.
    pub fee_vault: u64,
    /// The maximum fee, quantized, `< 2^63`.
    pub fee_limit: u64,
}

/// A transfer with fees (type 4), or a conditional transfer with fees (type 5) when `condition`
/// is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferWithFeeMsg {
    /// The transfer.
    pub transfer: TransferMsg,
    /// The fee.
    pub fee: FeeInfo,
    /// The condition, for a conditional transfer.
    pub condition: Option<Felt>,
}

/// A limit order with fees (type 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitOrderWithFeeMsg {
    /// The order.
    pub order: LimitOrderMsg,
    /// The fee.
    pub fee: FeeInfo,
}

fn check_below(field: &'static str, v: u64, bound: u64, words: &'static str) -> Result<()> {
    if v < bound {
        Ok(())
    } else {
        Err(CryptoError::out_of_range(field, v, words))
    }
}

fn check_amount(field: &'static str, v: u64) -> Result<()> {
    check_below(field, v, TWO_POW_63, "below 2^63")
}

fn check_nonce(v: u64) -> Result<()> {
    check_below("nonce", v, TWO_POW_31, "below 2^31")
}

fn check_expiration(v: u64) -> Result<()> {
    check_below("expiration_timestamp", v, TWO_POW_22, "below 2^22 (hours since the epoch)")
}

/// Old-format messages pack vault ids in 31 bits.
fn check_vault_31(field: &'static str, v: u64) -> Result<()> {
    check_below(field, v, TWO_POW_31, "below 2^31")
}

/// With-fee messages pack vault ids in 64 bits; crypto-utils allows validium ids `[0, 2^31)` and
/// rollup ids `[2^63, 2^63 + 2^31)`.
fn check_vault_64(field: &'static str, v: u64) -> Result<()> {
    if v < TWO_POW_31 || (TWO_POW_63..TWO_POW_63 + TWO_POW_31).contains(&v) {
        Ok(())
    } else {
        Err(CryptoError::out_of_range(field, v, "in [0, 2^31) or [2^63, 2^63 + 2^31)"))
    }
}

/// `acc · 2^bits + v`, exact in 256 bits (every packing here stays below 2^251).
#[inline]
fn push(acc: U256, bits: usize, v: u64) -> U256 {
    (acc << bits) | U256::from(v)
}

fn packed_felt(w: U256) -> Felt {
    // Each packing is at most 245 bits (asserted by tests on the maximal values), so this is exact.
    felt_from_u256(w).unwrap_or(Felt::ZERO)
}

/// Signatures only cover hashes below 2^251; a Pedersen output above that cannot be signed.
fn checked_hash(h: Felt) -> Result<Felt> {
    if h.bits() > 251 {
        return Err(CryptoError::MessageHashOutOfRange(h.to_hex_string()));
    }
    Ok(h)
}

/// The old-format packed word and hash, shared by transfers and limit orders.
#[allow(clippy::too_many_arguments)]
fn hash_old_format(
    instruction: u64,
    vault0: u64,
    vault1: u64,
    amount0: u64,
    amount1: u64,
    nonce: u64,
    expiration: u64,
    token0: &Felt,
    token1: &Felt,
    condition: Option<&Felt>,
) -> Result<Felt> {
    let mut w = U256::from(instruction);
    w = push(w, 31, vault0);
    w = push(w, 31, vault1);
    w = push(w, 63, amount0);
    w = push(w, 63, amount1);
    w = push(w, 31, nonce);
    w = push(w, 22, expiration);
    let mut h = pedersen_hash(token0, token1);
    if let Some(c) = condition {
        h = pedersen_hash(&h, c);
    }
    checked_hash(pedersen_hash(&h, &packed_felt(w)))
}

impl TransferMsg {
    fn check_common(&self) -> Result<()> {
        check_amount("amount", self.amount)?;
        check_nonce(self.nonce)?;
        check_expiration(self.expiration_hours)
    }

    fn check_old_format(&self) -> Result<()> {
        self.check_common()?;
        check_vault_31("sender_vault_id", self.sender_vault)?;
        check_vault_31("receiver_vault_id", self.receiver_vault)
    }

    fn hash_with(&self, instruction: u64, condition: Option<&Felt>) -> Result<Felt> {
        self.check_old_format()?;
        hash_old_format(
            instruction,
            self.sender_vault,
            self.receiver_vault,
            self.amount,
            0,
            self.nonce,
            self.expiration_hours,
            &self.asset_id,
            &self.receiver_key,
            condition,
        )
    }

    /// The message hash the sender signs (type 1):
    /// `H(H(asset_id, receiver_key), packed)`.
    pub fn hash(&self) -> Result<Felt> {
        self.hash_with(TYPE_TRANSFER, None)
    }
}

impl ConditionalTransferMsg {
    /// The message hash (type 2): `H(H(H(asset_id, receiver_key), condition), packed)`.
    pub fn hash(&self) -> Result<Felt> {
        self.transfer.hash_with(TYPE_CONDITIONAL_TRANSFER, Some(&self.condition))
    }
}

impl LimitOrderMsg {
    fn check_common(&self) -> Result<()> {
        check_amount("amount_sell", self.amount_sell)?;
        check_amount("amount_buy", self.amount_buy)?;
        check_nonce(self.nonce)?;
        check_expiration(self.expiration_hours)
    }

    /// The message hash (type 0): `H(H(asset_id_sell, asset_id_buy), packed)`.
    pub fn hash(&self) -> Result<Felt> {
        self.check_common()?;
        check_vault_31("vault_id_sell", self.vault_sell)?;
        check_vault_31("vault_id_buy", self.vault_buy)?;
        hash_old_format(
            TYPE_LIMIT_ORDER,
            self.vault_sell,
            self.vault_buy,
            self.amount_sell,
            self.amount_buy,
            self.nonce,
            self.expiration_hours,
            &self.asset_id_sell,
            &self.asset_id_buy,
            None,
        )
    }
}

impl FeeInfo {
    fn check(&self) -> Result<()> {
        check_vault_64("fee_vault_id", self.fee_vault)?;
        check_amount("fee_limit", self.fee_limit)
    }
}

impl TransferWithFeeMsg {
    /// The message hash (type 4, or 5 with a condition):
    /// `H(H(H(H(asset_id, fee_asset_id), receiver_key) [, condition]), p1), p2)` with
    /// `p1 = sender_vault:64 ‖ receiver_vault:64 ‖ fee_vault:64 ‖ nonce:32` and
    /// `p2 = type ‖ amount:64 ‖ fee_limit:64 ‖ expiration:32 ‖ 0:81`.
    pub fn hash(&self) -> Result<Felt> {
        let t = &self.transfer;
        t.check_common()?;
        check_vault_64("sender_vault_id", t.sender_vault)?;
        check_vault_64("receiver_vault_id", t.receiver_vault)?;
        self.fee.check()?;
        let instruction = if self.condition.is_some() {
            TYPE_CONDITIONAL_TRANSFER_WITH_FEE
        } else {
            TYPE_TRANSFER_WITH_FEE
        };
        let mut p1 = U256::from(t.sender_vault);
        p1 = push(p1, 64, t.receiver_vault);
        p1 = push(p1, 64, self.fee.fee_vault);
        p1 = push(p1, 32, t.nonce);
        let mut p2 = U256::from(instruction);
        p2 = push(p2, 64, t.amount);
        p2 = push(p2, 64, self.fee.fee_limit);
        p2 = push(p2, 32, t.expiration_hours);
        p2 <<= 81;
        let mut h =
            pedersen_hash(&pedersen_hash(&t.asset_id, &self.fee.fee_asset_id), &t.receiver_key);
        if let Some(c) = &self.condition {
            h = pedersen_hash(&h, c);
        }
        h = pedersen_hash(&h, &packed_felt(p1));
        checked_hash(pedersen_hash(&h, &packed_felt(p2)))
    }
}

impl LimitOrderWithFeeMsg {
    /// The message hash (type 3): `H(H(H(H(sell, buy), fee_asset_id), p1), p2)` with
    /// `p1 = amount_sell:64 ‖ amount_buy:64 ‖ fee_limit:64 ‖ nonce:32` and
    /// `p2 = 3 ‖ fee_vault:64 ‖ vault_sell:64 ‖ vault_buy:64 ‖ expiration:32 ‖ 0:17`.
    pub fn hash(&self) -> Result<Felt> {
        let o = &self.order;
        o.check_common()?;
        check_vault_64("vault_id_sell", o.vault_sell)?;
        check_vault_64("vault_id_buy", o.vault_buy)?;
        self.fee.check()?;
        let mut p1 = U256::from(o.amount_sell);
        p1 = push(p1, 64, o.amount_buy);
        p1 = push(p1, 64, self.fee.fee_limit);
        p1 = push(p1, 32, o.nonce);
        let mut p2 = U256::from(TYPE_LIMIT_ORDER_WITH_FEE);
        p2 = push(p2, 64, self.fee.fee_vault);
        p2 = push(p2, 64, o.vault_sell);
        p2 = push(p2, 64, o.vault_buy);
        p2 = push(p2, 32, o.expiration_hours);
        p2 <<= 17;
        let h = pedersen_hash(
            &pedersen_hash(&o.asset_id_sell, &o.asset_id_buy),
            &self.fee.fee_asset_id,
        );
        let h = pedersen_hash(&h, &packed_felt(p1));
        checked_hash(pedersen_hash(&h, &packed_felt(p2)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn felt(s: &str) -> Felt {
        Felt::from_hex(s).unwrap()
    }

    // signature_test_data.json: transfer_order (also the base of the conditional and fee cases).
    fn transfer_order() -> TransferMsg {
        TransferMsg {
            asset_id: felt("0x3003a65651d3b9fb2eff934a4416db301afd112a8492aaf8d7297fc87dcd9f4"),
            receiver_key: felt("0x5fa3383597691ea9d827a79e1a4f0f7949435ced18ca9619de8ab97e661020"),
            sender_vault: 34,
            receiver_vault: 21,
            amount: 2154549703648910716,
            nonce: 1,
            expiration_hours: 438953,
        }
    }

    fn condition() -> Felt {
        felt("0x318ff6d26cf3175c77668cd6434ab34d31e59f806a6a7c06d08215bccb7eaf8")
    }

    // starkware-crypto-utils test/config/signature_test_data.json: fee_info_user.
    fn fee_info_user() -> FeeInfo {
        FeeInfo {
            fee_asset_id: felt("0x70bf591713d7cb7150523cf64add8d49fa6b61036bba9f596bd2af8e3bb86f9"),
            fee_vault: 593128169,
            fee_limit: 7,
        }
    }

    // signature_test_data.json: settlement.party_a_order.
    fn party_a_order() -> LimitOrderMsg {
        LimitOrderMsg {
            vault_sell: 21,
            vault_buy: 27,
            amount_sell: 2154686749748910716,
            amount_buy: 1470242115489520459,
            asset_id_sell: felt("0x5fa3383597691ea9d827a79e1a4f0f7989c35ced18ca9619de8ab97e661020"),
            asset_id_buy: felt("0x774961c824a3b0fb3d2965f01471c9c7734bf8dbde659e0c08dca2ef18d56a"),
            nonce: 0,
            expiration_hours: 438953,
        }
    }

    #[test]
    fn pedersen_hash_data_1_and_2() {
        assert_eq!(
            pedersen_hash(
                &felt("0x3d937c035c878245caf64531a5756109c53068da139362728feb561405371cb"),
                &felt("0x208a0a10250e382e1e4bbe2880906c2791bf6275695e02fbbc6aeff9cd8b31a"),
            ),
            felt("0x30e480bed5fe53fa909cc0f8c4d99b8f9f2c016be4c41e13a4848797979c662")
        );
        assert_eq!(
            pedersen_hash(
                &felt("0x58f580910a6ca59b28927c08fe6c43e2e303ca384badc365795fc645d479d45"),
                &felt("0x78734f65a067be9bdb39de18434d71e79f7b6466a4b66bbd979ab9e7515fe0b"),
            ),
            felt("0x68cc0b76cddd1dd4ed2301ada9b7c872b23875d5ff837b3a87993e0d9996b87")
        );
    }

    #[test]
    fn transfer_order_hash() {
        assert_eq!(
            transfer_order().hash().unwrap(),
            felt("0x6366b00c218fb4c8a8b142ca482145e8513c78e00faa0de76298ba14fc37ae7")
        );
    }

    #[test]
    fn conditional_transfer_order_hash() {
        let m = ConditionalTransferMsg { transfer: transfer_order(), condition: condition() };
        assert_eq!(
            m.hash().unwrap(),
            felt("0xfa5f0ad1ebff93c9e6474379a213ba1e1f9e42f5f1cb361b0327e073720384")
        );
    }

    #[test]
    fn party_a_and_b_order_hashes() {
        assert_eq!(
            party_a_order().hash().unwrap(),
            felt("0x397e76d1667c4454bfb83514e120583af836f8e32a516765497823eabe16a3f")
        );
        let b = LimitOrderMsg {
            vault_sell: 221,
            vault_buy: 227,
            amount_sell: 14702421154895,
            amount_buy: 21546867497489,
            asset_id_sell: felt("0x774961c824a3b0fb3d2965f01471c9c7734bf8dbde659e0c08dca2ef18d56a"),
            asset_id_buy: felt("0x5fa3383597691ea9d827a79e1a4f0f7989c35ced18ca9619de8ab97e661020"),
            nonce: 1,
            expiration_hours: 468963,
        };
        assert_eq!(
            b.hash().unwrap(),
            felt("0x6adb14408452ede28b89f40ca1847eca4de6a2dd6eb2c7d6dc5584f9399586")
        );
    }

    // starkware-crypto-utils signature_test_data.json meta_data.*_with_fee, inputs as in
    // src/js/signature_example.js.
    #[test]
    fn with_fee_hashes() {
        let t = TransferWithFeeMsg {
            transfer: transfer_order(),
            fee: fee_info_user(),
            condition: None,
        };
        assert_eq!(
            t.hash().unwrap(),
            felt("0x5359c71cf08f394b7eb713532f1a0fcf1dccdf1836b10db2813e6ff6b6548db")
        );
        let c = TransferWithFeeMsg { condition: Some(condition()), ..t };
        assert_eq!(
            c.hash().unwrap(),
            felt("0x3af0db074a735ebd2c1e5d38e60414d012c2736b935d62aa4fe9657fe7f1c35")
        );
        let o = LimitOrderWithFeeMsg { order: party_a_order(), fee: fee_info_user() };
        assert_eq!(
            o.hash().unwrap(),
            felt("0x2a6c0382404920ebd73c1cbc319cd38974e7e255e00394345e652b0ce2cefbd")
        );
    }

    // transfer_order_2nd_valid_range: a rollup sender vault 2^63 + 10, conditional with fee.
    #[test]
    fn with_fee_second_vault_range() {
        let mut transfer = transfer_order();
        transfer.sender_vault = 9223372036854775818;
        let t = TransferWithFeeMsg { transfer, fee: fee_info_user(), condition: Some(condition()) };
        assert_eq!(
            t.hash().unwrap(),
            felt("0x6a9f95664a81d7dd4642c7d4084152d1140bf8e31f0b887feb86888b0b6f46a")
        );
        // The same vault id is refused in the old 31-bit format.
        let err = transfer.hash().unwrap_err();
        assert!(err.to_string().contains("sender_vault_id"), "{err}");
    }

    #[test]
    fn range_errors_name_the_field() {
        let cases: Vec<(TransferMsg, &str)> = vec![
            (TransferMsg { nonce: 1 << 31, ..transfer_order() }, "nonce"),
            (TransferMsg { expiration_hours: 1 << 22, ..transfer_order() }, "expiration_timestamp"),
            (TransferMsg { amount: 1 << 63, ..transfer_order() }, "amount"),
            (TransferMsg { sender_vault: 1 << 31, ..transfer_order() }, "sender_vault_id"),
            (TransferMsg { receiver_vault: 1 << 31, ..transfer_order() }, "receiver_vault_id"),
        ];
        for (m, field) in cases {
            match m.hash() {
                Err(CryptoError::OutOfRange { field: f, .. }) => assert_eq!(f, field),
                other => panic!("{field}: expected OutOfRange, got {other:?}"),
            }
        }
        let o = LimitOrderMsg { amount_buy: u64::MAX, ..party_a_order() };
        assert!(matches!(o.hash(), Err(CryptoError::OutOfRange { field: "amount_buy", .. })));
        let mut fee = fee_info_user();
        fee.fee_vault = (1 << 63) + (1 << 31);
        let t = TransferWithFeeMsg { transfer: transfer_order(), fee, condition: None };
        assert!(matches!(t.hash(), Err(CryptoError::OutOfRange { field: "fee_vault_id", .. })));
        fee.fee_vault = 0;
        fee.fee_limit = 1 << 63;
        let t = TransferWithFeeMsg { transfer: transfer_order(), fee, condition: None };
        assert!(matches!(t.hash(), Err(CryptoError::OutOfRange { field: "fee_limit", .. })));
    }

    #[test]
    fn maximal_fields_pack_below_the_prime() {
        // The largest allowed values must not reach 2^251, so packing never wraps.
        let max = TransferMsg {
            asset_id: Felt::MAX,
            receiver_key: Felt::MAX,
            sender_vault: TWO_POW_63 + TWO_POW_31 - 1,
            receiver_vault: TWO_POW_63 + TWO_POW_31 - 1,
            amount: TWO_POW_63 - 1,
            nonce: TWO_POW_31 - 1,
            expiration_hours: TWO_POW_22 - 1,
        };
        let mut p2 = U256::from(TYPE_CONDITIONAL_TRANSFER_WITH_FEE);
        p2 = push(p2, 64, max.amount);
        p2 = push(p2, 64, TWO_POW_63 - 1);
        p2 = push(p2, 32, max.expiration_hours);
        p2 <<= 81;
        assert!(p2.bit_len() <= 251);
        let mut w = U256::from(TYPE_CONDITIONAL_TRANSFER);
        for (bits, v) in [(31, TWO_POW_31 - 1), (31, TWO_POW_31 - 1), (63, max.amount), (63, 0)] {
            w = push(w, bits, v);
        }
        w = push(push(w, 31, max.nonce), 22, max.expiration_hours);
        assert!(w.bit_len() <= 251);
        let fee = FeeInfo { fee_asset_id: Felt::MAX, fee_vault: max.sender_vault, fee_limit: 7 };
        // Hashing maximal inputs either succeeds or reports an out-of-range hash; never panics.
        let _ = TransferWithFeeMsg { transfer: max, fee, condition: Some(Felt::MAX) }.hash();
    }
}
