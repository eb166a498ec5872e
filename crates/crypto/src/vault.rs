//! The StarkEx vault tree: leaf hashes, a sparse Merkle tree of height 31, and Merkle proofs.
//!
//! Sources: `starkex-resources` `stark_ex_objects/starkware/objects/state.py`
//! (`VaultStateFact._hash`, `VaultState.empty`) and the escape proof layout of
//! `starkex-contracts` `EscapeVerifier.sol`. ImmutableX's vault ids are below 2^31, so its tree
//! has height 31. Empty subtrees hash up from the empty leaf `H(H(0, 0), 0)`, which reproduces
//! the derived empty root (PROTOCOL.md B.4).

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use starknet_crypto::pedersen_hash;

use starkroute_types::{Felt, VaultId};

/// The height of ImmutableX's vault tree (`VaultId::TREE_HEIGHT`).
pub const VAULT_TREE_HEIGHT: usize = VaultId::TREE_HEIGHT as usize;

/// [`VaultTree::set_many`] aims for this many independent subtrees per thread, so that threads
/// taking them in turn finish close together however the updated leaves are spread.
const SUBTREES_PER_THREAD: usize = 8;

/// The level at which [`VaultTree::set_many`] splits its work into independent subtrees: the
/// highest level that still has `SUBTREES_PER_THREAD × threads` distinct dirty ancestors (or as
/// many as there are dirty leaves), so the part above it, hashed on one thread, is small. 0 (no
/// split) on one thread or for a single leaf.
fn split_level(sorted_leaves: &[u64], threads: usize, height: usize) -> usize {
    let target = (SUBTREES_PER_THREAD * threads).min(sorted_leaves.len());
    if threads < 2 || target < 2 {
        return 0;
    }
    let mut split = 0;
    let mut nodes = sorted_leaves.to_vec();
    for level in 1..=height {
        nodes.iter_mut().for_each(|i| *i >>= 1);
        nodes.dedup();
        if nodes.len() < target {
            break;
        }
        split = level;
    }
    split
}

/// The hash of an empty vault, `H(H(0, 0), 0)`.
pub const EMPTY_VAULT_LEAF: Felt =
    Felt::from_hex_unchecked("0x6bf1b215edde951b1b50c19e77f7b362d23c6cb4232ae8b95bc112ff94d3956");

/// A vault leaf: `H(H(stark_key, asset_id), quantized_balance)`.
pub fn vault_leaf_hash(stark_key: Felt, asset_id: Felt, quantized_balance: u64) -> Felt {
    pedersen_hash(&pedersen_hash(&stark_key, &asset_id), &Felt::from(quantized_balance))
}

/// `EMPTY[l]` = root of an empty subtree of height `l`, for `l = 0..=31`. Computed once per
/// process: 31 Pedersen hashes that every tree and every proof check needs.
fn empty_hashes() -> &'static [Felt; VAULT_TREE_HEIGHT + 1] {
    static EMPTY: OnceLock<[Felt; VAULT_TREE_HEIGHT + 1]> = OnceLock::new();
    EMPTY.get_or_init(|| {
        let mut e = [EMPTY_VAULT_LEAF; VAULT_TREE_HEIGHT + 1];
        for l in 1..=VAULT_TREE_HEIGHT {
            e[l] = pedersen_hash(&e[l - 1], &e[l - 1]);
        }
        e
    })
}

/// A sparse Merkle tree over vault leaves.
///
/// Only nodes whose hash differs from the empty subtree of their level are stored, so memory is
/// proportional to the number of non-empty vaults times the height, and the root depends only on
/// the set of leaves, never on the order they were set in.
#[derive(Debug, Clone)]
pub struct VaultTree {
    height: usize,
    /// `levels[l]` maps a node index at level `l` (0 = leaves) to its hash.
    levels: Vec<HashMap<u64, Felt>>,
}

impl Default for VaultTree {
    fn default() -> Self {
        Self::new()
    }
}

impl VaultTree {
    /// An empty tree of height 31.
    pub fn new() -> Self {
        Self::with_height(VAULT_TREE_HEIGHT)
    }

    /// An empty tree of a smaller height, so tests can compare with a brute-force computation.
    /// Callers keep indices below `2^height`; `height <= 31`.
    pub(crate) fn with_height(height: usize) -> Self {
        let height = height.min(VAULT_TREE_HEIGHT);
        Self { height, levels: vec![HashMap::new(); height + 1] }
    }

    /// Builds a tree from `(vault, leaf)` pairs; a later pair for the same vault wins.
    ///
    /// Hashes each affected inner node once (level by level) instead of once per insertion.
    pub fn from_vaults<I: IntoIterator<Item = (VaultId, Felt)>>(vaults: I) -> Self {
        let leaves: Vec<(VaultId, Felt)> = vaults.into_iter().collect();
        let mut tree = Self::new();
        tree.set_many(&leaves, 1);
        tree
    }

    /// Sets many leaves at once (a later pair for the same vault wins) and rehashes every inner
    /// node above them exactly once: the same tree as calling [`set`](Self::set) for each pair
    /// in order, but an ancestor shared by `k` updated leaves is hashed once instead of `k` times.
    ///
    /// With `threads` ≥ 2 the updated leaves are grouped by their subtree at a *split level*
    /// chosen so there are several groups per thread; the subtrees are independent, so each is
    /// hashed up to the split level by whichever thread takes it next (one hand-off per subtree,
    /// no barrier per level, so a thread the host preempts delays only the subtree it holds). The
    /// few nodes above the split level are hashed on the calling thread. `threads` of 0 or 1
    /// means no other thread.
    pub fn set_many(&mut self, leaves: &[(VaultId, Felt)], threads: usize) {
        let indices: Vec<(u64, Felt)> =
            leaves.iter().map(|(v, leaf)| (u64::from(v.get()), *leaf)).collect();
        self.set_many_indices(&indices, threads);
    }

    pub(crate) fn set_many_indices(&mut self, leaves: &[(u64, Felt)], threads: usize) {
        let mut dirty = Vec::with_capacity(leaves.len());
        for &(i, leaf) in leaves {
            self.put(0, i, leaf);
            dirty.push(i);
        }
        dirty.sort_unstable();
        dirty.dedup();
        let split = split_level(&dirty, threads, self.height);
        if split > 0 {
            let groups: Vec<&[u64]> = dirty.chunk_by(|a, b| a >> split == b >> split).collect();
            for (level, index, hash) in self.hash_subtrees(&groups, split, threads) {
                self.put(level, index, hash);
            }
            dirty = groups.iter().map(|g| g[0] >> split).collect();
        }
        for level in split..self.height {
            // Sorted children give sorted parents, so consecutive duplicates are all of them.
            dirty.iter_mut().for_each(|i| *i >>= 1);
            dirty.dedup();
            for &p in &dirty {
                let h = pedersen_hash(&self.node(level, p << 1), &self.node(level, (p << 1) | 1));
                self.put(level + 1, p, h);
            }
        }
    }

    /// The new inner nodes `(level, index, hash)` of every group's subtree up to level `split`,
    /// the groups shared out dynamically across up to `threads` threads.
    fn hash_subtrees(
        &self,
        groups: &[&[u64]],
        split: usize,
        threads: usize,
    ) -> Vec<(usize, u64, Felt)> {
        let next = AtomicUsize::new(0);
        let work = || {
            let mut out = Vec::new();
            loop {
                let g = next.fetch_add(1, Ordering::Relaxed);
                let Some(group) = groups.get(g) else { break out };
                self.hash_subtree(group, split, &mut out);
            }
        };
        let work = &work;
        std::thread::scope(|s| {
            let others: Vec<_> = (1..threads.min(groups.len())).map(|_| s.spawn(work)).collect();
            let mut out = work();
            for h in others {
                // A hashing thread cannot panic short of a bug; re-raise it here if it does.
                out.extend(h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)));
            }
            out
        })
    }

    /// Hashes the dirty nodes above the sorted leaf indices `leaves` (all in one subtree of
    /// height `split`) up to level `split`, appending them to `out`. Reads only this subtree's
    /// new nodes (kept locally) and unchanged siblings (from the tree).
    fn hash_subtree(&self, leaves: &[u64], split: usize, out: &mut Vec<(usize, u64, Felt)>) {
        let mut current: Vec<(u64, Felt)> = leaves.iter().map(|&i| (i, self.node(0, i))).collect();
        for level in 0..split {
            let mut parents = Vec::with_capacity(current.len());
            let mut k = 0;
            while k < current.len() {
                let (i, h) = current[k];
                let (left, right) = if i & 1 == 1 {
                    (self.node(level, i ^ 1), h)
                } else if let Some(&(_, sibling)) = current.get(k + 1).filter(|(j, _)| *j == i | 1)
                {
                    // Both children are dirty: take the right one too.
                    k += 1;
                    (h, sibling)
                } else {
                    (h, self.node(level, i | 1))
                };
                k += 1;
                let p = (i >> 1, pedersen_hash(&left, &right));
                parents.push(p);
                out.push((level + 1, p.0, p.1));
            }
            current = parents;
        }
    }

    fn node(&self, level: usize, index: u64) -> Felt {
        self.levels[level].get(&index).copied().unwrap_or(empty_hashes()[level])
    }

    fn put(&mut self, level: usize, index: u64, hash: Felt) {
        if hash == empty_hashes()[level] {
            self.levels[level].remove(&index);
        } else {
            self.levels[level].insert(index, hash);
        }
    }

    /// Sets the leaf of a vault (use [`EMPTY_VAULT_LEAF`] to empty it) and rehashes its path.
    pub fn set(&mut self, vault: VaultId, leaf: Felt) {
        self.set_index(u64::from(vault.get()), leaf);
    }

    pub(crate) fn set_index(&mut self, index: u64, leaf: Felt) {
        let mut i = index;
        self.put(0, i, leaf);
        let mut h = leaf;
        for level in 0..self.height {
            let sibling = self.node(level, i ^ 1);
            h = if i & 1 == 0 { pedersen_hash(&h, &sibling) } else { pedersen_hash(&sibling, &h) };
            i >>= 1;
            self.put(level + 1, i, h);
        }
    }

    /// The leaf of a vault (the empty leaf if never set).
    pub fn leaf(&self, vault: VaultId) -> Felt {
        self.node(0, u64::from(vault.get()))
    }

    /// The root.
    pub fn root(&self) -> Felt {
        self.node(self.height, 0)
    }

    /// The number of non-empty vaults.
    pub fn len(&self) -> usize {
        self.levels[0].len()
    }

    /// Whether every vault is empty.
    pub fn is_empty(&self) -> bool {
        self.levels[0].is_empty()
    }

    /// A membership proof for a vault (also valid for an empty vault: it proves emptiness).
    pub fn proof(&self, vault: VaultId) -> MerkleProof {
        self.proof_index(u64::from(vault.get()))
    }

    pub(crate) fn proof_index(&self, index: u64) -> MerkleProof {
        let siblings =
            (0..self.height).map(|level| self.node(level, (index >> level) ^ 1)).collect();
        MerkleProof { index, leaf: self.node(0, index), siblings }
    }
}

/// A Merkle path from one vault leaf to the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleProof {
    /// The leaf's index (the vault id).
    pub index: u64,
    /// The leaf hash.
    pub leaf: Felt,
    /// Sibling hashes, bottom-up (`siblings[0]` is the leaf's sibling).
    pub siblings: Vec<Felt>,
}

impl MerkleProof {
    /// The root implied by the leaf, its index and the path.
    ///
    /// Bit `l` of the index says whether the node at level `l` is a right child.
    pub fn compute_root(&self) -> Felt {
        let mut h = self.leaf;
        for (level, sibling) in self.siblings.iter().enumerate() {
            let right = (self.index >> level) & 1 == 1;
            h = if right { pedersen_hash(sibling, &h) } else { pedersen_hash(&h, sibling) };
        }
        h
    }

    /// Whether the proof leads to `root`. An index with bits above the path length is refused
    /// (it would alias a different vault).
    pub fn verify(&self, root: &Felt) -> bool {
        let fits = self.siblings.len() >= 64 || self.index >> self.siblings.len() == 0;
        fits && self.compute_root() == *root
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn felt(s: &str) -> Felt {
        Felt::from_hex(s).unwrap()
    }

    fn vid(i: u32) -> VaultId {
        VaultId::new(u64::from(i)).unwrap()
    }

    fn leaf(i: u64) -> Felt {
        vault_leaf_hash(Felt::from(0x1234 + i), Felt::from(0xabcd), 1000 + i)
    }

    #[test]
    fn empty_leaf_and_root() {
        assert_eq!(vault_leaf_hash(Felt::ZERO, Felt::ZERO, 0), EMPTY_VAULT_LEAF);
        assert_eq!(
            EMPTY_VAULT_LEAF,
            felt("0x6bf1b215edde951b1b50c19e77f7b362d23c6cb4232ae8b95bc112ff94d3956")
        );
        assert_eq!(
            VaultTree::new().root(),
            felt("0x75364111a7a336756626d19fc8ec8df6328a5e63681c68ffaa312f6bf98c5c")
        );
    }

    #[test]
    fn proofs_verify_and_tampering_fails() {
        let ids = [0u32, 1, 2, 7, 1000, (1 << 31) - 1, 123_456_789];
        let tree = VaultTree::from_vaults(ids.iter().map(|&i| (vid(i), leaf(u64::from(i)))));
        let root = tree.root();
        for &i in &ids {
            let p = tree.proof(vid(i));
            assert_eq!(p.siblings.len(), 31);
            assert_eq!(p.leaf, leaf(u64::from(i)));
            assert!(p.verify(&root), "vault {i}");

            let mut bad = p.clone();
            bad.leaf += Felt::ONE;
            assert!(!bad.verify(&root), "tampered leaf {i}");
            for level in [0, 15, 30] {
                let mut bad = p.clone();
                bad.siblings[level] += Felt::ONE;
                assert!(!bad.verify(&root), "tampered sibling {level} of {i}");
            }
            let mut bad = p.clone();
            bad.index ^= 1 << 20;
            assert!(!bad.verify(&root), "tampered index {i}");
            let mut bad = p.clone();
            bad.index |= 1 << 31;
            assert!(!bad.verify(&root), "index beyond the tree {i}");
        }
        // An empty vault's proof proves its emptiness.
        let p = tree.proof(vid(3));
        assert_eq!(p.leaf, EMPTY_VAULT_LEAF);
        assert!(p.verify(&root));
    }

    #[test]
    fn incremental_equals_batch_and_emptying_restores_root() {
        let mut t = VaultTree::new();
        let empty_root = t.root();
        for i in [5u32, 9, 1 << 30] {
            t.set(vid(i), leaf(u64::from(i)));
        }
        let batch =
            VaultTree::from_vaults([5u32, 9, 1 << 30].map(|i| (vid(i), leaf(u64::from(i)))));
        assert_eq!(t.root(), batch.root());
        assert_eq!(t.len(), 3);
        for i in [5u32, 9, 1 << 30] {
            t.set(vid(i), EMPTY_VAULT_LEAF);
        }
        assert_eq!(t.root(), empty_root);
        assert!(t.is_empty());
        assert!(t.levels.iter().all(HashMap::is_empty), "no stale nodes kept");
    }

    /// Full recomputation of a tree of height `h` from a dense leaf array.
    fn brute_force_root(h: usize, leaves: &[Felt]) -> Felt {
        let mut layer = leaves.to_vec();
        assert_eq!(layer.len(), 1 << h);
        while layer.len() > 1 {
            layer = layer.chunks(2).map(|c| pedersen_hash(&c[0], &c[1])).collect();
        }
        layer[0]
    }

    #[test]
    fn set_many_shares_ancestors_and_uses_threads() {
        // Enough leaves that the lower levels are split across threads (height 10 keeps the
        // unoptimised test build quick; the code path is the same at 31).
        let pairs: Vec<(u64, Felt)> =
            (0..64u64).map(|n| (n * 2_654_435_761 % (1 << 10), leaf(n % 7))).collect();
        let mut sequential = VaultTree::with_height(10);
        for &(i, l) in &pairs {
            sequential.set_index(i, l);
        }
        for threads in [0, 2, 3] {
            let mut bulk = VaultTree::with_height(10);
            bulk.set_many_indices(&pairs, threads);
            assert_eq!(bulk.root(), sequential.root(), "{threads} threads");
            assert_eq!(bulk.levels, sequential.levels, "{threads} threads: same stored nodes");
        }
        // The split level leaves several subtrees per thread, and none on one thread.
        let dense: Vec<u64> = (0..256).collect();
        assert_eq!(split_level(&dense, 2, 31), 4, "256 >> 4 = 16 = 8 subtrees × 2 threads");
        assert_eq!(split_level(&dense, 1, 31), 0);
        assert_eq!(split_level(&[5], 4, 31), 0);
        assert_eq!(split_level(&[0, 1 << 30], 2, 31), 30, "two leaves: one subtree each");
        // Emptying everything in one call leaves nothing behind.
        let empties: Vec<_> = pairs.iter().map(|(i, _)| (*i, EMPTY_VAULT_LEAF)).collect();
        sequential.set_many_indices(&empties, 2);
        assert_eq!(sequential.root(), VaultTree::with_height(10).root());
        assert!(sequential.levels.iter().all(HashMap::is_empty));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn set_many_equals_sequential_sets(
            initial in proptest::collection::vec((0u64..64, 0usize..4), 0..12),
            updates in proptest::collection::vec((0u64..64, 0usize..4), 0..24),
            threads in 0usize..4,
        ) {
            // Height 6, dense indices: duplicates, siblings, shared ancestors and emptied leaves.
            let choices = [EMPTY_VAULT_LEAF, leaf(1), leaf(2), leaf(3)];
            let leaf_of = |v: usize| choices[v];
            let mut sequential = VaultTree::with_height(6);
            for &(i, v) in &initial {
                sequential.set_index(i, leaf_of(v));
            }
            let mut bulk = sequential.clone();
            for &(i, v) in &updates {
                sequential.set_index(i, leaf_of(v));
            }
            let pairs: Vec<(u64, Felt)> = updates.iter().map(|&(i, v)| (i, leaf_of(v))).collect();
            bulk.set_many_indices(&pairs, threads);
            prop_assert_eq!(bulk.root(), sequential.root());
            prop_assert_eq!(&bulk.levels, &sequential.levels);
        }

    }

    proptest! {
        // Few cases: each costs ~1,500 Pedersen hashes, slow in the unoptimised test build.
        #![proptest_config(ProptestConfig::with_cases(6))]

        #[test]
        fn set_many_equals_from_vaults_at_height_31(
            initial in proptest::collection::vec((0u32..(1 << 31), 1u64..5), 0..6),
            updates in proptest::collection::vec((0u32..(1 << 31), 0u64..5), 0..12),
            threads in 1usize..4,
        ) {
            // Updates also hit the initial vaults (index reuse) and empty some of them.
            let leaf_of = |v: u64| if v == 0 { EMPTY_VAULT_LEAF } else { leaf(v) };
            let mut all: Vec<(VaultId, Felt)> =
                initial.iter().map(|&(i, v)| (vid(i), leaf_of(v))).collect();
            let mut bulk = VaultTree::from_vaults(all.clone());
            let mut sequential = bulk.clone();
            let pairs: Vec<(VaultId, Felt)> = updates
                .iter()
                .enumerate()
                .map(|(n, &(i, v))| {
                    let id = if n % 3 == 0 && !initial.is_empty() { initial[n % initial.len()].0 } else { i };
                    (vid(id), leaf_of(v))
                })
                .collect();
            for (v, l) in &pairs {
                sequential.set(*v, *l);
            }
            bulk.set_many(&pairs, threads);
            all.extend(pairs.iter().copied());
            let rebuilt = VaultTree::from_vaults(all);
            prop_assert_eq!(bulk.root(), sequential.root());
            prop_assert_eq!(bulk.root(), rebuilt.root());
            prop_assert_eq!(&bulk.levels, &sequential.levels);
            prop_assert_eq!(&bulk.levels, &rebuilt.levels);
        }

        #[test]
        fn matches_brute_force_at_height_4(entries in proptest::collection::vec((0u64..16, 0u64..5), 0..20)) {
            let mut dense = vec![EMPTY_VAULT_LEAF; 16];
            let mut t = VaultTree::with_height(4);
            for &(i, v) in &entries {
                let l = if v == 0 { EMPTY_VAULT_LEAF } else { leaf(v) };
                dense[i as usize] = l;
                t.set_index(i, l);
            }
            let root = t.root();
            prop_assert_eq!(root, brute_force_root(4, &dense));
            for i in 0..16 {
                let p = t.proof_index(i);
                prop_assert_eq!(p.leaf, dense[i as usize]);
                prop_assert!(p.verify(&root));
            }
        }

        #[test]
        fn root_is_independent_of_insertion_order(ids in proptest::collection::btree_set(0u32..(1 << 31), 1..8)) {
            let pairs: Vec<_> = ids.iter().map(|&i| (vid(i), leaf(u64::from(i)))).collect();
            let mut forward = VaultTree::new();
            for (v, l) in &pairs {
                forward.set(*v, *l);
            }
            let mut backward = VaultTree::new();
            for (v, l) in pairs.iter().rev() {
                backward.set(*v, *l);
            }
            prop_assert_eq!(forward.root(), backward.root());
            prop_assert_eq!(forward.root(), VaultTree::from_vaults(pairs.clone()).root());
        }
    }
}
