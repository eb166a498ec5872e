//! The L1 chain: blocks on the virtual clock, transactions, receipts, and the dispatch of
//! [`L1Call`]s to the contracts.
//!
//! Model:
//! - Block `0` is sealed at the genesis time; a block is sealed every `block_time` seconds
//!   ([`L1::advance_to`]). A transaction sent between two seals executes at once, against the
//!   *pending* block `head + 1` whose `block.timestamp` is `head_time + block_time`, and so has 0
//!   confirmations until that block is sealed.
//! - A reverted transaction gets a receipt with its reason and changes nothing but the sender's
//!   nonce: the contract state is snapshotted before the call and restored on a revert.
//! - Gas is not charged (no ETH leaves an account except by the call's own value and transfers),
//!   which keeps the conservation check exact. L1→L2 message fees are real ETH paid to the
//!   Starknet core contract, where they stay.

use std::collections::{BTreeMap, HashMap};

use alloy_primitives::{keccak256, Address, U256};
use serde::{Deserialize, Serialize};
use starkroute_types::{EthAddress, Felt};

use super::events::{L1Event, TxHash};
use super::ledger::Ledger;
use super::messaging::StarknetMessaging;
use super::nft_bridge::NftBridge;
use super::starkex_core::StarkExCore;
use super::starkgate::StarkGate;
use crate::interface::{AssetKey, Revert};
pub use starkroute_protocol::L1Call;
use starkroute_protocol::L1Contracts;

/// Seconds between L1 blocks (post-merge Ethereum slots).
pub const L1_BLOCK_TIME: u64 = 12;

pub use starkroute_protocol::starkgate_eth_token;

/// A small deterministic address (`0x00…n`).
pub fn addr(n: u64) -> EthAddress {
    // n != 0 for every caller; fall back to 1 rather than panic.
    EthAddress::new(Address::left_padding_from(&n.max(1).to_be_bytes())).unwrap_or_else(|_| addr(1))
}

/// Where the sandbox's L1 contracts and privileged accounts live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct L1Addresses {
    /// The StarkEx core contract (custody of deposits and withdrawals).
    pub starkex_core: EthAddress,
    /// The StarkEx operator (sends `updateState`).
    pub starkex_operator: EthAddress,
    /// The StarkEx tokens admin (`registerToken`).
    pub starkex_token_admin: EthAddress,
    /// The Starknet core contract (messaging and state updates).
    pub starknet_core: EthAddress,
    /// The Starknet sequencer's L1 account (sends the Starknet state updates).
    pub starknet_operator: EthAddress,
    /// The StarkGate L1 bridge (a multi-token bridge; ETH is `0x455448`).
    pub starkgate: EthAddress,
    /// The Starklane-style NFT bridge on L1 (escrow of L1-native collections).
    pub nft_bridge: EthAddress,
}

impl Default for L1Addresses {
    fn default() -> Self {
        Self {
            starkex_core: addr(0x5e_c0e1),
            starkex_operator: addr(0x5e_0b01),
            starkex_token_admin: addr(0x5e_ad01),
            starknet_core: addr(0x5c_c0e1),
            starknet_operator: addr(0x5c_0b01),
            starkgate: addr(0x5b_1d01),
            nft_bridge: addr(0x4f_7b01),
        }
    }
}

/// The L1's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct L1Config {
    /// The chain id. StarkGate's minimum fee is 10^12 wei on chain 1 and 1 wei elsewhere.
    pub chain_id: u64,
    /// Seconds per block.
    pub block_time: u64,
    /// Contract and operator addresses.
    pub addresses: L1Addresses,
    /// The StarkGate L2 bridge the L1 bridge talks to (`l2TokenBridge()`).
    pub l2_starkgate_bridge: Felt,
    /// The NFT bridge's L2 side.
    pub l2_nft_bridge: Felt,
    /// `messageCancellationDelay()` of the Starknet core contract, seconds. The mainnet value is
    /// not confirmed (PROTOCOL.md G); 5 days, StarkGate's `MAX_PENDING_DURATION`, is used.
    pub message_cancellation_delay: u64,
    /// The first L1→L2 message nonce (to replay published vectors; 0 on a fresh chain).
    pub first_l1_to_l2_nonce: u64,
}

impl L1Config {
    /// The contracts the legs call, as the protocol names them.
    pub fn contracts(&self) -> L1Contracts {
        let a = &self.addresses;
        L1Contracts {
            starkex_core: a.starkex_core,
            starknet_core: a.starknet_core,
            starkgate: a.starkgate,
            nft_bridge: a.nft_bridge,
            l2_starkgate_bridge: self.l2_starkgate_bridge,
        }
    }
}

impl Default for L1Config {
    fn default() -> Self {
        Self {
            chain_id: 31_337,
            block_time: L1_BLOCK_TIME,
            addresses: L1Addresses::default(),
            l2_starkgate_bridge: Felt::from(0x5b_1d02_u64),
            l2_nft_bridge: Felt::from(0x4f_7b02_u64),
            message_cancellation_delay: 5 * 86_400,
            first_l1_to_l2_nonce: 0,
        }
    }
}

/// The outcome of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum TxStatus {
    /// Executed.
    Success,
    /// Reverted with the contract's reason string; no state changed.
    Reverted(String),
}

/// A transaction receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Receipt {
    /// The transaction hash.
    pub tx_hash: TxHash,
    /// The block it is (or will be, while pending) included in.
    pub block: u64,
    /// The block timestamp it executed with.
    pub timestamp: u64,
    /// The sender.
    pub from: EthAddress,
    /// Success or the revert reason.
    pub status: TxStatus,
    /// Events, in order (empty for a reverted transaction).
    pub events: Vec<L1Event>,
}

impl Receipt {
    /// `Ok(())` on success, the revert otherwise.
    pub fn result(&self) -> Result<(), Revert> {
        match &self.status {
            TxStatus::Success => Ok(()),
            TxStatus::Reverted(r) => Err(Revert::new(r.clone())),
        }
    }
}

/// The execution context of one call (`msg.sender`, `msg.value`, `block.*`) and the events it
/// emitted so far.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) sender: EthAddress,
    pub(crate) value: U256,
    pub(crate) block: u64,
    pub(crate) timestamp: u64,
    pub(crate) tx_hash: TxHash,
    pub(crate) events: Vec<L1Event>,
}

impl Ctx {
    pub(crate) fn emit(&mut self, e: L1Event) {
        self.events.push(e);
    }
}

/// Everything a transaction can change: the ledger and the contracts' storage.
#[derive(Debug, Clone)]
pub struct L1State {
    /// Balances.
    pub ledger: Ledger,
    /// The StarkEx core contract.
    pub starkex: StarkExCore,
    /// The Starknet core contract's messaging.
    pub messaging: StarknetMessaging,
    /// The StarkGate L1 bridge.
    pub starkgate: StarkGate,
    /// The NFT bridge.
    pub nft_bridge: NftBridge,
}

/// The L1: state, blocks, nonces and receipts.
#[derive(Debug, Clone)]
pub struct L1 {
    config: L1Config,
    head: u64,
    head_time: u64,
    nonces: HashMap<EthAddress, u64>,
    receipts: HashMap<TxHash, Receipt>,
    tx_order: Vec<TxHash>,
    state: L1State,
}

impl L1 {
    /// A fresh chain whose block 0 is sealed at `genesis_time`, with the contracts deployed
    /// (nothing registered, no balances).
    pub fn new(config: L1Config, genesis_time: u64) -> Self {
        let state = L1State {
            ledger: Ledger::default(),
            starkex: StarkExCore::new(),
            messaging: StarknetMessaging::new(config.first_l1_to_l2_nonce),
            starkgate: StarkGate::default(),
            nft_bridge: NftBridge::default(),
        };
        Self {
            config,
            head: 0,
            head_time: genesis_time,
            nonces: HashMap::new(),
            receipts: HashMap::new(),
            tx_order: Vec::new(),
            state,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &L1Config {
        &self.config
    }

    /// The contracts the legs call, as the protocol names them.
    pub fn contracts(&self) -> L1Contracts {
        self.config.contracts()
    }

    /// The contract addresses.
    pub fn addresses(&self) -> &L1Addresses {
        &self.config.addresses
    }

    /// Seals every block whose time has come (one each `block_time` seconds). Call on every
    /// clock advance, before anything that reads confirmations.
    pub fn advance_to(&mut self, now: u64) {
        let bt = self.config.block_time.max(1);
        if now >= self.head_time + bt {
            let n = (now - self.head_time) / bt;
            self.head += n;
            self.head_time += n * bt;
        }
    }

    /// The last sealed block.
    pub fn block_number(&self) -> u64 {
        self.head
    }

    /// The last sealed block's timestamp.
    pub fn block_timestamp(&self) -> u64 {
        self.head_time
    }

    /// The timestamp a transaction sent now executes with (the pending block's).
    pub fn pending_timestamp(&self) -> u64 {
        self.head_time + self.config.block_time.max(1)
    }

    /// The next nonce of an account.
    pub fn nonce(&self, a: &EthAddress) -> u64 {
        self.nonces.get(a).copied().unwrap_or_default()
    }

    /// The state (read only).
    pub fn state(&self) -> &L1State {
        &self.state
    }

    pub(crate) fn state_mut(&mut self) -> &mut L1State {
        &mut self.state
    }

    /// The ledger (read only).
    pub fn ledger(&self) -> &Ledger {
        &self.state.ledger
    }

    /// The ledger, for genesis allocations and token deployments (not a transaction).
    pub fn ledger_mut(&mut self) -> &mut Ledger {
        &mut self.state.ledger
    }

    /// A receipt.
    pub fn receipt(&self, tx: &TxHash) -> Option<&Receipt> {
        self.receipts.get(tx)
    }

    /// All transaction hashes in execution order.
    pub fn transactions(&self) -> &[TxHash] {
        &self.tx_order
    }

    /// Confirmations of a transaction: 0 while its block is pending, then 1, 2, … (`None` for an
    /// unknown hash).
    pub fn confirmations(&self, tx: &TxHash) -> Option<u64> {
        let r = self.receipts.get(tx)?;
        Some(if r.block <= self.head { self.head - r.block + 1 } else { 0 })
    }

    /// Confirmations of a block number (0 for the pending block).
    pub fn block_confirmations(&self, block: u64) -> u64 {
        if block <= self.head {
            self.head - block + 1
        } else {
            0
        }
    }

    /// Sends a transaction: executes `call` from `from` with `value` wei, records a receipt
    /// (success, or the revert reason with no state change) and returns its hash.
    pub fn send(&mut self, from: EthAddress, value: U256, call: L1Call) -> TxHash {
        let nonce = self.nonces.entry(from).or_default();
        let n = *nonce;
        *nonce += 1;
        let tx_hash = l1_tx_hash(&from, n, value, &call);
        let mut ctx = Ctx {
            sender: from,
            value,
            block: self.head + 1,
            timestamp: self.pending_timestamp(),
            tx_hash,
            events: Vec::new(),
        };
        let snapshot = self.state.clone();
        let status = match self.state.execute(&self.config, &mut ctx, call) {
            Ok(()) => TxStatus::Success,
            Err(r) => {
                self.state = snapshot;
                ctx.events.clear();
                TxStatus::Reverted(r.reason)
            }
        };
        let receipt = Receipt {
            tx_hash,
            block: ctx.block,
            timestamp: ctx.timestamp,
            from,
            status,
            events: ctx.events,
        };
        self.receipts.insert(tx_hash, receipt);
        self.tx_order.push(tx_hash);
        tx_hash
    }

    /// [`send`](Self::send) and return the outcome (convenient in tests and drivers).
    pub fn send_and_check(
        &mut self,
        from: EthAddress,
        value: U256,
        call: L1Call,
    ) -> Result<TxHash, Revert> {
        let h = self.send(from, value, call);
        self.receipts.get(&h).map_or(Ok(()), Receipt::result)?;
        Ok(h)
    }

    /// Holdings on L1 for the conservation check (see [`crate::l1`] for what is counted).
    pub fn holdings(&self) -> BTreeMap<AssetKey, U256> {
        let custody = [
            self.config.addresses.starkex_core,
            self.config.addresses.starkgate,
            self.config.addresses.nft_bridge,
        ];
        let mut out: BTreeMap<AssetKey, U256> = BTreeMap::new();
        let ledger = &self.state.ledger;
        for (a, v) in &ledger.eth {
            if !custody.contains(a) && !v.is_zero() {
                *out.entry(AssetKey { token: None, token_id: None }).or_default() += *v;
            }
        }
        for (t, erc) in &ledger.erc20 {
            for (a, v) in &erc.balances {
                if !custody.contains(a) && !v.is_zero() {
                    *out.entry(AssetKey { token: Some(*t), token_id: None }).or_default() += *v;
                }
            }
        }
        for (t, erc) in &ledger.erc721 {
            for (id, owner) in &erc.owners {
                if !custody.contains(owner) {
                    *out.entry(AssetKey { token: Some(*t), token_id: Some(*id) }).or_default() +=
                        U256::from(1);
                }
            }
        }
        for (k, v) in self.state.starkex.holdings() {
            *out.entry(k).or_default() += v;
        }
        out
    }

    /// What the custody addresses hold on the ledger, by asset: the StarkEx core, the StarkGate
    /// bridge and the NFT bridge, in that order.
    pub fn custody(&self) -> [BTreeMap<AssetKey, U256>; 3] {
        let a = &self.config.addresses;
        [a.starkex_core, a.starkgate, a.nft_bridge].map(|c| self.state.ledger.holdings_of(&c))
    }
}

impl Ledger {
    /// Everything one address holds, by asset key.
    pub fn holdings_of(&self, who: &EthAddress) -> BTreeMap<AssetKey, U256> {
        let mut out = BTreeMap::new();
        let eth = self.eth_balance(who);
        if !eth.is_zero() {
            out.insert(AssetKey { token: None, token_id: None }, eth);
        }
        for (t, erc) in &self.erc20 {
            if let Some(v) = erc.balances.get(who).filter(|v| !v.is_zero()) {
                out.insert(AssetKey { token: Some(*t), token_id: None }, *v);
            }
        }
        for (t, erc) in &self.erc721 {
            for (id, owner) in &erc.owners {
                if owner == who {
                    out.insert(AssetKey { token: Some(*t), token_id: Some(*id) }, U256::from(1));
                }
            }
        }
        out
    }
}

/// `keccak256(sender ‖ uint256(nonce) ‖ uint256(value) ‖ json(call))`: the sandbox's
/// transaction hash (unique per sender and nonce, like Ethereum's), which an adapter computes
/// before sending.
pub fn l1_tx_hash(from: &EthAddress, nonce: u64, value: U256, call: &L1Call) -> TxHash {
    let mut buf = Vec::with_capacity(128);
    buf.extend_from_slice(from.as_bytes());
    buf.extend_from_slice(&U256::from(nonce).to_be_bytes::<32>());
    buf.extend_from_slice(&value.to_be_bytes::<32>());
    // Serializing plain data to a Vec cannot fail; an empty encoding would still be unique by
    // sender and nonce.
    buf.extend_from_slice(&serde_json::to_vec(call).unwrap_or_default());
    keccak256(&buf)
}

impl L1State {
    /// Runs one call. On `Err` the caller restores the snapshot.
    fn execute(&mut self, cfg: &L1Config, ctx: &mut Ctx, call: L1Call) -> Result<(), Revert> {
        let a = cfg.addresses.clone();
        // Which contract receives msg.value, and whether the function is payable.
        let (target, payable) = call.target(&cfg.contracts());
        if !ctx.value.is_zero() {
            // Solidity reverts a value sent to a non-payable function without a reason string.
            if !payable {
                return Err(Revert::new("NON_PAYABLE"));
            }
            if self.ledger.eth_balance(&ctx.sender) < ctx.value {
                return Err(Revert::new("INSUFFICIENT_FUNDS_FOR_VALUE"));
            }
            self.ledger.transfer_eth(ctx.sender, target, ctx.value)?;
        }
        let sender = ctx.sender;
        match call {
            L1Call::Transfer { .. } => Ok(()),
            L1Call::Erc20Transfer { token, to, amount } => {
                self.ledger.erc20_transfer(&token, sender, to, amount)?;
                ctx.emit(L1Event::Erc20Transfer {
                    token,
                    from: Some(sender),
                    to: Some(to),
                    value: amount,
                });
                Ok(())
            }
            L1Call::Erc20Approve { token, spender, amount } => {
                self.ledger.erc20_approve(&token, sender, spender, amount)?;
                ctx.emit(L1Event::Erc20Approval { token, owner: sender, spender, value: amount });
                Ok(())
            }
            L1Call::Erc721TransferFrom { token, from, to, token_id } => {
                self.ledger.erc721_transfer_from(&token, sender, from, to, token_id)?;
                ctx.emit(L1Event::Erc721Transfer {
                    token,
                    from: Some(from),
                    to: Some(to),
                    token_id,
                });
                Ok(())
            }
            L1Call::Erc721Approve { token, to, token_id } => {
                self.ledger.erc721_approve(&token, sender, to, token_id)?;
                ctx.emit(L1Event::Erc721Approval { token, owner: sender, approved: to, token_id });
                Ok(())
            }
            L1Call::Erc721SetApprovalForAll { token, operator, approved } => {
                self.ledger.erc721_set_approval_for_all(&token, sender, operator, approved)?;
                ctx.emit(L1Event::Erc721ApprovalForAll {
                    token,
                    owner: sender,
                    operator,
                    approved,
                });
                Ok(())
            }
            L1Call::RegisterToken { asset_type, asset_info, quantum } => {
                self.register_token(cfg, ctx, asset_type, asset_info, quantum)
            }
            L1Call::RegisterEthAddress { eth_key, stark_key, stark_signature } => {
                self.register_eth_address(ctx, eth_key, stark_key, &stark_signature)
            }
            L1Call::RegisterSender { stark_key, stark_signature } => {
                self.register_eth_address(ctx, sender, stark_key, &stark_signature)
            }
            L1Call::DepositEth { stark_key, asset_type, vault_id } => {
                self.deposit_eth(cfg, ctx, stark_key, asset_type, vault_id)
            }
            L1Call::DepositErc20 { stark_key, asset_type, vault_id, quantized_amount } => {
                self.deposit_fungible(cfg, ctx, stark_key, asset_type, vault_id, quantized_amount)
            }
            L1Call::DepositNft { stark_key, asset_type, vault_id, token_id } => {
                self.deposit_nft(cfg, ctx, stark_key, asset_type, vault_id, token_id)
            }
            L1Call::DepositCancel { stark_key, asset_id, vault_id } => {
                self.deposit_cancel(ctx, stark_key, asset_id, vault_id)
            }
            L1Call::DepositReclaim { stark_key, asset_type, vault_id } => {
                self.deposit_reclaim(cfg, ctx, stark_key, asset_type, vault_id)
            }
            L1Call::DepositNftReclaim { stark_key, asset_type, vault_id, token_id } => {
                self.deposit_nft_reclaim(cfg, ctx, stark_key, asset_type, vault_id, token_id)
            }
            L1Call::Withdraw { owner_key, asset_type } => {
                self.withdraw(cfg, ctx, owner_key, asset_type)
            }
            L1Call::WithdrawNft { owner_key, asset_type, token_id } => {
                self.withdraw_nft(cfg, ctx, owner_key, asset_type, token_id)
            }
            L1Call::WithdrawAndMint { owner_key, asset_type, minting_blob } => {
                self.withdraw_and_mint(cfg, ctx, owner_key, asset_type, minting_blob)
            }
            L1Call::FullWithdrawalRequest { owner_key, vault_id } => {
                self.full_withdrawal_request(ctx, owner_key, vault_id)
            }
            L1Call::FreezeRequest { owner_key, vault_id } => {
                self.freeze_request(ctx, owner_key, vault_id)
            }
            L1Call::Escape { owner_key, vault_id, asset_id, quantized_amount, proof } => {
                self.escape(ctx, owner_key, vault_id, asset_id, quantized_amount, proof)
            }
            L1Call::StarkExUpdateState { update } => self.starkex_update_state(cfg, ctx, &update),
            L1Call::SendMessageToL2 { to_address, selector, payload } => {
                let fee = ctx.value;
                self.messaging
                    .send_message_to_l2(ctx, sender, fee, to_address, selector, payload)?;
                Ok(())
            }
            L1Call::ConsumeMessageFromL2 { from_address, payload } => {
                self.messaging.consume_message_from_l2(ctx, sender, from_address, payload)?;
                Ok(())
            }
            L1Call::StartL1ToL2MessageCancellation { to_address, selector, payload, nonce } => {
                self.messaging
                    .start_cancellation(ctx, sender, to_address, selector, payload, nonce)?;
                Ok(())
            }
            L1Call::CancelL1ToL2Message { to_address, selector, payload, nonce } => {
                self.messaging
                    .cancel_message(cfg, ctx, sender, to_address, selector, payload, nonce)?;
                Ok(())
            }
            L1Call::StarknetUpdateState {
                block_number,
                block_hash,
                global_root,
                messages_to_l1,
                consumed_l1_to_l2,
            } => {
                crate::interface::require(sender == a.starknet_operator, "ONLY_OPERATOR")?;
                self.messaging.update_state(
                    ctx,
                    block_number,
                    block_hash,
                    global_root,
                    &messages_to_l1,
                    &consumed_l1_to_l2,
                )
            }
            L1Call::StarkgateDeposit { token, amount, l2_recipient } => {
                self.starkgate_deposit(cfg, ctx, token, amount, l2_recipient)
            }
            L1Call::StarkgateWithdraw { token, amount, recipient } => {
                self.starkgate_withdraw(cfg, ctx, token, amount, recipient)
            }
            L1Call::StarkgateDepositCancelRequest { token, amount, l2_recipient, nonce } => {
                self.starkgate_deposit_cancel_request(cfg, ctx, token, amount, l2_recipient, nonce)
            }
            L1Call::StarkgateDepositReclaim { token, amount, l2_recipient, nonce } => {
                self.starkgate_deposit_reclaim(cfg, ctx, token, amount, l2_recipient, nonce)
            }
            L1Call::NftDepositTokens { salt, collection_l1, owner_l2, ids, use_auto_burn } => {
                self.nft_deposit_tokens(cfg, ctx, salt, collection_l1, owner_l2, ids, use_auto_burn)
            }
            L1Call::NftWithdrawTokens { request } => self.nft_withdraw_tokens(cfg, ctx, request),
        }
    }

    /// Moves ETH or an ERC-20 out of a contract, with the ERC-20 `Transfer` event.
    pub(crate) fn pay_out(
        &mut self,
        ctx: &mut Ctx,
        from: EthAddress,
        token: Option<EthAddress>,
        to: EthAddress,
        amount: U256,
    ) -> Result<(), Revert> {
        match token {
            None => self.ledger.transfer_eth(from, to, amount),
            Some(t) => {
                self.ledger.erc20_transfer(&t, from, to, amount)?;
                ctx.emit(L1Event::Erc20Transfer {
                    token: t,
                    from: Some(from),
                    to: Some(to),
                    value: amount,
                });
                Ok(())
            }
        }
    }

    /// `token.transferFrom(from, to, amount)` called by `spender`, with the event.
    pub(crate) fn pull_erc20(
        &mut self,
        ctx: &mut Ctx,
        token: EthAddress,
        spender: EthAddress,
        from: EthAddress,
        to: EthAddress,
        amount: U256,
    ) -> Result<(), Revert> {
        self.ledger.erc20_transfer_from(&token, spender, from, to, amount)?;
        ctx.emit(L1Event::Erc20Transfer { token, from: Some(from), to: Some(to), value: amount });
        Ok(())
    }

    /// `collection.transferFrom(from, to, id)` called by `caller`, with the event.
    pub(crate) fn move_nft(
        &mut self,
        ctx: &mut Ctx,
        token: EthAddress,
        caller: EthAddress,
        from: EthAddress,
        to: EthAddress,
        id: U256,
    ) -> Result<(), Revert> {
        self.ledger.erc721_transfer_from(&token, caller, from, to, id)?;
        ctx.emit(L1Event::Erc721Transfer { token, from: Some(from), to: Some(to), token_id: id });
        Ok(())
    }
}
