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

/// @title P2pflServiceManager
/// @notice The p2pfl AVS: the registrar EigenLayer calls when operators join its operator
/// set, the minimum stake, each operator's libp2p peer id (bound by the operator's own
/// signature), views of the set with stakes, and the slashing entry that only the epoch
/// manager may use.
contract P2pflServiceManager is IAVSRegistrar, Ownable, EIP712 {
    uint32 public constant OPERATOR_SET_ID = 0;
    bytes32 public constant PEER_BINDING_TYPEHASH = keccak256("PeerBinding(address operator,bytes peerId)");

    error OnlyAllocationManager(address caller);
    error OnlyEpochManager(address caller);
    error WrongAVS(address avs);
    error WrongOperatorSet();
    error BadPeerSignature(address operator);
    error EmptyPeerId();
    error StakeTooLow(address operator, uint256 stake, uint256 minimum);
    error EpochManagerAlreadySet();
    error NotRegistered(address operator);

    event OperatorRegistered(address indexed operator, bytes peerId, uint256 stake);
    event OperatorDeregistered(address indexed operator);
    event PeerIdUpdated(address indexed operator, bytes peerId);
    event MinimumStakeSet(uint256 minimumStake);
    event EpochManagerSet(address epochManager);
    event OperatorSetInitialized(uint32 operatorSetId, IStrategy strategy);
    event OperatorSlashed(address indexed operator, uint256 wad, uint256 slashId, string reason);

    IAllocationManager public immutable allocationManager;
    IStrategy public immutable strategy;
    uint256 public minimumStake;
    address public epochManager;
    mapping(address operator => bytes) public peerIdOf;

    modifier onlyAllocationManager() {
        if (msg.sender != address(allocationManager)) revert OnlyAllocationManager(msg.sender);
        _;
    }

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
        emit OperatorRegistered(operator, peerId, stake);
    }

    /// @inheritdoc IAVSRegistrar
    function deregisterOperator(address operator, address avs, uint32[] calldata) external onlyAllocationManager {
        if (avs != address(this)) revert WrongAVS(avs);
        delete peerIdOf[operator];
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

    function _checkPeerBinding(address operator, bytes memory peerId, bytes memory signature) private view {
        if (peerId.length == 0) revert EmptyPeerId();
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(peerBindingDigest(operator, peerId), signature);
        if (err != ECDSA.RecoverError.NoError || signer != operator) revert BadPeerSignature(operator);
    }
}
