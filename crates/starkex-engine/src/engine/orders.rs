//! The signed messages: transfers (StarkEx type 1), withdrawals (a tagged conditional transfer)
//! and their requests, and mints.

use alloy_primitives::U256;
use starkroute_crypto::{ConditionalTransferMsg, StarkPrivateKey, StarkSignature, TransferMsg};
use starkroute_types::{EthAddress, Felt, StarkKey, VaultId};

use super::{WITHDRAWAL_RECEIVER_VAULT, WITHDRAWAL_V1_TAG, WITHDRAWAL_V2_TAG};
use crate::error::{Result, StarkExError};

/// The signed fields of a transfer (StarkEx type 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferOrder {
    /// The sender (signer).
    pub sender: StarkKey,
    /// The sender's vault.
    pub sender_vault: VaultId,
    /// The receiver.
    pub receiver: StarkKey,
    /// The receiver's vault.
    pub receiver_vault: VaultId,
    /// The asset id.
    pub asset_id: Felt,
    /// The quantized amount.
    pub amount: u64,
    /// The nonce (`< 2^31`), unique per sender.
    pub nonce: u64,
    /// Expiration in hours since the epoch (`< 2^22`).
    pub expiration_hours: u64,
}

impl TransferOrder {
    /// The StarkEx message this order is (type 1, old format).
    pub fn msg(&self) -> TransferMsg {
        TransferMsg {
            asset_id: self.asset_id,
            receiver_key: self.receiver.felt(),
            sender_vault: u64::from(self.sender_vault.get()),
            receiver_vault: u64::from(self.receiver_vault.get()),
            amount: self.amount,
            nonce: self.nonce,
            expiration_hours: self.expiration_hours,
        }
    }

    /// The hash the sender signs: exactly the `payload_hash` the API hands out.
    pub fn message_hash(&self) -> Result<Felt> {
        self.msg().hash().map_err(|e| StarkExError::BadRequest(e.to_string()))
    }

    /// Signs the order.
    pub fn sign(self, key: &StarkPrivateKey) -> Result<TransferRequest> {
        let signature =
            key.sign(&self.message_hash()?).map_err(|e| StarkExError::BadRequest(e.to_string()))?;
        Ok(TransferRequest { order: self, signature })
    }
}

/// A signed transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferRequest {
    /// The order.
    pub order: TransferOrder,
    /// The sender's signature over [`TransferOrder::message_hash`].
    pub signature: StarkSignature,
}

/// Who a withdrawal is credited to on L1 (PROTOCOL.md A.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithdrawalReceiver {
    /// `/v1/withdrawals`: `pendingWithdrawals[starkKey]`.
    StarkKey,
    /// `/v2/withdrawals`: `pendingWithdrawals[ethAddress]`; must be the sender's registered address.
    EthAddress(EthAddress),
}

/// The signed fields of a withdrawal.
///
/// StarkEx itself signs no withdrawal; ImmutableX's `payload_hash` formula is not public
/// (PROTOCOL.md G.1). The sandbox's is a StarkEx conditional-transfer hash (type 2) of the
/// transfer the withdrawal resembles — `asset_id`, receiver key (v1: the sender's Stark key, v2: the
/// ETH address as a number), sender vault, receiver vault [`WITHDRAWAL_RECEIVER_VAULT`], amount,
/// nonce, expiration (v1: [`MAX_EXPIRATION_HOURS`]) — with the condition [`WITHDRAWAL_V1_TAG`] or
/// [`WITHDRAWAL_V2_TAG`], so a withdrawal signature can never be taken for a transfer's.
///
/// [`MAX_EXPIRATION_HOURS`]: super::MAX_EXPIRATION_HOURS
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WithdrawalOrder {
    /// The owner of the vault (signer).
    pub sender: StarkKey,
    /// The vault debited.
    pub vault: VaultId,
    /// The asset id.
    pub asset_id: Felt,
    /// The quantized amount.
    pub amount: u64,
    /// The nonce, unique per sender (shared with transfers).
    pub nonce: u64,
    /// Expiration in hours (v1: [`MAX_EXPIRATION_HOURS`]).
    ///
    /// [`MAX_EXPIRATION_HOURS`]: super::MAX_EXPIRATION_HOURS
    pub expiration_hours: u64,
    /// v1 or v2 crediting.
    pub receiver: WithdrawalReceiver,
}

impl WithdrawalOrder {
    /// The payload hash the sender signs.
    pub fn message_hash(&self) -> Result<Felt> {
        let (receiver_key, condition) = match self.receiver {
            WithdrawalReceiver::StarkKey => (self.sender.felt(), WITHDRAWAL_V1_TAG),
            WithdrawalReceiver::EthAddress(a) => (a.to_felt(), WITHDRAWAL_V2_TAG),
        };
        let transfer = TransferMsg {
            asset_id: self.asset_id,
            receiver_key,
            sender_vault: u64::from(self.vault.get()),
            receiver_vault: WITHDRAWAL_RECEIVER_VAULT,
            amount: self.amount,
            nonce: self.nonce,
            expiration_hours: self.expiration_hours,
        };
        ConditionalTransferMsg { transfer, condition }
            .hash()
            .map_err(|e| StarkExError::BadRequest(e.to_string()))
    }

    /// The owner key credited on L1.
    pub fn owner_key(&self) -> U256 {
        match self.receiver {
            WithdrawalReceiver::StarkKey => self.sender.to_u256(),
            WithdrawalReceiver::EthAddress(a) => a.to_u256(),
        }
    }

    /// Signs the order.
    pub fn sign(self, key: &StarkPrivateKey) -> Result<WithdrawalRequest> {
        let signature =
            key.sign(&self.message_hash()?).map_err(|e| StarkExError::BadRequest(e.to_string()))?;
        Ok(WithdrawalRequest { order: self, signature })
    }
}

/// A signed withdrawal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WithdrawalRequest {
    /// The order.
    pub order: WithdrawalOrder,
    /// The sender's signature over [`WithdrawalOrder::message_hash`].
    pub signature: StarkSignature,
}

/// A mint of a mintable asset into a user's vault (ImmutableX's L2 minting; the collection owner
/// authorises it off-chain, which the sandbox leaves to its caller). On L1 the token comes into
/// existence only through `withdrawAndMint` with the blob `{token_id}:{blueprint}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintRequest {
    /// The receiver.
    pub receiver: StarkKey,
    /// The mintable asset type registered on L1 (`MintableERC721Token` / `MintableERC20Token`).
    pub asset_type: Felt,
    /// The `{id}` of the blob (the L1 token id of a minted ERC-721).
    pub token_id: U256,
    /// The `{blueprint}` of the blob (metadata, may be empty).
    pub blueprint: String,
    /// The quantized amount (1 for an ERC-721).
    pub amount: u64,
}

impl MintRequest {
    /// The minting blob ImmutableX passes to `withdrawAndMint`: `{id}:{blueprint}`.
    pub fn blob(&self) -> String {
        format!("{{{}}}:{{{}}}", self.token_id, self.blueprint)
    }
}
