// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {
    IAllocationManager, IAVSRegistrar, IStrategy, OperatorSet
} from "../interfaces/IEigenLayer.sol";
import {DevDelegationManager} from "./DevDelegationManager.sol";

/// @notice Devnet stand-in for EigenLayer's AllocationManager (ELIP-002 slashing): operator
/// sets, registration through the AVS's registrar, allocations of magnitude (in WAD) to
/// sets, and `slashOperator`, which lowers the operator's allocated and maximum magnitude
/// and burns the matching delegated shares, so its slashable stake really drops.
/// Devnet simplifications: allocations take effect at once (no delay) and
/// deallocation has no withdrawal queue. Signatures match EigenLayer's.
contract DevAllocationManager is IAllocationManager {
    uint64 public constant WAD = 1e18;

    error NotOperator(address operator);
    error Unauthorized(address caller);
    error OperatorSetExists(address avs, uint32 id);
    error InvalidOperatorSet(address avs, uint32 id);
    error AlreadyMember(address operator, uint32 id);
    error NotMember(address operator, uint32 id);
    error NoRegistrar(address avs);
    error InsufficientMagnitude(address operator, IStrategy strategy);
    error LengthMismatch();
    error InvalidWad(uint256 wad);
    error StrategyNotInSet(IStrategy strategy);

    event OperatorSetCreated(OperatorSet operatorSet);
    event StrategyAddedToOperatorSet(OperatorSet operatorSet, IStrategy strategy);
    event SlasherUpdated(OperatorSet operatorSet, address slasher);
    event AVSRegistrarSet(address avs, IAVSRegistrar registrar);
    event AVSMetadataURIUpdated(address indexed avs, string metadataURI);
    event OperatorAddedToOperatorSet(address indexed operator, OperatorSet operatorSet);
    event OperatorRemovedFromOperatorSet(address indexed operator, OperatorSet operatorSet);
    event AllocationUpdated(address operator, OperatorSet operatorSet, IStrategy strategy, uint64 magnitude);
    event MaxMagnitudeUpdated(address operator, IStrategy strategy, uint64 maxMagnitude);
    event OperatorSlashed(
        address operator, OperatorSet operatorSet, IStrategy[] strategies, uint256[] wadSlashed, string description
    );

    DevDelegationManager public immutable delegation;

    mapping(bytes32 setKey => bool) private _exists;
    mapping(bytes32 setKey => address) public slasherOf;
    mapping(bytes32 setKey => IStrategy[]) private _strategies;
    mapping(bytes32 setKey => address[]) private _members;
    mapping(bytes32 setKey => mapping(address => uint256)) private _memberIndex; // index + 1
    mapping(address avs => IAVSRegistrar) public registrarOf;
    mapping(address operator => mapping(IStrategy => uint64)) private _maxMagnitude; // 0 means WAD
    mapping(address operator => mapping(IStrategy => uint64)) public encumberedMagnitude;
    mapping(address operator => mapping(bytes32 setKey => mapping(IStrategy => uint64))) public allocation;
    uint256 public slashCount;

    constructor(DevDelegationManager delegation_) {
        delegation = delegation_;
    }

    /// @inheritdoc IAllocationManager
    function createOperatorSets(address avs, CreateSetParamsV2[] calldata params) external {
        _onlyAvs(avs);
        for (uint256 i; i < params.length; ++i) {
            OperatorSet memory set = OperatorSet(avs, params[i].operatorSetId);
            bytes32 key = _key(set);
            if (_exists[key]) revert OperatorSetExists(avs, set.id);
            _exists[key] = true;
            slasherOf[key] = params[i].slasher;
            emit OperatorSetCreated(set);
            emit SlasherUpdated(set, params[i].slasher);
            for (uint256 j; j < params[i].strategies.length; ++j) {
                _strategies[key].push(params[i].strategies[j]);
                emit StrategyAddedToOperatorSet(set, params[i].strategies[j]);
            }
        }
    }

    /// @inheritdoc IAllocationManager
    function setAVSRegistrar(address avs, IAVSRegistrar registrar) external {
        _onlyAvs(avs);
        registrarOf[avs] = registrar;
        emit AVSRegistrarSet(avs, registrar);
    }

    /// @inheritdoc IAllocationManager
    function updateAVSMetadataURI(address avs, string calldata metadataURI) external {
        _onlyAvs(avs);
        emit AVSMetadataURIUpdated(avs, metadataURI);
    }

    /// @inheritdoc IAllocationManager
    function registerForOperatorSets(address operator, RegisterParams calldata params) external {
        if (msg.sender != operator) revert Unauthorized(msg.sender);
        if (!delegation.isOperator(operator)) revert NotOperator(operator);
        IAVSRegistrar registrar = registrarOf[params.avs];
        if (address(registrar) == address(0)) revert NoRegistrar(params.avs);
        for (uint256 i; i < params.operatorSetIds.length; ++i) {
            OperatorSet memory set = OperatorSet(params.avs, params.operatorSetIds[i]);
            bytes32 key = _key(set);
            if (!_exists[key]) revert InvalidOperatorSet(set.avs, set.id);
            if (_memberIndex[key][operator] != 0) revert AlreadyMember(operator, set.id);
            _members[key].push(operator);
            _memberIndex[key][operator] = _members[key].length;
            emit OperatorAddedToOperatorSet(operator, set);
        }
        registrar.registerOperator(operator, params.avs, params.operatorSetIds, params.data);
    }

    /// @inheritdoc IAllocationManager
    function deregisterFromOperatorSets(DeregisterParams calldata params) external {
        if (msg.sender != params.operator && msg.sender != params.avs) revert Unauthorized(msg.sender);
        for (uint256 i; i < params.operatorSetIds.length; ++i) {
            OperatorSet memory set = OperatorSet(params.avs, params.operatorSetIds[i]);
            bytes32 key = _key(set);
            uint256 idx = _memberIndex[key][params.operator];
            if (idx == 0) revert NotMember(params.operator, set.id);
            address last = _members[key][_members[key].length - 1];
            _members[key][idx - 1] = last;
            _memberIndex[key][last] = idx;
            _members[key].pop();
            delete _memberIndex[key][params.operator];
            emit OperatorRemovedFromOperatorSet(params.operator, set);
        }
        IAVSRegistrar registrar = registrarOf[params.avs];
        if (address(registrar) != address(0)) {
            registrar.deregisterOperator(params.operator, params.avs, params.operatorSetIds);
        }
    }

    /// @inheritdoc IAllocationManager
    function modifyAllocations(address operator, AllocateParams[] calldata params) external {
        if (msg.sender != operator) revert Unauthorized(msg.sender);
        if (!delegation.isOperator(operator)) revert NotOperator(operator);
        for (uint256 i; i < params.length; ++i) {
            bytes32 key = _key(params[i].operatorSet);
            if (!_exists[key]) revert InvalidOperatorSet(params[i].operatorSet.avs, params[i].operatorSet.id);
            if (params[i].strategies.length != params[i].newMagnitudes.length) revert LengthMismatch();
            for (uint256 j; j < params[i].strategies.length; ++j) {
                IStrategy strategy = params[i].strategies[j];
                uint64 newMag = params[i].newMagnitudes[j];
                uint64 oldMag = allocation[operator][key][strategy];
                uint64 encumbered = encumberedMagnitude[operator][strategy] - oldMag + newMag;
                if (encumbered > maxMagnitude(operator, strategy)) revert InsufficientMagnitude(operator, strategy);
                encumberedMagnitude[operator][strategy] = encumbered;
                allocation[operator][key][strategy] = newMag;
                emit AllocationUpdated(operator, params[i].operatorSet, strategy, newMag);
            }
        }
    }

    /// @inheritdoc IAllocationManager
    /// @dev For each strategy: the slashed magnitude is `allocation * wad / WAD`; it leaves
    /// the allocation, the encumbered and the maximum magnitude, and the operator's shares
    /// shrink by the same fraction of its maximum magnitude (burned).
    function slashOperator(address avs, SlashingParams calldata params)
        external
        returns (uint256 slashId, uint256[] memory shares)
    {
        OperatorSet memory set = OperatorSet(avs, params.operatorSetId);
        bytes32 key = _key(set);
        if (!_exists[key]) revert InvalidOperatorSet(avs, params.operatorSetId);
        if (msg.sender != slasherOf[key]) revert Unauthorized(msg.sender);
        if (_memberIndex[key][params.operator] == 0) revert NotMember(params.operator, params.operatorSetId);
        if (params.strategies.length != params.wadsToSlash.length) revert LengthMismatch();
        slashId = ++slashCount;
        shares = new uint256[](params.strategies.length);
        for (uint256 i; i < params.strategies.length; ++i) {
            IStrategy strategy = params.strategies[i];
            if (!_inSet(key, strategy)) revert StrategyNotInSet(strategy);
            uint256 wad = params.wadsToSlash[i];
            if (wad == 0 || wad > WAD) revert InvalidWad(wad);
            uint64 allocated = allocation[params.operator][key][strategy];
            uint64 slashedMag = uint64((uint256(allocated) * wad + WAD - 1) / WAD); // round up
            if (slashedMag == 0) continue;
            uint64 maxMag = maxMagnitude(params.operator, strategy);
            uint256 opShares = delegation.operatorShares(params.operator, strategy);
            shares[i] = opShares * slashedMag / maxMag;
            allocation[params.operator][key][strategy] = allocated - slashedMag;
            encumberedMagnitude[params.operator][strategy] -= slashedMag;
            _maxMagnitude[params.operator][strategy] = maxMag - slashedMag == 0 ? 1 : maxMag - slashedMag;
            emit AllocationUpdated(params.operator, set, strategy, allocated - slashedMag);
            emit MaxMagnitudeUpdated(params.operator, strategy, maxMag - slashedMag);
            delegation.burnOperatorShares(params.operator, strategy, shares[i]);
        }
        emit OperatorSlashed(params.operator, set, params.strategies, params.wadsToSlash, params.description);
    }

    /// @inheritdoc IAllocationManager
    function getMembers(OperatorSet memory operatorSet) external view returns (address[] memory) {
        return _members[_key(operatorSet)];
    }

    /// @inheritdoc IAllocationManager
    function isMemberOfOperatorSet(address operator, OperatorSet memory operatorSet) external view returns (bool) {
        return _memberIndex[_key(operatorSet)][operator] != 0;
    }

    /// @inheritdoc IAllocationManager
    /// @dev Allocated stake = delegated shares * allocated magnitude / maximum magnitude.
    function getAllocatedStake(OperatorSet memory operatorSet, address[] memory operators, IStrategy[] memory strategies)
        external
        view
        returns (uint256[][] memory slashableStake)
    {
        bytes32 key = _key(operatorSet);
        slashableStake = new uint256[][](operators.length);
        for (uint256 i; i < operators.length; ++i) {
            slashableStake[i] = new uint256[](strategies.length);
            for (uint256 j; j < strategies.length; ++j) {
                uint256 opShares = delegation.operatorShares(operators[i], strategies[j]);
                slashableStake[i][j] =
                    opShares * allocation[operators[i]][key][strategies[j]] / maxMagnitude(operators[i], strategies[j]);
            }
        }
    }

    /// @notice The operator's maximum magnitude in `strategy` (starts at WAD, slashing lowers it).
    function maxMagnitude(address operator, IStrategy strategy) public view returns (uint64) {
        uint64 m = _maxMagnitude[operator][strategy];
        return m == 0 ? WAD : m;
    }

    function _inSet(bytes32 key, IStrategy strategy) private view returns (bool) {
        IStrategy[] storage list = _strategies[key];
        for (uint256 i; i < list.length; ++i) {
            if (list[i] == strategy) return true;
        }
        return false;
    }

    function _onlyAvs(address avs) private view {
        if (msg.sender != avs) revert Unauthorized(msg.sender);
    }

    function _key(OperatorSet memory set) private pure returns (bytes32) {
        return keccak256(abi.encode(set.avs, set.id));
    }
}
