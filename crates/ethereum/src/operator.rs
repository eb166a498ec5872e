//! What the L1 adapter needs from the StarkEx operator and from Starknet (the cross-layer ports,
//! defined in `starkroute-layer`), and the operator's own call: `updateState`.

use alloy::primitives::U256;
use starkroute_protocol::StateUpdate;
use starkroute_types::felt_to_u256;

use crate::bindings::StarkExCore;

pub use starkroute_layer::{EscapeProof, L2MessageSource, MessageToL1, StarkExOperator};

/// The StarkEx core's `updateState` for a proven batch (operator only).
pub fn update_state_call(update: &StateUpdate) -> StarkExCore::updateStateCall {
    StarkExCore::updateStateCall {
        newSequenceNumber: U256::from(update.sequence_number),
        batchId: U256::from(update.batch_id),
        newVaultRoot: felt_to_u256(&update.vault_root),
        deposits: update
            .deposits
            .iter()
            .map(|(key, asset, vault, q)| StarkExCore::DepositConsumed {
                starkKey: key.to_u256(),
                assetId: felt_to_u256(asset),
                vaultId: U256::from(vault.get()),
                quantizedAmount: U256::from(*q),
            })
            .collect(),
        withdrawals: update
            .withdrawals
            .iter()
            .map(|w| StarkExCore::WithdrawalCredit {
                ownerKey: w.owner_key,
                assetId: felt_to_u256(&w.asset_id),
                quantizedAmount: U256::from(w.quantized_amount),
            })
            .collect(),
        served: update
            .full_withdrawals_served
            .iter()
            .map(|(key, vault)| StarkExCore::FullWithdrawalServed {
                starkKey: key.to_u256(),
                vaultId: U256::from(vault.get()),
            })
            .collect(),
    }
}
