//! The driver and the batches: each tick picks up deposits and, when a batch is due, cuts it —
//! serving full-withdrawal requests — and posts it to the StarkEx contract; every posted batch
//! keeps a snapshot of its tree, so availability proofs can be answered against any posted root.

use std::collections::BTreeMap;
use std::sync::Arc;

use starkroute_crypto::{vault_leaf_hash, MerkleProof, VaultTree};
use starkroute_types::{Felt, VaultId};

use super::{Pending, StarkExEngine, Vault, WithdrawalKind, WithdrawalRecord};
use crate::error::{Result, StarkExError};
use crate::port::{Revert, StarkExContractPort, StateUpdate, WithdrawalModification};

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

impl StarkExEngine {
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
