//! RFC 6962 / RFC 9162 Merkle tree hashing: leaf and node hashes, the compact
//! range ("frontier") that makes appending O(log n), tree heads, inclusion
//! proofs and their verification.

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// `SHA-256(0x00 || data)`: the hash of a leaf.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([0u8]);
    hasher.update(data);
    hasher.finalize().into()
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([1u8]);
    hasher.update(left);
    hasher.update(right);
    hasher.finalize().into()
}

/// The hash of the empty tree: `SHA-256("")`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// The complete subtrees on the right edge of a tree of `size` leaves, largest
/// first: `(level, hash)` where the subtree covers `2^level` leaves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    stack: Vec<(u32, Hash)>,
}

/// A subtree completed by an append: `level` and `index` (its first leaf is `index << level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompletedNode {
    /// Height of the subtree (0 = a leaf).
    pub level: u32,
    /// Position among subtrees of that height.
    pub index: u64,
    /// Its hash.
    pub hash: Hash,
}

impl Frontier {
    /// The frontier of the empty tree.
    pub fn new() -> Frontier {
        Frontier::default()
    }

    /// Rebuild a frontier from the complete subtrees of a tree of `size` leaves,
    /// largest first, as given by [`subtree_ranges`].
    pub fn from_parts(size: u64, parts: Vec<(u32, Hash)>) -> Frontier {
        Frontier { size, stack: parts }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Append a leaf hash. `completed` receives every subtree of height
    /// `>= min_level` that this append completes.
    pub fn push(&mut self, leaf: Hash, min_level: u32, completed: &mut impl FnMut(CompletedNode)) {
        let mut level = 0u32;
        let mut hash = leaf;
        let mut position = self.size;
        while let Some(&(top_level, top_hash)) = self.stack.last() {
            if top_level != level {
                break;
            }
            self.stack.pop();
            hash = node_hash(&top_hash, &hash);
            level += 1;
            position >>= 1;
            if level >= min_level {
                completed(CompletedNode {
                    level,
                    index: position,
                    hash,
                });
            }
        }
        self.stack.push((level, hash));
        self.size += 1;
    }

    /// The root hash (RFC 6962 MTH) of the tree so far.
    pub fn root(&self) -> Hash {
        let mut iter = self.stack.iter().rev();
        let Some(&(_, mut root)) = iter.next() else {
            return empty_root();
        };
        for (_, left) in iter {
            root = node_hash(left, &root);
        }
        root
    }
}

/// The complete, aligned subtrees that make up a tree of `size` leaves, largest
/// first: `(level, first_leaf)`.
pub fn subtree_ranges(size: u64) -> Vec<(u32, u64)> {
    let mut parts = Vec::new();
    let mut start = 0u64;
    for level in (0..64u32).rev() {
        let width = 1u64 << level;
        if size & width != 0 {
            parts.push((level, start));
            start += width;
        }
    }
    parts
}

/// Largest power of two strictly smaller than `n` (n >= 2).
fn split_point(n: u64) -> u64 {
    let mut k = 1u64;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The audit path (RFC 6962 section 2.1.1) for leaf `index` in the tree of
/// leaves `[start, start + size)`; `subtree` returns the hash of any range.
pub fn inclusion_path<E>(
    index: u64,
    start: u64,
    size: u64,
    subtree: &mut impl FnMut(u64, u64) -> Result<Hash, E>,
) -> Result<Vec<Hash>, E> {
    if size <= 1 {
        return Ok(Vec::new());
    }
    let k = split_point(size);
    if index < k {
        let mut path = inclusion_path(index, start, k, subtree)?;
        path.push(subtree(start + k, size - k)?);
        Ok(path)
    } else {
        let mut path = inclusion_path(index - k, start + k, size - k, subtree)?;
        path.push(subtree(start, k)?);
        Ok(path)
    }
}

/// Recompute the root from a leaf hash and its audit path (RFC 9162 section 2.1.3.2).
/// Returns `None` when the path has the wrong length for `index` and `size`.
pub fn root_from_inclusion(index: u64, size: u64, leaf: Hash, path: &[Hash]) -> Option<Hash> {
    if index >= size {
        return None;
    }
    let mut fn_ = index;
    let mut sn = size - 1;
    let mut root = leaf;
    for sibling in path {
        if sn == 0 {
            return None;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            root = node_hash(sibling, &root);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            root = node_hash(&root, sibling);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    (sn == 0).then_some(root)
}

/// The consistency proof (RFC 6962 section 2.1.2) between the tree of the first
/// `old` leaves and the tree of the first `new` leaves (0 < old <= new);
/// `subtree` returns the hash of any range.
pub fn consistency_path<E>(
    old: u64,
    new: u64,
    subtree: &mut impl FnMut(u64, u64) -> Result<Hash, E>,
) -> Result<Vec<Hash>, E> {
    let mut path = Vec::new();
    if old == 0 || old >= new {
        return Ok(path);
    }
    subproof(old, 0, new, true, subtree, &mut path)?;
    Ok(path)
}

fn subproof<E>(
    m: u64,
    start: u64,
    n: u64,
    complete: bool,
    subtree: &mut impl FnMut(u64, u64) -> Result<Hash, E>,
    path: &mut Vec<Hash>,
) -> Result<(), E> {
    if m == n {
        if !complete {
            path.push(subtree(start, n)?);
        }
        return Ok(());
    }
    let k = split_point(n);
    if m <= k {
        subproof(m, start, k, complete, subtree, path)?;
        path.push(subtree(start + k, n - k)?);
    } else {
        subproof(m - k, start + k, n - k, false, subtree, path)?;
        path.push(subtree(start, k)?);
    }
    Ok(())
}

/// Check a consistency proof (RFC 9162 section 2.1.4.2): the tree of `old`
/// leaves with root `old_root` is a prefix of the tree of `new` leaves with
/// root `new_root`.
pub fn verify_consistency(old: u64, new: u64, old_root: &Hash, new_root: &Hash, proof: &[Hash]) -> bool {
    if old == 0 || old > new {
        return false;
    }
    if old == new {
        return proof.is_empty() && old_root == new_root;
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if old.is_power_of_two() {
        path.insert(0, *old_root);
    }
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let mut fn_ = old - 1;
    let mut sn = new - 1;
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let mut fr = *first;
    let mut sr = *first;
    for hash in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(hash, &fr);
            sr = node_hash(hash, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, hash);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && fr == *old_root && sr == *new_root
}

/// RFC 6962 MTH over a slice of leaf hashes (reference implementation, used
/// for small ranges and tests).
pub fn root_of(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consistency_proofs_verify_for_every_pair_and_fail_when_tampered() {
        let leaves: Vec<Hash> = (0u8..40).map(|byte| leaf_hash(&[byte])).collect();
        for new in 1..=leaves.len() as u64 {
            let new_root = root_of(&leaves[..new as usize]);
            for old in 1..=new {
                let old_root = root_of(&leaves[..old as usize]);
                let proof = consistency_path(old, new, &mut |start, length| -> Result<Hash, ()> {
                    Ok(root_of(&leaves[start as usize..(start + length) as usize]))
                })
                .unwrap_or_default();
                assert!(
                    verify_consistency(old, new, &old_root, &new_root, &proof),
                    "{old} -> {new}"
                );
                if old < new {
                    let mut other = leaves[..new as usize].to_vec();
                    other[0] = leaf_hash(b"forged");
                    assert!(
                        !verify_consistency(old, new, &old_root, &root_of(&other), &proof),
                        "{old} -> {new} forged"
                    );
                    if let Some(first) = proof.first() {
                        let mut bent = proof.clone();
                        bent[0] = node_hash(first, first);
                        assert!(
                            !verify_consistency(old, new, &old_root, &new_root, &bent),
                            "{old} -> {new} bent"
                        );
                    }
                }
            }
        }
    }

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    #[test]
    fn frontier_root_matches_reference_for_every_size() {
        let all = leaves(70);
        let mut frontier = Frontier::new();
        assert_eq!(frontier.root(), empty_root());
        for (i, leaf) in all.iter().enumerate() {
            frontier.push(*leaf, 0, &mut |_| {});
            assert_eq!(frontier.root(), root_of(&all[..=i]), "size {}", i + 1);
        }
    }

    #[test]
    fn completed_nodes_are_aligned_subtrees() {
        let all = leaves(40);
        let mut frontier = Frontier::new();
        let mut completed = Vec::new();
        for leaf in &all {
            frontier.push(*leaf, 3, &mut |node| completed.push(node));
        }
        for node in &completed {
            let start = (node.index << node.level) as usize;
            let end = start + (1usize << node.level);
            assert_eq!(node.hash, root_of(&all[start..end]));
        }
        // 40 leaves: level-3 subtrees 0..5, level-4 subtrees 0..2, level-5 subtree 0.
        assert_eq!(completed.len(), 5 + 2 + 1);
    }

    #[test]
    fn inclusion_proofs_verify_and_reject_tampering() {
        for size in 1..=33u64 {
            let all = leaves(size);
            for index in 0..size {
                let path = inclusion_path::<()>(index, 0, size, &mut |start, len| {
                    Ok(root_of(&all[start as usize..(start + len) as usize]))
                })
                .unwrap_or_default();
                let root = root_of(&all);
                assert_eq!(root_from_inclusion(index, size, all[index as usize], &path), Some(root));
                let wrong_leaf = leaf_hash(b"forged");
                assert_ne!(root_from_inclusion(index, size, wrong_leaf, &path), Some(root));
                if size > 1 {
                    assert_ne!(
                        root_from_inclusion(index, size, all[index as usize], &path[1..]),
                        Some(root)
                    );
                }
            }
        }
    }

    #[test]
    fn frontier_rebuilds_from_parts() {
        let all = leaves(13);
        let parts = subtree_ranges(13)
            .into_iter()
            .map(|(level, start)| (level, root_of(&all[start as usize..(start + (1 << level)) as usize])))
            .collect();
        let mut rebuilt = Frontier::from_parts(13, parts);
        let mut reference = Frontier::new();
        for leaf in &all {
            reference.push(*leaf, 0, &mut |_| {});
        }
        assert_eq!(rebuilt.root(), reference.root());
        let extra = leaf_hash(b"x");
        rebuilt.push(extra, 0, &mut |_| {});
        reference.push(extra, 0, &mut |_| {});
        assert_eq!(rebuilt.root(), reference.root());
    }
}
