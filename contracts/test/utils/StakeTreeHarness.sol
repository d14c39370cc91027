// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {StakeTree} from "../../src/avs/StakeTree.sol";

/// @notice Exposes one `StakeTree` (the internal library) to tests, with a naive mirror of
/// the weights to check it against.
contract StakeTreeHarness {
    using StakeTree for StakeTree.Tree;

    StakeTree.Tree private _tree;
    /// @notice The naive mirror: each slot's weight.
    mapping(uint256 slot => uint256) public naive;
    /// @notice The number of slots of positive weight.
    uint256 public nonZero;

    /// @notice `StakeTree.set`, mirrored.
    function set(uint256 slot, uint256 weight) external {
        _tree.set(slot, weight);
        if ((naive[slot] != 0) != (weight != 0)) {
            if (weight == 0) --nonZero;
            else ++nonZero;
        }
        naive[slot] = weight;
    }

    /// @notice Set slots `0 .. weights.length - 1`.
    function setAll(uint256[] calldata weights) external {
        for (uint256 i; i < weights.length; ++i) {
            this.set(i, weights[i]);
        }
    }

    /// @notice `StakeTree.weightOf`.
    function weightOf(uint256 slot) external view returns (uint256) {
        return _tree.weightOf(slot);
    }

    /// @notice The tree's total.
    function total() external view returns (uint256) {
        return _tree.total;
    }

    /// @notice `StakeTree.prefix`.
    function prefix(uint256 count) external view returns (uint256) {
        return _tree.prefix(count);
    }

    /// @notice The naive prefix sum of the slots `0 .. count - 1`.
    function naivePrefix(uint256 count) external view returns (uint256 sum) {
        for (uint256 i; i < count; ++i) {
            sum += naive[i];
        }
    }

    /// @notice `StakeTree.find`.
    function find(uint256 r) external view returns (uint256) {
        return _tree.find(r);
    }

    /// @notice The naive find: the first slot whose running sum exceeds `r`.
    function naiveFind(uint256 r) external view returns (uint256 slot) {
        uint256 sum;
        for (; slot < StakeTree.CAPACITY; ++slot) {
            sum += naive[slot];
            if (r < sum) return slot;
        }
        revert StakeTree.OutOfRange(r, sum);
    }

    /// @notice `StakeTree.sample` with the mirror's count of positive weights.
    function sample(bytes32 seed, uint256 size) external view returns (uint256[] memory) {
        return _tree.sample(seed, size, nonZero);
    }

    /// @notice `StakeTree.sample` without the early stop (every draw up to the bound).
    function sampleNoEarlyStop(bytes32 seed, uint256 size) external view returns (uint256[] memory) {
        return _tree.sample(seed, size, type(uint256).max);
    }
}
