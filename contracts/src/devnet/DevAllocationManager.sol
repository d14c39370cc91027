// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {
    IAllocationManager,
    IAVSRegistrar,
    IDelegationManager,
    IPermissionControllerMixin,
    IStrategy,
    OperatorSet
} from "../interfaces/IEigenLayer.sol";

/// @notice Devnet stand-in for EigenLayer's AllocationManager (core v1.12): operator sets,
/// registration through the AVS's registrar (the AVS itself when none is set),
/// allocations of magnitude (WAD = all of a strategy) that count only after the
/// operator's allocation delay, deallocations queued while slashable, a slashable window
/// after deregistration, and `slashOperator`, which lowers the allocated, encumbered and
/// max magnitude and has the DelegationManager slash the operator's shares. Signatures,
/// custom errors, events and the order of the checks are the core's.
/// Devnet simplifications: the delays are constructor parameters (small on a devnet);
/// callers act only for themselves (no PermissionController appointees); no pausing,
/// redistribution or slasher changes; a completed deallocation frees its magnitude when
/// that allocation is next read for a change (the core also sweeps a per-strategy queue).
contract DevAllocationManager is IAllocationManager, IPermissionControllerMixin {
    uint64 internal constant WAD = 1e18;

    /// @notice Blocks a deregistered operator stays slashable, and a queued deallocation
    /// stays slashable (it completes one block later).
    uint32 public immutable DEALLOCATION_DELAY;
    /// @notice Blocks before an operator's changed allocation delay applies (+ 1).
    uint32 public immutable ALLOCATION_CONFIGURATION_DELAY;
    IDelegationManager public immutable delegation;

    struct DelayInfo {
        uint32 delay;
        bool isSet;
        uint32 pendingDelay;
        uint32 effectBlock;
    }

    struct Registration {
        bool registered;
        uint32 slashableUntil; // last block a deregistered operator can be slashed in
    }

    mapping(address avs => bool) private _hasMetadata;
    mapping(address avs => IAVSRegistrar) private _registrar;
    mapping(bytes32 setKey => bool) private _exists;
    mapping(bytes32 setKey => address) private _slasher;
    mapping(bytes32 setKey => IStrategy[]) private _strategies;
    mapping(bytes32 setKey => mapping(IStrategy => bool)) private _hasStrategy;
    mapping(bytes32 setKey => address[]) private _members;
    mapping(bytes32 setKey => mapping(address => uint256)) private _memberIndex; // index + 1
    mapping(bytes32 setKey => uint256) private _slashIds;
    mapping(address operator => mapping(bytes32 setKey => Registration)) private _registration;
    mapping(address operator => DelayInfo) private _delay;
    mapping(address operator => mapping(bytes32 setKey => mapping(IStrategy => Allocation))) private _allocations;
    mapping(address operator => mapping(IStrategy => uint64)) private _encumbered;
    /// @dev Max magnitude is WAD minus everything slashed, so an untouched strategy reads WAD.
    mapping(address operator => mapping(IStrategy => uint64)) private _slashedMagnitude;

    constructor(IDelegationManager delegation_, uint32 deallocationDelay, uint32 allocationConfigurationDelay) {
        delegation = delegation_;
        DEALLOCATION_DELAY = deallocationDelay;
        ALLOCATION_CONFIGURATION_DELAY = allocationConfigurationDelay;
    }

    // ------------------------------------------------------------------ AVS set-up

    /// @inheritdoc IAllocationManager
    function updateAVSMetadataURI(address avs, string calldata metadataURI) external {
        _onlySelf(avs);
        _hasMetadata[avs] = true;
        emit AVSMetadataURIUpdated(avs, metadataURI);
    }

    /// @inheritdoc IAllocationManager
    function setAVSRegistrar(address avs, IAVSRegistrar registrar) external {
        _onlySelf(avs);
        if (!registrar.supportsAVS(avs)) revert InvalidAVSRegistrar();
        _registrar[avs] = registrar;
        emit AVSRegistrarSet(avs, registrar);
    }

    /// @inheritdoc IAllocationManager
    function createOperatorSets(address avs, CreateSetParamsV2[] calldata params) external {
        _onlySelf(avs);
        if (!_hasMetadata[avs]) revert NonexistentAVSMetadata();
        for (uint256 i; i < params.length; ++i) {
            OperatorSet memory set = OperatorSet(avs, params[i].operatorSetId);
            bytes32 key = _key(set);
            if (_exists[key]) revert InvalidOperatorSet();
            _exists[key] = true;
            emit OperatorSetCreated(set);
            for (uint256 j; j < params[i].strategies.length; ++j) {
                IStrategy strategy = params[i].strategies[j];
                if (_hasStrategy[key][strategy]) revert StrategyAlreadyInOperatorSet();
                _hasStrategy[key][strategy] = true;
                _strategies[key].push(strategy);
                emit StrategyAddedToOperatorSet(set, strategy);
            }
            if (params[i].slasher == address(0)) revert InputAddressZero();
            _slasher[key] = params[i].slasher;
            emit SlasherUpdated(set, params[i].slasher, uint32(block.number));
        }
    }

    // ------------------------------------------------------------------ operators

    /// @inheritdoc IAllocationManager
    /// @dev From the DelegationManager (registration) the delay applies at once; from the
    /// operator, after ALLOCATION_CONFIGURATION_DELAY + 1 blocks.
    function setAllocationDelay(address operator, uint32 delay) external {
        bool newlyRegistered = msg.sender == address(delegation);
        if (!newlyRegistered) {
            _onlySelf(operator);
            if (!delegation.isOperator(operator)) revert InvalidOperator();
        }
        DelayInfo memory info = _delay[operator];
        if (info.effectBlock != 0 && block.number >= info.effectBlock) {
            (info.delay, info.isSet) = (info.pendingDelay, true);
        }
        info.pendingDelay = delay;
        if (newlyRegistered) {
            (info.delay, info.isSet, info.effectBlock) = (delay, true, uint32(block.number));
        } else {
            info.effectBlock = uint32(block.number) + ALLOCATION_CONFIGURATION_DELAY + 1;
        }
        _delay[operator] = info;
        emit AllocationDelaySet(operator, delay, info.effectBlock);
    }

    /// @inheritdoc IAllocationManager
    function modifyAllocations(address operator, AllocateParams[] calldata params) external {
        _onlySelf(operator);
        (bool isSet, uint32 allocationDelay) = getAllocationDelay(operator);
        if (!isSet) revert UninitializedAllocationDelay();
        for (uint256 i; i < params.length; ++i) {
            if (params[i].strategies.length != params[i].newMagnitudes.length) revert InputArrayLengthMismatch();
            OperatorSet memory set = params[i].operatorSet;
            bytes32 key = _key(set);
            if (!_exists[key]) revert InvalidOperatorSet();
            bool operatorSlashable = isOperatorSlashable(operator, set);
            for (uint256 j; j < params[i].strategies.length; ++j) {
                _modify(
                    operator,
                    set,
                    key,
                    params[i].strategies[j],
                    params[i].newMagnitudes[j],
                    allocationDelay,
                    operatorSlashable
                );
            }
        }
    }

    /// @inheritdoc IAllocationManager
    function registerForOperatorSets(address operator, RegisterParams calldata params) external {
        _onlySelf(operator);
        if (!delegation.isOperator(operator)) revert InvalidOperator();
        for (uint256 i; i < params.operatorSetIds.length; ++i) {
            OperatorSet memory set = OperatorSet(params.avs, params.operatorSetIds[i]);
            bytes32 key = _key(set);
            if (!_exists[key]) revert InvalidOperatorSet();
            if (isOperatorSlashable(operator, set)) revert AlreadyMemberOfSet();
            _members[key].push(operator);
            _memberIndex[key][operator] = _members[key].length;
            _registration[operator][key].registered = true;
            emit OperatorAddedToOperatorSet(operator, set);
        }
        getAVSRegistrar(params.avs).registerOperator(operator, params.avs, params.operatorSetIds, params.data);
    }

    /// @inheritdoc IAllocationManager
    /// @dev The operator stays slashable for DEALLOCATION_DELAY blocks, and cannot register
    /// again until then (`AlreadyMemberOfSet`).
    function deregisterFromOperatorSets(DeregisterParams calldata params) external {
        if (msg.sender != params.operator && msg.sender != params.avs) revert InvalidCaller();
        for (uint256 i; i < params.operatorSetIds.length; ++i) {
            OperatorSet memory set = OperatorSet(params.avs, params.operatorSetIds[i]);
            bytes32 key = _key(set);
            if (!_exists[key]) revert InvalidOperatorSet();
            if (!_registration[params.operator][key].registered) revert NotMemberOfSet();
            _removeMember(key, params.operator);
            _registration[params.operator][key] = Registration(false, uint32(block.number) + DEALLOCATION_DELAY);
            emit OperatorRemovedFromOperatorSet(params.operator, set);
        }
        getAVSRegistrar(params.avs).deregisterOperator(params.operator, params.avs, params.operatorSetIds);
    }

    // ------------------------------------------------------------------ slashing

    /// @inheritdoc IAllocationManager
    function slashOperator(address avs, SlashingParams calldata params)
        external
        returns (uint256 slashId, uint256[] memory shares)
    {
        OperatorSet memory set = OperatorSet(avs, params.operatorSetId);
        bytes32 key = _key(set);
        if (params.strategies.length != params.wadsToSlash.length) revert InputArrayLengthMismatch();
        if (!_exists[key]) revert InvalidOperatorSet();
        if (!isOperatorSlashable(params.operator, set)) revert OperatorNotSlashable();
        if (msg.sender != _slasher[key]) revert InvalidCaller();
        slashId = ++_slashIds[key];
        shares = new uint256[](params.strategies.length);
        uint256[] memory wadSlashed = new uint256[](params.strategies.length);
        for (uint256 i; i < params.strategies.length; ++i) {
            IStrategy strategy = params.strategies[i];
            if (i > 0 && uint160(address(strategy)) <= uint160(address(params.strategies[i - 1]))) {
                revert StrategiesMustBeInAscendingOrder();
            }
            if (params.wadsToSlash[i] == 0 || params.wadsToSlash[i] > WAD) revert InvalidWadToSlash();
            if (!_hasStrategy[key][strategy]) revert StrategyNotInOperatorSet();
            (wadSlashed[i], shares[i]) = _slash(params.operator, set, key, strategy, params.wadsToSlash[i], slashId);
        }
        emit OperatorSlashed(params.operator, set, params.strategies, wadSlashed, params.description);
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc IAllocationManager
    function getAllocationDelay(address operator) public view returns (bool isSet, uint32 delay) {
        DelayInfo memory info = _delay[operator];
        (isSet, delay) = (info.isSet, info.delay);
        if (info.effectBlock != 0 && block.number >= info.effectBlock) (isSet, delay) = (true, info.pendingDelay);
    }

    /// @inheritdoc IAllocationManager
    function getAllocation(address operator, OperatorSet memory operatorSet, IStrategy strategy)
        public
        view
        returns (Allocation memory allocation)
    {
        (, allocation) = _updated(operator, _key(operatorSet), strategy);
    }

    /// @inheritdoc IAllocationManager
    function getMaxMagnitude(address operator, IStrategy strategy) public view returns (uint64) {
        return WAD - _slashedMagnitude[operator][strategy];
    }

    /// @inheritdoc IAllocationManager
    function getEncumberedMagnitude(address operator, IStrategy strategy) external view returns (uint64) {
        return _encumbered[operator][strategy];
    }

    /// @inheritdoc IAllocationManager
    function getAllocatableMagnitude(address operator, IStrategy strategy) external view returns (uint64) {
        return getMaxMagnitude(operator, strategy) - _encumbered[operator][strategy];
    }

    /// @inheritdoc IAllocationManager
    function isOperatorSlashable(address operator, OperatorSet memory operatorSet) public view returns (bool) {
        Registration memory r = _registration[operator][_key(operatorSet)];
        return r.registered || block.number <= r.slashableUntil;
    }

    /// @inheritdoc IAllocationManager
    function getAVSRegistrar(address avs) public view returns (IAVSRegistrar) {
        IAVSRegistrar registrar = _registrar[avs];
        return address(registrar) == address(0) ? IAVSRegistrar(avs) : registrar;
    }

    /// @inheritdoc IAllocationManager
    function getSlasher(OperatorSet memory operatorSet) external view returns (address) {
        return _slasher[_key(operatorSet)];
    }

    /// @inheritdoc IAllocationManager
    function isOperatorSet(OperatorSet memory operatorSet) external view returns (bool) {
        return _exists[_key(operatorSet)];
    }

    /// @inheritdoc IAllocationManager
    function getStrategiesInOperatorSet(OperatorSet memory operatorSet) external view returns (IStrategy[] memory) {
        return _strategies[_key(operatorSet)];
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
    function getSlashCount(OperatorSet memory operatorSet) external view returns (uint256) {
        return _slashIds[_key(operatorSet)];
    }

    /// @inheritdoc IAllocationManager
    /// @dev As the core: delegated shares × (current magnitude / max magnitude), each
    /// rounded down; pending allocations do not count yet, queued deallocations still do.
    function getAllocatedStake(
        OperatorSet memory operatorSet,
        address[] memory operators,
        IStrategy[] memory strategies
    ) external view returns (uint256[][] memory slashableStake) {
        bytes32 key = _key(operatorSet);
        slashableStake = new uint256[][](operators.length);
        for (uint256 i; i < operators.length; ++i) {
            slashableStake[i] = new uint256[](strategies.length);
            for (uint256 j; j < strategies.length; ++j) {
                uint64 maxMagnitude = getMaxMagnitude(operators[i], strategies[j]);
                if (maxMagnitude == 0) continue;
                (, Allocation memory a) = _updated(operators[i], key, strategies[j]);
                uint256 proportion = uint256(a.currentMagnitude) * WAD / maxMagnitude;
                slashableStake[i][j] = delegation.operatorShares(operators[i], strategies[j]) * proportion / WAD;
            }
        }
    }

    // ------------------------------------------------------------------ internals

    /// @dev One strategy of `modifyAllocations`, in the core's order of checks.
    function _modify(
        address operator,
        OperatorSet memory set,
        bytes32 key,
        IStrategy strategy,
        uint64 newMagnitude,
        uint32 allocationDelay,
        bool operatorSlashable
    ) private {
        (uint64 encumbered, Allocation memory a) = _updated(operator, key, strategy);
        if (a.effectBlock != 0) revert ModificationAlreadyPending();
        bool slashable = _hasStrategy[key][strategy] && operatorSlashable && a.currentMagnitude != 0;
        a.pendingDiff = int128(uint128(newMagnitude)) - int128(uint128(a.currentMagnitude));
        if (a.pendingDiff == 0) revert SameMagnitude();
        if (a.pendingDiff < 0) {
            if (slashable) {
                // Still slashable through block.number + DEALLOCATION_DELAY; freed the block after.
                a.effectBlock = uint32(block.number) + DEALLOCATION_DELAY + 1;
            } else {
                encumbered = _add(encumbered, a.pendingDiff);
                (a.currentMagnitude, a.pendingDiff, a.effectBlock) = (newMagnitude, 0, uint32(block.number));
            }
        } else {
            encumbered = _add(encumbered, a.pendingDiff);
            if (encumbered > getMaxMagnitude(operator, strategy)) revert InsufficientMagnitude();
            a.effectBlock = uint32(block.number) + allocationDelay;
        }
        _store(operator, key, strategy, encumbered, a);
        emit AllocationUpdated(operator, set, strategy, _add(a.currentMagnitude, a.pendingDiff), a.effectBlock);
    }

    /// @dev One strategy of `slashOperator`: returns (slashed magnitude / max magnitude, shares slashed).
    function _slash(
        address operator,
        OperatorSet memory set,
        bytes32 key,
        IStrategy strategy,
        uint256 wad,
        uint256 slashId
    ) private returns (uint256 wadSlashed, uint256 shares) {
        (uint64 encumbered, Allocation memory a) = _updated(operator, key, strategy);
        if (a.currentMagnitude == 0) return (0, 0);
        uint64 slashed = uint64((uint256(a.currentMagnitude) * wad + WAD - 1) / WAD); // rounded up
        uint64 prevMax = getMaxMagnitude(operator, strategy);
        wadSlashed = uint256(slashed) * WAD / prevMax;
        a.currentMagnitude -= slashed;
        encumbered -= slashed;
        if (a.pendingDiff < 0) {
            // A queued deallocation shrinks in proportion: less is freed when it completes.
            uint256 pending = uint256(uint128(-a.pendingDiff));
            a.pendingDiff += int128(uint128((pending * wad + WAD - 1) / WAD));
            emit AllocationUpdated(operator, set, strategy, _add(a.currentMagnitude, a.pendingDiff), a.effectBlock);
        }
        _store(operator, key, strategy, encumbered, a);
        emit AllocationUpdated(operator, set, strategy, a.currentMagnitude, uint32(block.number));
        _slashedMagnitude[operator][strategy] += slashed;
        emit MaxMagnitudeUpdated(operator, strategy, prevMax - slashed);
        shares = delegation.slashOperatorShares(operator, set, slashId, strategy, prevMax, prevMax - slashed);
    }

    /// @dev The allocation (and the strategy's encumbered magnitude) with a pending change
    /// applied once its effect block is reached.
    function _updated(address operator, bytes32 key, IStrategy strategy)
        private
        view
        returns (uint64 encumbered, Allocation memory a)
    {
        encumbered = _encumbered[operator][strategy];
        a = _allocations[operator][key][strategy];
        if (block.number < a.effectBlock) return (encumbered, a);
        a.currentMagnitude = _add(a.currentMagnitude, a.pendingDiff);
        if (a.pendingDiff < 0) encumbered = _add(encumbered, a.pendingDiff);
        (a.pendingDiff, a.effectBlock) = (0, 0);
    }

    function _store(address operator, bytes32 key, IStrategy strategy, uint64 encumbered, Allocation memory a) private {
        if (_encumbered[operator][strategy] != encumbered) {
            _encumbered[operator][strategy] = encumbered;
            emit EncumberedMagnitudeUpdated(operator, strategy, encumbered);
        }
        _allocations[operator][key][strategy] = a;
    }

    /// @dev As the core's EnumerableSet: the last member takes the removed one's place.
    function _removeMember(bytes32 key, address operator) private {
        uint256 idx = _memberIndex[key][operator];
        address last = _members[key][_members[key].length - 1];
        _members[key][idx - 1] = last;
        _memberIndex[key][last] = idx;
        _members[key].pop();
        delete _memberIndex[key][operator];
    }

    /// @dev The devnet's stand-in for the PermissionController: accounts act for themselves.
    function _onlySelf(address account) private view {
        if (msg.sender != account) revert InvalidPermissions();
    }

    function _add(uint64 a, int128 b) private pure returns (uint64) {
        return uint64(uint128(int128(uint128(a)) + b));
    }

    function _key(OperatorSet memory set) private pure returns (bytes32) {
        return bytes32(abi.encodePacked(set.avs, uint96(set.id)));
    }
}
