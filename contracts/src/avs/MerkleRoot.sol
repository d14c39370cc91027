// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title MerkleRoot
/// @notice DESIGN.md's Root of a vector of `d` int32, bit for bit as the Python reference
/// (`p2pfl.merkle`) computes it. The little-endian bytes are cut into 256-byte leaves (64
/// entries each, the last zero-padded); they are the first leaves of a binary tree of fixed
/// depth `D = ceil(log2(ceil(d / 64)))` filled up to `2^D` leaves with padding leaves of
/// 256 zero bytes. Leaf hash `keccak256(leaf)`, node `keccak256(left ‖ right)`. A leaf's
/// proof is its `D` sibling hashes, bottom up; leaf `i` is the left child at level `l` iff
/// bit `l` of `i` is 0.
///
/// A chunk is an aligned subtree of height `h = min(D, 8)`: with `D >= 8`, 2^8 leaves
/// (16,384 entries, 64 KiB) proven by `D - 8` hashes; with `D < 8` the whole tree (2^D
/// leaves, `256 · 2^D` bytes) is the only chunk, index 0, with an empty proof. Chunk bytes
/// include their padding (zero bytes up to the chunk's last leaf).
///
/// The tree does not bind `d`: a caller that knows `d` checks that proven bytes past entry
/// `d` are zero. Malformed input (length of a leaf, chunk or proof; index out of range)
/// reverts; a well-formed proof that does not lead to the root returns false.
library MerkleRoot {
    /// @notice Bytes in a leaf: 64 int32 entries.
    uint256 internal constant LEAF_BYTES = 256;
    /// @notice Height of a chunk's subtree in a tree of depth at least 8.
    uint256 internal constant CHUNK_HEIGHT = 8;
    /// @notice Bytes in a chunk of a tree of depth at least 8: 2^8 leaves, 64 KiB.
    uint256 internal constant CHUNK_BYTES = LEAF_BYTES << CHUNK_HEIGHT;

    /// @notice A leaf is not exactly `LEAF_BYTES` long.
    error BadLeafLength(uint256 length);
    /// @notice A chunk is not `LEAF_BYTES << min(depth, CHUNK_HEIGHT)` bytes long.
    error BadChunkLength(uint256 length, uint256 expected);
    /// @notice A proof does not have the number of hashes the depth requires.
    error BadProofLength(uint256 length, uint256 expected);
    /// @notice A leaf or chunk index is not below `2^levels` (the levels above it).
    error IndexOutOfRange(uint256 index, uint256 levels);

    /// @notice The hash of a leaf of exactly 256 bytes.
    function leafHash(bytes memory leaf) internal pure returns (bytes32 h) {
        if (leaf.length != LEAF_BYTES) revert BadLeafLength(leaf.length);
        assembly ("memory-safe") {
            h := keccak256(add(leaf, 0x20), LEAF_BYTES)
        }
    }

    /// @notice The root reached from the node `node` at position `index` of its level
    /// through `proof`, the sibling hashes bottom up. `index` must be below `2^proof.length`.
    function rootFromLeaf(bytes32 node, uint256 index, bytes32[] memory proof) internal pure returns (bytes32) {
        uint256 levels = proof.length;
        if (index >> levels != 0) revert IndexOutOfRange(index, levels);
        assembly ("memory-safe") {
            let p := add(proof, 0x20)
            for { let l := 0 } lt(l, levels) { l := add(l, 1) } {
                let sibling := mload(add(p, shl(5, l)))
                // bit l of the index: 1 = the node is the right child
                let right := and(shr(l, index), 1)
                mstore(shl(5, right), node)
                mstore(shl(5, xor(right, 1)), sibling)
                node := keccak256(0x00, 0x40)
            }
        }
        return node;
    }

    /// @notice Whether `leaf` (256 bytes) is leaf `index` of the depth-`depth` tree of `root`.
    function verifyLeaf(bytes32 root, uint256 index, bytes memory leaf, bytes32[] memory proof, uint256 depth)
        internal
        pure
        returns (bool)
    {
        if (proof.length != depth) revert BadProofLength(proof.length, depth);
        return rootFromLeaf(leafHash(leaf), index, proof) == root;
    }

    /// @notice The root of the depth-`depth` tree whose first leaves hash to `hashes` and
    /// whose other leaves are padding (256 zero bytes): how a result's posted leaf hashes
    /// become its model root. Reverts unless `1 <= hashes.length <= 2^depth`.
    /// @dev Reduces `hashes` in place (a memory copy of the caller's): level by level,
    /// a missing right node is the root of a padding subtree of that height.
    function rootOfLeafHashes(bytes32[] memory hashes, uint256 depth) internal pure returns (bytes32) {
        uint256 n = hashes.length;
        if (n == 0 || n > uint256(1) << depth) revert IndexOutOfRange(n, depth);
        bytes32 zero = leafHash(new bytes(LEAF_BYTES));
        for (uint256 l; l < depth; ++l) {
            uint256 m = (n + 1) >> 1;
            for (uint256 j; j < m; ++j) {
                bytes32 right = 2 * j + 1 < n ? hashes[2 * j + 1] : zero;
                hashes[j] = _pair(hashes[2 * j], right);
            }
            n = m;
            zero = _pair(zero, zero);
        }
        return hashes[0];
    }

    function _pair(bytes32 left, bytes32 right) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            mstore(0x00, left)
            mstore(0x20, right)
            h := keccak256(0x00, 0x40)
        }
    }

    /// @notice Height of a chunk's subtree in a tree of depth `depth`: `min(depth, 8)`.
    function chunkHeight(uint256 depth) internal pure returns (uint256) {
        return depth < CHUNK_HEIGHT ? depth : CHUNK_HEIGHT;
    }

    /// @notice The subtree root of a 64 KiB chunk (2^8 leaves).
    function chunkRoot(bytes memory chunk) internal pure returns (bytes32) {
        if (chunk.length != CHUNK_BYTES) revert BadChunkLength(chunk.length, CHUNK_BYTES);
        return subtreeRoot(chunk, CHUNK_HEIGHT);
    }

    /// @notice Whether `chunk` is chunk `chunkIndex` of the depth-`depth` tree of `root`:
    /// `LEAF_BYTES << min(depth, 8)` bytes proven by `depth - min(depth, 8)` hashes.
    function verifyChunk(bytes32 root, uint256 chunkIndex, bytes memory chunk, bytes32[] memory proof, uint256 depth)
        internal
        pure
        returns (bool)
    {
        uint256 height = chunkHeight(depth);
        uint256 size = LEAF_BYTES << height;
        if (chunk.length != size) revert BadChunkLength(chunk.length, size);
        if (proof.length != depth - height) revert BadProofLength(proof.length, depth - height);
        return rootFromLeaf(subtreeRoot(chunk, height), chunkIndex, proof) == root;
    }

    /// @notice The root of the `2^height` leaves held in `data` (`LEAF_BYTES << height`
    /// bytes, unchecked here: callers check the length). `height` is at most 8.
    /// @dev Level 1 is hashed straight from the leaves into free memory (not allocated:
    /// `2^(height-1)` words past the free memory pointer), then reduced in place.
    function subtreeRoot(bytes memory data, uint256 height) internal pure returns (bytes32 r) {
        assembly ("memory-safe") {
            let src := add(data, 0x20)
            switch height
            case 0 { r := keccak256(src, LEAF_BYTES) }
            default {
                let buf := mload(0x40)
                let m := shl(sub(height, 1), 1) // nodes at level 1
                for { let j := 0 } lt(j, m) { j := add(j, 1) } {
                    let leaf := add(src, shl(9, j)) // two leaves: 512 bytes
                    mstore(0x00, keccak256(leaf, LEAF_BYTES))
                    mstore(0x20, keccak256(add(leaf, LEAF_BYTES), LEAF_BYTES))
                    mstore(add(buf, shl(5, j)), keccak256(0x00, 0x40))
                }
                for {} gt(m, 1) { m := shr(1, m) } {
                    let half := shr(1, m)
                    for { let j := 0 } lt(j, half) { j := add(j, 1) } {
                        mstore(add(buf, shl(5, j)), keccak256(add(buf, shl(6, j)), 0x40))
                    }
                }
                r := mload(buf)
            }
        }
    }
}
