//! The L1 contracts' functions as data, and where they live.

use alloy_primitives::{Address, B256, U256};
use serde::{Deserialize, Serialize};
use starkroute_crypto::u256_to_felts;
use starkroute_layer::MessageToL1;
use starkroute_types::{EthAddress, Felt, StarkKey, VaultId};

/// StarkGate 2.0's L1 "token" for ether: `address(0x455448)`, the short string `'ETH'`
/// (`StarkgateConstants.sol`).
pub fn starkgate_eth_token() -> EthAddress {
    let mut raw = [0u8; 20];
    raw[17..].copy_from_slice(b"ETH");
    // Non-zero by construction; the fallback is never taken.
    EthAddress::new(Address::from(raw))
        .unwrap_or_else(|_| unreachable!("'ETH' is not the zero address"))
}

/// The StarkGate withdrawal message payload the L1 bridge consumes:
/// `[TRANSFER_FROM_STARKNET = 0, recipient, token, amount.low, amount.high]`.
pub fn starkgate_withdrawal_payload(
    recipient: &EthAddress,
    token: &EthAddress,
    amount: U256,
) -> Vec<Felt> {
    let (lo, hi) = u256_to_felts(amount);
    vec![Felt::ZERO, recipient.to_felt(), token.to_felt(), lo, hi]
}

/// The L1 contracts the legs call, and the L2 bridge whose messages the StarkGate claim
/// consumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct L1Contracts {
    /// The StarkEx core contract.
    pub starkex_core: EthAddress,
    /// The Starknet core contract (messaging).
    pub starknet_core: EthAddress,
    /// The StarkGate L1 bridge (multi-token; ETH is [`starkgate_eth_token`]).
    pub starkgate: EthAddress,
    /// The NFT bridge's L1 side.
    pub nft_bridge: EthAddress,
    /// The StarkGate L2 bridge (`l2TokenBridge()`): the sender of the withdrawal messages.
    pub l2_starkgate_bridge: Felt,
}

/// A withdrawal the operator moves from a vault to the L1 withdrawal balance in a batch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WithdrawalModification {
    /// The owner key credited on L1 (a Stark key, or an ETH address as a number for v2).
    pub owner_key: U256,
    /// The asset id.
    pub asset_id: Felt,
    /// The quantized amount.
    pub quantized_amount: u64,
}

/// What a proven batch carries to the StarkEx core contract (`updateState`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateUpdate {
    /// The new sequence number (previous + 1).
    pub sequence_number: u64,
    /// The batch id.
    pub batch_id: u64,
    /// The vault root after the batch.
    pub vault_root: Felt,
    /// The vault tree height (31).
    pub vault_tree_height: u32,
    /// Deposits applied to vaults in this batch: (stark key, asset id, vault, quantized amount),
    /// consumed from the contract's pending deposits.
    pub deposits: Vec<(StarkKey, Felt, VaultId, u64)>,
    /// Withdrawals credited to L1 withdrawal balances.
    pub withdrawals: Vec<WithdrawalModification>,
    /// Full-withdrawal requests served in this batch.
    pub full_withdrawals_served: Vec<(StarkKey, VaultId)>,
}

/// A call to one function of one contract. The target contract is implied by the variant
/// (the sandbox has one deployment of each); token calls name their token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fn")]
#[allow(missing_docs)] // Field names are the Solidity parameter names.
pub enum L1Call {
    // ---- plain transfers and tokens ----
    /// Send ETH (the value) to an address.
    Transfer { to: EthAddress },
    /// ERC-20 `transfer(to, amount)`.
    Erc20Transfer { token: EthAddress, to: EthAddress, amount: U256 },
    /// ERC-20 `approve(spender, amount)`.
    Erc20Approve { token: EthAddress, spender: EthAddress, amount: U256 },
    /// ERC-721 `transferFrom(from, to, tokenId)`.
    Erc721TransferFrom { token: EthAddress, from: EthAddress, to: EthAddress, token_id: U256 },
    /// ERC-721 `approve(to, tokenId)`.
    Erc721Approve { token: EthAddress, to: EthAddress, token_id: U256 },
    /// ERC-721 `setApprovalForAll(operator, approved)`.
    Erc721SetApprovalForAll { token: EthAddress, operator: EthAddress, approved: bool },

    // ---- StarkEx core (PROTOCOL.md A) ----
    /// `registerToken(assetType, assetInfo, quantum)` (tokens admin only).
    RegisterToken { asset_type: Felt, asset_info: Vec<u8>, quantum: U256 },
    /// `registerEthAddress(ethKey, starkKey, starkSignature)` (96 bytes `r‖s‖y`).
    RegisterEthAddress { eth_key: EthAddress, stark_key: U256, stark_signature: Vec<u8> },
    /// `registerSender(starkKey, starkSignature)`: `registerEthAddress(msg.sender, …)`.
    RegisterSender { stark_key: U256, stark_signature: Vec<u8> },
    /// `deposit(starkKey, assetType, vaultId) payable` (ETH).
    DepositEth { stark_key: U256, asset_type: Felt, vault_id: u64 },
    /// `depositERC20(starkKey, assetType, vaultId, quantizedAmount)`.
    DepositErc20 { stark_key: U256, asset_type: Felt, vault_id: u64, quantized_amount: u64 },
    /// `depositNft(starkKey, assetType, vaultId, tokenId)`.
    DepositNft { stark_key: U256, asset_type: Felt, vault_id: u64, token_id: U256 },
    /// `depositCancel(starkKey, assetId, vaultId)`.
    DepositCancel { stark_key: U256, asset_id: Felt, vault_id: u64 },
    /// `depositReclaim(starkKey, assetId, vaultId)` (fungible: `assetId == assetType`).
    DepositReclaim { stark_key: U256, asset_type: Felt, vault_id: u64 },
    /// `depositNftReclaim(starkKey, assetType, vaultId, tokenId)`.
    DepositNftReclaim { stark_key: U256, asset_type: Felt, vault_id: u64, token_id: U256 },
    /// `withdraw(ownerKey, assetType)`.
    Withdraw { owner_key: U256, asset_type: Felt },
    /// `withdrawNft(ownerKey, assetType, tokenId)`.
    WithdrawNft { owner_key: U256, asset_type: Felt, token_id: U256 },
    /// `withdrawAndMint(ownerKey, assetType, mintingBlob)`.
    WithdrawAndMint { owner_key: U256, asset_type: Felt, minting_blob: Vec<u8> },
    /// `fullWithdrawalRequest(starkKey, vaultId)`.
    FullWithdrawalRequest { owner_key: U256, vault_id: u64 },
    /// `freezeRequest(starkKey, vaultId)`.
    FreezeRequest { owner_key: U256, vault_id: u64 },
    /// `escape(starkKey, vaultId, assetId, quantizedAmount)` with the Merkle proof the real
    /// system first registers in its `EscapeVerifier` (sibling hashes, leaf level first).
    Escape {
        owner_key: U256,
        vault_id: u64,
        asset_id: Felt,
        quantized_amount: u64,
        proof: Vec<Felt>,
    },
    /// `updateState` (StarkEx operator only): a proven batch.
    StarkExUpdateState { update: StateUpdate },

    // ---- Starknet core messaging (D.2) ----
    /// `sendMessageToL2(toAddress, selector, payload) payable`.
    SendMessageToL2 { to_address: Felt, selector: Felt, payload: Vec<Felt> },
    /// `consumeMessageFromL2(fromAddress, payload)`.
    ConsumeMessageFromL2 { from_address: Felt, payload: Vec<Felt> },
    /// `startL1ToL2MessageCancellation(toAddress, selector, payload, nonce)`.
    StartL1ToL2MessageCancellation {
        to_address: Felt,
        selector: Felt,
        payload: Vec<Felt>,
        nonce: U256,
    },
    /// `cancelL1ToL2Message(toAddress, selector, payload, nonce)`.
    CancelL1ToL2Message { to_address: Felt, selector: Felt, payload: Vec<Felt>, nonce: U256 },
    /// `updateState` of the Starknet core contract (Starknet operator only): makes L2→L1
    /// messages consumable and consumes the L1→L2 messages the L2 blocks handled.
    StarknetUpdateState {
        block_number: u64,
        block_hash: Felt,
        global_root: Felt,
        messages_to_l1: Vec<MessageToL1>,
        consumed_l1_to_l2: Vec<B256>,
    },

    // ---- StarkGate L1 (D.3) ----
    /// `deposit(token, amount, l2Recipient) payable`.
    StarkgateDeposit { token: EthAddress, amount: U256, l2_recipient: U256 },
    /// `withdraw(token, amount, recipient)`.
    StarkgateWithdraw { token: EthAddress, amount: U256, recipient: EthAddress },
    /// `depositCancelRequest(token, amount, l2Recipient, nonce)`.
    StarkgateDepositCancelRequest {
        token: EthAddress,
        amount: U256,
        l2_recipient: U256,
        nonce: U256,
    },
    /// `depositReclaim(token, amount, l2Recipient, nonce)`.
    StarkgateDepositReclaim { token: EthAddress, amount: U256, l2_recipient: U256, nonce: U256 },

    // ---- NFT bridge (E) ----
    /// `depositTokens(salt, collectionL1, ownerL2, ids, useAutoBurn) payable`.
    NftDepositTokens {
        salt: U256,
        collection_l1: EthAddress,
        owner_l2: U256,
        ids: Vec<U256>,
        use_auto_burn: bool,
    },
    /// `withdrawTokens(request)`.
    NftWithdrawTokens { request: Vec<Felt> },
}

impl L1Call {
    /// The contract a call goes to, and whether the function is payable (takes `msg.value`).
    pub fn target(&self, c: &L1Contracts) -> (EthAddress, bool) {
        match self {
            L1Call::Transfer { to } => (*to, true),
            L1Call::Erc20Transfer { token, .. }
            | L1Call::Erc20Approve { token, .. }
            | L1Call::Erc721TransferFrom { token, .. }
            | L1Call::Erc721Approve { token, .. }
            | L1Call::Erc721SetApprovalForAll { token, .. } => (*token, false),
            L1Call::DepositEth { .. } => (c.starkex_core, true),
            L1Call::RegisterToken { .. }
            | L1Call::RegisterEthAddress { .. }
            | L1Call::RegisterSender { .. }
            | L1Call::DepositErc20 { .. }
            | L1Call::DepositNft { .. }
            | L1Call::DepositCancel { .. }
            | L1Call::DepositReclaim { .. }
            | L1Call::DepositNftReclaim { .. }
            | L1Call::Withdraw { .. }
            | L1Call::WithdrawNft { .. }
            | L1Call::WithdrawAndMint { .. }
            | L1Call::FullWithdrawalRequest { .. }
            | L1Call::FreezeRequest { .. }
            | L1Call::Escape { .. }
            | L1Call::StarkExUpdateState { .. } => (c.starkex_core, false),
            L1Call::SendMessageToL2 { .. } => (c.starknet_core, true),
            L1Call::ConsumeMessageFromL2 { .. }
            | L1Call::StartL1ToL2MessageCancellation { .. }
            | L1Call::CancelL1ToL2Message { .. }
            | L1Call::StarknetUpdateState { .. } => (c.starknet_core, false),
            L1Call::StarkgateDeposit { .. } => (c.starkgate, true),
            L1Call::StarkgateWithdraw { .. }
            | L1Call::StarkgateDepositCancelRequest { .. }
            | L1Call::StarkgateDepositReclaim { .. } => (c.starkgate, false),
            L1Call::NftDepositTokens { .. } => (c.nft_bridge, true),
            L1Call::NftWithdrawTokens { .. } => (c.nft_bridge, false),
        }
    }
}
