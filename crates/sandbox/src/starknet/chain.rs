//! The Starknet chain: accounts, the mempool, blocks, L1→L2 message delivery, state updates to
//! L1, transaction statuses, and the conservation report.
//!
//! Kept in one file (about 800 lines of code): every part reads and writes the one `Chain` state
//! within a block's step, and split by concern they would import each other.

use std::collections::{BTreeMap, HashMap, HashSet};

use alloy_primitives::{B256, U256};
use serde::{Deserialize, Serialize};
use starkroute_crypto::{felts_to_u256, verify, StarkSignature};
use starkroute_types::{felt_to_u256, EthAddress, Felt, Layer, StarkKey};

use super::contracts::{Call, Exec, L2Erc20, L2Erc721, L2Event, L2State, NftBridgeL2, StarkGateL2};
use super::hash::{
    account_address, compute_hash_on_elements, deploy_account_tx_hash, invoke_tx_hash,
    l1_handler_tx_hash, short_string,
};
use crate::interface::AssetKey;
use crate::l1::nft_bridge::{withdraw_auto_from_l1_selector, NftRequest};
use crate::l1::starkgate::handle_token_deposit_selector;
use crate::l1::{starkgate_eth_token, CollectionPair, L1Call, MessageToL1, TxHash, L1};

/// OpenZeppelin's Cairo 1 account class 1.0.0, starknet-devnet's default account class.
pub const OZ_ACCOUNT_CLASS_HASH: Felt =
    Felt::from_hex_unchecked("0x05b4b537eaa2399e3aa99c4e2e0208ebd6c71bc1467938cd52c798c601e43564");

/// Starknet's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StarknetChainConfig {
    /// The chain id (`SN_SEPOLIA` as a short string by default, as starknet-devnet).
    pub chain_id: Felt,
    /// Seconds between blocks.
    pub block_time: u64,
    /// Seconds between state updates posted to L1. The default, 2 h, is within the planner's
    /// latency model (`starknet_state_update` 1–12 h in `config/sandbox.toml`).
    pub state_update_interval: u64,
    /// L1 confirmations before an L1→L2 message is executed (12 blocks ≈ 2.4 min, within the
    /// model's `l1_to_l2_delivery` 1–20 min).
    pub l1_confirmations: u64,
    /// The account class deployed accounts get.
    pub account_class_hash: Felt,
}

impl Default for StarknetChainConfig {
    fn default() -> Self {
        Self {
            chain_id: short_string("SN_SEPOLIA"),
            block_time: 6,
            state_update_interval: 7_200,
            l1_confirmations: 12,
            account_class_hash: OZ_ACCOUNT_CLASS_HASH,
        }
    }
}

/// A Starknet JSON-RPC error on submission (the transaction is not accepted at all).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum StarknetError {
    /// Code 20: the sender is not a deployed contract.
    #[error("Contract not found")]
    ContractNotFound,
    /// Code 52: the nonce is not the account's next one.
    #[error("Invalid transaction nonce")]
    InvalidTransactionNonce,
    /// Code 55: `__validate__` failed (bad signature).
    #[error("Account validation failed: {0}")]
    ValidationFailure(String),
    /// Code 59: the same transaction was already submitted.
    #[error("A transaction with the same hash already exists in the mempool")]
    DuplicateTx,
}

impl StarknetError {
    /// The JSON-RPC error code.
    pub const fn code(&self) -> i32 {
        match self {
            Self::ContractNotFound => 20,
            Self::InvalidTransactionNonce => 52,
            Self::ValidationFailure(_) => 55,
            Self::DuplicateTx => 59,
        }
    }
}

/// `finality_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Finality {
    /// In the mempool.
    Received,
    /// In an L2 block.
    AcceptedOnL2,
    /// In a block covered by a state update on L1.
    AcceptedOnL1,
}

/// `execution_status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Execution {
    /// Executed.
    Succeeded,
    /// Reverted (state untouched, nonce consumed).
    Reverted,
}

/// The transaction kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TxKind {
    /// An account's multicall.
    Invoke,
    /// An account deployment.
    DeployAccount,
    /// An L1→L2 message's execution.
    L1Handler,
}

/// `starknet_getTransactionStatus` (and a `starknet_getMessagesStatus` entry).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxStatusView {
    /// The L2 transaction hash.
    pub transaction_hash: Felt,
    /// Finality.
    pub finality_status: Finality,
    /// Execution (absent while RECEIVED).
    pub execution_status: Option<Execution>,
    /// The revert reason.
    pub failure_reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Body {
    Invoke { calls: Vec<Call> },
    Deploy { public_key: Felt, salt: Felt, class_hash: Felt },
    L1Handler { to: Felt, selector: Felt, calldata: Vec<Felt>, message: B256 },
}

/// A transaction and its receipt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct L2Tx {
    /// Its hash.
    pub hash: Felt,
    /// Its kind.
    pub kind: TxKind,
    /// The account (or the L2 contract, for an L1 handler).
    pub sender: Felt,
    /// The nonce (the L1 message nonce for an L1 handler).
    pub nonce: Felt,
    /// The block, once included.
    pub block: Option<u64>,
    /// Finality.
    pub finality: Finality,
    /// Execution outcome, once included.
    pub execution: Option<Execution>,
    /// The revert reason.
    pub failure_reason: Option<String>,
    /// Events (empty if reverted).
    pub events: Vec<L2Event>,
    /// L2→L1 messages sent (empty if reverted).
    pub messages_to_l1: Vec<MessageToL1>,
    /// The L1 transaction whose message this L1 handler executes.
    pub l1_tx: Option<TxHash>,
    body: Body,
}

/// An account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct L2Account {
    /// Its public key.
    pub public_key: Felt,
    /// The executed nonce.
    pub nonce: u64,
    /// The next nonce a submission must carry (counts the mempool).
    pub pending_nonce: u64,
    /// Whether the deployment has executed.
    pub deployed: bool,
}

/// Starknet.
#[derive(Debug, Clone)]
pub struct Starknet {
    config: StarknetChainConfig,
    block_number: u64,
    last_block_at: u64,
    next_state_update_at: u64,
    accounts: BTreeMap<Felt, L2Account>,
    state: L2State,
    txs: HashMap<Felt, L2Tx>,
    mempool: Vec<Felt>,
    not_on_l1: Vec<Felt>,
    /// Next index into the L1 messaging log to look at.
    l1_cursor: usize,
    /// L1→L2 messages executed successfully: hash → L2 tx.
    delivered: HashMap<B256, Felt>,
    /// Delivered but not yet consumed on L1 by a state update.
    to_consume: Vec<B256>,
    by_l1_tx: HashMap<TxHash, Vec<Felt>>,
    /// L2→L1 messages not yet in a state update.
    unposted: Vec<MessageToL1>,
    /// Bridge L2→L1 messages already posted, by hash (for the in-flight report).
    posted: HashMap<B256, MessageToL1>,
    last_state_update_error: Option<String>,
    l1_addresses: (EthAddress, EthAddress),
}

/// Which bridge a flow goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BridgeKind {
    /// StarkGate.
    StarkGate,
    /// The NFT bridge.
    Nft,
}

impl Starknet {
    /// A Starknet whose bridges are paired with `l1`'s, starting at `genesis_time`.
    pub fn new(config: StarknetChainConfig, l1: &L1, genesis_time: u64) -> Self {
        let a = l1.addresses();
        let c = l1.config();
        let starkgate = StarkGateL2 {
            address: c.l2_starkgate_bridge,
            l1_bridge: a.starkgate,
            l2_token: BTreeMap::new(),
        };
        let nft = NftBridgeL2 { address: c.l2_nft_bridge, l1_bridge: a.nft_bridge, pairs: vec![] };
        let interval = config.state_update_interval.max(1);
        Self {
            next_state_update_at: genesis_time + interval,
            config,
            block_number: 0,
            last_block_at: genesis_time,
            accounts: BTreeMap::new(),
            state: L2State::new(starkgate, nft),
            txs: HashMap::new(),
            mempool: Vec::new(),
            not_on_l1: Vec::new(),
            l1_cursor: 0,
            delivered: HashMap::new(),
            to_consume: Vec::new(),
            by_l1_tx: HashMap::new(),
            unposted: Vec::new(),
            posted: HashMap::new(),
            last_state_update_error: None,
            l1_addresses: (a.starkgate, a.nft_bridge),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &StarknetChainConfig {
        &self.config
    }

    /// Contract storage (read only).
    pub fn state(&self) -> &L2State {
        &self.state
    }

    /// The last block number.
    pub fn block_number(&self) -> u64 {
        self.block_number
    }

    /// The StarkGate L2 bridge's address.
    pub fn starkgate_address(&self) -> Felt {
        self.state.starkgate.address
    }

    /// The NFT bridge's L2 address.
    pub fn nft_bridge_address(&self) -> Felt {
        self.state.nft_bridge.address
    }

    // ---------------------------------------------------------------- setup (not transactions)

    /// Deploys a bridged ERC-20 at `l2_token` and enrolls the pair on both StarkGate bridges.
    pub fn enroll_starkgate_token(
        &mut self,
        l1: &mut L1,
        l1_token: EthAddress,
        l2_token: Felt,
        symbol: &str,
    ) {
        l1.starkgate_enroll(l1_token);
        self.state.erc20.insert(
            l2_token,
            L2Erc20 {
                symbol: symbol.into(),
                minter: Some(self.state.starkgate.address),
                ..L2Erc20::default()
            },
        );
        self.state.starkgate.l2_token.insert(l1_token, l2_token);
    }

    /// Registers an NFT collection pair on both sides of the NFT bridge. An L1-native pair gets
    /// its L2 mirror deployed; an L2-native pair gets its L2 collection deployed if absent (mint
    /// its tokens with [`Self::genesis_mint_erc721`]) and its L1 mirror deployed by the L1 side.
    pub fn register_nft_pair(&mut self, l1: &mut L1, pair: CollectionPair, symbol: &str) {
        l1.nft_bridge_register(pair);
        let minter = (pair.native == Layer::L1).then_some(self.state.nft_bridge.address);
        self.state.erc721.entry(pair.l2).or_insert_with(|| L2Erc721 {
            symbol: symbol.into(),
            minter,
            ..L2Erc721::default()
        });
        self.state.nft_bridge.pairs.retain(|p| p.l1 != pair.l1);
        self.state.nft_bridge.pairs.push(pair);
    }

    /// Mints an NFT of an L2-native collection (genesis; refused for a mirror collection).
    pub fn genesis_mint_erc721(
        &mut self,
        collection: Felt,
        to: Felt,
        id: U256,
    ) -> Result<(), String> {
        let is_mirror = self.state.erc721.get(&collection).is_some_and(|c| c.minter.is_some());
        if is_mirror {
            return Err("a mirror collection is minted only by its bridge".into());
        }
        self.state.erc721_mint(&mut Exec::default(), collection, to, id)
    }

    /// An account already deployed at genesis (e.g. a demo account); returns its address.
    pub fn genesis_account(&mut self, public_key: Felt, salt: Felt) -> Felt {
        let address = account_address(public_key, salt, self.config.account_class_hash);
        self.accounts
            .insert(address, L2Account { public_key, nonce: 1, pending_nonce: 1, deployed: true });
        address
    }

    // ---------------------------------------------------------------- submissions

    /// The address an account with this key and salt gets.
    pub fn account_address(&self, public_key: Felt, salt: Felt) -> Felt {
        account_address(public_key, salt, self.config.account_class_hash)
    }

    /// The hash a deploy-account transaction must be signed over.
    pub fn deploy_account_hash(&self, public_key: Felt, salt: Felt) -> Felt {
        deploy_account_tx_hash(
            self.config.chain_id,
            self.config.account_class_hash,
            salt,
            public_key,
        )
    }

    /// The hash an invoke transaction must be signed over.
    pub fn invoke_hash(&self, sender: Felt, nonce: u64, calls: &[Call]) -> Felt {
        invoke_tx_hash(self.config.chain_id, sender, nonce, calls)
    }

    /// The account at an address.
    pub fn account(&self, address: &Felt) -> Option<&L2Account> {
        self.accounts.get(address)
    }

    /// Whether an account is deployed.
    pub fn is_deployed(&self, address: &Felt) -> bool {
        self.accounts.get(address).is_some_and(|a| a.deployed)
    }

    /// `starknet_getNonce`: the executed nonce (0 for an undeployed address).
    pub fn nonce(&self, address: &Felt) -> u64 {
        self.accounts.get(address).map_or(0, |a| a.nonce)
    }

    fn check_sig(public_key: Felt, hash: &Felt, sig: &StarkSignature) -> Result<(), StarknetError> {
        let ok = StarkKey::new(public_key)
            .ok()
            .and_then(|k| verify(&k, hash, sig).ok())
            .unwrap_or(false);
        if ok {
            Ok(())
        } else {
            Err(StarknetError::ValidationFailure("invalid signature".into()))
        }
    }

    /// Submits a DEPLOY_ACCOUNT transaction (signed by the key being deployed). It executes in
    /// the next block.
    pub fn deploy_account(
        &mut self,
        public_key: Felt,
        salt: Felt,
        signature: &StarkSignature,
    ) -> Result<Felt, StarknetError> {
        let class_hash = self.config.account_class_hash;
        let address = account_address(public_key, salt, class_hash);
        let hash = self.deploy_account_hash(public_key, salt);
        if self.txs.contains_key(&hash) || self.accounts.contains_key(&address) {
            return Err(StarknetError::DuplicateTx);
        }
        Self::check_sig(public_key, &hash, signature)?;
        self.accounts
            .insert(address, L2Account { public_key, nonce: 0, pending_nonce: 1, deployed: false });
        self.queue(L2Tx {
            hash,
            kind: TxKind::DeployAccount,
            sender: address,
            nonce: Felt::ZERO,
            block: None,
            finality: Finality::Received,
            execution: None,
            failure_reason: None,
            events: vec![],
            messages_to_l1: vec![],
            l1_tx: None,
            body: Body::Deploy { public_key, salt, class_hash },
        });
        Ok(hash)
    }

    /// Submits an INVOKE transaction: the sender must be a deployed account, the nonce its
    /// next one, the signature its key's over [`Self::invoke_hash`]. It executes in the next
    /// block; a failing call reverts the whole multicall (the nonce is still consumed).
    pub fn invoke(
        &mut self,
        sender: Felt,
        nonce: u64,
        calls: Vec<Call>,
        signature: &StarkSignature,
    ) -> Result<Felt, StarknetError> {
        let acct = self
            .accounts
            .get(&sender)
            .filter(|a| a.deployed)
            .ok_or(StarknetError::ContractNotFound)?;
        if nonce != acct.pending_nonce {
            return Err(StarknetError::InvalidTransactionNonce);
        }
        let hash = self.invoke_hash(sender, nonce, &calls);
        if self.txs.contains_key(&hash) {
            return Err(StarknetError::DuplicateTx);
        }
        Self::check_sig(acct.public_key, &hash, signature)?;
        if let Some(a) = self.accounts.get_mut(&sender) {
            a.pending_nonce += 1;
        }
        self.queue(L2Tx {
            hash,
            kind: TxKind::Invoke,
            sender,
            nonce: Felt::from(nonce),
            block: None,
            finality: Finality::Received,
            execution: None,
            failure_reason: None,
            events: vec![],
            messages_to_l1: vec![],
            l1_tx: None,
            body: Body::Invoke { calls },
        });
        Ok(hash)
    }

    fn queue(&mut self, tx: L2Tx) {
        self.mempool.push(tx.hash);
        self.txs.insert(tx.hash, tx);
    }

    // ---------------------------------------------------------------- driving

    /// Advances to `now`: produces the blocks due (executing the deliverable L1→L2 messages,
    /// then the mempool) and, when the state-update interval has elapsed, posts a state update
    /// to `l1`. Call after [`L1::advance_to`] on every clock advance.
    pub fn advance_to(&mut self, now: u64, l1: &mut L1) {
        self.produce_blocks(now, l1);
        if now >= self.next_state_update_at {
            self.post_state_update(l1);
            let i = self.config.state_update_interval.max(1);
            self.next_state_update_at += i * ((now - self.next_state_update_at) / i + 1);
        }
    }

    /// Produces the blocks due by `now`. Blocks without transactions are only counted: all the
    /// work due is executed in the last block of the span.
    pub fn produce_blocks(&mut self, now: u64, l1: &L1) {
        let bt = self.config.block_time.max(1);
        if now < self.last_block_at + bt {
            return;
        }
        let n = (now - self.last_block_at) / bt;
        self.block_number += n;
        self.last_block_at += n * bt;
        let block = self.block_number;
        self.deliver_messages(l1, block);
        for h in std::mem::take(&mut self.mempool) {
            self.execute(h, block);
        }
    }

    fn deliver_messages(&mut self, l1: &L1, block: u64) {
        let sent = l1.state().messaging.sent();
        while let Some(m) = sent.get(self.l1_cursor) {
            if l1.block_confirmations(m.block) < self.config.l1_confirmations {
                break;
            }
            self.l1_cursor += 1;
            // A message cancelled on L1 is never executed.
            if l1.state().messaging.l1_to_l2_messages(&m.hash).is_zero() {
                continue;
            }
            let mut calldata = vec![m.from_address.to_felt()];
            calldata.extend_from_slice(&m.payload);
            let nonce = Felt::from_bytes_be(&m.nonce.to_be_bytes::<32>());
            let hash = l1_handler_tx_hash(
                self.config.chain_id,
                m.to_address,
                m.selector,
                &calldata,
                nonce,
            );
            self.by_l1_tx.entry(m.l1_tx).or_default().push(hash);
            self.txs.insert(
                hash,
                L2Tx {
                    hash,
                    kind: TxKind::L1Handler,
                    sender: m.to_address,
                    nonce,
                    block: None,
                    finality: Finality::Received,
                    execution: None,
                    failure_reason: None,
                    events: vec![],
                    messages_to_l1: vec![],
                    l1_tx: Some(m.l1_tx),
                    body: Body::L1Handler {
                        to: m.to_address,
                        selector: m.selector,
                        calldata,
                        message: m.hash,
                    },
                },
            );
            self.execute(hash, block);
        }
    }

    fn execute(&mut self, hash: Felt, block: u64) {
        let Some(tx) = self.txs.get(&hash).cloned() else { return };
        let snapshot = self.state.clone();
        let mut ex = Exec::default();
        let result = match &tx.body {
            Body::Invoke { calls } => {
                if let Some(a) = self.accounts.get_mut(&tx.sender) {
                    a.nonce += 1;
                }
                calls.iter().try_for_each(|c| self.state.call(&mut ex, tx.sender, c))
            }
            Body::Deploy { .. } => {
                if let Some(a) = self.accounts.get_mut(&tx.sender) {
                    a.deployed = true;
                    a.nonce = 1;
                }
                Ok(())
            }
            Body::L1Handler { to, selector, calldata, message } => {
                let r = self.state.l1_handler(&mut ex, *to, *selector, calldata);
                if r.is_ok() {
                    self.delivered.insert(*message, hash);
                    self.to_consume.push(*message);
                }
                r
            }
        };
        let Some(t) = self.txs.get_mut(&hash) else { return };
        t.block = Some(block);
        t.finality = Finality::AcceptedOnL2;
        match result {
            Ok(()) => {
                t.execution = Some(Execution::Succeeded);
                t.events = ex.events;
                t.messages_to_l1 = ex.messages.clone();
                self.unposted.extend(ex.messages);
            }
            Err(reason) => {
                self.state = snapshot;
                t.execution = Some(Execution::Reverted);
                t.failure_reason = Some(reason);
            }
        }
        self.not_on_l1.push(hash);
    }

    /// Posts a state update covering every block so far to `l1` (a transaction from the Starknet
    /// operator): L2→L1 messages become consumable, handled L1→L2 messages are consumed, and the
    /// covered transactions become ACCEPTED_ON_L1. Normally called by [`Self::advance_to`].
    pub fn post_state_update(&mut self, l1: &mut L1) {
        let block_hash = compute_hash_on_elements(&[
            Felt::from(self.block_number),
            Felt::from(self.last_block_at),
            Felt::from(self.txs.len() as u64),
        ]);
        let global_root =
            compute_hash_on_elements(&[block_hash, Felt::from(self.unposted.len() as u64)]);
        let call = L1Call::StarknetUpdateState {
            block_number: self.block_number,
            block_hash,
            global_root,
            messages_to_l1: self.unposted.clone(),
            consumed_l1_to_l2: self.to_consume.clone(),
        };
        let operator = l1.addresses().starknet_operator;
        match l1.send_and_check(operator, U256::ZERO, call) {
            Ok(_) => {
                self.last_state_update_error = None;
                for m in std::mem::take(&mut self.unposted) {
                    self.posted.insert(m.hash(), m);
                }
                self.to_consume.clear();
                for h in std::mem::take(&mut self.not_on_l1) {
                    if let Some(t) = self.txs.get_mut(&h) {
                        t.finality = Finality::AcceptedOnL1;
                    }
                }
            }
            Err(r) => self.last_state_update_error = Some(r.reason),
        }
    }

    /// Why the last state update failed on L1, if it did.
    pub fn last_state_update_error(&self) -> Option<&str> {
        self.last_state_update_error.as_deref()
    }

    // ---------------------------------------------------------------- views

    /// A transaction and its receipt.
    pub fn tx(&self, hash: &Felt) -> Option<&L2Tx> {
        self.txs.get(hash)
    }

    /// `starknet_getTransactionStatus`.
    pub fn tx_status(&self, hash: &Felt) -> Option<TxStatusView> {
        self.txs.get(hash).map(|t| TxStatusView {
            transaction_hash: t.hash,
            finality_status: t.finality,
            execution_status: t.execution,
            failure_reason: t.failure_reason.clone(),
        })
    }

    /// `starknet_getMessagesStatus(l1_tx_hash)`: the L1 handler transactions of the messages an
    /// L1 transaction sent (empty until they are executed).
    pub fn messages_status(&self, l1_tx: &TxHash) -> Vec<TxStatusView> {
        self.by_l1_tx.get(l1_tx).into_iter().flatten().filter_map(|h| self.tx_status(h)).collect()
    }

    /// ERC-20 balance.
    pub fn erc20_balance(&self, token: &Felt, who: &Felt) -> U256 {
        self.state.erc20_balance(token, who)
    }

    /// ERC-721 owner.
    pub fn erc721_owner(&self, token: &Felt, id: &U256) -> Option<Felt> {
        self.state.erc721_owner(token, id)
    }

    // ---------------------------------------------------------------- conservation

    fn asset_key(token: &EthAddress) -> Option<EthAddress> {
        (*token != starkgate_eth_token()).then_some(*token)
    }

    fn decode_starkgate(token: &Felt, lo: Felt, hi: Felt) -> Option<(AssetKey, U256)> {
        let v = felt_to_u256(token);
        let b = v.to_be_bytes::<32>();
        let t = EthAddress::new(alloy_primitives::Address::from_slice(&b[12..])).ok()?;
        Some((AssetKey { token: Self::asset_key(&t), token_id: None }, felts_to_u256(lo, hi).ok()?))
    }

    /// Assets in flight between L1 and Starknet, by bridge: L1→L2 messages pending on L1 and
    /// not executed on L2 (including ones whose L1 handler reverted: they stay cancellable), and
    /// L2→L1 messages sent by a successful L2 transaction and not consumed on L1 (before and
    /// after the state update).
    pub fn in_flight(&self, l1: &L1) -> Vec<(BridgeKind, AssetKey, U256)> {
        let (sg_l1, nft_l1) = self.l1_addresses;
        let (sg_l2, nft_l2) = (self.state.starkgate.address, self.state.nft_bridge.address);
        let mut out = Vec::new();
        let messaging = &l1.state().messaging;
        for m in messaging.sent() {
            if messaging.l1_to_l2_messages(&m.hash).is_zero()
                || self.delivered.contains_key(&m.hash)
            {
                continue;
            }
            if m.from_address == sg_l1
                && m.to_address == sg_l2
                && m.selector == handle_token_deposit_selector()
            {
                if let [token, _, _, lo, hi] = m.payload[..] {
                    if let Some((k, v)) = Self::decode_starkgate(&token, lo, hi) {
                        out.push((BridgeKind::StarkGate, k, v));
                    }
                }
            } else if m.from_address == nft_l1
                && m.to_address == nft_l2
                && m.selector == withdraw_auto_from_l1_selector()
            {
                if let Ok(r) = NftRequest::from_payload(&m.payload) {
                    for id in r.ids {
                        let k = AssetKey { token: Some(r.collection_l1), token_id: Some(id) };
                        out.push((BridgeKind::Nft, k, U256::from(1)));
                    }
                }
            }
        }
        let posted = self.posted.values().flat_map(|m| {
            let n = messaging.l2_to_l1_messages(&m.hash());
            std::iter::repeat_n(m, usize::try_from(n).unwrap_or(0))
        });
        for m in self.unposted.iter().chain(posted) {
            if m.from_address == sg_l2 && m.to_address == sg_l1 {
                if let [_, _, token, lo, hi] = m.payload[..] {
                    if let Some((k, v)) = Self::decode_starkgate(&token, lo, hi) {
                        out.push((BridgeKind::StarkGate, k, v));
                    }
                }
            } else if m.from_address == nft_l2 && m.to_address == nft_l1 {
                if let Ok(r) = NftRequest::from_payload(&m.payload) {
                    for id in r.ids {
                        let k = AssetKey { token: Some(r.collection_l1), token_id: Some(id) };
                        out.push((BridgeKind::Nft, k, U256::from(1)));
                    }
                }
            }
        }
        out
    }

    /// Holdings on Starknet for the conservation check: balances of StarkGate-bridged ERC-20s
    /// (keyed by their L1 token; ETH for `0x455448`), NFTs of registered collections (keyed by
    /// the pair's L1 collection; for an L2-native collection, excluding what the L2 bridge
    /// escrows), plus everything [`Self::in_flight`]. L2 tokens with no L1 counterpart are not
    /// counted.
    pub fn holdings(&self, l1: &L1) -> BTreeMap<AssetKey, U256> {
        let mut out: BTreeMap<AssetKey, U256> = BTreeMap::new();
        for (l1_token, l2_token) in &self.state.starkgate.l2_token {
            if let Some(t) = self.state.erc20.get(l2_token).filter(|t| !t.total_supply.is_zero()) {
                let k = AssetKey { token: Self::asset_key(l1_token), token_id: None };
                *out.entry(k).or_default() += t.total_supply;
            }
        }
        let escrow = self.state.nft_bridge.address;
        for p in &self.state.nft_bridge.pairs {
            if let Some(c) = self.state.erc721.get(&p.l2) {
                for (id, owner) in &c.owners {
                    if p.native == Layer::Starknet && *owner == escrow {
                        continue;
                    }
                    *out.entry(AssetKey { token: Some(p.l1), token_id: Some(*id) }).or_default() +=
                        U256::from(1);
                }
            }
        }
        for (_, k, v) in self.in_flight(l1) {
            *out.entry(k).or_default() += v;
        }
        out
    }

    /// Each bridge's invariant: what its native side escrows equals the other side's supply
    /// plus what is in flight — per StarkGate token, and per NFT collection (counts).
    pub fn check_bridges(&self, l1: &L1) -> Result<(), String> {
        let flows = self.in_flight(l1);
        let ledger = l1.ledger();
        let sg = l1.addresses().starkgate;
        for (l1_token, l2_token) in &self.state.starkgate.l2_token {
            let key = Self::asset_key(l1_token);
            let escrow = match key {
                None => ledger.eth_balance(&sg),
                Some(t) => ledger.erc20_balance(&t, &sg),
            };
            let supply = self.state.erc20.get(l2_token).map_or(U256::ZERO, |t| t.total_supply);
            let moving: U256 = flows
                .iter()
                .filter(|(b, k, _)| *b == BridgeKind::StarkGate && k.token == key)
                .map(|(_, _, v)| *v)
                .sum();
            if escrow != supply + moving {
                return Err(format!(
                    "StarkGate {l1_token}: L1 escrow {escrow} != L2 supply {supply} + in flight {moving}"
                ));
            }
        }
        let nft_l1 = l1.addresses().nft_bridge;
        for p in &self.state.nft_bridge.pairs {
            let l2 = self.state.erc721.get(&p.l2);
            let l2_ids: HashSet<U256> =
                l2.map(|c| c.owners.keys().copied().collect()).unwrap_or_default();
            let l1c = ledger.erc721.get(&p.l1);
            let moving = flows
                .iter()
                .filter(|(b, k, _)| *b == BridgeKind::Nft && k.token == Some(p.l1))
                .count();
            let (escrow, supply) = if p.native == Layer::L1 {
                let e = l1c.map_or(0, |c| c.owners.values().filter(|o| **o == nft_l1).count());
                (e, l2_ids.len())
            } else {
                let e = l2.map_or(0, |c| {
                    c.owners.values().filter(|o| **o == self.state.nft_bridge.address).count()
                });
                (e, l1c.map_or(0, |c| c.owners.len()))
            };
            if escrow != supply + moving {
                return Err(format!(
                    "NFT bridge {}: escrow {escrow} != mirror supply {supply} + in flight {moving}",
                    p.l1
                ));
            }
        }
        Ok(())
    }
}
