//! [`L1Call`]s as ABI calldata: the only thing the alloy adapter adds to a protocol plan.

use alloy::primitives::{Address, U256};
use alloy::sol_types::SolCall;
use starkroute_protocol::{L1Call, L1Contracts};
use starkroute_types::{felt_to_u256, Felt};

use crate::bindings::{
    NftBridge, StarkExCore, StarkGateBridge, StarknetMessaging, TestERC20, TestERC721,
};
use crate::error::{EthError, Result};

/// One call of a leg, encoded: the contract, the calldata, and the gas to give it when the node
/// cannot estimate it before an earlier call of the same leg executes (a deposit after its
/// approval).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedCall {
    /// The contract (or, for a plain ETH transfer, the recipient).
    pub to: Address,
    /// The ABI-encoded call; empty for a plain ETH transfer.
    pub input: Vec<u8>,
    /// Gas when estimation is not possible yet.
    pub fallback_gas: u64,
}

fn u(f: &Felt) -> U256 {
    felt_to_u256(f)
}

fn words(fs: &[Felt]) -> Vec<U256> {
    fs.iter().map(u).collect()
}

/// Encodes a protocol call for the contracts at `contracts`. The sandbox's stand-in for
/// Starknet's own state update has no ABI on a real node (the sequencer sends it) and is
/// refused.
#[allow(clippy::too_many_lines)] // One arm per contract function, each a plain field mapping.
pub fn encode(call: &L1Call, contracts: &L1Contracts) -> Result<EncodedCall> {
    let (to, _) = call.target(contracts);
    let to = to.address();
    let (input, fallback_gas) = match call {
        L1Call::Transfer { .. } => (Vec::new(), 21_000),
        L1Call::Erc20Transfer { to, amount, .. } => {
            (TestERC20::transferCall { to: to.address(), amount: *amount }.abi_encode(), 100_000)
        }
        L1Call::Erc20Approve { spender, amount, .. } => (
            TestERC20::approveCall { spender: spender.address(), amount: *amount }.abi_encode(),
            100_000,
        ),
        L1Call::Erc721TransferFrom { from, to, token_id, .. } => (
            TestERC721::transferFromCall {
                from: from.address(),
                to: to.address(),
                tokenId: *token_id,
            }
            .abi_encode(),
            100_000,
        ),
        L1Call::Erc721Approve { to, token_id, .. } => {
            (TestERC721::approveCall { to: to.address(), tokenId: *token_id }.abi_encode(), 100_000)
        }
        L1Call::Erc721SetApprovalForAll { operator, approved, .. } => (
            TestERC721::setApprovalForAllCall { operator: operator.address(), approved: *approved }
                .abi_encode(),
            100_000,
        ),
        L1Call::RegisterToken { asset_type, asset_info, quantum } => (
            StarkExCore::registerToken_1Call {
                assetType: u(asset_type),
                assetInfo: asset_info.clone().into(),
                quantum: *quantum,
            }
            .abi_encode(),
            200_000,
        ),
        L1Call::RegisterEthAddress { eth_key, stark_key, stark_signature } => (
            StarkExCore::registerEthAddressCall {
                ethKey: eth_key.address(),
                starkKey: *stark_key,
                starkSignature: stark_signature.clone().into(),
            }
            .abi_encode(),
            300_000,
        ),
        L1Call::RegisterSender { stark_key, stark_signature } => (
            StarkExCore::registerSenderCall {
                starkKey: *stark_key,
                starkSignature: stark_signature.clone().into(),
            }
            .abi_encode(),
            300_000,
        ),
        L1Call::DepositEth { stark_key, asset_type, vault_id } => (
            StarkExCore::depositEthCall {
                starkKey: *stark_key,
                assetType: u(asset_type),
                vaultId: U256::from(*vault_id),
            }
            .abi_encode(),
            250_000,
        ),
        L1Call::DepositErc20 { stark_key, asset_type, vault_id, quantized_amount } => (
            StarkExCore::depositERC20Call {
                starkKey: *stark_key,
                assetType: u(asset_type),
                vaultId: U256::from(*vault_id),
                quantizedAmount: U256::from(*quantized_amount),
            }
            .abi_encode(),
            250_000,
        ),
        L1Call::DepositNft { stark_key, asset_type, vault_id, token_id } => (
            StarkExCore::depositNftCall {
                starkKey: *stark_key,
                assetType: u(asset_type),
                vaultId: U256::from(*vault_id),
                tokenId: *token_id,
            }
            .abi_encode(),
            250_000,
        ),
        L1Call::DepositCancel { stark_key, asset_id, vault_id } => (
            StarkExCore::depositCancelCall {
                starkKey: *stark_key,
                assetId: u(asset_id),
                vaultId: U256::from(*vault_id),
            }
            .abi_encode(),
            200_000,
        ),
        L1Call::DepositReclaim { stark_key, asset_type, vault_id } => (
            StarkExCore::depositReclaimCall {
                starkKey: *stark_key,
                assetType: u(asset_type),
                vaultId: U256::from(*vault_id),
            }
            .abi_encode(),
            200_000,
        ),
        L1Call::DepositNftReclaim { stark_key, asset_type, vault_id, token_id } => (
            StarkExCore::depositNftReclaimCall {
                starkKey: *stark_key,
                assetType: u(asset_type),
                vaultId: U256::from(*vault_id),
                tokenId: *token_id,
            }
            .abi_encode(),
            200_000,
        ),
        L1Call::Withdraw { owner_key, asset_type } => (
            StarkExCore::withdrawCall { ownerKey: *owner_key, assetType: u(asset_type) }
                .abi_encode(),
            200_000,
        ),
        L1Call::WithdrawNft { owner_key, asset_type, token_id } => (
            StarkExCore::withdrawNftCall {
                ownerKey: *owner_key,
                assetType: u(asset_type),
                tokenId: *token_id,
            }
            .abi_encode(),
            200_000,
        ),
        L1Call::WithdrawAndMint { owner_key, asset_type, minting_blob } => (
            StarkExCore::withdrawAndMintCall {
                ownerKey: *owner_key,
                assetType: u(asset_type),
                mintingBlob: minting_blob.clone().into(),
            }
            .abi_encode(),
            250_000,
        ),
        L1Call::FullWithdrawalRequest { owner_key, vault_id } => (
            StarkExCore::fullWithdrawalRequestCall {
                ownerKey: *owner_key,
                vaultId: U256::from(*vault_id),
            }
            .abi_encode(),
            200_000,
        ),
        L1Call::FreezeRequest { owner_key, vault_id } => (
            StarkExCore::freezeRequestCall { ownerKey: *owner_key, vaultId: U256::from(*vault_id) }
                .abi_encode(),
            200_000,
        ),
        L1Call::Escape { owner_key, vault_id, asset_id, quantized_amount, proof } => (
            StarkExCore::escapeCall {
                starkKey: *owner_key,
                vaultId: U256::from(*vault_id),
                assetId: u(asset_id),
                quantizedAmount: U256::from(*quantized_amount),
                proof: words(proof),
            }
            .abi_encode(),
            25_000_000,
        ),
        L1Call::StarkExUpdateState { update } => {
            (crate::operator::update_state_call(update).abi_encode(), 5_000_000)
        }
        L1Call::SendMessageToL2 { to_address, selector, payload } => (
            StarknetMessaging::sendMessageToL2Call {
                toAddress: u(to_address),
                selector: u(selector),
                payload: words(payload),
            }
            .abi_encode(),
            200_000,
        ),
        L1Call::ConsumeMessageFromL2 { from_address, payload } => (
            StarknetMessaging::consumeMessageFromL2Call {
                fromAddress: u(from_address),
                payload: words(payload),
            }
            .abi_encode(),
            200_000,
        ),
        L1Call::StartL1ToL2MessageCancellation { to_address, selector, payload, nonce } => (
            StarknetMessaging::startL1ToL2MessageCancellationCall {
                toAddress: u(to_address),
                selector: u(selector),
                payload: words(payload),
                nonce: *nonce,
            }
            .abi_encode(),
            200_000,
        ),
        L1Call::CancelL1ToL2Message { to_address, selector, payload, nonce } => (
            StarknetMessaging::cancelL1ToL2MessageCall {
                toAddress: u(to_address),
                selector: u(selector),
                payload: words(payload),
                nonce: *nonce,
            }
            .abi_encode(),
            200_000,
        ),
        L1Call::StarknetUpdateState { .. } => {
            return Err(EthError::Invalid(
                "StarknetUpdateState is the sandbox's stand-in for the sequencer's state update; \
                 it has no ABI on a real node"
                    .into(),
            ))
        }
        L1Call::StarkgateDeposit { token, amount, l2_recipient } => (
            StarkGateBridge::depositCall {
                token: token.address(),
                amount: *amount,
                l2Recipient: *l2_recipient,
            }
            .abi_encode(),
            300_000,
        ),
        L1Call::StarkgateWithdraw { token, amount, recipient } => (
            StarkGateBridge::withdraw_0Call {
                token: token.address(),
                amount: *amount,
                recipient: recipient.address(),
            }
            .abi_encode(),
            200_000,
        ),
        L1Call::StarkgateDepositCancelRequest { token, amount, l2_recipient, nonce } => (
            StarkGateBridge::depositCancelRequestCall {
                token: token.address(),
                amount: *amount,
                l2Recipient: *l2_recipient,
                nonce: *nonce,
            }
            .abi_encode(),
            200_000,
        ),
        L1Call::StarkgateDepositReclaim { token, amount, l2_recipient, nonce } => (
            StarkGateBridge::depositReclaimCall {
                token: token.address(),
                amount: *amount,
                l2Recipient: *l2_recipient,
                nonce: *nonce,
            }
            .abi_encode(),
            200_000,
        ),
        L1Call::NftDepositTokens { salt, collection_l1, owner_l2, ids, use_auto_burn } => (
            NftBridge::depositTokensCall {
                salt: *salt,
                collectionL1: collection_l1.address(),
                ownerL2: *owner_l2,
                ids: ids.clone(),
                useAutoBurn: *use_auto_burn,
            }
            .abi_encode(),
            400_000,
        ),
        L1Call::NftWithdrawTokens { request } => {
            (NftBridge::withdrawTokensCall { request: words(request) }.abi_encode(), 400_000)
        }
    };
    Ok(EncodedCall { to, input, fallback_gas })
}
