// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {UpdateChunk} from "../../src/avs/UpdateChunk.sol";

/// @notice Exposes the UpdateChunk library to tests (chunk and proof as calldata, as the
/// challenge functions receive them).
contract ChunkHarness {
    function depth(uint256 d) external pure returns (uint256) {
        return UpdateChunk.depth(d);
    }

    function chunkCount(uint256 d) external pure returns (uint256) {
        return UpdateChunk.chunkCount(d);
    }

    function place(uint256 d, uint256 c) external pure returns (UpdateChunk.Place memory) {
        return UpdateChunk.place(d, c);
    }

    /// @notice Verify, then compute both statistics of the chunk.
    function prove(
        bytes32 root,
        uint256 d,
        uint256 c,
        bytes calldata chunk,
        bytes32[] calldata proof,
        bytes32 seed,
        uint256 k
    ) external pure returns (int256[] memory partialSketch, uint256 sumOfSquares) {
        UpdateChunk.Place memory p = UpdateChunk.verify(root, d, c, chunk, proof);
        partialSketch = UpdateChunk.partialSketch(chunk, p, seed, k);
        sumOfSquares = UpdateChunk.sumOfSquares(chunk, p);
    }
}
