//! The StarkEx vault tree: leaf hashes, a sparse Merkle tree of height 31, and Merkle proofs.
//!
//! Sources: `starkex-resources` `stark_ex_objects/starkware/objects/state.py`
//! (`VaultStateFact._hash`, `VaultState.empty`) and the escape proof layout of
//! `starkex-contracts` `EscapeVerifier.sol`. ImmutableX's vault ids are below 2^31, so its tree
//! has height 31. Empty subtrees hash up from the empty leaf `H(H(0, 0), 0)`, which reproduces
//! the derived empty root (PROTOCOL.md B.4).

use std::collections::{BTreeSet, HashMap};
use std::sync::OnceLock;

use starknet_crypto::pedersen_hash;

use starkroute_types::{Felt, VaultId};

/// The height of ImmutableX's vault tree (`VaultId::TREE_HEIGHT`).
pub const VAULT_TREE_HEIGHT: usize = VaultId::TREE_HEIGHT as usize;

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
        let mut tree = Self::new();
        let mut dirty = BTreeSet::new();
        for (vault, leaf) in vaults {
            let i = u64::from(vault.get());
            tree.put(0, i, leaf);
            dirty.insert(i);
        }
        for level in 0..tree.height {
            let parents: BTreeSet<u64> = dirty.iter().map(|i| i >> 1).collect();
            for &p in &parents {
                let h = pedersen_hash(&tree.node(level, p << 1), &tree.node(level, (p << 1) | 1));
                tree.put(level + 1, p, h);
            }
            dirty = parents;
        }
        tree
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

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

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
