//! In-process settlement-layer adapters for the sandbox's L1 ([`SandboxL1`]) and Starknet
//! ([`SandboxStarknet`]), over a [`SharedWorld`](crate::world::SharedWorld). The StarkEx side is
//! served over HTTP and driven by the `starkroute-starkex` adapter, like a real deployment.
//!
//! ## Payloads and identities
//!
//! - L1: a list of transactions from one sender — the leg's call, preceded by the approval it
//!   needs (ERC-20 `approve`, ERC-721 `approve`) — each with its nonce, value and the hash the
//!   sandbox will give it (`keccak256(sender ‖ nonce ‖ value ‖ json(call))`, the same formula as
//!   [`crate::l1::L1::send`]). The leg's identity is the hash of its last transaction.
//! - Starknet: one invoke (a multicall: an NFT withdraw is `approve` + `deposit_tokens`) with its
//!   sender, nonce and invoke hash, or a DEPLOY_ACCOUNT with its public key, salt and hash.
//!
//! ## Signatures
//!
//! Each adapter signs with its keystore; without the sender's key, `prepare` returns the exact
//! hash to sign. Starknet checks account signatures itself. The sandbox's L1 checks none, so the
//! L1 adapter asks for (and verifies by recovery) `personal_sign` over each transaction hash:
//! nothing is sent that the sender did not authorise.
//!
//! ## Exactly once
//!
//! A payload carries its nonces. `send` skips a transaction whose hash already has a receipt
//! (L1) or that the chain already knows (Starknet: `DuplicateTx`, or a nonce that is past and
//! whose hash is known), refuses when its nonce was consumed by another transaction, and never
//! re-signs anything.
//!
//! ## Data from an earlier leg
//!
//! - A StarkEx vault for a deposit: asked from the engine when the leg is prepared (what
//!   `/v1/signable-deposit-details` does), and kept in the payload.
//! - The NFT bridge request an L1 claim consumes: read from the Starknet withdraw transaction's
//!   L2→L1 message, found by [`LegIntent::previous`](starkroute_layer::LegIntent::previous).
//! - A StarkGate claim rebuilds its message from the leg (recipient, token, amount).
//! - A StarkEx claim uses the withdrawal balance credited to the recipient's Ethereum address
//!   (the `/v2/withdrawals` crediting the StarkEx adapter uses).

mod l1;
mod starknet;

pub use l1::{l1_tx_hash, L1Payload, L1Tx, SandboxL1};
pub use starknet::{SandboxStarknet, StarknetPayload};

use starkroute_layer::AdapterError;
use starkroute_types::{Account, EthAddress, LegKind, StarknetAddress};

fn permanent(e: impl std::fmt::Display) -> AdapterError {
    AdapterError::permanent(e.to_string())
}

fn l1_account(a: &Account, what: &str) -> Result<EthAddress, AdapterError> {
    match a {
        Account::L1(x) => Ok(*x),
        other => Err(permanent(format!("the {what} of this leg is {other}, not an L1 address"))),
    }
}

fn starknet_account(a: &Account, what: &str) -> Result<StarknetAddress, AdapterError> {
    match a {
        Account::Starknet(x) => Ok(*x),
        other => {
            Err(permanent(format!("the {what} of this leg is {other}, not a Starknet account")))
        }
    }
}

fn wrong_kind(kind: LegKind, layer: &str) -> AdapterError {
    permanent(format!("{kind} is not a leg the sandbox {layer} adapter executes"))
}

fn decode_hex65(s: &str) -> Result<[u8; 65], AdapterError> {
    let digits = s.strip_prefix("0x").unwrap_or(s);
    let mut raw = [0u8; 65];
    hex::decode_to_slice(digits, &mut raw)
        .map_err(|_| permanent("an Ethereum signature is 65 bytes of hex"))?;
    Ok(raw)
}
