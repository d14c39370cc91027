// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {MerkleRoot} from "../../src/avs/MerkleRoot.sol";

/// @notice Exposes the MerkleRoot library to tests (calldata decoded into memory, as a
/// contract's external function would).
contract MerkleHarness {
    function leafHash(bytes calldata leaf) external pure returns (bytes32) {
        return MerkleRoot.leafHash(leaf);
    }

    function rootOfLeafHashes(bytes32[] calldata hashes, uint256 depth) external pure returns (bytes32) {
        return MerkleRoot.rootOfLeafHashes(hashes, depth);
    }

    function rootFromLeaf(bytes32 node, uint256 index, bytes32[] calldata proof) external pure returns (bytes32) {
        return MerkleRoot.rootFromLeaf(node, index, proof);
    }

    function verifyLeaf(bytes32 root, uint256 index, bytes calldata leaf, bytes32[] calldata proof, uint256 depth)
        external
        pure
        returns (bool)
    {
        return MerkleRoot.verifyLeaf(root, index, leaf, proof, depth);
    }

    function chunkRoot(bytes calldata chunk) external pure returns (bytes32) {
        return MerkleRoot.chunkRoot(chunk);
    }

    function verifyChunk(
        bytes32 root,
        uint256 chunkIndex,
        bytes calldata chunk,
        bytes32[] calldata proof,
        uint256 depth
    ) external pure returns (bool) {
        return MerkleRoot.verifyChunk(root, chunkIndex, chunk, proof, depth);
    }

    /// @notice Gas of the library calls alone (the arguments already in memory).
    function gasOfLibrary(
        bytes32 root,
        bytes calldata leaf,
        bytes calldata chunk,
        bytes32[] calldata leafProof,
        bytes32[] calldata chunkProof
    ) external view returns (uint256 leafGas, uint256 chunkGas) {
        bytes memory l = leaf;
        bytes memory c = chunk;
        bytes32[] memory lp = leafProof;
        bytes32[] memory cp = chunkProof;
        uint256 before = gasleft();
        bool ok = MerkleRoot.verifyLeaf(root, 730, l, lp, 10);
        leafGas = before - gasleft();
        require(ok);
        before = gasleft();
        ok = MerkleRoot.verifyChunk(root, 2, c, cp, 10);
        chunkGas = before - gasleft();
        require(ok);
    }
}
