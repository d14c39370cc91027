// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IStrategy} from "../interfaces/IEigenLayer.sol";

/// @notice A devnet strategy: holds one token, one share per token unit.
contract DevStrategy is IStrategy {
    IERC20 private immutable _token;

    constructor(IERC20 token_) {
        _token = token_;
    }

    /// @inheritdoc IStrategy
    function underlyingToken() external view returns (IERC20) {
        return _token;
    }
}
