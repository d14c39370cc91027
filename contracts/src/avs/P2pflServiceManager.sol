// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {
    IAllocationManager,
    IAllocationManagerTypes,
    IAVSRegistrar,
    IStrategy,
    OperatorSet
} from "../interfaces/IEigenLayer.sol";
import {StakeTree} from "./StakeTree.sol";

/// @title P2pflServiceManager
/// @notice The p2pfl AVS: the registrar EigenLayer calls when operators join its operator
/// set, the minimum stake, each operator's libp2p peer id (bound by the operator's own
/// signature), views of the set with stakes, and the slashing entry that only the epoch
/// manager may use.
///
/// Committees: every registered operator owns a slot in a `StakeTree` of weights (a freed
/// slot first, else a new one; deregistration frees it, so the `StakeTree.CAPACITY` slots
/// bound the operators registered at once, not those ever registered), so that `sampleCommittee` draws a stake-weighted committee in gas bounded by
/// the committee's size, whatever the number of operators. A slot's weight is its
/// operator's allocated stake if registered and at least the minimum, else 0. The weights
/// are a cache: refreshed at registration, deregistration, slashing, and on demand by
/// anyone (`refreshStakes`); `setMinimumStake` does not walk the tree, so a changed minimum
/// applies to an operator's weight at its next refresh. A stale weight only changes how
/// often an operator is drawn; the stakes `sampleCommittee` returns (for the election
/// within the committee) are read fresh from the core.
contract P2pflServiceManager is IAVSRegistrar, Ownable, EIP712 {
    using StakeTree for StakeTree.Tree;

    /// @notice The AVS's one operator set.
    uint32 public constant OPERATOR_SET_ID = 0;
    /// @notice EIP-712 type hash of the peer-id binding an operator signs.
    bytes32 public constant PEER_BINDING_TYPEHASH = keccak256("PeerBinding(address operator,bytes peerId)");
    /// @notice Draws allowed per committee seat before `sampleCommittee` stops short.
    uint256 public constant DRAWS_PER_SEAT = StakeTree.DRAWS_PER_SEAT;

    /// @notice The registrar was called by someone other than the AllocationManager.
    error OnlyAllocationManager(address caller);
    /// @notice `slash` was called by someone other than the epoch manager.
    error OnlyEpochManager(address caller);
    /// @notice A registration for another AVS.
    error WrongAVS(address avs);
    /// @notice A registration for other operator sets than exactly `OPERATOR_SET_ID`.
    error WrongOperatorSet();
    /// @notice The peer binding is not signed by the operator.
    error BadPeerSignature(address operator);
    /// @notice An empty peer id.
    error EmptyPeerId();
    /// @notice The operator's allocated stake is below the minimum.
    error StakeTooLow(address operator, uint256 stake, uint256 minimum);
    /// @notice The epoch manager is set once.
    error EpochManagerAlreadySet();
    /// @notice The caller is not a registered operator.
    error NotRegistered(address operator);
    /// @notice Every one of the tree's `StakeTree.CAPACITY` slots is taken.
    error CapacityExceeded();

    /// @notice `operator` joined with `peerId` and `stake` allocated.
    event OperatorRegistered(address indexed operator, bytes peerId, uint256 stake);
    /// @notice `operator` left the operator set.
    event OperatorDeregistered(address indexed operator);
    /// @notice `operator` rebound its peer id.
    event PeerIdUpdated(address indexed operator, bytes peerId);
    /// @notice The minimum stake changed.
    event MinimumStakeSet(uint256 minimumStake);
    /// @notice The epoch manager was set.
    event EpochManagerSet(address epochManager);
    /// @notice The operator set was created with its strategy.
    event OperatorSetInitialized(uint32 operatorSetId, IStrategy strategy);
    /// @notice `operator` was slashed by `wad` of its allocation.
    event OperatorSlashed(address indexed operator, uint256 wad, uint256 slashId, string reason);
    /// @notice `operator`'s committee weight was re-read (0: unregistered or below the minimum).
    event StakeRefreshed(address indexed operator, uint256 weight);

    /// @notice EigenLayer's AllocationManager (the core or the devnet stand-in).
    IAllocationManager public immutable allocationManager;
    /// @notice The one strategy whose allocated stake counts.
    IStrategy public immutable strategy;
    /// @notice The minimum allocated stake to join (and to weigh in committees).
    uint256 public minimumStake;
    /// @notice The only caller of `slash`.
    address public epochManager;
    /// @notice Each registered operator's libp2p peer id (empty: not registered).
    mapping(address operator => bytes) public peerIdOf;
    /// @notice The number of registered operators.
    uint256 public operatorCount;

    /// @dev The committee weights, one slot per operator that ever registered.
    StakeTree.Tree private _tree;
    /// @dev Each slot's operator, in slot order (address(0): a freed slot).
    address[] private _slotOperators;
    /// @dev Slots freed by deregistration, taken again (last first) by registrations.
    uint256[] private _freeSlots;
    /// @dev Each registered operator's slot + 1 (0: not registered).
    mapping(address operator => uint256) private _slotPlusOne;
    /// @dev The number of slots of positive weight (lets a sample stop once all are drawn).
    uint256 private _weighted;

    /// @dev Only the AllocationManager calls the registrar.
    modifier onlyAllocationManager() {
        if (msg.sender != address(allocationManager)) revert OnlyAllocationManager(msg.sender);
        _;
    }

    /// @param allocationManager_ The core's AllocationManager.
    /// @param strategy_ The strategy whose allocated stake counts.
    /// @param minimumStake_ The minimum allocated stake to join.
    /// @param owner_ The owner (initialize, settings).
    constructor(IAllocationManager allocationManager_, IStrategy strategy_, uint256 minimumStake_, address owner_)
        Ownable(owner_)
        EIP712("p2pfl", "1")
    {
        allocationManager = allocationManager_;
        strategy = strategy_;
        minimumStake = minimumStake_;
        emit MinimumStakeSet(minimumStake_);
    }

    /// @notice Create the AVS's operator set (slashable by this contract) and make this
    /// contract its registrar. Owner only, once.
    /// @dev The core requires the metadata URI before any set; the slasher-aware
    /// `createOperatorSets` exists from EigenLayer core v1.9.0 on (the minimum version).
    function initialize(string calldata metadataURI) external onlyOwner {
        allocationManager.updateAVSMetadataURI(address(this), metadataURI);
        allocationManager.setAVSRegistrar(address(this), this);
        IAllocationManagerTypes.CreateSetParamsV2[] memory params = new IAllocationManagerTypes.CreateSetParamsV2[](1);
        IStrategy[] memory strategies = new IStrategy[](1);
        strategies[0] = strategy;
        params[0] = IAllocationManagerTypes.CreateSetParamsV2(OPERATOR_SET_ID, strategies, address(this));
        allocationManager.createOperatorSets(address(this), params);
        emit OperatorSetInitialized(OPERATOR_SET_ID, strategy);
    }

    /// @notice Set the epoch manager, the only caller of `slash`. Owner only, once.
    function setEpochManager(address epochManager_) external onlyOwner {
        if (epochManager != address(0)) revert EpochManagerAlreadySet();
        epochManager = epochManager_;
        emit EpochManagerSet(epochManager_);
    }

    /// @notice Change the minimum allocated stake to join (owner only).
    /// @dev Committee weights are not walked: each operator's weight follows the new
    /// minimum at its next refresh (`refreshStakes`, slashing, re-registration).
    function setMinimumStake(uint256 minimumStake_) external onlyOwner {
        minimumStake = minimumStake_;
        emit MinimumStakeSet(minimumStake_);
    }

    /// @inheritdoc IAVSRegistrar
    /// @dev `data` is `abi.encode(bytes peerId, bytes signature)`: the operator's EIP-712
    /// signature of `PeerBinding(operator, peerId)`.
    function registerOperator(address operator, address avs, uint32[] calldata operatorSetIds, bytes calldata data)
        external
        onlyAllocationManager
    {
        if (avs != address(this)) revert WrongAVS(avs);
        if (operatorSetIds.length != 1 || operatorSetIds[0] != OPERATOR_SET_ID) revert WrongOperatorSet();
        (bytes memory peerId, bytes memory signature) = abi.decode(data, (bytes, bytes));
        _checkPeerBinding(operator, peerId, signature);
        uint256 stake = stakeOf(operator);
        if (stake < minimumStake) revert StakeTooLow(operator, stake, minimumStake);
        peerIdOf[operator] = peerId;
        uint256 slotPlusOne = _slotPlusOne[operator];
        if (slotPlusOne == 0) {
            uint256 free = _freeSlots.length;
            if (free != 0) {
                uint256 slot = _freeSlots[free - 1];
                _freeSlots.pop();
                _slotOperators[slot] = operator;
                slotPlusOne = slot + 1;
            } else {
                if (_slotOperators.length == StakeTree.CAPACITY) revert CapacityExceeded();
                _slotOperators.push(operator);
                slotPlusOne = _slotOperators.length;
            }
            _slotPlusOne[operator] = slotPlusOne;
        }
        ++operatorCount;
        _setWeight(operator, slotPlusOne - 1, stake);
        emit OperatorRegistered(operator, peerId, stake);
    }

    /// @inheritdoc IAVSRegistrar
    function deregisterOperator(address operator, address avs, uint32[] calldata) external onlyAllocationManager {
        if (avs != address(this)) revert WrongAVS(avs);
        if (peerIdOf[operator].length != 0) {
            delete peerIdOf[operator];
            --operatorCount;
            uint256 slot = _slotPlusOne[operator] - 1;
            _setWeight(operator, slot, 0);
            // Free the slot: nothing reads a deregistered operator's slot again (refresh
            // and slash skip unregistered operators), so a newcomer may take it.
            delete _slotPlusOne[operator];
            _slotOperators[slot] = address(0);
            _freeSlots.push(slot);
        }
        emit OperatorDeregistered(operator);
    }

    /// @inheritdoc IAVSRegistrar
    function supportsAVS(address avs) external view returns (bool) {
        return avs == address(this);
    }

    /// @notice Rebind the caller's peer id (a registered operator rotating its libp2p key).
    function updatePeerId(bytes calldata peerId, bytes calldata signature) external {
        if (peerIdOf[msg.sender].length == 0) revert NotRegistered(msg.sender);
        _checkPeerBinding(msg.sender, peerId, signature);
        peerIdOf[msg.sender] = peerId;
        emit PeerIdUpdated(msg.sender, peerId);
    }

    /// @notice Slash `operator` by `wad` (1e18 = all) of its allocation to the set.
    /// Only the epoch manager may call this.
    function slash(address operator, uint256 wad, string calldata reason) external returns (uint256 slashId) {
        if (msg.sender != epochManager) revert OnlyEpochManager(msg.sender);
        IStrategy[] memory strategies = new IStrategy[](1);
        strategies[0] = strategy;
        uint256[] memory wads = new uint256[](1);
        wads[0] = wad;
        (slashId,) = allocationManager.slashOperator(
            address(this), IAllocationManagerTypes.SlashingParams(operator, OPERATOR_SET_ID, strategies, wads, reason)
        );
        emit OperatorSlashed(operator, wad, slashId, reason);
        address[] memory ops = new address[](1);
        ops[0] = operator;
        _refresh(ops);
    }

    /// @notice Re-read the allocated stakes of `operators` and update their committee
    /// weights (anyone may call; unregistered operators are ignored).
    function refreshStakes(address[] calldata operators) external {
        _refresh(operators);
    }

    /// @notice A stake-weighted committee of at most `size` distinct operators drawn from
    /// `seed`: draws `t = 0, 1, 2, …` each take the operator of slot `find(r)` with
    /// `r = uint256(keccak256(abi.encodePacked(seed, "committee", uint32(t)))) % totalWeight()`;
    /// an operator already drawn is skipped; the draw stops at `size` distinct operators or
    /// after `DRAWS_PER_SEAT * size` draws. Empty if `totalWeight()` is 0.
    /// @dev Gas is bounded by `size` (at most `DRAWS_PER_SEAT * size` draws of
    /// `StakeTree.CAPACITY_LOG2` reads each, and one `getAllocatedStake` of the committee),
    /// not by the number of operators. The weights drawn by are cached (see the contract's
    /// notice): a stale one only changes how often its operator is drawn.
    /// @return operators The committee in draw order.
    /// @return stakes Their allocated stakes read fresh from the core (one call), for the
    /// election within the committee.
    function sampleCommittee(bytes32 seed, uint256 size)
        external
        view
        returns (address[] memory operators, uint256[] memory stakes)
    {
        uint256[] memory slots = _tree.sample(seed, size, _weighted);
        operators = new address[](slots.length);
        for (uint256 i; i < slots.length; ++i) {
            operators[i] = _slotOperators[slots[i]];
        }
        stakes = _stakes(operators);
    }

    /// @notice Every slot's operator in slot order (for off-chain mirrors of the draw;
    /// their weights are `weightOf`).
    function slotOperators() external view returns (address[] memory) {
        return _slotOperators;
    }

    /// @notice `operator`'s cached committee weight (0 if it has no slot).
    function weightOf(address operator) external view returns (uint256) {
        uint256 slotPlusOne = _slotPlusOne[operator];
        return slotPlusOne == 0 ? 0 : _tree.weightOf(slotPlusOne - 1);
    }

    /// @notice The sum of the committee weights.
    function totalWeight() external view returns (uint256) {
        return _tree.total;
    }

    /// @notice The EIP-712 digest an operator signs to bind `peerId` to its address.
    function peerBindingDigest(address operator, bytes memory peerId) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(PEER_BINDING_TYPEHASH, operator, keccak256(peerId))));
    }

    /// @notice The operator's stake allocated to the set (slashable stake).
    function stakeOf(address operator) public view returns (uint256) {
        address[] memory ops = new address[](1);
        ops[0] = operator;
        return _stakes(ops)[0];
    }

    /// @notice The operator set with each operator's allocated stake, in set order.
    function operatorsWithStakes() external view returns (address[] memory operators, uint256[] memory stakes) {
        operators = allocationManager.getMembers(OperatorSet(address(this), OPERATOR_SET_ID));
        stakes = _stakes(operators);
    }

    /// @dev The allocated stakes of `operators` (one `getAllocatedStake` call).
    function _stakes(address[] memory operators) private view returns (uint256[] memory stakes) {
        IStrategy[] memory strategies = new IStrategy[](1);
        strategies[0] = strategy;
        uint256[][] memory all =
            allocationManager.getAllocatedStake(OperatorSet(address(this), OPERATOR_SET_ID), operators, strategies);
        stakes = new uint256[](operators.length);
        for (uint256 i; i < operators.length; ++i) {
            stakes[i] = all[i][0];
        }
    }

    /// @dev Re-read the stakes of `operators` in one call; set each registered one's weight.
    function _refresh(address[] memory operators) private {
        uint256[] memory stakes = _stakes(operators);
        uint256 minimum = minimumStake;
        for (uint256 i; i < operators.length; ++i) {
            address operator = operators[i];
            if (peerIdOf[operator].length == 0) continue; // unregistered: weight already 0
            _setWeight(operator, _slotPlusOne[operator] - 1, stakes[i] >= minimum ? stakes[i] : 0);
        }
    }

    /// @dev Set `slot`'s weight, keep the count of positive weights, announce it.
    function _setWeight(address operator, uint256 slot, uint256 weight) private {
        bool was = _tree.weightOf(slot) != 0;
        if (was != (weight != 0)) {
            if (was) --_weighted;
            else ++_weighted;
        }
        _tree.set(slot, weight);
        emit StakeRefreshed(operator, weight);
    }

    /// @dev Revert unless `signature` is `operator`'s over `PeerBinding(operator, peerId)`.
    function _checkPeerBinding(address operator, bytes memory peerId, bytes memory signature) private view {
        if (peerId.length == 0) revert EmptyPeerId();
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(peerBindingDigest(operator, peerId), signature);
        if (err != ECDSA.RecoverError.NoError || signer != operator) revert BadPeerSignature(operator);
    }
}
