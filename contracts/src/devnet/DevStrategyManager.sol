// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IDelegationManager, IStrategy, IStrategyManager, OperatorSet} from "../interfaces/IEigenLayer.sol";

/// @notice Devnet stand-in for EigenLayer's StrategyManager: deposits of any ERC-20 into
/// whitelisted strategies (the tokens go to the strategy, which mints shares), the
/// stakers' deposit shares, and the slashed shares waiting to be burned. Signatures,
/// errors and events are the core's. Devnet simplifications: no withdrawals, no pausing,
/// no deposits by signature; slashed shares are recorded, never burned.
contract DevStrategyManager is IStrategyManager {
    using SafeERC20 for IERC20;

    IDelegationManager public immutable delegation;
    /// @notice Who may whitelist strategies for deposit (the deployer on a devnet).
    address public immutable strategyWhitelister;

    /// @inheritdoc IStrategyManager
    mapping(IStrategy strategy => bool) public strategyIsWhitelistedForDeposit;
    /// @inheritdoc IStrategyManager
    mapping(address staker => mapping(IStrategy strategy => uint256)) public stakerDepositShares;
    mapping(address staker => IStrategy[]) private _stakerStrategies;
    /// @notice Slashed shares of each strategy (never burned on the devnet).
    mapping(IStrategy strategy => uint256) public burnableShares;

    constructor(IDelegationManager delegation_, address strategyWhitelister_) {
        delegation = delegation_;
        strategyWhitelister = strategyWhitelister_;
    }

    /// @inheritdoc IStrategyManager
    function addStrategiesToDepositWhitelist(IStrategy[] calldata strategiesToWhitelist) external {
        if (msg.sender != strategyWhitelister) revert OnlyStrategyWhitelister();
        for (uint256 i; i < strategiesToWhitelist.length; ++i) {
            if (!strategyIsWhitelistedForDeposit[strategiesToWhitelist[i]]) {
                strategyIsWhitelistedForDeposit[strategiesToWhitelist[i]] = true;
                emit StrategyAddedToDepositWhitelist(strategiesToWhitelist[i]);
            }
        }
    }

    /// @inheritdoc IStrategyManager
    /// @dev As the core: tokens to the strategy, shares from it, then the staker's operator
    /// (if any) gets the shares delegated.
    function depositIntoStrategy(IStrategy strategy, IERC20 token, uint256 amount)
        external
        returns (uint256 depositShares)
    {
        if (!strategyIsWhitelistedForDeposit[strategy]) revert StrategyNotWhitelisted();
        token.safeTransferFrom(msg.sender, address(strategy), amount);
        depositShares = strategy.deposit(token, amount);
        if (depositShares == 0) revert SharesAmountZero();
        uint256 prev = stakerDepositShares[msg.sender][strategy];
        if (prev == 0) _stakerStrategies[msg.sender].push(strategy);
        stakerDepositShares[msg.sender][strategy] = prev + depositShares;
        emit Deposit(msg.sender, strategy, depositShares);
        delegation.increaseDelegatedShares(msg.sender, strategy, prev, depositShares);
    }

    /// @inheritdoc IStrategyManager
    function increaseBurnOrRedistributableShares(
        OperatorSet calldata operatorSet,
        uint256 slashId,
        IStrategy strategy,
        uint256 addedSharesToBurn
    ) external {
        if (msg.sender != address(delegation)) revert OnlyDelegationManager();
        burnableShares[strategy] += addedSharesToBurn;
        emit BurnOrRedistributableSharesIncreased(operatorSet, slashId, strategy, addedSharesToBurn);
    }

    /// @inheritdoc IStrategyManager
    function getDeposits(address staker)
        external
        view
        returns (IStrategy[] memory strategies, uint256[] memory shares)
    {
        strategies = _stakerStrategies[staker];
        shares = new uint256[](strategies.length);
        for (uint256 i; i < strategies.length; ++i) {
            shares[i] = stakerDepositShares[staker][strategies[i]];
        }
    }
}
