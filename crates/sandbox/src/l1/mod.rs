//! Ethereum L1: the ledger, blocks and receipts, and the contracts the router talks to.

pub mod ledger;

pub use ledger::Ledger;
