// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IDelegationManager, IStrategy, IStrategyManager} from "../interfaces/IEigenLayer.sol";

/// @notice Devnet stand-in for EigenLayer's DelegationManager and StrategyManager:
/// deposits into strategies, operator registration, delegation, and the operator's
/// delegated shares, which slashing burns. Function signatures match EigenLayer's.
contract DevDelegationManager is IDelegationManager, IStrategyManager {
    using SafeERC20 for IERC20;

    error AlreadyOperator(address operator);
    error NotOperator(address operator);
    error AlreadyDelegated(address staker);
    error WrongToken(IStrategy strategy, IERC20 token);
    error ZeroAmount();
    error OnlyAllocationManager(address caller);
    error AllocationManagerAlreadySet();

    event OperatorRegistered(address indexed operator, address delegationApprover);
    event OperatorMetadataURIUpdated(address indexed operator, string metadataURI);
    event StakerDelegated(address indexed staker, address indexed operator);
    event Deposit(address indexed staker, IStrategy indexed strategy, uint256 shares);
    event OperatorSharesIncreased(address indexed operator, address staker, IStrategy strategy, uint256 shares);
    event OperatorSharesSlashed(address indexed operator, IStrategy strategy, uint256 shares);
    event AllocationManagerSet(address allocationManager);

    mapping(address operator => bool) private _isOperator;
    mapping(address staker => address operator) public delegatedTo;
    mapping(address staker => mapping(IStrategy => uint256)) public stakerShares;
    mapping(address operator => mapping(IStrategy => uint256)) public operatorShares;
    mapping(address operator => uint32) public allocationDelay;
    address public allocationManager;
    address private immutable _deployer;

    constructor() {
        _deployer = msg.sender;
    }

    /// @notice Wire the allocation manager, which alone may burn slashed shares (once).
    function setAllocationManager(address allocationManager_) external {
        if (msg.sender != _deployer || allocationManager != address(0)) revert AllocationManagerAlreadySet();
        allocationManager = allocationManager_;
        emit AllocationManagerSet(allocationManager_);
    }

    /// @inheritdoc IDelegationManager
    function registerAsOperator(address initDelegationApprover, uint32 allocationDelay_, string calldata metadataURI)
        external
    {
        if (_isOperator[msg.sender]) revert AlreadyOperator(msg.sender);
        if (delegatedTo[msg.sender] != address(0)) revert AlreadyDelegated(msg.sender);
        _isOperator[msg.sender] = true;
        allocationDelay[msg.sender] = allocationDelay_;
        emit OperatorRegistered(msg.sender, initDelegationApprover);
        emit OperatorMetadataURIUpdated(msg.sender, metadataURI);
        _delegate(msg.sender, msg.sender);
    }

    /// @inheritdoc IDelegationManager
    /// @dev The devnet has no delegation approvers: the signature is ignored.
    function delegateTo(address operator, SignatureWithExpiry memory, bytes32) external {
        if (!_isOperator[operator]) revert NotOperator(operator);
        if (delegatedTo[msg.sender] != address(0)) revert AlreadyDelegated(msg.sender);
        _delegate(msg.sender, operator);
    }

    /// @inheritdoc IStrategyManager
    function depositIntoStrategy(IStrategy strategy, IERC20 token, uint256 amount)
        external
        returns (uint256 depositShares)
    {
        if (amount == 0) revert ZeroAmount();
        if (strategy.underlyingToken() != token) revert WrongToken(strategy, token);
        depositShares = amount;
        stakerShares[msg.sender][strategy] += depositShares;
        address operator = delegatedTo[msg.sender];
        if (operator != address(0)) {
            operatorShares[operator][strategy] += depositShares;
            emit OperatorSharesIncreased(operator, msg.sender, strategy, depositShares);
        }
        emit Deposit(msg.sender, strategy, depositShares);
        token.safeTransferFrom(msg.sender, address(strategy), amount);
    }

    /// @notice Burn `shares` of `operator`'s delegated shares in `strategy` (slashing).
    function burnOperatorShares(address operator, IStrategy strategy, uint256 shares) external {
        if (msg.sender != allocationManager) revert OnlyAllocationManager(msg.sender);
        operatorShares[operator][strategy] -= shares;
        emit OperatorSharesSlashed(operator, strategy, shares);
    }

    /// @inheritdoc IDelegationManager
    function isOperator(address operator) external view returns (bool) {
        return _isOperator[operator];
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

    function _delegate(address staker, address operator) private {
        delegatedTo[staker] = operator;
        emit StakerDelegated(staker, operator);
    }
}
