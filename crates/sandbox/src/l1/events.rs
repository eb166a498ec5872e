//! Typed L1 events: what the real contracts emit, with the real names and fields.
//!
//! Sources: `starkex-contracts` v4.0.1 (`Deposits.sol`, `Withdrawals.sol`, `Users.sol`,
//! `TokenRegister.sol`, `AcceptModifications.sol`, `FullWithdrawals.sol`, `Freezable.sol`,
//! `UpdateState.sol`), `cairo-lang` `StarknetMessaging.sol` / `Output.sol` / `Starknet.sol`,
//! `starkgate-contracts` `StarknetTokenBridge.sol`, `ArkProjectNFTs/bridge` `Bridge.sol`, and the
//! ERC-20 / ERC-721 standards. A zero address (mint / burn) is `None`.

use alloy_primitives::{B256, U256};
use serde::{Deserialize, Serialize};
use starkroute_types::{EthAddress, Felt};

/// One event in a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event")]
#[allow(missing_docs)] // Field names are the Solidity parameter names.
pub enum L1Event {
    // ---- ERC-20 / ERC-721 ----
    /// ERC-20 `Transfer(from, to, value)`.
    Erc20Transfer {
        token: EthAddress,
        from: Option<EthAddress>,
        to: Option<EthAddress>,
        value: U256,
    },
    /// ERC-20 `Approval(owner, spender, value)`.
    Erc20Approval { token: EthAddress, owner: EthAddress, spender: EthAddress, value: U256 },
    /// ERC-721 `Transfer(from, to, tokenId)`.
    Erc721Transfer {
        token: EthAddress,
        from: Option<EthAddress>,
        to: Option<EthAddress>,
        token_id: U256,
    },
    /// ERC-721 `Approval(owner, approved, tokenId)`.
    Erc721Approval { token: EthAddress, owner: EthAddress, approved: EthAddress, token_id: U256 },
    /// ERC-721 `ApprovalForAll(owner, operator, approved)`.
    Erc721ApprovalForAll {
        token: EthAddress,
        owner: EthAddress,
        operator: EthAddress,
        approved: bool,
    },

    // ---- StarkEx core (A.8) ----
    /// `LogDeposit`.
    LogDeposit {
        depositor_eth_key: EthAddress,
        stark_key: U256,
        vault_id: u64,
        asset_type: Felt,
        non_quantized_amount: U256,
        quantized_amount: u64,
    },
    /// `LogNftDeposit`.
    LogNftDeposit {
        depositor_eth_key: EthAddress,
        stark_key: U256,
        vault_id: u64,
        asset_type: Felt,
        token_id: U256,
        asset_id: Felt,
    },
    /// `LogDepositCancel`.
    LogDepositCancel { stark_key: U256, vault_id: u64, asset_id: Felt },
    /// `LogDepositCancelReclaimed`.
    LogDepositCancelReclaimed {
        stark_key: U256,
        vault_id: u64,
        asset_type: Felt,
        non_quantized_amount: U256,
        quantized_amount: u64,
    },
    /// `LogDepositNftCancelReclaimed`.
    LogDepositNftCancelReclaimed {
        stark_key: U256,
        vault_id: u64,
        asset_type: Felt,
        token_id: U256,
        asset_id: Felt,
    },
    /// `LogWithdrawalAllowed` (registered fungible asset).
    LogWithdrawalAllowed {
        owner_key: U256,
        asset_type: Felt,
        non_quantized_amount: U256,
        quantized_amount: u64,
    },
    /// `LogNftWithdrawalAllowed`.
    LogNftWithdrawalAllowed { owner_key: U256, asset_id: Felt },
    /// `LogMintableWithdrawalAllowed`.
    LogMintableWithdrawalAllowed { owner_key: U256, asset_id: Felt, quantized_amount: u64 },
    /// `LogWithdrawalPerformed`.
    LogWithdrawalPerformed {
        owner_key: U256,
        asset_type: Felt,
        non_quantized_amount: U256,
        quantized_amount: u64,
        recipient: EthAddress,
    },
    /// `LogNftWithdrawalPerformed`.
    LogNftWithdrawalPerformed {
        owner_key: U256,
        asset_type: Felt,
        token_id: U256,
        asset_id: Felt,
        recipient: EthAddress,
    },
    /// `LogMintWithdrawalPerformed`.
    LogMintWithdrawalPerformed {
        owner_key: U256,
        asset_type: Felt,
        non_quantized_amount: U256,
        quantized_amount: u64,
        asset_id: Felt,
    },
    /// `LogFullWithdrawalRequest(starkKey, vaultId)`.
    LogFullWithdrawalRequest { stark_key: U256, vault_id: u64 },
    /// `LogUserRegistered`.
    LogUserRegistered { eth_key: EthAddress, stark_key: U256, sender: EthAddress },
    /// `LogTokenRegistered`.
    LogTokenRegistered { asset_type: Felt, asset_info: Vec<u8>, quantum: u128 },
    /// `LogRootUpdate(sequenceNumber, batchId, vaultRoot, orderRoot)`.
    LogRootUpdate { sequence_number: u64, batch_id: u64, vault_root: Felt, order_root: Felt },
    /// `LogFrozen()`.
    LogFrozen,

    // ---- Starknet core messaging (D.2) ----
    /// `LogMessageToL2`.
    LogMessageToL2 {
        from_address: EthAddress,
        to_address: Felt,
        selector: Felt,
        payload: Vec<Felt>,
        nonce: U256,
        fee: U256,
    },
    /// `ConsumedMessageToL1` (an L2→L1 message consumed on L1).
    ConsumedMessageToL1 { from_address: Felt, to_address: EthAddress, payload: Vec<Felt> },
    /// `LogMessageToL1` (an L2→L1 message made consumable by a state update).
    LogMessageToL1 { from_address: Felt, to_address: EthAddress, payload: Vec<Felt> },
    /// `ConsumedMessageToL2` (an L1→L2 message consumed by a state update).
    ConsumedMessageToL2 {
        from_address: EthAddress,
        to_address: Felt,
        selector: Felt,
        payload: Vec<Felt>,
        nonce: U256,
        fee: U256,
    },
    /// `MessageToL2CancellationStarted`.
    MessageToL2CancellationStarted {
        from_address: EthAddress,
        to_address: Felt,
        selector: Felt,
        payload: Vec<Felt>,
        nonce: U256,
    },
    /// `MessageToL2Canceled`.
    MessageToL2Canceled {
        from_address: EthAddress,
        to_address: Felt,
        selector: Felt,
        payload: Vec<Felt>,
        nonce: U256,
    },
    /// `LogStateUpdate(globalRoot, blockNumber, blockHash)`.
    LogStateUpdate { global_root: Felt, block_number: u64, block_hash: Felt },

    // ---- StarkGate L1 (D.3) ----
    /// `Deposit(sender, token, amount, l2Recipient, nonce, fee)`.
    Deposit {
        sender: EthAddress,
        token: EthAddress,
        amount: U256,
        l2_recipient: Felt,
        nonce: U256,
        fee: U256,
    },
    /// `Withdrawal(recipient, token, amount)`.
    Withdrawal { recipient: EthAddress, token: EthAddress, amount: U256 },
    /// `DepositCancelRequest(sender, token, amount, l2Recipient, nonce)`.
    DepositCancelRequest {
        sender: EthAddress,
        token: EthAddress,
        amount: U256,
        l2_recipient: Felt,
        nonce: U256,
    },
    /// `DepositReclaimed(sender, token, amount, l2Recipient, nonce)`.
    DepositReclaimed {
        sender: EthAddress,
        token: EthAddress,
        amount: U256,
        l2_recipient: Felt,
        nonce: U256,
    },

    // ---- NFT bridge (Starklane, E) ----
    /// `DepositRequestInitiated(hash, block.timestamp, request)`.
    DepositRequestInitiated { hash: U256, timestamp: u64, request: Vec<Felt> },
    /// `WithdrawRequestCompleted(hash, block.timestamp, request)`.
    WithdrawRequestCompleted { hash: U256, timestamp: u64, request: Vec<Felt> },
}

/// The hash of an L1 transaction.
pub type TxHash = B256;
