// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {CountSketch} from "./CountSketch.sol";
import {MerkleRoot} from "./MerkleRoot.sol";

/// @title UpdateChunk
/// @notice One chunk of a committed vector of `d` int32 (DESIGN.md's Root): where it lies,
/// that it belongs to the committed root, and what the protocol computes from it — its
/// partial CountSketch (the sketch challenge) and its sum of squares (the norm proof).
/// Bit for bit as the Python reference (`p2pfl.merkle`): chunk `c` of a tree of depth `D`
/// holds entries `c · 64 · 2^h ..` with `h = min(D, 8)`; entries at or past `d` are
/// padding and must be zero bytes.
library UpdateChunk {
    /// @notice Entries in a leaf.
    uint256 internal constant LEAF_ENTRIES = MerkleRoot.LEAF_BYTES / 4;

    /// @notice The vector length is zero.
    error EmptyVector();
    /// @notice `chunkIndex` is not a chunk of a vector of `d` entries (`chunks` of them).
    error ChunkOutOfRange(uint256 chunkIndex, uint256 chunks);
    /// @notice The chunk and its proof do not lead to the committed root.
    error ChunkNotInRoot(uint256 chunkIndex);
    /// @notice The chunk's bytes past entry `d` are not zero: not a vector of `d` entries.
    error PaddingNotZero(uint256 chunkIndex);

    /// @notice Where a chunk lies in its vector.
    struct Place {
        /// @notice Depth `D` of the vector's tree.
        uint256 depth;
        /// @notice Height of a chunk's subtree, `min(D, 8)`.
        uint256 height;
        /// @notice Index of the chunk's first entry (a multiple of 64).
        uint256 first;
        /// @notice Entries of the chunk below `d` (the rest is padding).
        uint256 count;
    }

    /// @notice `D = ceil(log2(ceil(d / 64)))`.
    function depth(uint256 d) internal pure returns (uint256 D) {
        if (d == 0) revert EmptyVector();
        uint256 leaves = (d + LEAF_ENTRIES - 1) / LEAF_ENTRIES;
        while ((uint256(1) << D) < leaves) ++D;
    }

    /// @notice Chunks of a vector of `d` entries (`2^(D - h)`; the last ones may be all padding).
    function chunkCount(uint256 d) internal pure returns (uint256) {
        uint256 D = depth(d);
        return uint256(1) << (D - MerkleRoot.chunkHeight(D));
    }

    /// @notice Chunks of a vector of `d` entries that hold at least one entry (the others are
    /// padding only: zero bytes, nothing to prove).
    function liveChunks(uint256 d) internal pure returns (uint256) {
        uint256 size = LEAF_ENTRIES << MerkleRoot.chunkHeight(depth(d));
        return (d + size - 1) / size;
    }

    /// @notice Where chunk `c` of a vector of `d` entries lies.
    function place(uint256 d, uint256 c) internal pure returns (Place memory p) {
        p.depth = depth(d);
        p.height = MerkleRoot.chunkHeight(p.depth);
        uint256 chunks = uint256(1) << (p.depth - p.height);
        if (c >= chunks) revert ChunkOutOfRange(c, chunks);
        uint256 size = LEAF_ENTRIES << p.height;
        p.first = c * size;
        p.count = d > p.first ? (d - p.first < size ? d - p.first : size) : 0;
    }

    /// @notice Check that `chunk` is chunk `c` of the committed `root` of a vector of `d`
    /// entries (Merkle proof `proof`, bottom up) with zero padding; returns its place.
    /// Reverts with `ChunkNotInRoot` or `PaddingNotZero` (and MerkleRoot's length errors).
    function verify(bytes32 root, uint256 d, uint256 c, bytes calldata chunk, bytes32[] calldata proof)
        internal
        pure
        returns (Place memory p)
    {
        p = place(d, c);
        if (!MerkleRoot.verifyChunk(root, c, chunk, proof, p.depth)) revert ChunkNotInRoot(c);
        // Padding starts at byte 4·count; chunk.length is a multiple of 256. The first
        // word that holds padding is masked to the padding's bytes.
        uint256 start = p.count * 4;
        uint256 i = start & ~uint256(31);
        uint256 mask = type(uint256).max >> (8 * (start - i));
        for (; i < chunk.length; i += 32) {
            uint256 word;
            assembly ("memory-safe") {
                word := calldataload(add(chunk.offset, i))
            }
            if (word & mask != 0) revert PaddingNotZero(c);
            mask = type(uint256).max;
        }
    }

    /// @notice The partial sketch of a verified chunk (its entries below `d` only).
    function partialSketch(bytes calldata chunk, Place memory p, bytes32 seed, uint256 k)
        internal
        pure
        returns (int256[] memory)
    {
        return CountSketch.sketchFrom(chunk[:p.count * 4], p.first / 8, seed, k);
    }

    /// @notice `Σ q²` over a verified chunk's entries below `d` (at most 2^14 · 2^62 < 2^77).
    function sumOfSquares(bytes calldata chunk, Place memory p) internal pure returns (uint256 s) {
        uint256 end = p.count * 4;
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, end) { i := add(i, 4) } {
                let w := calldataload(add(chunk.offset, i))
                // little-endian int32 in the word's top 4 bytes
                let v := or(or(byte(0, w), shl(8, byte(1, w))), or(shl(16, byte(2, w)), shl(24, byte(3, w))))
                v := signextend(3, v)
                s := add(s, mul(v, v))
            }
        }
    }
}
