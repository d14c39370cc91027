// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice The slice of EigenLayer's core interfaces that the p2pfl AVS calls, with the
/// exact published signatures (and so selectors) of IAllocationManager,
/// IDelegationManager, IStrategyManager and IAVSRegistrar. The devnet stand-ins in
/// `src/devnet/` implement them; on a public network the AVS talks to the real core.

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

interface IStrategy {
    function underlyingToken() external view returns (IERC20);
}

struct OperatorSet {
    address avs;
    uint32 id;
}

interface IAllocationManagerTypes {
    struct SlashingParams {
        address operator;
        uint32 operatorSetId;
        IStrategy[] strategies;
        uint256[] wadsToSlash;
        string description;
    }

    struct RegisterParams {
        address avs;
        uint32[] operatorSetIds;
        bytes data;
    }

    struct DeregisterParams {
        address operator;
        address avs;
        uint32[] operatorSetIds;
    }

    struct CreateSetParamsV2 {
        uint32 operatorSetId;
        IStrategy[] strategies;
        address slasher;
    }

    struct AllocateParams {
        OperatorSet operatorSet;
        IStrategy[] strategies;
        uint64[] newMagnitudes;
    }
}

interface IAVSRegistrar {
    function registerOperator(address operator, address avs, uint32[] calldata operatorSetIds, bytes calldata data)
        external;

    function deregisterOperator(address operator, address avs, uint32[] calldata operatorSetIds) external;

    function supportsAVS(address avs) external view returns (bool);
}

interface IAllocationManager is IAllocationManagerTypes {
    function slashOperator(address avs, SlashingParams calldata params)
        external
        returns (uint256 slashId, uint256[] memory shares);

    function registerForOperatorSets(address operator, RegisterParams calldata params) external;

    function deregisterFromOperatorSets(DeregisterParams calldata params) external;

    function createOperatorSets(address avs, CreateSetParamsV2[] calldata params) external;

    function modifyAllocations(address operator, AllocateParams[] calldata params) external;

    function setAVSRegistrar(address avs, IAVSRegistrar registrar) external;

    function updateAVSMetadataURI(address avs, string calldata metadataURI) external;

    function getMembers(OperatorSet memory operatorSet) external view returns (address[] memory operators);

    function isMemberOfOperatorSet(address operator, OperatorSet memory operatorSet) external view returns (bool);

    function getAllocatedStake(OperatorSet memory operatorSet, address[] memory operators, IStrategy[] memory strategies)
        external
        view
        returns (uint256[][] memory slashableStake);
}

interface ISignatureUtilsMixinTypes {
    struct SignatureWithExpiry {
        bytes signature;
        uint256 expiry;
    }
}

interface IDelegationManager is ISignatureUtilsMixinTypes {
    function registerAsOperator(address initDelegationApprover, uint32 allocationDelay, string calldata metadataURI)
        external;

    function delegateTo(address operator, SignatureWithExpiry memory approverSignatureAndExpiry, bytes32 approverSalt)
        external;

    function isOperator(address operator) external view returns (bool);

    function getOperatorShares(address operator, IStrategy[] memory strategies)
        external
        view
        returns (uint256[] memory);
}

interface IStrategyManager {
    function depositIntoStrategy(IStrategy strategy, IERC20 token, uint256 amount)
        external
        returns (uint256 depositShares);
}
