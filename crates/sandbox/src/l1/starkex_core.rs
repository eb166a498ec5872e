//! The StarkEx core contract (v4.0.1, as ImmutableX ran it): token registry, user
//! registration, deposits (pending until a batch consumes them), deposit cancel/reclaim,
//! withdrawals, full withdrawals, freeze and escape, and the state update a proven batch makes.
//!
//! Every rule and revert string follows `starkex-contracts` at v4.0.1 (PROTOCOL.md A), with two
//! sandbox additions that the engine's typed interface needs and StarkEx v4.5 has anyway:
//! deposits refuse a Stark key that is 0 or not below the field prime (`INVALID_STARK_KEY`) and a
//! vault id not below 2^31 (`OUT_OF_RANGE_VAULT_ID`); and a pending deposit is bounded by
//! 2^63 - 1 quanta (`DEPOSIT_OVERFLOW`), the StarkEx vault balance bound. `escape` takes the
//! Merkle proof directly because the sandbox has no separate `EscapeVerifier` contract.
//!
//! Kept in one file (about 960 lines of code): its functions share the contract's storage, as the
//! StarkEx contract it mirrors is one contract.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use alloy_primitives::U256;
use starkroute_crypto::{
    asset::{
        ERC20_SELECTOR, ERC721_SELECTOR, ETH_SELECTOR, MINTABLE_ERC20_SELECTOR,
        MINTABLE_ERC721_SELECTOR,
    },
    mintable_asset_id, nft_asset_id, registration_message_hash, vault_leaf_hash, MerkleProof,
    StarkSignature, VaultTree,
};
use starkroute_types::{
    felt_from_u256, felt_to_u256, EthAddress, Felt, StarkExAssetType, StarkKey, TokenId, VaultId,
    FIELD_PRIME,
};

use super::chain::{Ctx, L1Config, L1State, L1};
use super::events::L1Event;
use crate::interface::{
    require, AssetKey, DepositEvent, FullWithdrawalRequest, Revert, StarkExContractPort,
    StateUpdate,
};

/// `DEPOSIT_CANCEL_DELAY = 2 days`.
pub const DEPOSIT_CANCEL_DELAY: u64 = 2 * 86_400;
/// `FREEZE_GRACE_PERIOD = 7 days`.
pub const FREEZE_GRACE_PERIOD: u64 = 7 * 86_400;
/// `UNFREEZE_DELAY = 365 days`.
pub const UNFREEZE_DELAY: u64 = 365 * 86_400;
/// The vault tree height (ImmutableX: 31).
pub const VAULT_TREE_HEIGHT: u32 = 31;
/// The largest quantized amount a vault (and so a pending deposit) can hold.
const MAX_QUANTIZED: u64 = (1 << 63) - 1;

/// A registered asset type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredAsset {
    /// `assetInfo`: selector, then the token address for non-ETH assets.
    pub info: Vec<u8>,
    /// The quantum.
    pub quantum: u128,
}

impl RegisteredAsset {
    fn selector(&self) -> [u8; 4] {
        let mut s = [0u8; 4];
        let n = self.info.len().min(4);
        s[..n].copy_from_slice(&self.info[..n]);
        s
    }

    /// The token contract named in the asset info (`None` for ETH).
    pub fn token(&self) -> Option<EthAddress> {
        token_of_info(&self.info)
    }

    fn is_ether(&self) -> bool {
        self.selector() == ETH_SELECTOR
    }
    fn is_erc20(&self) -> bool {
        self.selector() == ERC20_SELECTOR
    }
    fn is_erc721(&self) -> bool {
        self.selector() == ERC721_SELECTOR
    }
    fn is_fungible(&self) -> bool {
        matches!(self.selector(), ETH_SELECTOR | ERC20_SELECTOR | MINTABLE_ERC20_SELECTOR)
    }
    fn is_mintable(&self) -> bool {
        matches!(self.selector(), MINTABLE_ERC20_SELECTOR | MINTABLE_ERC721_SELECTOR)
    }
}

fn token_of_info(info: &[u8]) -> Option<EthAddress> {
    (info.len() == 36)
        .then(|| EthAddress::new(alloy_primitives::Address::from_slice(&info[16..36])).ok())
        .flatten()
}

/// The StarkEx core contract's storage.
#[derive(Debug, Clone)]
pub struct StarkExCore {
    pub(crate) assets: HashMap<Felt, RegisteredAsset>,
    pub(crate) eth_keys: HashMap<U256, EthAddress>,
    /// `pendingDeposits[starkKey][assetId][vaultId]`, quantized.
    pub(crate) pending_deposits: BTreeMap<(U256, Felt, u64), u64>,
    /// `cancellationRequests[starkKey][assetId][vaultId]`, a timestamp.
    pub(crate) cancellation_requests: HashMap<(U256, Felt, u64), u64>,
    /// `pendingWithdrawals[ownerKey][assetId]`, quantized.
    pub(crate) pending_withdrawals: BTreeMap<(U256, Felt), u64>,
    /// NFT asset ids seen in deposits: asset id → (asset type, token id). Only for reporting.
    pub(crate) nft_ids: HashMap<Felt, (Felt, U256)>,
    /// Mintable asset ids whose minting blob is known: asset id → (asset type, blob).
    pub(crate) minting_blobs: HashMap<Felt, (Felt, Vec<u8>)>,
    /// Full-withdrawal requests: (ownerKey, vaultId) → request time.
    pub(crate) full_withdrawal_requests: BTreeMap<(U256, u64), u64>,
    pub(crate) escapes_used: BTreeSet<u64>,
    pub(crate) frozen: bool,
    pub(crate) unfreeze_time: u64,
    pub(crate) vault_root: Felt,
    pub(crate) sequence_number: u64,
    pub(crate) last_batch_id: u64,
    /// Every deposit, in order (the operator's feed).
    pub(crate) deposit_log: Vec<DepositEvent>,
}

impl StarkExCore {
    pub(crate) fn new() -> Self {
        Self {
            assets: HashMap::new(),
            eth_keys: HashMap::new(),
            pending_deposits: BTreeMap::new(),
            cancellation_requests: HashMap::new(),
            pending_withdrawals: BTreeMap::new(),
            nft_ids: HashMap::new(),
            minting_blobs: HashMap::new(),
            full_withdrawal_requests: BTreeMap::new(),
            escapes_used: BTreeSet::new(),
            frozen: false,
            unfreeze_time: 0,
            vault_root: VaultTree::new().root(),
            sequence_number: 0,
            last_batch_id: 0,
            deposit_log: Vec::new(),
        }
    }

    /// `getAssetInfo(assetType)`.
    pub fn get_asset_info(&self, asset_type: &Felt) -> Result<&RegisteredAsset, Revert> {
        self.assets.get(asset_type).ok_or_else(|| Revert::new("ASSET_TYPE_NOT_REGISTERED"))
    }

    /// `isAssetRegistered(assetType)`.
    pub fn is_asset_registered(&self, asset_type: &Felt) -> bool {
        self.assets.contains_key(asset_type)
    }

    /// `getQuantum(presumedAssetType)`: 1 for an unregistered type.
    pub fn get_quantum(&self, asset_type: &Felt) -> u128 {
        self.assets.get(asset_type).map_or(1, |a| a.quantum)
    }

    fn dequantize(&self, presumed_asset_type: &Felt, q: u64) -> U256 {
        U256::from(q) * U256::from(self.get_quantum(presumed_asset_type))
    }

    /// `getEthKey(ownerKey)`: the registered address, else `address(ownerKey)` when the key is
    /// below 2^160, else none.
    pub fn get_eth_key(&self, owner_key: &U256) -> Option<EthAddress> {
        if let Some(a) = self.eth_keys.get(owner_key) {
            return Some(*a);
        }
        (*owner_key < (U256::from(1) << 160))
            .then(|| {
                let b = owner_key.to_be_bytes::<32>();
                EthAddress::new(alloy_primitives::Address::from_slice(&b[12..])).ok()
            })
            .flatten()
    }

    fn strict_get_eth_key(&self, owner_key: &U256) -> Result<EthAddress, Revert> {
        self.get_eth_key(owner_key).ok_or_else(|| Revert::new("USER_UNREGISTERED"))
    }

    fn only_key_owner(&self, ctx: &Ctx, owner_key: &U256) -> Result<(), Revert> {
        let eth = self.strict_get_eth_key(owner_key)?;
        require(ctx.sender == eth, "MISMATCHING_STARK_ETH_KEYS")
    }

    fn not_frozen(&self) -> Result<(), Revert> {
        require(!self.frozen, "STATE_IS_FROZEN")
    }

    /// `getWithdrawalBalance(ownerKey, assetId)`: unquantized.
    pub fn get_withdrawal_balance(&self, owner_key: &U256, asset_id: &Felt) -> U256 {
        let q = self.pending_withdrawals.get(&(*owner_key, *asset_id)).copied().unwrap_or(0);
        self.dequantize(asset_id, q)
    }

    /// `getDepositBalance(starkKey, assetId, vaultId)`: unquantized.
    pub fn get_deposit_balance(&self, stark_key: &U256, asset_id: &Felt, vault_id: u64) -> U256 {
        self.dequantize(asset_id, self.get_quantized_deposit_balance(stark_key, asset_id, vault_id))
    }

    /// `getQuantizedDepositBalance(starkKey, assetId, vaultId)`.
    pub fn get_quantized_deposit_balance(
        &self,
        stark_key: &U256,
        asset_id: &Felt,
        vault_id: u64,
    ) -> u64 {
        self.pending_deposits.get(&(*stark_key, *asset_id, vault_id)).copied().unwrap_or(0)
    }

    /// `getCancellationRequest(starkKey, assetId, vaultId)`: the request time or 0.
    pub fn get_cancellation_request(
        &self,
        stark_key: &U256,
        asset_id: &Felt,
        vault_id: u64,
    ) -> u64 {
        self.cancellation_requests.get(&(*stark_key, *asset_id, vault_id)).copied().unwrap_or(0)
    }

    /// `getVaultRoot()`.
    pub fn get_vault_root(&self) -> Felt {
        self.vault_root
    }

    /// `getVaultTreeHeight()`.
    pub fn get_vault_tree_height(&self) -> u32 {
        VAULT_TREE_HEIGHT
    }

    /// `getSequenceNumber()`.
    pub fn get_sequence_number(&self) -> u64 {
        self.sequence_number
    }

    /// `getLastBatchId()`.
    pub fn get_last_batch_id(&self) -> u64 {
        self.last_batch_id
    }

    /// `isFrozen()`.
    pub fn is_frozen(&self) -> bool {
        self.frozen
    }

    /// `getFullWithdrawalRequest(ownerKey, vaultId)`: the request time or 0.
    pub fn get_full_withdrawal_request(&self, owner_key: &U256, vault_id: u64) -> u64 {
        self.full_withdrawal_requests.get(&(*owner_key, vault_id)).copied().unwrap_or(0)
    }

    /// The deposit log (every `LogDeposit` / `LogNftDeposit`, in order).
    pub fn deposit_log(&self) -> &[DepositEvent] {
        &self.deposit_log
    }

    /// Records a mintable asset's minting blob so that its withdrawal balance can be reported
    /// under its L1 token (and token id) before `withdrawAndMint` reveals the blob. Pure
    /// bookkeeping: anyone can compute the asset id from the blob, so this grants nothing.
    pub fn note_minting_blob(&mut self, asset_type: Felt, blob: Vec<u8>) {
        let id = mintable_asset_id(&StarkExAssetType(asset_type), &blob).0;
        self.minting_blobs.insert(id, (asset_type, blob));
    }

    /// The asset key (L1 token, token id) an asset id stands for, when known.
    pub fn asset_key_of(&self, asset_id: &Felt) -> Option<AssetKey> {
        if let Some(a) = self.assets.get(asset_id) {
            if a.is_fungible() && !a.is_mintable() {
                return Some(AssetKey { token: a.token(), token_id: None });
            }
        }
        if let Some((t, id)) = self.nft_ids.get(asset_id) {
            let token = self.assets.get(t)?.token()?;
            return Some(AssetKey { token: Some(token), token_id: Some(*id) });
        }
        let (t, blob) = self.minting_blobs.get(asset_id)?;
        let a = self.assets.get(t)?;
        let token = a.token()?;
        let token_id = if a.is_fungible() { None } else { Some(parse_minting_blob(blob).ok()?) };
        Some(AssetKey { token: Some(token), token_id })
    }

    /// Pending deposits and withdrawal balances, in base units, by asset key. Withdrawal
    /// balances of assets whose identity is unknown (a mintable asset whose blob was never
    /// noted) are left out; see [`Self::unresolved_withdrawals`].
    pub fn holdings(&self) -> BTreeMap<AssetKey, U256> {
        let mut out: BTreeMap<AssetKey, U256> = BTreeMap::new();
        for ((_, asset_id, _), q) in &self.pending_deposits {
            if let Some(k) = self.asset_key_of(asset_id).filter(|_| *q > 0) {
                *out.entry(k).or_default() += self.dequantize(asset_id, *q);
            }
        }
        for ((_, asset_id), q) in &self.pending_withdrawals {
            if let Some(k) = self.asset_key_of(asset_id).filter(|_| *q > 0) {
                *out.entry(k).or_default() += self.dequantize(asset_id, *q);
            }
        }
        out
    }

    /// Withdrawal balances whose asset cannot be named: (owner key, asset id, quantized).
    pub fn unresolved_withdrawals(&self) -> Vec<(U256, Felt, u64)> {
        self.pending_withdrawals
            .iter()
            .filter(|((_, id), q)| **q > 0 && self.asset_key_of(id).is_none())
            .map(|((k, id), q)| (*k, *id, *q))
            .collect()
    }

    /// `allowWithdrawal`: credits a withdrawal balance with the event its asset kind gets.
    fn allow_withdrawal(
        &mut self,
        ctx: &mut Ctx,
        owner_key: U256,
        asset_id: Felt,
        quantized: u64,
    ) -> Result<(), Revert> {
        let entry = self.pending_withdrawals.entry((owner_key, asset_id)).or_default();
        let withdrawal = entry
            .checked_add(quantized)
            .filter(|w| *w <= MAX_QUANTIZED)
            .ok_or_else(|| Revert::new("WITHDRAWAL_OVERFLOW"))?;
        *entry = withdrawal;
        let id = felt_to_u256(&asset_id);
        let mask_240 = (U256::from(1) << 240) - U256::from(1);
        let mintable_flag = U256::from(1) << 250;
        if self.assets.contains_key(&asset_id) {
            let non_quantized = self.dequantize(&asset_id, quantized);
            ctx.emit(L1Event::LogWithdrawalAllowed {
                owner_key,
                asset_type: asset_id,
                non_quantized_amount: non_quantized,
                quantized_amount: quantized,
            });
        } else if id == ((id & mask_240) | mintable_flag) {
            ctx.emit(L1Event::LogMintableWithdrawalAllowed {
                owner_key,
                asset_id,
                quantized_amount: quantized,
            });
        } else {
            require(id < (U256::from(1) << 250), "INVALID_NFT_ASSET_ID")?;
            require(withdrawal <= 1, "INVALID_NFT_AMOUNT")?;
            ctx.emit(L1Event::LogNftWithdrawalAllowed { owner_key, asset_id });
        }
        Ok(())
    }
}

/// Parses ImmutableX's minting blob `{tokenId}:{blueprint}` and returns the token id.
pub fn parse_minting_blob(blob: &[u8]) -> Result<U256, Revert> {
    let s = std::str::from_utf8(blob).map_err(|_| Revert::new("INVALID_MINTING_BLOB"))?;
    let (id, rest) = s.split_once(':').ok_or_else(|| Revert::new("Separator must exist"))?;
    let id = id
        .strip_prefix('{')
        .and_then(|x| x.strip_suffix('}'))
        .ok_or_else(|| Revert::new("INVALID_MINTING_BLOB"))?;
    require(rest.starts_with('{') && rest.ends_with('}'), "INVALID_MINTING_BLOB")?;
    U256::from_str_radix(id, 10).map_err(|_| Revert::new("INVALID_MINTING_BLOB"))
}

fn check_stark_key(k: &U256) -> Result<(), Revert> {
    require(!k.is_zero() && *k < FIELD_PRIME, "INVALID_STARK_KEY")
}

fn check_vault_id(v: u64) -> Result<(), Revert> {
    require(v < VaultId::BOUND, "OUT_OF_RANGE_VAULT_ID")
}

impl L1State {
    pub(crate) fn register_token(
        &mut self,
        cfg: &L1Config,
        ctx: &mut Ctx,
        asset_type: Felt,
        asset_info: Vec<u8>,
        quantum: U256,
    ) -> Result<(), Revert> {
        require(ctx.sender == cfg.addresses.starkex_token_admin, "ONLY_TOKENS_ADMIN")?;
        let core = &self.starkex;
        require(!core.is_asset_registered(&asset_type), "ASSET_ALREADY_REGISTERED")?;
        require(quantum > U256::ZERO, "INVALID_QUANTUM")?;
        require(quantum < (U256::from(1) << 128), "INVALID_QUANTUM")?;
        let q = quantum.to::<u128>();
        let enforced = felt_to_u256(
            &starkroute_crypto::asset_type(
                &asset_info,
                starkroute_types::Quantum::new(q).map_err(|_| Revert::new("INVALID_QUANTUM"))?,
            )
            .0,
        );
        require(felt_to_u256(&asset_type) == enforced, "INVALID_ASSET_TYPE")?;
        let reg = RegisteredAsset { info: asset_info.clone(), quantum: q };
        let sel = reg.selector();
        require(
            matches!(
                sel,
                ETH_SELECTOR
                    | ERC20_SELECTOR
                    | ERC721_SELECTOR
                    | MINTABLE_ERC20_SELECTOR
                    | MINTABLE_ERC721_SELECTOR
            ),
            "UNSUPPORTED_TOKEN_TYPE",
        )?;
        if sel == ETH_SELECTOR {
            require(asset_info.len() == 4, "INVALID_ASSET_STRING")?;
        } else {
            require(asset_info.len() == 36, "INVALID_ASSET_STRING")?;
            let ok = reg.token().is_some_and(|t| self.ledger.is_token_contract(&t));
            require(ok, "BAD_TOKEN_ADDRESS")?;
        }
        if matches!(sel, ERC721_SELECTOR | MINTABLE_ERC721_SELECTOR) {
            require(q == 1, "INVALID_NFT_QUANTUM")?;
        }
        self.starkex.assets.insert(asset_type, reg);
        ctx.emit(L1Event::LogTokenRegistered { asset_type, asset_info, quantum: q });
        Ok(())
    }

    pub(crate) fn register_eth_address(
        &mut self,
        ctx: &mut Ctx,
        eth_key: EthAddress,
        stark_key: U256,
        sig: &[u8],
    ) -> Result<(), Revert> {
        require(!stark_key.is_zero(), "INVALID_STARK_KEY")?;
        require(stark_key < FIELD_PRIME, "INVALID_STARK_KEY")?;
        require(!self.starkex.eth_keys.contains_key(&stark_key), "STARK_KEY_UNAVAILABLE")?;
        let key_felt = felt_from_u256(stark_key).ok_or_else(|| Revert::new("INVALID_STARK_KEY"))?;
        require(starkroute_crypto::is_valid_stark_key(&key_felt), "INVALID_STARK_KEY")?;
        require(sig.len() == 96, "INVALID_STARK_SIGNATURE_LENGTH")?;
        let word = |i: usize| U256::from_be_slice(&sig[32 * i..32 * (i + 1)]);
        let (r, s, y) = (word(0), word(1), word(2));
        let key = StarkKey::new(key_felt).map_err(|_| Revert::new("INVALID_STARK_KEY"))?;
        let msg = registration_message_hash(&eth_key, &key);
        require(!s.is_zero() && s < felt_to_u256(&starkroute_crypto::EC_ORDER), "s out of range")?;
        require(!r.is_zero() && r < (U256::from(1) << 251), "r out of range")?;
        // ECDSA.sol checks that (starkKey, y) is the public point; the y given must be one of the
        // two roots.
        let y_felt = felt_from_u256(y).ok_or_else(|| Revert::new("INVALID_STARK_SIGNATURE"))?;
        let rhs = key_felt.square() * key_felt + key_felt + stark_beta();
        require(y_felt.square() == rhs, "INVALID_STARK_SIGNATURE")?;
        let valid = match (felt_from_u256(r), felt_from_u256(s)) {
            (Some(r), Some(s)) => StarkSignature::new(r, s)
                .ok()
                .and_then(|sig| starkroute_crypto::verify(&key, &msg, &sig).ok())
                .unwrap_or(false),
            _ => false,
        };
        require(valid, "INVALID_STARK_SIGNATURE")?;
        self.starkex.eth_keys.insert(stark_key, eth_key);
        ctx.emit(L1Event::LogUserRegistered { eth_key, stark_key, sender: ctx.sender });
        Ok(())
    }

    pub(crate) fn deposit_eth(
        &mut self,
        cfg: &L1Config,
        ctx: &mut Ctx,
        stark_key: U256,
        asset_type: Felt,
        vault_id: u64,
    ) -> Result<(), Revert> {
        let a = self.starkex.get_asset_info(&asset_type)?;
        require(a.is_ether(), "INVALID_ASSET_TYPE")?;
        let quantum = U256::from(a.quantum);
        require((ctx.value % quantum).is_zero(), "INVALID_AMOUNT")?;
        let q = ctx.value / quantum;
        require(q <= U256::from(MAX_QUANTIZED), "DEPOSIT_OVERFLOW")?;
        self.deposit_fungible(cfg, ctx, stark_key, asset_type, vault_id, q.to::<u64>())
    }

    /// `deposit(starkKey, assetType, vaultId, quantizedAmount)`; for ETH the value is already in
    /// the contract (`transferIn` only checks `msg.value == amount`).
    pub(crate) fn deposit_fungible(
        &mut self,
        cfg: &L1Config,
        ctx: &mut Ctx,
        stark_key: U256,
        asset_type: Felt,
        vault_id: u64,
        quantized: u64,
    ) -> Result<(), Revert> {
        self.starkex.not_frozen()?;
        let a = self.starkex.get_asset_info(&asset_type)?.clone();
        require(!a.is_mintable(), "MINTABLE_ASSET_TYPE")?;
        require(a.is_fungible(), "NON_FUNGIBLE_ASSET_TYPE")?;
        check_stark_key(&stark_key)?;
        check_vault_id(vault_id)?;
        let asset_id = asset_type;
        let slot = (stark_key, asset_id, vault_id);
        let pending = self.starkex.pending_deposits.get(&slot).copied().unwrap_or(0);
        let new = pending
            .checked_add(quantized)
            .filter(|n| *n <= MAX_QUANTIZED)
            .ok_or_else(|| Revert::new("DEPOSIT_OVERFLOW"))?;
        self.starkex.pending_deposits.insert(slot, new);
        if self.starkex.get_eth_key(&stark_key) == Some(ctx.sender) {
            self.starkex.cancellation_requests.remove(&slot);
        }
        let amount = U256::from(quantized) * U256::from(a.quantum);
        let core = cfg.addresses.starkex_core;
        if a.is_erc20() {
            let token = a.token().ok_or_else(|| Revert::new("UNSUPPORTED_TOKEN_TYPE"))?;
            self.pull_erc20(ctx, token, core, ctx.sender, core, amount)?;
        } else if a.is_ether() {
            require(ctx.value == amount, "INCORRECT_DEPOSIT_AMOUNT")?;
        } else {
            return Err(Revert::new("UNSUPPORTED_TOKEN_TYPE"));
        }
        ctx.emit(L1Event::LogDeposit {
            depositor_eth_key: ctx.sender,
            stark_key,
            vault_id,
            asset_type,
            non_quantized_amount: amount,
            quantized_amount: quantized,
        });
        self.log_deposit(ctx, stark_key, vault_id, asset_type, asset_id, quantized, None)
    }

    #[allow(clippy::too_many_arguments)]
    fn log_deposit(
        &mut self,
        ctx: &Ctx,
        stark_key: U256,
        vault_id: u64,
        asset_type: Felt,
        asset_id: Felt,
        quantized: u64,
        token_id: Option<U256>,
    ) -> Result<(), Revert> {
        let key = felt_from_u256(stark_key)
            .and_then(|f| StarkKey::new(f).ok())
            .ok_or_else(|| Revert::new("INVALID_STARK_KEY"))?;
        let vault = VaultId::new(vault_id).map_err(|_| Revert::new("OUT_OF_RANGE_VAULT_ID"))?;
        let index = self.starkex.deposit_log.len() as u64;
        self.starkex.deposit_log.push(DepositEvent {
            index,
            block: ctx.block,
            depositor: ctx.sender,
            stark_key: key,
            vault_id: vault,
            asset_type,
            asset_id,
            quantized_amount: quantized,
            token_id,
        });
        Ok(())
    }

    pub(crate) fn deposit_nft(
        &mut self,
        cfg: &L1Config,
        ctx: &mut Ctx,
        stark_key: U256,
        asset_type: Felt,
        vault_id: u64,
        token_id: U256,
    ) -> Result<(), Revert> {
        self.starkex.not_frozen()?;
        let a = self.starkex.get_asset_info(&asset_type)?.clone();
        require(!a.is_mintable(), "MINTABLE_ASSET_TYPE")?;
        require(!a.is_fungible(), "FUNGIBLE_ASSET_TYPE")?;
        check_stark_key(&stark_key)?;
        check_vault_id(vault_id)?;
        let asset_id = nft_asset_id(&StarkExAssetType(asset_type), &TokenId(token_id)).0;
        let slot = (stark_key, asset_id, vault_id);
        self.starkex.pending_deposits.insert(slot, 1);
        if self.starkex.get_eth_key(&stark_key) == Some(ctx.sender)
            && self.starkex.cancellation_requests.contains_key(&slot)
        {
            self.starkex.cancellation_requests.remove(&slot);
        }
        require(a.is_erc721(), "NOT_ERC721_TOKEN")?;
        let token = a.token().ok_or_else(|| Revert::new("NOT_ERC721_TOKEN"))?;
        let core = cfg.addresses.starkex_core;
        self.move_nft(ctx, token, core, ctx.sender, core, token_id)?;
        self.starkex.nft_ids.insert(asset_id, (asset_type, token_id));
        ctx.emit(L1Event::LogNftDeposit {
            depositor_eth_key: ctx.sender,
            stark_key,
            vault_id,
            asset_type,
            token_id,
            asset_id,
        });
        self.log_deposit(ctx, stark_key, vault_id, asset_type, asset_id, 1, Some(token_id))
    }

    pub(crate) fn deposit_cancel(
        &mut self,
        ctx: &mut Ctx,
        stark_key: U256,
        asset_id: Felt,
        vault_id: u64,
    ) -> Result<(), Revert> {
        self.starkex.only_key_owner(ctx, &stark_key)?;
        self.starkex.cancellation_requests.insert((stark_key, asset_id, vault_id), ctx.timestamp);
        ctx.emit(L1Event::LogDepositCancel { stark_key, vault_id, asset_id });
        Ok(())
    }

    fn take_cancelled_deposit(
        &mut self,
        ctx: &Ctx,
        stark_key: U256,
        asset_id: Felt,
        vault_id: u64,
    ) -> Result<u64, Revert> {
        self.starkex.only_key_owner(ctx, &stark_key)?;
        let slot = (stark_key, asset_id, vault_id);
        let request_time = self.starkex.cancellation_requests.get(&slot).copied().unwrap_or(0);
        require(request_time != 0, "DEPOSIT_NOT_CANCELED")?;
        require(ctx.timestamp >= request_time + DEPOSIT_CANCEL_DELAY, "DEPOSIT_LOCKED")?;
        let q = self.starkex.pending_deposits.remove(&slot).unwrap_or(0);
        self.starkex.cancellation_requests.remove(&slot);
        Ok(q)
    }

    pub(crate) fn deposit_reclaim(
        &mut self,
        cfg: &L1Config,
        ctx: &mut Ctx,
        stark_key: U256,
        asset_id: Felt,
        vault_id: u64,
    ) -> Result<(), Revert> {
        let asset_type = asset_id;
        let q = self.take_cancelled_deposit(ctx, stark_key, asset_id, vault_id)?;
        let amount = self.transfer_out(cfg, ctx, ctx.sender, asset_type, q)?;
        ctx.emit(L1Event::LogDepositCancelReclaimed {
            stark_key,
            vault_id,
            asset_type,
            non_quantized_amount: amount,
            quantized_amount: q,
        });
        Ok(())
    }

    pub(crate) fn deposit_nft_reclaim(
        &mut self,
        cfg: &L1Config,
        ctx: &mut Ctx,
        stark_key: U256,
        asset_type: Felt,
        vault_id: u64,
        token_id: U256,
    ) -> Result<(), Revert> {
        let asset_id = nft_asset_id(&StarkExAssetType(asset_type), &TokenId(token_id)).0;
        let amount = self.take_cancelled_deposit(ctx, stark_key, asset_id, vault_id)?;
        if amount > 0 {
            self.transfer_out_nft(cfg, ctx, ctx.sender, asset_type, token_id)?;
            ctx.emit(L1Event::LogDepositNftCancelReclaimed {
                stark_key,
                vault_id,
                asset_type,
                token_id,
                asset_id,
            });
        }
        Ok(())
    }

    /// `transferOut`: pays `quantized * quantum` of a fungible asset; returns the amount.
    fn transfer_out(
        &mut self,
        cfg: &L1Config,
        ctx: &mut Ctx,
        recipient: EthAddress,
        asset_type: Felt,
        quantized: u64,
    ) -> Result<U256, Revert> {
        let amount = self.starkex.dequantize(&asset_type, quantized);
        let a = self.starkex.get_asset_info(&asset_type)?.clone();
        let core = cfg.addresses.starkex_core;
        if a.is_erc20() {
            let token = a.token().ok_or_else(|| Revert::new("UNSUPPORTED_TOKEN_TYPE"))?;
            self.pay_out(ctx, core, Some(token), recipient, amount)?;
        } else if a.is_ether() {
            self.pay_out(ctx, core, None, recipient, amount)?;
        } else {
            return Err(Revert::new("UNSUPPORTED_TOKEN_TYPE"));
        }
        Ok(amount)
    }

    fn transfer_out_nft(
        &mut self,
        cfg: &L1Config,
        ctx: &mut Ctx,
        recipient: EthAddress,
        asset_type: Felt,
        token_id: U256,
    ) -> Result<(), Revert> {
        let a = self.starkex.get_asset_info(&asset_type)?;
        require(a.is_erc721(), "NOT_ERC721_TOKEN")?;
        let token = a.token().ok_or_else(|| Revert::new("NOT_ERC721_TOKEN"))?;
        let core = cfg.addresses.starkex_core;
        self.move_nft(ctx, token, core, core, recipient, token_id)
    }

    pub(crate) fn withdraw(
        &mut self,
        cfg: &L1Config,
        ctx: &mut Ctx,
        owner_key: U256,
        asset_type: Felt,
    ) -> Result<(), Revert> {
        let recipient = self.starkex.strict_get_eth_key(&owner_key)?;
        let a = self.starkex.get_asset_info(&asset_type)?;
        require(!a.is_mintable(), "MINTABLE_ASSET_TYPE")?;
        require(a.is_fungible(), "NON_FUNGIBLE_ASSET_TYPE")?;
        let asset_id = asset_type;
        let q = self.starkex.pending_withdrawals.remove(&(owner_key, asset_id)).unwrap_or(0);
        let amount = self.transfer_out(cfg, ctx, recipient, asset_type, q)?;
        ctx.emit(L1Event::LogWithdrawalPerformed {
            owner_key,
            asset_type,
            non_quantized_amount: amount,
            quantized_amount: q,
            recipient,
        });
        Ok(())
    }

    pub(crate) fn withdraw_nft(
        &mut self,
        cfg: &L1Config,
        ctx: &mut Ctx,
        owner_key: U256,
        asset_type: Felt,
        token_id: U256,
    ) -> Result<(), Revert> {
        let recipient = self.starkex.strict_get_eth_key(&owner_key)?;
        let asset_id = nft_asset_id(&StarkExAssetType(asset_type), &TokenId(token_id)).0;
        let a = self.starkex.get_asset_info(&asset_type)?;
        require(!a.is_mintable(), "MINTABLE_ASSET_TYPE")?;
        require(!a.is_fungible(), "FUNGIBLE_ASSET_TYPE")?;
        let bal = self.starkex.pending_withdrawals.get(&(owner_key, asset_id)).copied();
        require(bal == Some(1), "ILLEGAL_NFT_BALANCE")?;
        self.starkex.pending_withdrawals.remove(&(owner_key, asset_id));
        self.transfer_out_nft(cfg, ctx, recipient, asset_type, token_id)?;
        ctx.emit(L1Event::LogNftWithdrawalPerformed {
            owner_key,
            asset_type,
            token_id,
            asset_id,
            recipient,
        });
        Ok(())
    }

    pub(crate) fn withdraw_and_mint(
        &mut self,
        cfg: &L1Config,
        ctx: &mut Ctx,
        owner_key: U256,
        asset_type: Felt,
        blob: Vec<u8>,
    ) -> Result<(), Revert> {
        let recipient = self.starkex.strict_get_eth_key(&owner_key)?;
        let a = self.starkex.assets.get(&asset_type).cloned();
        let a = a.ok_or_else(|| Revert::new("INVALID_ASSET_TYPE"))?;
        require(a.is_mintable(), "NON_MINTABLE_ASSET_TYPE")?;
        let asset_id = mintable_asset_id(&StarkExAssetType(asset_type), &blob).0;
        let q = self.starkex.pending_withdrawals.get(&(owner_key, asset_id)).copied().unwrap_or(0);
        require(q > 0, "NO_PENDING_WITHDRAWAL_BALANCE")?;
        self.starkex.pending_withdrawals.remove(&(owner_key, asset_id));
        // transferOutMint: token.mintFor(recipient, amount, mintingBlob), the core being the
        // token's minter.
        let amount = self.starkex.dequantize(&asset_type, q);
        let token = a.token().ok_or_else(|| Revert::new("NON_MINTABLE_ASSET_TYPE"))?;
        let core = cfg.addresses.starkex_core;
        if a.is_fungible() {
            self.ledger.erc20_mint(&token, Some(core), recipient, amount)?;
            ctx.emit(L1Event::Erc20Transfer {
                token,
                from: None,
                to: Some(recipient),
                value: amount,
            });
        } else {
            require(amount == U256::from(1), "INVALID_NFT_AMOUNT")?;
            let id = parse_minting_blob(&blob)?;
            self.ledger.erc721_mint(&token, Some(core), recipient, id)?;
            ctx.emit(L1Event::Erc721Transfer {
                token,
                from: None,
                to: Some(recipient),
                token_id: id,
            });
        }
        self.starkex.minting_blobs.insert(asset_id, (asset_type, blob));
        ctx.emit(L1Event::LogMintWithdrawalPerformed {
            owner_key,
            asset_type,
            non_quantized_amount: amount,
            quantized_amount: q,
            asset_id,
        });
        Ok(())
    }

    pub(crate) fn full_withdrawal_request(
        &mut self,
        ctx: &mut Ctx,
        owner_key: U256,
        vault_id: u64,
    ) -> Result<(), Revert> {
        self.starkex.not_frozen()?;
        self.starkex.only_key_owner(ctx, &owner_key)?;
        check_vault_id(vault_id)?;
        self.starkex.full_withdrawal_requests.insert((owner_key, vault_id), ctx.timestamp);
        ctx.emit(L1Event::LogFullWithdrawalRequest { stark_key: owner_key, vault_id });
        Ok(())
    }

    pub(crate) fn freeze_request(
        &mut self,
        ctx: &mut Ctx,
        owner_key: U256,
        vault_id: u64,
    ) -> Result<(), Revert> {
        self.starkex.not_frozen()?;
        check_vault_id(vault_id)?;
        let request_time = self.starkex.get_full_withdrawal_request(&owner_key, vault_id);
        require(request_time != 0, "FORCED_ACTION_UNREQUESTED")?;
        let freeze_time = request_time + FREEZE_GRACE_PERIOD;
        require(ctx.timestamp >= freeze_time, "FORCED_ACTION_PENDING")?;
        require(freeze_time > self.starkex.unfreeze_time, "REFREEZE_ATTEMPT")?;
        self.starkex.unfreeze_time = ctx.timestamp + UNFREEZE_DELAY;
        self.starkex.frozen = true;
        ctx.emit(L1Event::LogFrozen);
        Ok(())
    }

    pub(crate) fn escape(
        &mut self,
        ctx: &mut Ctx,
        owner_key: U256,
        vault_id: u64,
        asset_id: Felt,
        quantized: u64,
        proof: Vec<Felt>,
    ) -> Result<(), Revert> {
        require(self.starkex.frozen, "STATE_NOT_FROZEN")?;
        require(!self.starkex.escapes_used.contains(&vault_id), "ESCAPE_ALREADY_USED")?;
        self.starkex.escapes_used.insert(vault_id);
        let key = felt_from_u256(owner_key).ok_or_else(|| Revert::new("ESCAPE_LACKS_PROOF"))?;
        let p = MerkleProof {
            index: vault_id,
            leaf: vault_leaf_hash(key, asset_id, quantized),
            siblings: proof,
        };
        let ok =
            p.siblings.len() == VAULT_TREE_HEIGHT as usize && p.verify(&self.starkex.vault_root);
        require(ok, "ESCAPE_LACKS_PROOF")?;
        self.starkex.allow_withdrawal(ctx, owner_key, asset_id, quantized)
    }

    pub(crate) fn starkex_update_state(
        &mut self,
        cfg: &L1Config,
        ctx: &mut Ctx,
        u: &StateUpdate,
    ) -> Result<(), Revert> {
        self.starkex.not_frozen()?;
        require(ctx.sender == cfg.addresses.starkex_operator, "ONLY_OPERATOR")?;
        require(u.sequence_number == self.starkex.sequence_number + 1, "INVALID_SEQUENCE_NUMBER")?;
        require(u.vault_tree_height == VAULT_TREE_HEIGHT, "VAULT_HEIGHT_INCORRECT")?;
        require(felt_to_u256(&u.vault_root) < FIELD_PRIME, "New vault root >= PRIME.")?;
        for (key, asset_id, vault, q) in &u.deposits {
            let slot = (key.to_u256(), *asset_id, u64::from(vault.get()));
            let pending = self.starkex.pending_deposits.get(&slot).copied().unwrap_or(0);
            require(pending >= *q, "DEPOSIT_INSUFFICIENT")?;
            if pending == *q {
                self.starkex.pending_deposits.remove(&slot);
            } else {
                self.starkex.pending_deposits.insert(slot, pending - q);
            }
        }
        for w in &u.withdrawals {
            self.starkex.allow_withdrawal(ctx, w.owner_key, w.asset_id, w.quantized_amount)?;
        }
        for (key, vault) in &u.full_withdrawals_served {
            self.starkex.full_withdrawal_requests.remove(&(key.to_u256(), u64::from(vault.get())));
        }
        self.starkex.vault_root = u.vault_root;
        self.starkex.sequence_number += 1;
        self.starkex.last_batch_id = u.batch_id;
        ctx.emit(L1Event::LogRootUpdate {
            sequence_number: self.starkex.sequence_number,
            batch_id: u.batch_id,
            vault_root: u.vault_root,
            order_root: Felt::ZERO,
        });
        Ok(())
    }
}

/// `β` of the Stark curve.
fn stark_beta() -> Felt {
    Felt::from_hex_unchecked("0x6f21413efbe40de150e596d72f7a8c5609ad26c15c915c1f4cdfcb99cee9e89")
}

impl StarkExContractPort for L1 {
    fn deposits_since(&self, cursor: u64, confirmations: u64) -> Vec<DepositEvent> {
        self.state()
            .starkex
            .deposit_log
            .iter()
            .skip(usize::try_from(cursor).unwrap_or(usize::MAX))
            .take_while(|d| self.block_confirmations(d.block) >= confirmations)
            .cloned()
            .collect()
    }

    fn full_withdrawal_requests(&self) -> Vec<FullWithdrawalRequest> {
        self.state()
            .starkex
            .full_withdrawal_requests
            .iter()
            .filter_map(|((k, v), t)| {
                let key = felt_from_u256(*k).and_then(|f| StarkKey::new(f).ok())?;
                let vault = VaultId::new(*v).ok()?;
                Some(FullWithdrawalRequest { stark_key: key, vault_id: vault, requested_at: *t })
            })
            .collect()
    }

    fn eth_key_of(&self, stark_key: &StarkKey) -> Option<EthAddress> {
        self.state().starkex.get_eth_key(&stark_key.to_u256())
    }

    fn stark_keys_of(&self, eth: &EthAddress) -> Vec<StarkKey> {
        let mut keys: Vec<StarkKey> = self
            .state()
            .starkex
            .eth_keys
            .iter()
            .filter(|(_, a)| *a == eth)
            .filter_map(|(k, _)| StarkKey::new(starkroute_types::felt_from_u256(*k)?).ok())
            .collect();
        keys.sort_by_key(StarkKey::to_u256);
        keys
    }

    fn is_frozen(&self) -> bool {
        self.state().starkex.frozen
    }

    fn registered_asset(&self, asset_type: &Felt) -> Option<(Vec<u8>, u128)> {
        self.state().starkex.assets.get(asset_type).map(|a| (a.info.clone(), a.quantum))
    }

    fn apply_state_update(&mut self, update: &StateUpdate) -> Result<(), Revert> {
        let operator = self.addresses().starkex_operator;
        let call = super::chain::L1Call::StarkExUpdateState { update: update.clone() };
        self.send_and_check(operator, U256::ZERO, call).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minting_blobs_parse_as_imx_writes_them() {
        assert_eq!(parse_minting_blob(b"{1}:{}").unwrap(), U256::from(1));
        assert_eq!(parse_minting_blob(b"{42}:{bp:x}").unwrap(), U256::from(42));
        assert_eq!(parse_minting_blob(b"{1}{}").unwrap_err().reason, "Separator must exist");
        assert!(parse_minting_blob(b"1:{}").is_err());
    }

    #[test]
    fn eth_key_fallback_for_small_owner_keys() {
        let core = StarkExCore::new();
        let a = crate::l1::addr(0xb0b);
        assert_eq!(core.get_eth_key(&a.to_u256()), Some(a));
        assert_eq!(core.get_eth_key(&(U256::from(1) << 160)), None);
        assert_eq!(core.get_eth_key(&U256::ZERO), None);
        assert_eq!(core.get_vault_root(), VaultTree::new().root());
    }
}
