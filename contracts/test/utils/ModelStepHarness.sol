// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ModelStep} from "../../src/avs/ModelStep.sol";

/// @notice Exposes the ModelStep library to tests.
contract ModelStepHarness {
    function step(bytes calldata base, bytes[] calldata selected) external pure returns (bytes memory) {
        return ModelStep.step(base, selected);
    }

    function rdiv(int256 x, uint256 m) external pure returns (int256) {
        return ModelStep.rdiv(x, m);
    }
}
