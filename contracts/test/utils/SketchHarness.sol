// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {CountSketch} from "../../src/avs/CountSketch.sol";

/// @notice Exposes the CountSketch library to tests (calldata input).
contract SketchHarness {
    function sketch(bytes calldata update, bytes32 seed, uint256 k) external pure returns (int256[] memory) {
        return CountSketch.sketch(update, seed, k);
    }
}
