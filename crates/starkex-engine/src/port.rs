//! The port between the StarkEx engine (the off-chain operator) and a StarkEx core contract on
//! L1: what they exchange (deposits, full-withdrawal requests, state updates), the contract's
//! revert error, and the conservation key every layer reports its holdings under. The sandbox's
//! in-process L1 implements [`StarkExContractPort`], and so does the devnet stack over a real node.

use std::fmt;

use alloy_primitives::U256;
use serde::{Deserialize, Serialize};
use starkroute_types::{EthAddress, Felt, StarkKey, VaultId};

/// A refused call: the state is untouched and the reason is the real contract's (or the real
/// operator's) reason string, e.g. `USER_UNREGISTERED`, `INVALID_AMOUNT`, `FROZEN`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{reason}")]
pub struct Revert {
    /// The reason string.
    pub reason: String,
}

impl Revert {
    /// A revert with a reason.
    pub fn new(reason: impl Into<String>) -> Self {
        Self { reason: reason.into() }
    }
}

impl From<starkroute_protocol::BadNftRequest> for Revert {
    fn from(e: starkroute_protocol::BadNftRequest) -> Self {
        Revert::new(e.0)
    }
}

/// The identity of an asset for the conservation check: its L1 token (`None` for ETH) and, for
/// an NFT, its token id. Every layer reports its holdings under this key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AssetKey {
    /// The L1 token contract; `None` for ETH.
    pub token: Option<EthAddress>,
    /// The token id of an NFT.
    pub token_id: Option<U256>,
}

impl fmt::Display for AssetKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.token, self.token_id) {
            (None, _) => write!(f, "ETH"),
            (Some(t), None) => write!(f, "{t}"),
            (Some(t), Some(id)) => write!(f, "{t}#{id}"),
        }
    }
}

/// A deposit recorded by the StarkEx core contract (`LogDeposit` / `LogNftDeposit`), which the
/// operator picks up and applies to the vault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DepositEvent {
    /// Sequential index of the deposit on L1 (the operator's cursor).
    pub index: u64,
    /// L1 block it landed in.
    pub block: u64,
    /// The depositor.
    pub depositor: EthAddress,
    /// The receiving Stark key.
    pub stark_key: StarkKey,
    /// The receiving vault.
    pub vault_id: VaultId,
    /// The asset type named in the call.
    pub asset_type: Felt,
    /// The asset id credited (`== asset_type` for fungible assets).
    pub asset_id: Felt,
    /// The quantized amount (1 for an NFT).
    pub quantized_amount: u64,
    /// The token id, for an ERC-721 deposit.
    pub token_id: Option<U256>,
}

/// A full-withdrawal request recorded on L1 (`LogFullWithdrawalRequest`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FullWithdrawalRequest {
    /// The owner's Stark key.
    pub stark_key: StarkKey,
    /// The vault.
    pub vault_id: VaultId,
    /// When it was requested (L1 timestamp).
    pub requested_at: u64,
}

pub use starkroute_protocol::{StateUpdate, WithdrawalModification};

/// What the StarkEx engine needs from the StarkEx core contract on L1. Implemented by the L1;
/// tests of the engine may implement it in a few lines.
pub trait StarkExContractPort {
    /// Deposits recorded since `cursor` (an index into the contract's deposit log) that have at
    /// least `confirmations` L1 confirmations.
    fn deposits_since(&self, cursor: u64, confirmations: u64) -> Vec<DepositEvent>;
    /// Pending full-withdrawal requests.
    fn full_withdrawal_requests(&self) -> Vec<FullWithdrawalRequest>;
    /// The L1 address registered for a Stark key, if any.
    fn eth_key_of(&self, stark_key: &StarkKey) -> Option<EthAddress>;
    /// The Stark keys registered on the contract to an Ethereum address (`LogUserRegistered`),
    /// in no particular order.
    fn stark_keys_of(&self, eth: &EthAddress) -> Vec<StarkKey>;
    /// Whether the contract is frozen.
    fn is_frozen(&self) -> bool;
    /// The registered asset info and quantum of an asset type (`getAssetInfo`, `getQuantum`).
    fn registered_asset(&self, asset_type: &Felt) -> Option<(Vec<u8>, u128)>;
    /// Applies a proven batch; refuses a wrong sequence number or a frozen contract.
    fn apply_state_update(&mut self, update: &StateUpdate) -> Result<(), Revert>;
    /// The contract's user admin's signature of a v3 registration (`registerUser(ethKey,
    /// starkKey, signature)`): secp256k1 ECDSA `r‖s‖v` over
    /// `keccak256(abi.encodePacked("UserRegistration:", ethKey, starkKey))`, what
    /// `POST /v1/signable-registration` answers as `operator_signature`. `None` where the
    /// contract has no user admin whose key the operator holds (the in-process sandbox, whose
    /// contract registers a key with the key's own signature only).
    fn user_admin_signature(&self, eth: &EthAddress, stark_key: &StarkKey) -> Option<[u8; 65]> {
        let _ = (eth, stark_key);
        None
    }
}
