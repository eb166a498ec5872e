//! The embedded sandbox: an Ethereum L1 (with the StarkEx core contract, the Starknet core
//! messaging contract, StarkGate and an NFT bridge), a StarkEx engine (the operator, serving the
//! ImmutableX-style REST API) and a Starknet, in one process, driven by one virtual clock.
//!
//! It follows the real systems' rules, cryptography and failure modes — the same revert reasons,
//! the same message hashes, the same Merkle roots — so that the router cannot tell it from the
//! real thing except by its speed. See `DESIGN.md` ("The embedded sandbox").
//!
//! Ownership of the modules:
//! - [`clock`]: the virtual clock.
//! - [`l1`]: the ledger (ETH, ERC-20, ERC-721), blocks and receipts, and the L1 contracts.
//! - [`starkex`]: the StarkEx engine (vaults, transfers, withdrawals, batches, availability) and
//!   its REST API: the `starkroute-starkex-engine` crate, re-exported.
//! - [`interface`]: the engine's port to the StarkEx contract (re-exported from the engine crate),
//!   which the L1 implements.
//! - [`starknet`]: accounts, tokens, the L2 bridges, transaction statuses and state updates.
//! - [`world`]: everything together, advanced by the clock; the conservation check.

pub mod adapters;
pub mod clock;
pub mod interface;
pub mod l1;
pub mod scenario;
pub mod starknet;
pub mod world;

pub use starkroute_starkex_engine as starkex;

pub use clock::Clock;
pub use interface::{AssetKey, Revert};
