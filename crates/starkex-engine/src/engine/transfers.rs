//! Transfers: one at a time, or a batch all or nothing with its signatures verified and its tree
//! update split across threads; and the vault rules a withdrawal and a mint share.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};

use starkroute_crypto::{is_valid_stark_key, EMPTY_VAULT_LEAF};
use starkroute_types::{Felt, StarkKey, VaultId};

use super::{check_signature, StarkExEngine, TransferRecord, TransferRequest, Vault};
use crate::error::{Result, StarkExError};
use crate::port::StarkExContractPort;

/// One step to undo when an all-or-nothing batch of transfers is refused half-way.
#[derive(Debug)]
enum Undo {
    Vault(VaultId, Option<Vault>),
    Nonce(StarkKey, u64),
    Reservation(VaultId, StarkKey, Felt),
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

/// A transfer whose stateless checks passed (amount, message hash, the sender's signature, the
/// receiver key on the curve): only [`verify_transfers`] makes one, so
/// [`StarkExEngine::transfer_batch_verified`] can trust it without checking again — and the
/// caller can run the expensive part before taking whatever lock guards the engine.
#[derive(Debug, Clone, Copy)]
pub struct VerifiedTransfer {
    request: TransferRequest,
    checked: Stateless,
}

impl VerifiedTransfer {
    /// The request.
    pub fn request(&self) -> &TransferRequest {
        &self.request
    }
}

/// The stateless checks of every request, on up to `threads` threads (the calling thread
/// included); no engine needed. Each receiver key gets the full curve test (the engine, which
/// knows who is registered, can skip it for registered receivers; this cannot).
pub fn verify_transfers(
    requests: &[TransferRequest],
    threads: usize,
) -> Vec<Result<VerifiedTransfer>> {
    par_indexed(requests.len(), threads.max(1), 1, |i| {
        verify_transfer(&requests[i], false)
            .map(|checked| VerifiedTransfer { request: requests[i], checked })
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

impl StarkExEngine {
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
    ///
    /// [`StarkExConfig::verify_threads`]: super::StarkExConfig::verify_threads
    /// [`VaultTree::set_many`]: starkroute_crypto::VaultTree::set_many
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
        self.apply_batch(port, now, requests, |i, t| {
            // On one thread, verify as we go so a refusal stops the work at once.
            verdicts.next().unwrap_or_else(|| verify_transfer(t, registered[i]))
        })
    }

    /// [`Self::transfer_batch`] for transfers already verified by [`verify_transfers`] (the
    /// REST API verifies them before locking the engine): only the stateful rules run here.
    pub fn transfer_batch_verified(
        &mut self,
        port: &dyn StarkExContractPort,
        now: u64,
        verified: &[VerifiedTransfer],
    ) -> std::result::Result<Vec<u64>, (usize, StarkExError)> {
        self.check_open(port).map_err(|e| (0, e))?;
        let requests: Vec<TransferRequest> = verified.iter().map(|v| v.request).collect();
        self.apply_batch(port, now, &requests, |i, _| Ok(verified[i].checked))
    }

    /// The sequential phase of a batch: each transfer's verdict from `verdict(i, request)`, then
    /// its stateful rules and balance changes in order, all or nothing; the tree once at the end.
    fn apply_batch(
        &mut self,
        port: &dyn StarkExContractPort,
        now: u64,
        requests: &[TransferRequest],
        mut verdict: impl FnMut(usize, &TransferRequest) -> Result<Stateless>,
    ) -> std::result::Result<Vec<u64>, (usize, StarkExError)> {
        let threads = self.config.verify_threads.max(1);
        let (tx_mark, transfers_mark) = (self.next_tx, self.transfers.len());
        let mut undo = Vec::new();
        let mut ids = Vec::with_capacity(requests.len());
        let mut touched = BTreeSet::new();
        let outcome = requests.iter().enumerate().try_for_each(|(i, t)| {
            verdict(i, t)
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

    pub(super) fn check_expiration(&self, now: u64, expiration_hours: u64) -> Result<()> {
        let now_hours = now / 3600;
        if expiration_hours <= now_hours {
            return Err(StarkExError::Expired { expiration_hours, now_hours });
        }
        Ok(())
    }

    /// The sender's vault must be `key`'s, hold `asset` and at least `amount`.
    pub(super) fn debit_check(
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
    pub(super) fn receiver_check(
        &self,
        key: &StarkKey,
        vault: VaultId,
        asset: &Felt,
    ) -> Result<u64> {
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

    /// Rehashes the leaves of `touched` vaults from their current contents, then their paths in
    /// one [`VaultTree::set_many`], both split across `threads`.
    ///
    /// [`VaultTree::set_many`]: starkroute_crypto::VaultTree::set_many
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
}
