//! What each leg does on each layer, as data — written once.
//!
//! A leg's protocol rules (which contract functions it calls, with which arguments, from which
//! sender, what must hold on the chain before it is sent) live here and nowhere else. The
//! backends only carry them out:
//! - the sandbox executes the [`L1Call`]s and [`StarknetCall`]s as they are;
//! - the alloy adapter encodes each [`L1Call`] as ABI calldata and sends it;
//! - the starknet-rs adapter wraps the [`StarknetCall`]s in a V3 invoke transaction.
//!
//! Planning reads the chain through [`L1Reads`] (answered by each backend from its own state),
//! so the rules can be tested once against any backend.

mod l1;
mod l1_leg;
mod starknet;

pub use l1::{
    starkgate_eth_token, starkgate_withdrawal_payload, L1Call, L1Contracts, StateUpdate,
    WithdrawalModification,
};
pub use l1_leg::{
    l1_readiness, l1_sender, l1_token, plan_l1_leg, starkgate_token, token_id, L1Leg, L1LegPayload,
    L1LegTx, L1Reads, FREEZE_GRACE_PERIOD,
};
pub use starknet::{
    plan_starknet_leg, BadNftRequest, NftRequest, StarknetBridges, StarknetCall, DEPOSIT_AUTO_BURN,
    ERC1155_TYPE, ERC721_TYPE, HEADER_V1, WITHDRAW_AUTO,
};
