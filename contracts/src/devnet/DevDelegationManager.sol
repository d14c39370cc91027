// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {
    IAllocationManager,
    IDelegationManager,
    IStrategy,
    IStrategyManager,
    OperatorSet
} from "../interfaces/IEigenLayer.sol";

/// @notice Devnet stand-in for EigenLayer's DelegationManager: operator registration (which
/// sets the operator's allocation delay in the AllocationManager, effective at once, as the
/// core does), delegation, and each operator's delegated shares, which deposits raise and
/// slashing lowers in proportion to the fall of the operator's max magnitude. Signatures,
/// errors and events are the core's. Devnet simplifications: no withdrawals, no delegation
/// approvers (signatures ignored), no deposit scaling factors (a staker's own shares are
/// not scaled down by its operator's slashes), no pausing.
contract DevDelegationManager is IDelegationManager {
    /// @notice Wiring happens once, by the deployer (the three core contracts know each other).
    error AlreadyInitialized();

    address private immutable _deployer;
    IAllocationManager public allocationManager;
    IStrategyManager public strategyManager;

    /// @inheritdoc IDelegationManager
    mapping(address staker => address operator) public delegatedTo;
    /// @inheritdoc IDelegationManager
    mapping(address operator => mapping(IStrategy strategy => uint256 shares)) public operatorShares;

    modifier onlyAllocationManager() {
        if (msg.sender != address(allocationManager)) revert OnlyAllocationManager();
        _;
    }

    constructor() {
        _deployer = msg.sender;
    }

    /// @notice Wire the allocation and strategy managers (deployer only, once).
    function initialize(IAllocationManager allocationManager_, IStrategyManager strategyManager_) external {
        if (msg.sender != _deployer || address(allocationManager) != address(0)) revert AlreadyInitialized();
        allocationManager = allocationManager_;
        strategyManager = strategyManager_;
    }

    /// @inheritdoc IDelegationManager
    function registerAsOperator(address initDelegationApprover, uint32 allocationDelay, string calldata metadataURI)
        external
    {
        if (isDelegated(msg.sender)) revert ActivelyDelegated();
        allocationManager.setAllocationDelay(msg.sender, allocationDelay);
        _delegate(msg.sender, msg.sender);
        emit OperatorRegistered(msg.sender, initDelegationApprover);
        emit OperatorMetadataURIUpdated(msg.sender, metadataURI);
    }

    /// @inheritdoc IDelegationManager
    /// @dev The devnet has no delegation approvers: the signature is ignored.
    function delegateTo(address operator, SignatureWithExpiry memory, bytes32) external {
        if (isDelegated(msg.sender)) revert ActivelyDelegated();
        if (!isOperator(operator)) revert OperatorNotRegistered();
        _delegate(msg.sender, operator);
    }

    /// @inheritdoc IDelegationManager
    function increaseDelegatedShares(address staker, IStrategy strategy, uint256, uint256 addedShares) external {
        if (msg.sender != address(strategyManager)) revert OnlyStrategyManagerOrEigenPodManager();
        address operator = delegatedTo[staker];
        if (operator != address(0)) _increaseDelegation(operator, staker, strategy, addedShares);
    }

    /// @inheritdoc IDelegationManager
    /// @dev The core's rounding: the operator keeps `shares * newMax / prevMax` rounded up.
    function slashOperatorShares(
        address operator,
        OperatorSet calldata operatorSet,
        uint256 slashId,
        IStrategy strategy,
        uint64 prevMaxMagnitude,
        uint64 newMaxMagnitude
    ) external onlyAllocationManager returns (uint256 totalDepositSharesToSlash) {
        uint256 shares = operatorShares[operator][strategy];
        uint256 kept = (shares * newMaxMagnitude + prevMaxMagnitude - 1) / prevMaxMagnitude;
        totalDepositSharesToSlash = shares - kept;
        operatorShares[operator][strategy] = kept;
        emit OperatorSharesDecreased(operator, address(0), strategy, totalDepositSharesToSlash);
        emit OperatorSharesSlashed(operator, strategy, totalDepositSharesToSlash);
        strategyManager.increaseBurnOrRedistributableShares(operatorSet, slashId, strategy, totalDepositSharesToSlash);
    }

    /// @inheritdoc IDelegationManager
    function isOperator(address operator) public view returns (bool) {
        return operator != address(0) && delegatedTo[operator] == operator;
    }

    /// @inheritdoc IDelegationManager
    function isDelegated(address staker) public view returns (bool) {
        return delegatedTo[staker] != address(0);
    }

    /// @inheritdoc IDelegationManager
    function getOperatorShares(address operator, IStrategy[] memory strategies)
        external
        view
        returns (uint256[] memory shares)
    {
        shares = new uint256[](strategies.length);
        for (uint256 i; i < strategies.length; ++i) {
            shares[i] = operatorShares[operator][strategies[i]];
        }
    }

    /// @dev The staker's deposits so far move to the operator with it, as in the core.
    function _delegate(address staker, address operator) private {
        delegatedTo[staker] = operator;
        emit StakerDelegated(staker, operator);
        (IStrategy[] memory strategies, uint256[] memory shares) = strategyManager.getDeposits(staker);
        for (uint256 i; i < strategies.length; ++i) {
            _increaseDelegation(operator, staker, strategies[i], shares[i]);
        }
    }

    /// @dev A fully slashed operator (max magnitude 0) takes no new shares (`FullySlashed`).
    function _increaseDelegation(address operator, address staker, IStrategy strategy, uint256 shares) private {
        if (allocationManager.getMaxMagnitude(operator, strategy) == 0) revert FullySlashed();
        if (shares == 0) return;
        operatorShares[operator][strategy] += shares;
        emit OperatorSharesIncreased(operator, staker, strategy, shares);
    }
}
