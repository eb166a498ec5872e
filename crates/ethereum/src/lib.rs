//! The L1 settlement-layer adapter over [alloy](https://docs.rs/alloy): [`EthereumL1`] prepares
//! each L1 leg as signed EIP-1559 transactions, sends them with `eth_sendRawTransaction`, and
//! follows their receipts to finality.
//!
//! - **Legs**: deposits into StarkEx (ETH; ERC-20 and ERC-721 with their approval first), StarkEx
//!   claims (`withdraw`, `withdrawNft`, `withdrawAndMint`), full withdrawal / freeze / escape,
//!   StarkGate deposit (fee from `estimateDepositFeeWei`, within the bridge's bounds) and
//!   withdraw, NFT-bridge deposit and claim, L1 transfers.
//! - **Exactly once**: nonces come from the sender's *pending* nonce when the leg is prepared and
//!   are stored in the payload with the signed transactions; the leg's identity is its last
//!   transaction's hash. `send` skips mined transactions, treats "already known" (and "nonce
//!   too low" for a transaction the node knows) as sent, and refuses a nonce another
//!   transaction took ([`EthError::NonceTaken`]). Nothing is ever re-signed.
//! - **Signatures**: the [`Keystore`]'s keys sign; without the sender's key, `prepare` asks for
//!   a signature over the EIP-1559 signing hash and `attach_signature` checks it by recovery.
//! - **Status**: receipt, then confirmations; a reverted transaction's reason is decoded by
//!   replaying it against the state before its block. StarkGate and NFT-bridge deposits are final
//!   once the messaging contract shows their L1→L2 message consumed.
//! - **Errors**: [`EthError`] says whether a retry can help (transport failures, rate limits)
//!   or not (refusals, reverts with their reason).
//!
//! Bindings come from the committed ABIs in `abis/` through `sol!`; [`deploy`] deploys the
//! committed artifacts of `contracts/` (tests, local nodes).

mod adapter;
pub mod bindings;
pub mod deploy;
mod encode;
mod error;
mod operator;

pub use adapter::{
    transact, EthPayload, EthTx, EthereumL1, Keystore, L1Contracts, TokenBridge, STARKGATE_ETH,
};
pub use encode::{encode, EncodedCall};
pub use error::{revert_reason, EthError, Result};
pub use operator::{update_state_call, EscapeProof, L2MessageSource, MessageToL1, StarkExOperator};
