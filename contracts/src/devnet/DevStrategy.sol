// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IStrategy} from "../interfaces/IEigenLayer.sol";

/// @notice Devnet stand-in for EigenLayer's `StrategyBase`: holds one ERC-20, mints shares
/// only when the StrategyManager deposits. Devnet simplification: one share per token
/// unit (the core's exchange rate, with its virtual offsets, is also 1:1 until slashed
/// shares are burned); no withdrawals.
contract DevStrategy is IStrategy {
    IERC20 private immutable _token;
    /// @notice The StrategyManager, the only depositor.
    address public immutable strategyManager;
    /// @inheritdoc IStrategy
    uint256 public totalShares;

    constructor(address strategyManager_, IERC20 token_) {
        strategyManager = strategyManager_;
        _token = token_;
    }

    /// @inheritdoc IStrategy
    function underlyingToken() external view returns (IERC20) {
        return _token;
    }

    /// @inheritdoc IStrategy
    /// @dev The tokens already arrived (the StrategyManager moved them here first).
    function deposit(IERC20 token, uint256 amount) external returns (uint256 newShares) {
        if (msg.sender != strategyManager) revert OnlyStrategyManager();
        if (token != _token) revert OnlyUnderlyingToken();
        newShares = amount;
        if (newShares == 0) revert NewSharesZero();
        totalShares += newShares;
    }
}
