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

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use alloy_primitives::U256;
use starkroute_crypto::keys::recover_personal_sign;
use starkroute_crypto::{
    is_valid_stark_key, mintable_asset_id, nft_asset_id, registration_message_hash,
    vault_leaf_hash, verify, ConditionalTransferMsg, MerkleProof, StarkPrivateKey, StarkSignature,
    TransferMsg, VaultTree, EMPTY_VAULT_LEAF,
};
use starkroute_types::{
    AssetClass, EthAddress, Felt, StarkExAssetType, StarkKey, TokenId, VaultId,
};

use super::assets::{parse_asset_info, AssetMeta, TokenListing};
use super::error::{Result, StarkExError};
use crate::port::{
    AssetKey, DepositEvent, Revert, StarkExContractPort, StateUpdate, WithdrawalModification,
};

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

/// A deposit seen on L1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DepositRecord {
    /// The exchange-wide sequential transaction id.
    pub transaction_id: u64,
    /// The L1 event.
    pub event: DepositEvent,
    /// `None` when credited; the reason when refused (the deposit stays pending on L1, where its
    /// depositor can cancel and reclaim it).
    pub refused: Option<String>,
    /// When it was picked up (virtual seconds).
    pub timestamp: u64,
}

/// An accepted transfer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransferRecord {
    /// The exchange-wide sequential transaction id.
    pub transaction_id: u64,
    /// The signed request.
    pub request: TransferRequest,
    /// When it was accepted (virtual seconds).
    pub timestamp: u64,
}

/// How a withdrawal came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WithdrawalKind {
    /// `/v1/withdrawals` (credits the Stark key).
    V1,
    /// `/v2/withdrawals` (credits the ETH address).
    V2,
    /// A full-withdrawal request served by the operator (credits the Stark key).
    Full,
}

/// An accepted withdrawal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WithdrawalRecord {
    /// The exchange-wide sequential transaction id.
    pub transaction_id: u64,
    /// The vault owner.
    pub stark_key: StarkKey,
    /// The vault debited.
    pub vault: VaultId,
    /// The asset id.
    pub asset_id: Felt,
    /// The quantized amount.
    pub amount: u64,
    /// The owner key credited on L1.
    pub owner_key: U256,
    /// How it came about.
    pub kind: WithdrawalKind,
    /// When it was accepted (virtual seconds).
    pub timestamp: u64,
}

/// A mint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintRecord {
    /// The exchange-wide sequential transaction id.
    pub transaction_id: u64,
    /// The receiver.
    pub receiver: StarkKey,
    /// The vault credited.
    pub vault: VaultId,
    /// The mintable asset id.
    pub asset_id: Felt,
    /// The quantized amount.
    pub amount: u64,
    /// When (virtual seconds).
    pub timestamp: u64,
}

/// A batch accepted by the StarkEx contract, with the tree it committed to.
#[derive(Debug, Clone)]
pub struct PostedBatch {
    /// What was posted.
    pub update: StateUpdate,
    /// When (virtual seconds).
    pub posted_at: u64,
    /// The highest transaction id the batch contains (every earlier accepted one is in it or in an
    /// earlier batch).
    pub last_transaction_id: u64,
    tree: Arc<VaultTree>,
    vaults: Arc<BTreeMap<VaultId, Vault>>,
}

/// A vault's contents and Merkle path against one posted root: what the data-availability
/// committee provides and `escape` needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultProof {
    /// The posted root.
    pub root: Felt,
    /// The sequence number of the batch that posted it.
    pub sequence_number: u64,
    /// Its batch id.
    pub batch_id: u64,
    /// The vault.
    pub vault_id: VaultId,
    /// The owner (0 for an empty vault).
    pub stark_key: Felt,
    /// The asset (0 for an empty vault).
    pub asset_id: Felt,
    /// The quantized balance.
    pub quantized_balance: u64,
    /// The leaf and its 31 siblings, bottom-up.
    pub proof: MerkleProof,
}

impl VaultProof {
    /// Whether the leaf is the hash of the fields and the path leads to the root.
    pub fn verify(&self) -> bool {
        self.proof.leaf == vault_leaf_hash(self.stark_key, self.asset_id, self.quantized_balance)
            && self.proof.index == u64::from(self.vault_id.get())
            && self.proof.verify(&self.root)
    }
}

/// What one [`StarkExEngine::tick`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Deposits credited to vaults.
    pub deposits_credited: usize,
    /// Deposits refused (left pending on L1).
    pub deposits_refused: usize,
    /// The sequence number of the batch posted, if one was.
    pub batch_posted: Option<u64>,
    /// Why posting a batch failed (it is retried at the next tick).
    pub post_error: Option<Revert>,
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

/// One step to undo when an all-or-nothing batch of transfers is refused half-way.
#[derive(Debug)]
enum Undo {
    Vault(VaultId, Option<Vault>),
    Nonce(StarkKey, u64),
    Reservation(VaultId, StarkKey, Felt),
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

/// `f(i)` for every `i < n`, in index order, on up to `threads` threads (the calling thread
/// included). Each thread takes the next `chunk` indices whenever it is free, so a thread the
/// host preempts holds up at most one chunk instead of a fixed share.
fn par_indexed<R: Send>(
    n: usize,
    threads: usize,
    chunk: usize,
    f: impl Fn(usize) -> R + Sync,
) -> Vec<R> {
    let chunk = chunk.max(1);
    let threads = threads.min(n.div_ceil(chunk)).max(1);
    if threads == 1 {
        return (0..n).map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut out = Vec::new();
        loop {
            let start = next.fetch_add(chunk, Ordering::Relaxed);
            if start >= n {
                break out;
            }
            out.extend((start..n.min(start + chunk)).map(|i| (i, f(i))));
        }
    };
    let work = &work;
    let mut all = std::thread::scope(|s| {
        let others: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mut all = work();
        for h in others {
            // A worker cannot panic short of a bug; re-raise it here if it does.
            all.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
        }
        all
    });
    all.sort_unstable_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, r)| r).collect()
}

/// [`verify_transfer`] for every request, on up to `threads` threads. Once a request is refused,
/// later ones are skipped: the batch stops at the first refusal, so their verdicts are never read.
fn verify_all(
    requests: &[TransferRequest],
    registered_receivers: &[bool],
    threads: usize,
) -> Vec<Result<Stateless>> {
    let first_refused = AtomicUsize::new(usize::MAX);
    par_indexed(requests.len(), threads, 1, |i| {
        if i > first_refused.load(Ordering::Relaxed) {
            return Err(StarkExError::BadRequest(
                "not verified: an earlier transfer of the batch was refused".into(),
            ));
        }
        let verdict = verify_transfer(&requests[i], registered_receivers[i]);
        if verdict.is_err() {
            first_refused.fetch_min(i, Ordering::Relaxed);
        }
        verdict
    })
}

/// What [`verify_transfer`] computed for [`StarkExEngine::apply_transfer`].
#[derive(Debug, Clone, Copy)]
struct Stateless {
    /// Whether the receiver is a point on the curve. Its refusal is reported where the stateful
    /// rules always reported it (after the sender's registration), but the square-root test
    /// (~0.25 ms, a quarter of a signature check) runs here, off the sequential path.
    receiver_valid: bool,
}

/// Range checks, the message hash and the signature of a transfer, and the receiver key's
/// validity: everything that needs no state, so a batch can run it on other threads.
///
/// `receiver_registered`: the receiver is a registered user, whose key was checked to be on the
/// curve when it registered (off-chain by [`StarkExEngine::register_user`], on L1 by
/// `registerEthAddress`), so the square-root test is not repeated for it. ImmutableX only
/// transfers to registered users, so this is the common case.
fn verify_transfer(t: &TransferRequest, receiver_registered: bool) -> Result<Stateless> {
    if t.order.amount == 0 {
        return Err(StarkExError::InvalidAmount("the amount must be positive".into()));
    }
    let hash = t.order.message_hash()?;
    check_signature(&t.order.sender, &hash, &t.signature)?;
    Ok(Stateless {
        receiver_valid: receiver_registered || is_valid_stark_key(&t.order.receiver.felt()),
    })
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
        self.operator
            .as_ref()
            .and_then(|k| k.sign(hash).ok())
            .map(|s| s.to_hex())
            .unwrap_or_default()
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

    /// Rehashes the leaves of `touched` vaults from their current contents, then their paths in
    /// one [`VaultTree::set_many`], both split across `threads`.
    fn flush_tree(&mut self, touched: BTreeSet<VaultId>, threads: usize) {
        let vaults: Vec<(VaultId, Option<Vault>)> =
            touched.into_iter().map(|id| (id, self.vaults.get(&id).copied())).collect();
        // Two Pedersen hashes a leaf: shared out in chunks.
        let leaves = par_indexed(vaults.len(), threads, 16, |i| {
            let (id, v) = vaults[i];
            (id, v.map_or(EMPTY_VAULT_LEAF, |v| v.leaf()))
        });
        self.tree.set_many(&leaves, threads);
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

    // ----- the driver -----

    /// Advances the operator to `now`: picks up confirmed deposits, and when a batch is due (and
    /// batches are not halted) cuts one and posts it.
    ///
    /// The world calls this after every clock step (and after L1 blocks), with the StarkEx
    /// contract as the port. A frozen contract stops the operator entirely.
    pub fn tick(&mut self, now: u64, port: &mut dyn StarkExContractPort) -> TickReport {
        let mut report = TickReport::default();
        if port.is_frozen() {
            return report;
        }
        let (credited, refused) = self.pick_up_deposits(now, port);
        report.deposits_credited = credited;
        report.deposits_refused = refused;
        // The first tick is a batch boundary; after it, one every interval.
        let due = self
            .last_batch_at
            .is_none_or(|last| now >= last.saturating_add(self.config.batch_interval_secs));
        if due {
            match self.cut_batch(now, port) {
                Ok(seq) => report.batch_posted = seq,
                Err(e) => report.post_error = Some(e),
            }
        }
        report
    }

    /// Picks up deposits with enough confirmations; returns (credited, refused).
    pub fn pick_up_deposits(&mut self, now: u64, port: &dyn StarkExContractPort) -> (usize, usize) {
        let events = port.deposits_since(self.deposit_cursor, self.config.deposit_confirmations);
        let (mut credited, mut refused) = (0, 0);
        for ev in events {
            if ev.index < self.deposit_cursor {
                continue;
            }
            self.deposit_cursor = ev.index + 1;
            let outcome = self.credit_deposit(port, &ev);
            if outcome.is_ok() {
                credited += 1;
            } else {
                refused += 1;
            }
            let transaction_id = self.next_transaction_id();
            self.deposits.push(DepositRecord {
                transaction_id,
                event: ev,
                refused: outcome.err(),
                timestamp: now,
            });
        }
        (credited, refused)
    }

    fn credit_deposit(
        &mut self,
        port: &dyn StarkExContractPort,
        ev: &DepositEvent,
    ) -> std::result::Result<(), String> {
        let (info, quantum) = port
            .registered_asset(&ev.asset_type)
            .ok_or_else(|| "asset type not registered".to_string())?;
        let (class, token) =
            parse_asset_info(&info).ok_or_else(|| "unknown asset info".to_string())?;
        let token_id = match class {
            AssetClass::Eth | AssetClass::Erc20 => {
                if ev.asset_id != ev.asset_type {
                    return Err("a fungible deposit's asset id must equal its asset type".into());
                }
                None
            }
            AssetClass::Erc721 => {
                let id =
                    ev.token_id.ok_or_else(|| "an NFT deposit needs a token id".to_string())?;
                let expect = nft_asset_id(&StarkExAssetType(ev.asset_type), &TokenId(id));
                if expect.0 != ev.asset_id || ev.quantized_amount != 1 {
                    return Err("NFT asset id or amount mismatch".into());
                }
                Some(id)
            }
            AssetClass::MintableErc20 | AssetClass::MintableErc721 => {
                return Err("deposits of mintable assets are not supported".into());
            }
        };
        if ev.quantized_amount == 0 {
            return Err("zero amount".into());
        }
        let (key, asset, vault_id) = (ev.stark_key, ev.asset_id, ev.vault_id);
        if let Some(&(k, a)) = self.reserved.get(&vault_id) {
            if (k, a) != (key, asset) {
                return Err(format!("vault {vault_id} belongs to another key or asset"));
            }
        }
        let balance = match self.vaults.get(&vault_id) {
            Some(v) if v.stark_key != key || v.asset_id != asset => {
                return Err(format!("vault {vault_id} belongs to another key or asset"));
            }
            Some(_) if token_id.is_some() => return Err("an NFT vault holds one token".into()),
            Some(v) => v.balance,
            None => 0,
        };
        let new = balance
            .checked_add(ev.quantized_amount)
            .filter(|b| *b < 1 << 63)
            .ok_or_else(|| "the vault balance would overflow".to_string())?;
        self.write_vault(vault_id, Some(Vault { stark_key: key, asset_id: asset, balance: new }));
        self.reserve(vault_id, key, asset);
        self.assets.entry(asset).or_insert(AssetMeta {
            class,
            asset_type: ev.asset_type,
            token,
            token_id,
            quantum,
            minting_blob: None,
        });
        self.pending.deposits.push((key, asset, vault_id, ev.quantized_amount));
        if let Some(eth) = port.eth_key_of(&key) {
            self.learn_account(eth, key);
        }
        Ok(())
    }

    /// Cuts a batch now (whatever the interval): serves pending full-withdrawal requests (unless
    /// switched off), and if anything changed since the last batch posts the new root with the
    /// deposits consumed and withdrawals credited. Returns the sequence number posted, `Ok(None)`
    /// when batches are halted or there was nothing to post, and the contract's revert (the batch
    /// stays pending and is retried) when it refuses.
    pub fn cut_batch(
        &mut self,
        now: u64,
        port: &mut dyn StarkExContractPort,
    ) -> std::result::Result<Option<u64>, Revert> {
        if self.faults.halt_batches {
            return Ok(None);
        }
        self.last_batch_at = Some(now);
        if !self.faults.ignore_full_withdrawals {
            self.serve_full_withdrawals(now, port);
        }
        if self.pending.is_empty() {
            return Ok(None);
        }
        let sequence_number = self.sequence_number + 1;
        let update = StateUpdate {
            sequence_number,
            batch_id: sequence_number - 1,
            vault_root: self.tree.root(),
            vault_tree_height: VaultId::TREE_HEIGHT,
            deposits: self.pending.deposits.clone(),
            withdrawals: self.pending.withdrawals.clone(),
            full_withdrawals_served: self.pending.full_served.clone(),
        };
        if let Err(e) = port.apply_state_update(&update) {
            self.last_post_error = Some(e.clone());
            return Err(e);
        }
        self.last_post_error = None;
        self.sequence_number = sequence_number;
        self.pending = Pending::default();
        self.posted.push(PostedBatch {
            update,
            posted_at: now,
            last_transaction_id: self.next_tx - 1,
            tree: Arc::new(self.tree.clone()),
            vaults: Arc::new(self.vaults.clone()),
        });
        Ok(Some(sequence_number))
    }

    /// Moves the whole vault of each pending full-withdrawal request to its owner's L1 withdrawal
    /// balance. A vault that is empty or owned by another key is served with nothing credited.
    fn serve_full_withdrawals(&mut self, now: u64, port: &dyn StarkExContractPort) {
        for req in port.full_withdrawal_requests() {
            let served = (req.stark_key, req.vault_id);
            if self.pending.full_served.contains(&served) {
                continue;
            }
            if let Some(v) = self.vaults.get(&req.vault_id).copied() {
                if v.stark_key == req.stark_key {
                    self.write_vault(req.vault_id, None);
                    let transaction_id = self.next_transaction_id();
                    self.withdrawals.push(WithdrawalRecord {
                        transaction_id,
                        stark_key: v.stark_key,
                        vault: req.vault_id,
                        asset_id: v.asset_id,
                        amount: v.balance,
                        owner_key: v.stark_key.to_u256(),
                        kind: WithdrawalKind::Full,
                        timestamp: now,
                    });
                    self.pending.withdrawals.push(WithdrawalModification {
                        owner_key: v.stark_key.to_u256(),
                        asset_id: v.asset_id,
                        quantized_amount: v.balance,
                    });
                }
            }
            self.pending.full_served.push(served);
        }
    }

    // ----- transfers -----

    /// Applies one signed transfer after checking every rule; on refusal nothing changes.
    pub fn transfer(
        &mut self,
        port: &dyn StarkExContractPort,
        now: u64,
        request: &TransferRequest,
    ) -> Result<u64> {
        self.check_open(port)?;
        let registered = self.eth_of(port, &request.order.receiver).is_some();
        let checked = verify_transfer(request, registered)?;
        let mut undo = Vec::new();
        let r = self.apply_transfer(port, now, request, checked, &mut undo, None);
        if r.is_err() {
            self.rollback(undo, None);
        }
        r
    }

    /// Applies a batch of signed transfers, all or nothing (the `/v2/transfers` semantics): on the
    /// first refusal every transfer of the batch is undone and `(index, reason)` returned.
    ///
    /// Three phases, with [`StarkExConfig::verify_threads`] threads: the signatures are verified
    /// in parallel (stateless); the balance changes are applied in order on this thread, every
    /// rule checked as in [`Self::transfer`], without touching the tree; if every transfer was
    /// accepted, the touched vaults' leaves and paths are rehashed in one
    /// [`VaultTree::set_many`]. A vault touched by several transfers (a busy sender) is hashed
    /// once, and so is every ancestor shared by touched vaults; a refused batch hashes nothing.
    pub fn transfer_batch(
        &mut self,
        port: &dyn StarkExContractPort,
        now: u64,
        requests: &[TransferRequest],
    ) -> std::result::Result<Vec<u64>, (usize, StarkExError)> {
        self.check_open(port).map_err(|e| (0, e))?;
        let threads = self.config.verify_threads.max(1);
        let registered: Vec<bool> =
            requests.iter().map(|t| self.eth_of(port, &t.order.receiver).is_some()).collect();
        let verdicts =
            if threads == 1 { Vec::new() } else { verify_all(requests, &registered, threads) };
        let mut verdicts = verdicts.into_iter();
        let (tx_mark, transfers_mark) = (self.next_tx, self.transfers.len());
        let mut undo = Vec::new();
        let mut ids = Vec::with_capacity(requests.len());
        let mut touched = BTreeSet::new();
        let outcome = requests.iter().enumerate().try_for_each(|(i, t)| {
            // On one thread, verify as we go so a refusal stops the work at once.
            let verdict = verdicts.next().unwrap_or_else(|| verify_transfer(t, registered[i]));
            verdict
                .and_then(|checked| {
                    self.apply_transfer(port, now, t, checked, &mut undo, Some(&mut touched))
                })
                .map(|id| ids.push(id))
                .map_err(|e| (i, e))
        });
        match outcome {
            Ok(()) => {
                self.flush_tree(touched, threads);
                Ok(ids)
            }
            Err(e) => {
                // The tree was never touched: restore the vaults only.
                self.rollback(undo, Some(&mut touched));
                self.transfers.truncate(transfers_mark);
                self.next_tx = tx_mark;
                Err(e)
            }
        }
    }

    fn rollback(&mut self, undo: Vec<Undo>, mut deferred: Option<&mut BTreeSet<VaultId>>) {
        for step in undo.into_iter().rev() {
            match step {
                Undo::Vault(id, v) => self.store_vault(id, v, deferred.as_deref_mut()),
                Undo::Nonce(k, n) => {
                    self.nonces.remove(&(k, n));
                }
                Undo::Reservation(id, k, a) => {
                    self.reserved.remove(&id);
                    if self.allocations.get(&(k, a)) == Some(&id) {
                        self.allocations.remove(&(k, a));
                    }
                }
            }
        }
    }

    /// The stateful rules of a transfer whose stateless checks passed ([`verify_transfer`]);
    /// applies it (with the tree update deferred into `deferred` when given, see
    /// [`Self::store_vault`]).
    fn apply_transfer(
        &mut self,
        port: &dyn StarkExContractPort,
        now: u64,
        t: &TransferRequest,
        checked: Stateless,
        undo: &mut Vec<Undo>,
        mut deferred: Option<&mut BTreeSet<VaultId>>,
    ) -> Result<u64> {
        let o = &t.order;
        if self.eth_of(port, &o.sender).is_none() {
            return Err(StarkExError::UserUnregistered(format!("sender {}", o.sender)));
        }
        if !checked.receiver_valid {
            return Err(StarkExError::BadRequest(format!(
                "receiver {} is not a valid Stark key",
                o.receiver
            )));
        }
        self.check_expiration(now, o.expiration_hours)?;
        if self.nonce_used(&o.sender, o.nonce) {
            return Err(StarkExError::NonceUsed { sender: o.sender.to_string(), nonce: o.nonce });
        }
        let sender = self.debit_check(&o.sender, o.sender_vault, &o.asset_id, o.amount)?;
        let receiver_balance = if o.receiver_vault == o.sender_vault {
            if o.receiver != o.sender {
                return Err(StarkExError::ReceiverVault(o.receiver_vault.get()));
            }
            sender.balance - o.amount
        } else {
            self.receiver_check(&o.receiver, o.receiver_vault, &o.asset_id)?
        };
        let new_receiver =
            receiver_balance.checked_add(o.amount).filter(|b| *b < 1 << 63).ok_or_else(|| {
                StarkExError::InvalidAmount("the receiver's balance would overflow".into())
            })?;
        // Every rule holds: apply.
        self.nonces.insert((o.sender, o.nonce));
        undo.push(Undo::Nonce(o.sender, o.nonce));
        undo.push(Undo::Vault(o.sender_vault, Some(sender)));
        self.store_vault(
            o.sender_vault,
            Some(Vault { balance: sender.balance - o.amount, ..sender }),
            deferred.as_deref_mut(),
        );
        undo.push(Undo::Vault(o.receiver_vault, self.vaults.get(&o.receiver_vault).copied()));
        self.store_vault(
            o.receiver_vault,
            Some(Vault { stark_key: o.receiver, asset_id: o.asset_id, balance: new_receiver }),
            deferred,
        );
        if self.reserve(o.receiver_vault, o.receiver, o.asset_id) {
            undo.push(Undo::Reservation(o.receiver_vault, o.receiver, o.asset_id));
        }
        let transaction_id = self.next_transaction_id();
        self.transfers.push(TransferRecord { transaction_id, request: *t, timestamp: now });
        Ok(transaction_id)
    }

    fn check_expiration(&self, now: u64, expiration_hours: u64) -> Result<()> {
        let now_hours = now / 3600;
        if expiration_hours <= now_hours {
            return Err(StarkExError::Expired { expiration_hours, now_hours });
        }
        Ok(())
    }

    /// The sender's vault must be `key`'s, hold `asset` and at least `amount`.
    fn debit_check(
        &self,
        key: &StarkKey,
        vault: VaultId,
        asset: &Felt,
        amount: u64,
    ) -> Result<Vault> {
        let Some(v) = self.vaults.get(&vault).copied() else {
            return match self.reserved.get(&vault) {
                Some((k, a)) if k == key && a == asset => Err(StarkExError::InsufficientBalance {
                    vault: vault.get(),
                    balance: 0,
                    amount,
                }),
                Some((k, _)) if k == key => {
                    Err(StarkExError::AssetMismatch(vault.get(), asset.to_fixed_hex_string()))
                }
                _ => Err(StarkExError::VaultNotOwned(vault.get())),
            };
        };
        if v.stark_key != *key {
            return Err(StarkExError::VaultNotOwned(vault.get()));
        }
        if v.asset_id != *asset {
            return Err(StarkExError::AssetMismatch(vault.get(), asset.to_fixed_hex_string()));
        }
        if v.balance < amount {
            return Err(StarkExError::InsufficientBalance {
                vault: vault.get(),
                balance: v.balance,
                amount,
            });
        }
        Ok(v)
    }

    /// The receiver's vault must be empty (and not reserved for someone else) or `key`'s vault of
    /// `asset`; returns its balance.
    fn receiver_check(&self, key: &StarkKey, vault: VaultId, asset: &Felt) -> Result<u64> {
        match self.vaults.get(&vault) {
            Some(v) if v.stark_key == *key && v.asset_id == *asset => Ok(v.balance),
            Some(_) => Err(StarkExError::ReceiverVault(vault.get())),
            None => match self.reserved.get(&vault) {
                Some((k, a)) if (k, a) != (key, asset) => {
                    Err(StarkExError::ReceiverVault(vault.get()))
                }
                _ => Ok(0),
            },
        }
    }

    // ----- withdrawals -----

    /// Accepts a signed withdrawal: debits the vault now; the L1 withdrawal balance is credited
    /// when the next batch is posted.
    pub fn withdraw(
        &mut self,
        port: &dyn StarkExContractPort,
        now: u64,
        request: &WithdrawalRequest,
    ) -> Result<u64> {
        self.check_open(port)?;
        if self.faults.refuse_withdrawals {
            return Err(StarkExError::WithdrawalsUnavailable);
        }
        let o = &request.order;
        if o.amount == 0 {
            return Err(StarkExError::InvalidAmount("the amount must be positive".into()));
        }
        let hash = o.message_hash()?;
        check_signature(&o.sender, &hash, &request.signature)?;
        let eth = self
            .eth_of(port, &o.sender)
            .ok_or_else(|| StarkExError::UserUnregistered(format!("sender {}", o.sender)))?;
        let kind = match o.receiver {
            WithdrawalReceiver::StarkKey => WithdrawalKind::V1,
            WithdrawalReceiver::EthAddress(a) if a == eth => WithdrawalKind::V2,
            WithdrawalReceiver::EthAddress(a) => {
                return Err(StarkExError::BadRequest(format!(
                    "receiver_stark_key {a} is not the sender's registered Ethereum address {eth}"
                )));
            }
        };
        self.check_expiration(now, o.expiration_hours)?;
        if self.nonce_used(&o.sender, o.nonce) {
            return Err(StarkExError::NonceUsed { sender: o.sender.to_string(), nonce: o.nonce });
        }
        let v = self.debit_check(&o.sender, o.vault, &o.asset_id, o.amount)?;
        self.nonces.insert((o.sender, o.nonce));
        self.write_vault(o.vault, Some(Vault { balance: v.balance - o.amount, ..v }));
        let transaction_id = self.next_transaction_id();
        self.withdrawals.push(WithdrawalRecord {
            transaction_id,
            stark_key: o.sender,
            vault: o.vault,
            asset_id: o.asset_id,
            amount: o.amount,
            owner_key: o.owner_key(),
            kind,
            timestamp: now,
        });
        self.pending.withdrawals.push(WithdrawalModification {
            owner_key: o.owner_key(),
            asset_id: o.asset_id,
            quantized_amount: o.amount,
        });
        Ok(transaction_id)
    }

    // ----- mints -----

    /// Mints a mintable asset into the receiver's vault for it. Returns (transaction id, asset
    /// id, vault). An ERC-721 is minted once, amount 1.
    pub fn mint(
        &mut self,
        port: &dyn StarkExContractPort,
        now: u64,
        request: &MintRequest,
    ) -> Result<(u64, Felt, VaultId)> {
        self.check_open(port)?;
        let (info, quantum) = port.registered_asset(&request.asset_type).ok_or_else(|| {
            StarkExError::AssetNotRegistered(request.asset_type.to_fixed_hex_string())
        })?;
        let (class, token) = parse_asset_info(&info)
            .filter(|(c, _)| c.is_mintable())
            .ok_or_else(|| StarkExError::BadRequest("the asset type is not mintable".into()))?;
        if !is_valid_stark_key(&request.receiver.felt()) {
            return Err(StarkExError::BadRequest("the receiver is not a valid Stark key".into()));
        }
        let blob = request.blob();
        let asset_id = mintable_asset_id(&StarkExAssetType(request.asset_type), blob.as_bytes()).0;
        let nft = class == AssetClass::MintableErc721;
        if request.amount == 0 || request.amount >= 1 << 63 || (nft && request.amount != 1) {
            return Err(StarkExError::InvalidAmount(format!(
                "cannot mint {} of a {class}",
                request.amount
            )));
        }
        if nft && self.assets.contains_key(&asset_id) {
            return Err(StarkExError::AlreadyMinted(blob));
        }
        let vault = match self.allocated_vault(&request.receiver, &asset_id) {
            Some(v) => v,
            None => {
                // Allocating must not outlive a refusal below; find the id without reserving.
                let mut probe = self.next_vault;
                loop {
                    let id = VaultId::new(u64::from(probe)).map_err(|_| {
                        StarkExError::BadRequest("the vault id space is exhausted".into())
                    })?;
                    if !self.reserved.contains_key(&id) && !self.vaults.contains_key(&id) {
                        break id;
                    }
                    probe += 1;
                }
            }
        };
        let balance = self.receiver_check(&request.receiver, vault, &asset_id)?;
        let new = balance
            .checked_add(request.amount)
            .filter(|b| *b < 1 << 63)
            .ok_or_else(|| StarkExError::InvalidAmount("the balance would overflow".into()))?;
        let vault = self.vault_for(request.receiver, asset_id)?;
        self.write_vault(
            vault,
            Some(Vault { stark_key: request.receiver, asset_id, balance: new }),
        );
        let meta = AssetMeta {
            class,
            asset_type: request.asset_type,
            token,
            token_id: nft.then_some(request.token_id),
            quantum: if nft { 1 } else { quantum },
            minting_blob: Some(blob),
        };
        add_to(&mut self.minted, meta.key(), U256::from(request.amount) * U256::from(meta.quantum));
        self.assets.entry(asset_id).or_insert(meta);
        let transaction_id = self.next_transaction_id();
        self.mints.push(MintRecord {
            transaction_id,
            receiver: request.receiver,
            vault,
            asset_id,
            amount: request.amount,
            timestamp: now,
        });
        Ok((transaction_id, asset_id, vault))
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

    // ----- availability -----

    /// The Merkle path of `vault` against a posted root (the latest when `root` is `None`), with
    /// the vault's contents at that root.
    pub fn availability(&self, vault: VaultId, root: Option<&Felt>) -> Result<VaultProof> {
        let batch = match root {
            None => self.posted.last(),
            Some(r) => self.posted.iter().rev().find(|b| b.update.vault_root == *r),
        }
        .ok_or_else(|| match root {
            None => StarkExError::not_found("no batch has been posted yet"),
            Some(r) => {
                StarkExError::not_found(format!("{} is not a posted root", r.to_fixed_hex_string()))
            }
        })?;
        let proof = batch.tree.proof(vault);
        let (stark_key, asset_id, quantized_balance) = batch
            .vaults
            .get(&vault)
            .map_or((Felt::ZERO, Felt::ZERO, 0), |v| (v.stark_key.felt(), v.asset_id, v.balance));
        Ok(VaultProof {
            root: batch.update.vault_root,
            sequence_number: batch.update.sequence_number,
            batch_id: batch.update.batch_id,
            vault_id: vault,
            stark_key,
            asset_id,
            quantized_balance,
            proof,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{user, vid, TestPort};

    const NOW: u64 = 1_767_225_600;

    fn setup() -> (StarkExEngine, TestPort, Felt, [(StarkPrivateKey, StarkKey); 2]) {
        let mut port = TestPort::default();
        let eth = port.register_asset(AssetClass::Eth, None, 100_000_000);
        let (ka, a, _) = user(&mut port, 0xa11ce, "0x00000000000000000000000000000000000000a1");
        let (kb, b, _) = user(&mut port, 0xb0b, "0x00000000000000000000000000000000000000b2");
        let mut e = StarkExEngine::default();
        port.deposit(a, eth, vid(5), 1000);
        e.tick(NOW, &mut port);
        (e, port, eth, [(ka, a), (kb, b)])
    }

    fn order(
        from: StarkKey,
        fv: u64,
        to: StarkKey,
        tv: u64,
        asset: Felt,
        amount: u64,
        nonce: u64,
    ) -> TransferOrder {
        TransferOrder {
            sender: from,
            sender_vault: vid(fv),
            receiver: to,
            receiver_vault: vid(tv),
            asset_id: asset,
            amount,
            nonce,
            expiration_hours: NOW / 3600 + 24,
        }
    }

    fn independent_root(e: &StarkExEngine) -> Felt {
        VaultTree::from_vaults(e.vaults().iter().map(|(id, v)| (*id, v.leaf()))).root()
    }

    #[test]
    fn transfer_then_batch_posts_the_independent_root() {
        let (mut e, mut port, eth, [(ka, a), (_, b)]) = setup();
        assert_eq!(e.vault(vid(5)).unwrap().balance, 1000);
        let t = order(a, 5, b, 9, eth, 300, 1).sign(&ka).unwrap();
        e.transfer(&port, NOW, &t).unwrap();
        assert_eq!(e.vault(vid(9)).unwrap().balance, 300);
        assert_eq!(e.vault_root(), independent_root(&e));
        // The first tick was a batch boundary: it posted the deposit.
        assert_eq!(port.updates[0].deposits, vec![(a, eth, vid(5), 1000)]);
        let seq = e.cut_batch(NOW + 10, &mut port).unwrap();
        assert_eq!(seq, Some(2));
        assert_eq!(port.updates[1].vault_root, independent_root(&e));
        assert!(port.pending_deposits.values().all(|q| *q == 0));
        // Nothing changed: no empty batch.
        assert_eq!(e.cut_batch(NOW + 20, &mut port).unwrap(), None);
    }

    #[test]
    fn refusals_leave_the_state_untouched() {
        let (mut e, port, eth, [(ka, a), (kb, b)]) = setup();
        let ok = order(a, 5, b, 9, eth, 100, 7).sign(&ka).unwrap();
        e.transfer(&port, NOW, &ok).unwrap();
        let root = e.vault_root();
        let mut bad_sig = order(a, 5, b, 9, eth, 100, 8).sign(&ka).unwrap();
        bad_sig.order.amount = 101;
        let unregistered = StarkPrivateKey::from_felt(Felt::from(0xdead_u64)).unwrap();
        let cases: Vec<(TransferRequest, &str)> = vec![
            (bad_sig, "invalid_signature"),
            (ok, "nonce_already_used"),
            (
                TransferOrder { expiration_hours: NOW / 3600, ..order(a, 5, b, 9, eth, 1, 9) }
                    .sign(&ka)
                    .unwrap(),
                "order_expired",
            ),
            (order(a, 5, b, 9, eth, 901, 10).sign(&ka).unwrap(), "insufficient_balance"),
            (order(b, 5, a, 11, eth, 1, 11).sign(&kb).unwrap(), "vault_not_owned"),
            (order(a, 5, b, 9, Felt::from(77u64), 1, 12).sign(&ka).unwrap(), "asset_mismatch"),
            (order(a, 5, b, 5, eth, 1, 13).sign(&ka).unwrap(), "invalid_receiver_vault"),
            (
                order(unregistered.public_key(), 5, b, 9, eth, 1, 14).sign(&unregistered).unwrap(),
                "account_not_found",
            ),
        ];
        for (t, code) in cases {
            let err = e.transfer(&port, NOW, &t).unwrap_err();
            assert_eq!(err.code(), code, "{err}");
            assert_eq!(e.vault_root(), root, "{code}");
            assert_eq!(e.transfers().len(), 1);
        }
    }

    #[test]
    fn batches_are_all_or_nothing_and_threads_agree() {
        let (mut e, port, eth, [(ka, a), (_, b)]) = setup();
        let reqs: Vec<_> =
            (1..=20).map(|n| order(a, 5, b, 9, eth, 10, n).sign(&ka).unwrap()).collect();
        let root0 = e.vault_root();
        let mut bad = reqs.clone();
        bad[13] = order(a, 5, b, 9, eth, 10, 3).sign(&ka).unwrap(); // replays nonce 3
        let err = e.transfer_batch(&port, NOW, &bad).unwrap_err();
        assert_eq!(err.0, 13);
        assert_eq!(err.1.code(), "nonce_already_used");
        assert_eq!(e.vault_root(), root0);
        assert!(e.transfers().is_empty());
        assert!(!e.nonce_used(&a, 1));

        e.set_verify_threads(2);
        let ids = e.transfer_batch(&port, NOW, &reqs).unwrap();
        assert_eq!(ids.len(), 20);
        let two_threads = e.vault_root();
        let (mut e1, port1, _, [(_, _), (_, _)]) = setup();
        e1.set_verify_threads(1);
        e1.transfer_batch(&port1, NOW, &reqs).unwrap();
        assert_eq!(e1.vault_root(), two_threads);
        assert_eq!(two_threads, independent_root(&e));
    }

    #[test]
    fn withdrawals_credit_l1_when_the_batch_is_posted() {
        let (mut e, mut port, eth, [(ka, a), _]) = setup();
        let eth_a = port.eth[&a];
        let v1 = WithdrawalOrder {
            sender: a,
            vault: vid(5),
            asset_id: eth,
            amount: 100,
            nonce: 1,
            expiration_hours: MAX_EXPIRATION_HOURS,
            receiver: WithdrawalReceiver::StarkKey,
        };
        e.withdraw(&port, NOW, &v1.sign(&ka).unwrap()).unwrap();
        let v2 = WithdrawalOrder {
            nonce: 2,
            amount: 200,
            expiration_hours: NOW / 3600 + 5,
            receiver: WithdrawalReceiver::EthAddress(eth_a),
            ..v1
        };
        e.withdraw(&port, NOW, &v2.sign(&ka).unwrap()).unwrap();
        assert_eq!(e.vault(vid(5)).unwrap().balance, 700);
        assert!(port.withdrawable.is_empty(), "nothing on L1 before the batch");
        // Debited but not yet on L1: still counted by the engine.
        let key = AssetKey { token: None, token_id: None };
        assert_eq!(e.holdings()[&key], U256::from(1000u64 * 100_000_000));
        e.tick(NOW + DEFAULT_BATCH_INTERVAL_SECS, &mut port);
        assert_eq!(port.withdrawable[&(a.to_u256(), eth)], 100);
        assert_eq!(port.withdrawable[&(eth_a.to_u256(), eth)], 200);
        assert_eq!(e.batch_of(e.withdrawals()[0].transaction_id), Some(2));
        // Holdings: 700 quanta in the vault, nothing pending.
        let h = e.holdings();
        assert_eq!(h[&AssetKey { token: None, token_id: None }], U256::from(700u64 * 100_000_000));
        // A v2 withdrawal to someone else's address is refused.
        let other = WithdrawalOrder {
            nonce: 3,
            receiver: WithdrawalReceiver::EthAddress(
                "0x00000000000000000000000000000000000000ff".parse().unwrap(),
            ),
            ..v2
        };
        assert_eq!(
            e.withdraw(&port, NOW, &other.sign(&ka).unwrap()).unwrap_err().code(),
            "bad_request"
        );
    }

    #[test]
    fn full_withdrawals_served_or_ignored() {
        let (mut e, mut port, eth, [(_, a), _]) = setup();
        e.cut_batch(NOW, &mut port).unwrap();
        port.full.push(crate::port::FullWithdrawalRequest {
            stark_key: a,
            vault_id: vid(5),
            requested_at: NOW,
        });
        e.set_faults(FaultSwitches { ignore_full_withdrawals: true, ..FaultSwitches::default() });
        e.cut_batch(NOW + 1, &mut port).unwrap();
        assert_eq!(port.full.len(), 1, "unanswered");
        assert_eq!(e.vault(vid(5)).unwrap().balance, 1000);
        e.set_faults(FaultSwitches::default());
        assert_eq!(e.cut_batch(NOW + 2, &mut port).unwrap(), Some(2));
        assert!(port.full.is_empty());
        assert!(e.vault(vid(5)).is_none());
        assert_eq!(port.withdrawable[&(a.to_u256(), eth)], 1000);
        // The old root still proves the vault's old contents.
        let old = e.availability(vid(5), Some(&port.updates[0].vault_root)).unwrap();
        assert!(old.verify());
        assert_eq!(old.quantized_balance, 1000);
        let new = e.availability(vid(5), None).unwrap();
        assert!(new.verify());
        assert_eq!(new.quantized_balance, 0);
    }

    #[test]
    fn nfts_and_mints_are_counted_in_base_units() {
        let (mut e, mut port, _, [(ka, a), (_, b)]) = setup();
        let coll: EthAddress = "0x00000000000000000000000000000000000000c1".parse().unwrap();
        let t721 = port.register_asset(AssetClass::Erc721, Some(&coll), 1);
        let nft = port.deposit_nft(a, t721, vid(40), 4100);
        let tm = port.register_asset(AssetClass::MintableErc721, Some(&coll), 1);
        e.tick(NOW + 1, &mut port);
        assert_eq!(e.vault(vid(40)).unwrap().asset_id, nft);
        let mint = MintRequest {
            receiver: b,
            asset_type: tm,
            token_id: U256::from(7u64),
            blueprint: "gold".into(),
            amount: 1,
        };
        let (_, minted_id, vault) = e.mint(&port, NOW, &mint).unwrap();
        assert_eq!(e.mint(&port, NOW, &mint).unwrap_err().code(), "asset_already_minted");
        assert_eq!(
            minted_id,
            mintable_asset_id(&StarkExAssetType(tm), b"{7}:{gold}").0,
            "blob is {{id}}:{{blueprint}}"
        );
        e.cut_batch(NOW + 2, &mut port).unwrap();
        let h = e.holdings();
        assert_eq!(
            h[&AssetKey { token: Some(coll), token_id: Some(U256::from(4100u64)) }],
            U256::from(1u64)
        );
        assert_eq!(
            h[&AssetKey { token: Some(coll), token_id: Some(U256::from(7u64)) }],
            U256::from(1u64)
        );
        assert_eq!(e.minted().len(), 1);
        // The NFT moves like any asset.
        let t = order(a, 40, b, 41, nft, 1, 1).sign(&ka).unwrap();
        e.transfer(&port, NOW, &t).unwrap();
        assert!(e.vault(vid(40)).is_none());
        assert_eq!(e.vault(vault).unwrap().asset_id, minted_id);
        assert_eq!(e.vault_root(), independent_root(&e));
    }
}
