//! The Starknet core contract's messaging (`StarknetMessaging.sol`, `Output.sol`) and the part
//! of `Starknet.updateState` that moves messages.
//!
//! - L1→L2: `sendMessageToL2` stores `l1ToL2Messages[h] = fee + 1` with a fresh nonce and emits
//!   `LogMessageToL2`; the sequencer picks the message up (the Starknet side reads
//!   [`StarknetMessaging::sent`]) and the next state update zeroes the entry
//!   (`ConsumedMessageToL2`). The fee stays in the core contract's balance (on mainnet it goes
//!   to the sequencer; either way it is still ETH on L1).
//! - L2→L1: a state update adds 1 to `l2ToL1Messages[h]` per message (`LogMessageToL1`);
//!   `consumeMessageFromL2` (the hash uses `msg.sender` as the recipient) decrements it.
//!
//! Hashes are `starkroute_crypto::l1_to_l2_message_hash` / `l2_to_l1_message_hash`.

use std::collections::HashMap;

use alloy_primitives::{B256, U256};
use serde::{Deserialize, Serialize};
use starkroute_crypto::{l1_to_l2_message_hash, l2_to_l1_message_hash};
use starkroute_types::{EthAddress, Felt};

use super::chain::{Ctx, L1Config};
use super::events::{L1Event, TxHash};
use crate::interface::{require, Revert};

/// `MAX_L1_MSG_FEE = 1 ether`.
pub const MAX_L1_MSG_FEE: u128 = 1_000_000_000_000_000_000;

pub use starkroute_layer::MessageToL1;

/// An L1→L2 message as `LogMessageToL2` recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageToL2 {
    /// Its hash (the key of `l1ToL2Messages`).
    pub hash: B256,
    /// The L1 transaction that sent it.
    pub l1_tx: TxHash,
    /// The L1 block of that transaction.
    pub block: u64,
    /// `msg.sender` of `sendMessageToL2`.
    pub from_address: EthAddress,
    /// The L2 contract.
    pub to_address: Felt,
    /// The L1 handler's selector.
    pub selector: Felt,
    /// The payload (the handler's calldata is `[from_address, ...payload]`).
    pub payload: Vec<Felt>,
    /// The nonce.
    pub nonce: U256,
    /// The fee paid (wei).
    pub fee: U256,
}

/// The messaging storage.
#[derive(Debug, Clone)]
pub struct StarknetMessaging {
    pub(crate) l1_to_l2: HashMap<B256, U256>,
    pub(crate) l2_to_l1: HashMap<B256, u64>,
    pub(crate) cancellations: HashMap<B256, u64>,
    pub(crate) nonce: u64,
    pub(crate) sent: Vec<MessageToL2>,
    sent_index: HashMap<B256, usize>,
    pub(crate) state_block_number: Option<u64>,
    pub(crate) state_root: Felt,
    pub(crate) state_block_hash: Felt,
}

impl StarknetMessaging {
    pub(crate) fn new(first_nonce: u64) -> Self {
        Self {
            l1_to_l2: HashMap::new(),
            l2_to_l1: HashMap::new(),
            cancellations: HashMap::new(),
            nonce: first_nonce,
            sent: Vec::new(),
            sent_index: HashMap::new(),
            state_block_number: None,
            state_root: Felt::ZERO,
            state_block_hash: Felt::ZERO,
        }
    }

    /// `l1ToL2Messages(h)`: fee + 1 while pending, 0 once consumed or cancelled.
    pub fn l1_to_l2_messages(&self, h: &B256) -> U256 {
        self.l1_to_l2.get(h).copied().unwrap_or_default()
    }

    /// `l2ToL1Messages(h)`: how many times the message may still be consumed.
    pub fn l2_to_l1_messages(&self, h: &B256) -> u64 {
        self.l2_to_l1.get(h).copied().unwrap_or_default()
    }

    /// `l1ToL2MessageNonce()`: the next nonce.
    pub fn l1_to_l2_message_nonce(&self) -> u64 {
        self.nonce
    }

    /// `l1ToL2MessageCancellations(h)`: when cancellation started, or 0.
    pub fn l1_to_l2_message_cancellations(&self, h: &B256) -> u64 {
        self.cancellations.get(h).copied().unwrap_or_default()
    }

    /// Every L1→L2 message ever sent, in order (what the sequencer reads from the logs).
    pub fn sent(&self) -> &[MessageToL2] {
        &self.sent
    }

    /// The message with this hash, if it was sent.
    pub fn sent_message(&self, h: &B256) -> Option<&MessageToL2> {
        self.sent_index.get(h).and_then(|i| self.sent.get(*i))
    }

    /// `stateBlockNumber()` (`None` before the first state update, `-1` on chain).
    pub fn state_block_number(&self) -> Option<u64> {
        self.state_block_number
    }

    /// `stateRoot()`.
    pub fn state_root(&self) -> Felt {
        self.state_root
    }

    /// `stateBlockHash()`.
    pub fn state_block_hash(&self) -> Felt {
        self.state_block_hash
    }

    pub(crate) fn send_message_to_l2(
        &mut self,
        ctx: &mut Ctx,
        from: EthAddress,
        fee: U256,
        to_address: Felt,
        selector: Felt,
        payload: Vec<Felt>,
    ) -> Result<(B256, U256), Revert> {
        require(fee > U256::ZERO, "L1_MSG_FEE_MUST_BE_GREATER_THAN_0")?;
        require(fee <= U256::from(MAX_L1_MSG_FEE), "MAX_L1_MSG_FEE_EXCEEDED")?;
        let nonce = U256::from(self.nonce);
        self.nonce += 1;
        ctx.emit(L1Event::LogMessageToL2 {
            from_address: from,
            to_address,
            selector,
            payload: payload.clone(),
            nonce,
            fee,
        });
        let h = B256::from(l1_to_l2_message_hash(&from, to_address, nonce, selector, &payload));
        self.l1_to_l2.insert(h, fee + U256::from(1));
        self.sent_index.insert(h, self.sent.len());
        self.sent.push(MessageToL2 {
            hash: h,
            l1_tx: ctx.tx_hash,
            block: ctx.block,
            from_address: from,
            to_address,
            selector,
            payload,
            nonce,
            fee,
        });
        Ok((h, nonce))
    }

    pub(crate) fn consume_message_from_l2(
        &mut self,
        ctx: &mut Ctx,
        sender: EthAddress,
        from_address: Felt,
        payload: Vec<Felt>,
    ) -> Result<B256, Revert> {
        let h = B256::from(l2_to_l1_message_hash(from_address, &sender, &payload));
        let count = self.l2_to_l1_messages(&h);
        require(count > 0, "INVALID_MESSAGE_TO_CONSUME")?;
        ctx.emit(L1Event::ConsumedMessageToL1 { from_address, to_address: sender, payload });
        if count == 1 {
            self.l2_to_l1.remove(&h);
        } else {
            self.l2_to_l1.insert(h, count - 1);
        }
        Ok(h)
    }

    pub(crate) fn start_cancellation(
        &mut self,
        ctx: &mut Ctx,
        sender: EthAddress,
        to_address: Felt,
        selector: Felt,
        payload: Vec<Felt>,
        nonce: U256,
    ) -> Result<B256, Revert> {
        let h = B256::from(l1_to_l2_message_hash(&sender, to_address, nonce, selector, &payload));
        ctx.emit(L1Event::MessageToL2CancellationStarted {
            from_address: sender,
            to_address,
            selector,
            payload,
            nonce,
        });
        require(self.l1_to_l2_messages(&h) > U256::ZERO, "NO_MESSAGE_TO_CANCEL")?;
        self.cancellations.insert(h, ctx.timestamp);
        Ok(h)
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn cancel_message(
        &mut self,
        cfg: &L1Config,
        ctx: &mut Ctx,
        sender: EthAddress,
        to_address: Felt,
        selector: Felt,
        payload: Vec<Felt>,
        nonce: U256,
    ) -> Result<B256, Revert> {
        let h = B256::from(l1_to_l2_message_hash(&sender, to_address, nonce, selector, &payload));
        ctx.emit(L1Event::MessageToL2Canceled {
            from_address: sender,
            to_address,
            selector,
            payload,
            nonce,
        });
        require(self.l1_to_l2_messages(&h) != U256::ZERO, "NO_MESSAGE_TO_CANCEL")?;
        let request_time = self.l1_to_l2_message_cancellations(&h);
        require(request_time != 0, "MESSAGE_CANCELLATION_NOT_REQUESTED")?;
        require(
            ctx.timestamp >= request_time + cfg.message_cancellation_delay,
            "MESSAGE_CANCELLATION_NOT_ALLOWED_YET",
        )?;
        self.l1_to_l2.insert(h, U256::ZERO);
        Ok(h)
    }

    /// The messaging half of `Starknet.updateState` (`Output.processMessages`).
    pub(crate) fn update_state(
        &mut self,
        ctx: &mut Ctx,
        block_number: u64,
        block_hash: Felt,
        global_root: Felt,
        to_l1: &[MessageToL1],
        consumed: &[B256],
    ) -> Result<(), Revert> {
        if let Some(prev) = self.state_block_number {
            require(block_number > prev, "INVALID_BLOCK_NUMBER")?;
        }
        for m in to_l1 {
            *self.l2_to_l1.entry(m.hash()).or_default() += 1;
            ctx.emit(L1Event::LogMessageToL1 {
                from_address: m.from_address,
                to_address: m.to_address,
                payload: m.payload.clone(),
            });
        }
        for h in consumed {
            let fee_plus_one = self.l1_to_l2_messages(h);
            require(fee_plus_one > U256::ZERO, "INVALID_MESSAGE_TO_CONSUME")?;
            self.l1_to_l2.insert(*h, U256::ZERO);
            if let Some(m) = self.sent_index.get(h).and_then(|i| self.sent.get(*i)) {
                ctx.emit(L1Event::ConsumedMessageToL2 {
                    from_address: m.from_address,
                    to_address: m.to_address,
                    selector: m.selector,
                    payload: m.payload.clone(),
                    nonce: m.nonce,
                    fee: m.fee,
                });
            }
        }
        self.state_block_number = Some(block_number);
        self.state_block_hash = block_hash;
        self.state_root = global_root;
        ctx.emit(L1Event::LogStateUpdate { global_root, block_number, block_hash });
        Ok(())
    }
}
