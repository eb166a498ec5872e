//! Ethereum L1: the ledger, blocks and receipts, and the contracts the router talks to.
//!
//! - [`chain`]: [`L1`] (blocks every 12 s of virtual time, nonces, receipts, confirmations), the
//!   [`L1Call`] enum (one variant per contract function) and the single entry point
//!   [`L1::send`].
//! - [`starkex_core`]: the StarkEx core contract (v4.0.1); [`L1`] implements
//!   [`crate::interface::StarkExContractPort`].
//! - [`messaging`]: the Starknet core contract's messaging and state updates.
//! - [`starkgate`]: the StarkGate L1 bridge.
//! - [`nft_bridge`]: the Starklane-style ERC-721 bridge.
//!
//! ## Conservation: what [`L1::holdings`] counts
//!
//! Keyed by [`crate::AssetKey`] (ETH = `token: None`; an ERC-20 by its contract; an ERC-721 by
//! contract and token id), in base units:
//! - every ledger balance (ETH, ERC-20, ERC-721 ownership) of every address **except** the three
//!   custody contracts: the StarkEx core, the StarkGate bridge and the NFT bridge. The Starknet
//!   core contract is *not* a custody address: the L1→L2 fees it collects are counted as its
//!   own ETH;
//! - the StarkEx core's pending deposits and withdrawal balances (quantized × quantum), keyed by
//!   the asset they stand for. A mintable asset's withdrawal balance is counted once its minting
//!   blob is known ([`StarkExCore::note_minting_blob`], or after `withdrawAndMint`); others are
//!   listed by [`StarkExCore::unresolved_withdrawals`].
//!
//! Not counted here: what the StarkGate and NFT bridges escrow, and every message in flight —
//! the Starknet side ([`crate::starknet::Starknet::holdings`]) counts those, because only it
//! knows which L1→L2 messages it has already executed. The StarkEx core's custody equals its
//! pending deposits + withdrawal balances + the engine's vaults *as of the last state update*,
//! so the engine must report its vaults as of its last posted batch (or subtract the deposits
//! it applied and add the withdrawals it debited since).

pub mod chain;
pub mod events;
pub mod ledger;
pub mod messaging;
pub mod nft_bridge;
pub mod starkex_core;
pub mod starkgate;

pub use chain::{
    addr, starkgate_eth_token, L1Addresses, L1Call, L1Config, L1State, Receipt, TxStatus, L1,
};
pub use events::{L1Event, TxHash};
pub use ledger::Ledger;
pub use messaging::{MessageToL1, MessageToL2, StarknetMessaging};
pub use nft_bridge::{CollectionPair, NftBridge, NftRequest};
pub use starkex_core::StarkExCore;
pub use starkgate::StarkGate;
