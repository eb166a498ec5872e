//! The port between the StarkEx engine and the StarkEx core contract, as the sandbox's L1 sees
//! it: the types live in [`starkroute_starkex_engine::port`] (the engine is its own crate, also
//! run by the devnet stack) and are re-exported here; [`require`] is the L1 contracts' helper.

pub use starkroute_starkex_engine::port::{
    AssetKey, DepositEvent, FullWithdrawalRequest, Revert, StarkExContractPort, StateUpdate,
    WithdrawalModification,
};

/// `require(cond, reason)`.
pub fn require(cond: bool, reason: &str) -> Result<(), Revert> {
    if cond {
        Ok(())
    } else {
        Err(Revert::new(reason))
    }
}
