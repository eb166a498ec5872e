//! What the engine keeps of every accepted (or refused) operation, for the REST API's lists.

use alloy_primitives::U256;
use starkroute_types::{Felt, StarkKey, VaultId};

use super::TransferRequest;
use crate::port::DepositEvent;

/// A deposit seen on L1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositRecord {
    /// The exchange-wide sequential transaction id.
    pub transaction_id: u64,
    /// The L1 event.
    pub event: DepositEvent,
    /// `None` when credited; the reason when refused (the deposit stays pending on L1, where its
    /// depositor can cancel and reclaim it).
    pub refused: Option<String>,
    /// When it was picked up (virtual seconds).
    pub timestamp: u64,
}

/// An accepted transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRecord {
    /// The exchange-wide sequential transaction id.
    pub transaction_id: u64,
    /// The signed request.
    pub request: TransferRequest,
    /// When it was accepted (virtual seconds).
    pub timestamp: u64,
}

/// How a withdrawal came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithdrawalKind {
    /// `/v1/withdrawals` (credits the Stark key).
    V1,
    /// `/v2/withdrawals` (credits the ETH address).
    V2,
    /// A full-withdrawal request served by the operator (credits the Stark key).
    Full,
}

/// An accepted withdrawal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalRecord {
    /// The exchange-wide sequential transaction id.
    pub transaction_id: u64,
    /// The vault owner.
    pub stark_key: StarkKey,
    /// The vault debited.
    pub vault: VaultId,
    /// The asset id.
    pub asset_id: Felt,
    /// The quantized amount.
    pub amount: u64,
    /// The owner key credited on L1.
    pub owner_key: U256,
    /// How it came about.
    pub kind: WithdrawalKind,
    /// When it was accepted (virtual seconds).
    pub timestamp: u64,
}

/// A mint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintRecord {
    /// The exchange-wide sequential transaction id.
    pub transaction_id: u64,
    /// The receiver.
    pub receiver: StarkKey,
    /// The vault credited.
    pub vault: VaultId,
    /// The mintable asset id.
    pub asset_id: Felt,
    /// The quantized amount.
    pub amount: u64,
    /// When (virtual seconds).
    pub timestamp: u64,
}
