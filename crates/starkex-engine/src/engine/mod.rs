//! The StarkEx engine: the off-chain operator of an ImmutableX-like spot exchange.
//!
//! State: vaults `(stark_key, asset_id, quantized_balance)` by [`VaultId`] in a height-31 Pedersen
//! Merkle tree ([`VaultTree`], leaves [`vault_leaf_hash`]), so [`StarkExEngine::vault_root`] is
//! the real StarkEx root of the contents; users (Stark key → ETH address); used nonces; the
//! records the REST API lists; every posted batch with a snapshot of its tree (availability).
//!
//! Life of a change: a deposit is picked up from L1 by [`StarkExEngine::tick`] and credited to its
//! vault at once; a transfer, withdrawal or mint changes the vaults at once (every rule checked
//! first, nothing changed on refusal). All of them wait in the *pending batch* until the next
//! batch is cut ([`StarkExEngine::cut_batch`], on the virtual clock every
//! [`StarkExConfig::batch_interval_secs`]); the batch posts the new root to the StarkEx contract
//! with the deposits it consumed and the withdrawals it credits ([`StateUpdate`]).
//!
//! What is counted where (conservation, see [`StarkExEngine::holdings`]): the L1 contract counts a
//! deposit as pending until a posted batch consumes it, and counts a withdrawal once a posted batch
//! credits it. The engine counts everything else: vault balances, plus withdrawals debited from a
//! vault but not yet in a posted batch, minus deposits already credited to a vault but not yet
//! consumed by a posted batch (the L1 still counts those). Mints are reported by
//! [`StarkExEngine::minted`].
//!
//! The engine's methods are spread over private modules by what they do: `deposits` (picked up
//! from L1), `transfers` (single and all-or-nothing batches, the parallel verification),
//! `withdrawals`, `mints`, and `batches` (the driver's tick, cutting and posting batches, full
//! withdrawals, availability). This module holds the state, the configuration, the accessors,
//! vault allocation, users and the conservation counts; `orders` the signed messages, and
//! `records` what the REST API lists; their types are re-exported here.
//!
//! [`StateUpdate`]: crate::port::StateUpdate

mod batches;
mod deposits;
mod mints;
mod orders;
mod records;
mod transfers;
mod withdrawals;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use alloy_primitives::U256;
use starkroute_crypto::keys::recover_personal_sign;
use starkroute_crypto::{
    is_valid_stark_key, registration_message_hash, vault_leaf_hash, verify, StarkPrivateKey,
    StarkSignature, VaultTree, EMPTY_VAULT_LEAF,
};
use starkroute_types::{EthAddress, Felt, StarkKey, VaultId};

use crate::assets::{AssetMeta, CollectionListing, Royalty, TokenListing};
use crate::error::{Result, StarkExError};
use crate::port::{AssetKey, Revert, StarkExContractPort, WithdrawalModification};

pub use batches::{PostedBatch, TickReport, VaultProof};
pub use orders::{
    MintRequest, TransferOrder, TransferRequest, WithdrawalOrder, WithdrawalReceiver,
    WithdrawalRequest,
};
pub use records::{DepositRecord, MintRecord, TransferRecord, WithdrawalKind, WithdrawalRecord};
pub use transfers::{verify_transfers, VerifiedTransfer};

/// Default batch interval: 6 hours of virtual time. ImmutableX documented withdrawals as ready
/// "in about 12–24 h" because proofs are batched (PROTOCOL.md C); the sandbox models cutting and
/// proving a batch as one step, so a 6-hour cadence keeps readiness well inside that window.
pub const DEFAULT_BATCH_INTERVAL_SECS: u64 = 6 * 3600;
/// Default L1 confirmations before a deposit is picked up **[uncertain]**: IMX's value is not
/// public; 12 blocks is the common "safe" depth for an Ethereum exchange.
pub const DEFAULT_DEPOSIT_CONFIRMATIONS: u64 = 12;
/// How far ahead the signable-details endpoints set `expiration_timestamp`: 30 days, in hours.
pub const DEFAULT_ORDER_VALIDITY_HOURS: u64 = 30 * 24;
/// The largest expiration a StarkEx message can carry (22 bits of hours); v1 withdrawals, whose
/// request has no expiration field, are hashed with it.
pub const MAX_EXPIRATION_HOURS: u64 = (1 << 22) - 1;
/// The receiver vault of a withdrawal message ("special vault = 0 used for withdrawal operations",
/// `GetSignableWithdrawalResponseV2`). The allocator never hands out vault 0.
pub const WITHDRAWAL_RECEIVER_VAULT: u64 = 0;
/// Domain tag (the condition of a type-2 message) of a v1 withdrawal's payload hash: the short
/// string `withdrawal_v1`.
pub const WITHDRAWAL_V1_TAG: Felt = Felt::from_hex_unchecked("0x7769746864726177616c5f7631");
/// Domain tag of a v2 withdrawal's payload hash: the short string `withdrawal_v2`.
pub const WITHDRAWAL_V2_TAG: Felt = Felt::from_hex_unchecked("0x7769746864726177616c5f7632");

/// The message a user's ETH wallet `personal_sign`s to link a Stark key: the `signable_message`
/// of `/v1/signable-registration-offchain`, and what a registration's `eth_signature` signs.
///
/// It is constant, as IMX's is: the ETH signature proves control of the address, and the Stark
/// signature over [`registration_message_hash`]`(eth, key)` is what binds the key to it.
pub const REGISTRATION_SIGNABLE_MESSAGE: &str =
    "Only sign this key linking request from Immutable X";

/// The operator's signing key, lent out of the engine ([`StarkExEngine::operator_signer`]). Its
/// `Debug` shows no key.
#[derive(Clone)]
pub struct OperatorSigner(Option<StarkPrivateKey>);

impl std::fmt::Debug for OperatorSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OperatorSigner(<redacted>)")
    }
}

impl OperatorSigner {
    /// The operator's signature over a hash, as `0x‖r‖s` (empty if the operator has no key).
    pub fn sign(&self, hash: &Felt) -> String {
        self.0.as_ref().and_then(|k| k.sign(hash).ok()).map(|s| s.to_hex()).unwrap_or_default()
    }
}

/// The engine's configuration.
#[derive(Debug, Clone)]
pub struct StarkExConfig {
    /// Seconds of virtual time between batches ([`DEFAULT_BATCH_INTERVAL_SECS`]).
    pub batch_interval_secs: u64,
    /// L1 confirmations before a deposit is picked up ([`DEFAULT_DEPOSIT_CONFIRMATIONS`]).
    pub deposit_confirmations: u64,
    /// Expiration offered by the signable-details endpoints ([`DEFAULT_ORDER_VALIDITY_HOURS`]).
    pub order_validity_hours: u64,
    /// Threads a batch of transfers uses (the calling thread included): its signatures are
    /// verified in parallel, and the Merkle update of the vaults it touched is split across them
    /// ([`VaultTree::set_many`]). Balance changes are applied in order on the calling thread.
    pub verify_threads: usize,
    /// The operator's Stark private key scalar, which signs `verification_signature`s.
    pub operator_secret: Felt,
    /// The fungible tokens the exchange lists (ETH first by convention).
    pub tokens: Vec<TokenListing>,
    /// The ERC-721 collections the exchange lists (and, with an owner, lets mint).
    pub collections: Vec<CollectionListing>,
}

impl Default for StarkExConfig {
    fn default() -> Self {
        Self {
            batch_interval_secs: DEFAULT_BATCH_INTERVAL_SECS,
            deposit_confirmations: DEFAULT_DEPOSIT_CONFIRMATIONS,
            order_validity_hours: DEFAULT_ORDER_VALIDITY_HOURS,
            verify_threads: 2,
            operator_secret: Felt::from(0x0005_7a4b_e000_u64),
            tokens: vec![TokenListing::eth()],
            collections: Vec::new(),
        }
    }
}

/// Operator fault switches, for exercising the forced paths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FaultSwitches {
    /// Refuse every request (transfers, withdrawals, registrations, mints) with
    /// [`StarkExError::OperatorUnavailable`]. Deposits are still picked up and batches still cut.
    pub reject_all: bool,
    /// Refuse withdrawal requests with [`StarkExError::WithdrawalsUnavailable`].
    pub refuse_withdrawals: bool,
    /// Leave full-withdrawal requests unanswered, so the freeze and escape path can be exercised.
    pub ignore_full_withdrawals: bool,
    /// Stop cutting batches: nothing reaches L1 any more.
    pub halt_batches: bool,
}

/// A non-empty vault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Vault {
    /// The owner.
    pub stark_key: StarkKey,
    /// The asset held.
    pub asset_id: Felt,
    /// The quantized balance (never 0: an emptied vault becomes the empty leaf `(0, 0, 0)`).
    pub balance: u64,
}

impl Vault {
    /// The vault's leaf hash.
    pub fn leaf(&self) -> Felt {
        vault_leaf_hash(self.stark_key.felt(), self.asset_id, self.balance)
    }
}

/// Changes since the last posted batch.
#[derive(Debug, Clone, Default)]
struct Pending {
    deposits: Vec<(StarkKey, Felt, VaultId, u64)>,
    withdrawals: Vec<WithdrawalModification>,
    full_served: Vec<(StarkKey, VaultId)>,
    /// Whether any vault changed (transfers, mints, …) since the last batch.
    changed: bool,
}

impl Pending {
    fn is_empty(&self) -> bool {
        !self.changed
            && self.deposits.is_empty()
            && self.withdrawals.is_empty()
            && self.full_served.is_empty()
    }
}

/// The StarkEx engine. See the module documentation.
#[derive(Debug)]
pub struct StarkExEngine {
    config: StarkExConfig,
    faults: FaultSwitches,
    operator: Option<StarkPrivateKey>,
    tree: VaultTree,
    vaults: BTreeMap<VaultId, Vault>,
    /// IMX gives each user one vault per asset: `(key, asset) → vault`, and the reverse.
    allocations: HashMap<(StarkKey, Felt), VaultId>,
    reserved: HashMap<VaultId, (StarkKey, Felt)>,
    next_vault: u32,
    /// Off-chain registrations (`/v1/users`).
    users: HashMap<StarkKey, EthAddress>,
    /// Every Stark key known per ETH address (off-chain, and on-chain ones seen via the port).
    accounts: BTreeMap<EthAddress, Vec<StarkKey>>,
    nonces: HashSet<(StarkKey, u64)>,
    next_offered_nonce: u64,
    assets: HashMap<Felt, AssetMeta>,
    minted: BTreeMap<AssetKey, U256>,
    /// Royalties of minted assets, by asset id.
    royalties: HashMap<Felt, Vec<Royalty>>,
    next_tx: u64,
    deposit_cursor: u64,
    deposits: Vec<DepositRecord>,
    transfers: Vec<TransferRecord>,
    withdrawals: Vec<WithdrawalRecord>,
    mints: Vec<MintRecord>,
    pending: Pending,
    sequence_number: u64,
    last_batch_at: Option<u64>,
    last_post_error: Option<Revert>,
    posted: Vec<PostedBatch>,
}

impl Default for StarkExEngine {
    fn default() -> Self {
        Self::new(StarkExConfig::default())
    }
}

fn add_to(map: &mut BTreeMap<AssetKey, U256>, key: AssetKey, v: U256) {
    let e = map.entry(key).or_default();
    *e = e.saturating_add(v);
}

fn check_signature(key: &StarkKey, hash: &Felt, sig: &StarkSignature) -> Result<()> {
    match verify(key, hash, sig) {
        Ok(true) => Ok(()),
        Ok(false) => Err(StarkExError::InvalidSignature(format!(
            "the signature does not match key {key} and payload hash {}",
            hash.to_fixed_hex_string()
        ))),
        Err(e) => Err(StarkExError::InvalidSignature(e.to_string())),
    }
}

impl StarkExEngine {
    /// An engine with no vaults, no users and no batches.
    pub fn new(config: StarkExConfig) -> Self {
        let operator = StarkPrivateKey::from_felt(config.operator_secret).ok();
        Self {
            config,
            faults: FaultSwitches::default(),
            operator,
            tree: VaultTree::new(),
            vaults: BTreeMap::new(),
            allocations: HashMap::new(),
            reserved: HashMap::new(),
            next_vault: 1,
            users: HashMap::new(),
            accounts: BTreeMap::new(),
            nonces: HashSet::new(),
            next_offered_nonce: 1,
            assets: HashMap::new(),
            minted: BTreeMap::new(),
            royalties: HashMap::new(),
            next_tx: 1,
            deposit_cursor: 0,
            deposits: Vec::new(),
            transfers: Vec::new(),
            withdrawals: Vec::new(),
            mints: Vec::new(),
            pending: Pending::default(),
            sequence_number: 0,
            last_batch_at: None,
            last_post_error: None,
            posted: Vec::new(),
        }
    }

    // ----- configuration and switches -----

    /// The configuration.
    pub fn config(&self) -> &StarkExConfig {
        &self.config
    }

    /// The fault switches.
    pub fn faults(&self) -> FaultSwitches {
        self.faults
    }

    /// Sets the fault switches.
    pub fn set_faults(&mut self, faults: FaultSwitches) {
        self.faults = faults;
    }

    /// Sets the number of threads a batch of transfers uses (1 = all on the calling thread).
    pub fn set_verify_threads(&mut self, threads: usize) {
        self.config.verify_threads = threads.max(1);
    }

    /// The operator's Stark key (it signs `verification_signature`s).
    pub fn operator_key(&self) -> Option<StarkKey> {
        self.operator.as_ref().map(StarkPrivateKey::public_key)
    }

    /// The operator's signature over a hash, as `0x‖r‖s` (empty if the operator has no key).
    pub fn operator_sign(&self, hash: &Felt) -> String {
        self.operator_signer().sign(hash)
    }

    /// The operator's key, to sign `verification_signature`s away from the engine (and its lock).
    pub fn operator_signer(&self) -> OperatorSigner {
        OperatorSigner(self.operator.clone())
    }

    // ----- reading the state -----

    /// The current vault root (including changes not yet posted).
    pub fn vault_root(&self) -> Felt {
        self.tree.root()
    }

    /// The current vault tree.
    pub fn tree(&self) -> &VaultTree {
        &self.tree
    }

    /// The non-empty vaults.
    pub fn vaults(&self) -> &BTreeMap<VaultId, Vault> {
        &self.vaults
    }

    /// One vault (`None` if empty).
    pub fn vault(&self, id: VaultId) -> Option<&Vault> {
        self.vaults.get(&id)
    }

    /// The vault allocated to `(key, asset)`, if any.
    pub fn allocated_vault(&self, key: &StarkKey, asset_id: &Felt) -> Option<VaultId> {
        self.allocations.get(&(*key, *asset_id)).copied()
    }

    /// What the engine knows about an asset id (from deposits, mints and listings).
    pub fn asset(&self, asset_id: &Felt) -> Option<&AssetMeta> {
        self.assets.get(asset_id)
    }

    /// Every asset id the engine has seen.
    pub fn assets(&self) -> impl Iterator<Item = (&Felt, &AssetMeta)> {
        self.assets.iter()
    }

    /// The listed fungible tokens.
    pub fn listings(&self) -> &[TokenListing] {
        &self.config.tokens
    }

    /// The listing of ETH (`None`) or an ERC-20.
    pub fn listing(&self, token: Option<&EthAddress>) -> Option<&TokenListing> {
        self.config.tokens.iter().find(|t| t.token.as_ref() == token)
    }

    /// The listed collections.
    pub fn collections(&self) -> &[CollectionListing] {
        &self.config.collections
    }

    /// The listing of a collection.
    pub fn collection(&self, address: &EthAddress) -> Option<&CollectionListing> {
        self.config.collections.iter().find(|c| c.address == *address)
    }

    /// The royalties of a minted asset (empty for any other).
    pub fn royalties(&self, asset_id: &Felt) -> &[Royalty] {
        self.royalties.get(asset_id).map_or(&[], Vec::as_slice)
    }

    /// The ETH address of a Stark key: off-chain registration first, then the L1 contract's.
    pub fn eth_of(&self, port: &dyn StarkExContractPort, key: &StarkKey) -> Option<EthAddress> {
        self.users.get(key).copied().or_else(|| port.eth_key_of(key))
    }

    /// The Stark keys registered to (or seen for) an ETH address.
    pub fn accounts_of(&self, eth: &EthAddress) -> &[StarkKey] {
        self.accounts.get(eth).map_or(&[], Vec::as_slice)
    }

    /// Deposits seen on L1, in order.
    pub fn deposits(&self) -> &[DepositRecord] {
        &self.deposits
    }

    /// Accepted transfers, in order.
    pub fn transfers(&self) -> &[TransferRecord] {
        &self.transfers
    }

    /// Accepted withdrawals, in order.
    pub fn withdrawals(&self) -> &[WithdrawalRecord] {
        &self.withdrawals
    }

    /// Mints, in order.
    pub fn mints(&self) -> &[MintRecord] {
        &self.mints
    }

    /// Every batch the contract accepted, in order.
    pub fn posted_batches(&self) -> &[PostedBatch] {
        &self.posted
    }

    /// The last sequence number the contract accepted (0 before the first batch).
    pub fn sequence_number(&self) -> u64 {
        self.sequence_number
    }

    /// Why the last attempt to post a batch failed, if it did.
    pub fn last_post_error(&self) -> Option<&Revert> {
        self.last_post_error.as_ref()
    }

    /// The sequence number of the posted batch containing a transaction, `None` while pending.
    pub fn batch_of(&self, transaction_id: u64) -> Option<u64> {
        let i = self.posted.partition_point(|b| b.last_transaction_id < transaction_id);
        self.posted.get(i).map(|b| b.update.sequence_number)
    }

    /// Whether a nonce was used by a sender.
    pub fn nonce_used(&self, key: &StarkKey, nonce: u64) -> bool {
        self.nonces.contains(&(*key, nonce))
    }

    /// A fresh nonce for a signable-details response (below 2^31 and unused by `key`).
    pub fn offer_nonce(&mut self, key: &StarkKey) -> u64 {
        loop {
            let n = self.next_offered_nonce % (1 << 31);
            self.next_offered_nonce = self.next_offered_nonce.wrapping_add(1);
            if n != 0 && !self.nonce_used(key, n) {
                return n;
            }
        }
    }

    /// The vault of `(key, asset)`, allocating the next free vault id if it has none.
    pub fn vault_for(&mut self, key: StarkKey, asset_id: Felt) -> Result<VaultId> {
        if let Some(v) = self.allocated_vault(&key, &asset_id) {
            return Ok(v);
        }
        loop {
            let id = VaultId::new(u64::from(self.next_vault))
                .map_err(|_| StarkExError::BadRequest("the vault id space is exhausted".into()))?;
            self.next_vault += 1;
            if !self.reserved.contains_key(&id) && !self.vaults.contains_key(&id) {
                self.reserve(id, key, asset_id);
                return Ok(id);
            }
        }
    }

    /// Records `vault` as `(key, asset)`'s; returns whether the reservation is new.
    fn reserve(&mut self, vault: VaultId, key: StarkKey, asset_id: Felt) -> bool {
        self.allocations.entry((key, asset_id)).or_insert(vault);
        if self.reserved.contains_key(&vault) {
            return false;
        }
        self.reserved.insert(vault, (key, asset_id));
        true
    }

    fn next_transaction_id(&mut self) -> u64 {
        let id = self.next_tx;
        self.next_tx += 1;
        id
    }

    /// Writes a vault and its leaf; a zero balance empties it.
    fn write_vault(&mut self, id: VaultId, vault: Option<Vault>) {
        self.store_vault(id, vault, None);
    }

    /// Writes a vault. With `deferred` (a batch of transfers in progress) the tree is left alone
    /// and the vault recorded there, for [`Self::flush_tree`] once the batch is accepted; the
    /// deferral is a parameter, not engine state, so no path can leave the tree stale.
    fn store_vault(
        &mut self,
        id: VaultId,
        vault: Option<Vault>,
        deferred: Option<&mut BTreeSet<VaultId>>,
    ) {
        let vault = vault.filter(|v| v.balance > 0);
        match deferred {
            Some(touched) => {
                touched.insert(id);
            }
            None => self.tree.set(id, vault.map_or(EMPTY_VAULT_LEAF, |v| v.leaf())),
        }
        match vault {
            Some(v) => self.vaults.insert(id, v),
            None => self.vaults.remove(&id),
        };
        self.pending.changed = true;
    }

    fn learn_account(&mut self, eth: EthAddress, key: StarkKey) {
        let keys = self.accounts.entry(eth).or_default();
        if !keys.contains(&key) {
            keys.push(key);
        }
    }

    fn check_open(&self, port: &dyn StarkExContractPort) -> Result<()> {
        if self.faults.reject_all {
            return Err(StarkExError::OperatorUnavailable);
        }
        if port.is_frozen() {
            return Err(StarkExError::Frozen);
        }
        Ok(())
    }

    // ----- users -----

    /// Off-chain registration (`POST /v1/users`): the Stark key signs
    /// [`registration_message_hash`]`(eth, key)`, the message `registerEthAddress` checks on L1,
    /// and the ETH key `personal_sign`s [`REGISTRATION_SIGNABLE_MESSAGE`] (`eth_signature`,
    /// `r ‖ s ‖ v` with `v ∈ {0, 1, 27, 28}`). Both must verify; a wrong ETH signature is
    /// [`StarkExError::Unauthorised`].
    pub fn register_user(
        &mut self,
        port: &dyn StarkExContractPort,
        eth: EthAddress,
        key: StarkKey,
        stark_signature: &StarkSignature,
        eth_signature: &[u8; 65],
    ) -> Result<()> {
        self.check_open(port)?;
        if !is_valid_stark_key(&key.felt()) {
            return Err(StarkExError::BadRequest(format!("{key} is not a valid Stark key")));
        }
        if let Some(existing) = self.eth_of(port, &key) {
            return Err(StarkExError::AlreadyRegistered(format!(
                "stark key {key} is already registered to {existing}"
            )));
        }
        check_signature(&key, &registration_message_hash(&eth, &key), stark_signature)?;
        let signer = recover_personal_sign(REGISTRATION_SIGNABLE_MESSAGE.as_bytes(), eth_signature)
            .map_err(|e| StarkExError::Unauthorised(format!("eth_signature: {e}")))?;
        if signer != eth {
            return Err(StarkExError::Unauthorised(format!(
                "eth_signature was not made by {eth} over the registration's signable_message"
            )));
        }
        self.users.insert(key, eth);
        self.learn_account(eth, key);
        Ok(())
    }

    // ----- conservation -----

    /// What the engine holds, in base units per L1 asset: vault balances, plus withdrawals
    /// debited but not yet credited on L1 by a posted batch, minus deposits credited to a vault
    /// but not yet consumed by a posted batch (the L1 contract still counts those as pending).
    pub fn holdings(&self) -> BTreeMap<AssetKey, U256> {
        let mut out = BTreeMap::new();
        let value = |asset: &Felt, q: u64| {
            self.assets.get(asset).map(|m| (m.key(), U256::from(q) * U256::from(m.quantum)))
        };
        for v in self.vaults.values() {
            if let Some((k, x)) = value(&v.asset_id, v.balance) {
                add_to(&mut out, k, x);
            }
        }
        for w in &self.pending.withdrawals {
            if let Some((k, x)) = value(&w.asset_id, w.quantized_amount) {
                add_to(&mut out, k, x);
            }
        }
        for (_, asset, _, q) in &self.pending.deposits {
            if let Some((k, x)) = value(asset, *q) {
                let e = out.entry(k).or_default();
                *e = e.saturating_sub(x);
            }
        }
        out.retain(|_, v| !v.is_zero());
        out
    }

    /// Everything minted on the exchange so far, in base units per L1 asset (an allowed creation
    /// the conservation check adds to the initial supply; the L1 `withdrawAndMint` that later
    /// creates the token on L1 is the same asset moving, not a second mint).
    pub fn minted(&self) -> BTreeMap<AssetKey, U256> {
        self.minted.clone()
    }
}
