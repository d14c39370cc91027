// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice The slice of EigenLayer's core interfaces (v1.12, Layr-Labs/eigenlayer-contracts)
/// that the p2pfl AVS, its Python client and the devnet stand-ins use, with the exact
/// published signatures: functions, custom errors and events have the real selectors and
/// topics. The devnet stand-ins in `src/devnet/` implement them; on a public network the
/// AVS and the client talk to the real core through the same interfaces.

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

struct OperatorSet {
    address avs;
    uint32 id;
}

// ------------------------------------------------------------------------- strategies

/// @notice Errors of EigenLayer's `StrategyBase`.
interface IStrategyErrors {
    /// @dev Only the StrategyManager may deposit.
    error OnlyStrategyManager();
    /// @dev A deposit that would mint no shares.
    error NewSharesZero();
    /// @dev A deposit of a token other than the strategy's.
    error OnlyUnderlyingToken();
}

interface IStrategy is IStrategyErrors {
    function underlyingToken() external view returns (IERC20);

    /// @notice Called by the StrategyManager after it moved `amount` of `token` here.
    function deposit(IERC20 token, uint256 amount) external returns (uint256 newShares);

    function totalShares() external view returns (uint256);
}

// ------------------------------------------------------------------------- allocation manager

/// @notice Errors of `PermissionControllerMixin`: the caller may not act for the account.
interface IPermissionControllerMixin {
    error InvalidPermissions();
}

interface IAllocationManagerErrors {
    error InvalidWadToSlash();
    error InputArrayLengthMismatch();
    error InvalidAVSRegistrar();
    error InvalidCaller();
    error InvalidOperator();
    error NonexistentAVSMetadata();
    error UninitializedAllocationDelay();
    error OperatorNotSlashable();
    error AlreadyMemberOfSet();
    error NotMemberOfSet();
    error InvalidOperatorSet();
    error StrategiesMustBeInAscendingOrder();
    error StrategyAlreadyInOperatorSet();
    error StrategyNotInOperatorSet();
    error SameMagnitude();
    error ModificationAlreadyPending();
    error InsufficientMagnitude();
    /// @dev Declared in the core's IPausable (same selector).
    error InputAddressZero();
}

interface IAllocationManagerTypes {
    /// @param currentMagnitude magnitude allocated now (slashable)
    /// @param pendingDiff a change taking effect at `effectBlock` (0 if none)
    struct Allocation {
        uint64 currentMagnitude;
        int128 pendingDiff;
        uint32 effectBlock;
    }

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

interface IAllocationManagerEvents is IAllocationManagerTypes {
    event AllocationDelaySet(address operator, uint32 delay, uint32 effectBlock);
    event SlasherUpdated(OperatorSet operatorSet, address slasher, uint32 effectBlock);
    event AllocationUpdated(
        address operator, OperatorSet operatorSet, IStrategy strategy, uint64 magnitude, uint32 effectBlock
    );
    event EncumberedMagnitudeUpdated(address operator, IStrategy strategy, uint64 encumberedMagnitude);
    event MaxMagnitudeUpdated(address operator, IStrategy strategy, uint64 maxMagnitude);
    /// @dev `wadSlashed[i]`: the slashed magnitude over the operator's max magnitude before
    /// the slash (the share of its whole delegated stake in `strategies[i]` that was slashed).
    event OperatorSlashed(
        address operator, OperatorSet operatorSet, IStrategy[] strategies, uint256[] wadSlashed, string description
    );
    event AVSRegistrarSet(address avs, IAVSRegistrar registrar);
    event AVSMetadataURIUpdated(address indexed avs, string metadataURI);
    event OperatorSetCreated(OperatorSet operatorSet);
    event OperatorAddedToOperatorSet(address indexed operator, OperatorSet operatorSet);
    event OperatorRemovedFromOperatorSet(address indexed operator, OperatorSet operatorSet);
    event StrategyAddedToOperatorSet(OperatorSet operatorSet, IStrategy strategy);
}

interface IAVSRegistrar {
    function registerOperator(address operator, address avs, uint32[] calldata operatorSetIds, bytes calldata data)
        external;

    function deregisterOperator(address operator, address avs, uint32[] calldata operatorSetIds) external;

    function supportsAVS(address avs) external view returns (bool);
}

interface IAllocationManager is IAllocationManagerErrors, IAllocationManagerEvents {
    // ---- actions
    function slashOperator(address avs, SlashingParams calldata params)
        external
        returns (uint256 slashId, uint256[] memory shares);

    function modifyAllocations(address operator, AllocateParams[] calldata params) external;

    function registerForOperatorSets(address operator, RegisterParams calldata params) external;

    function deregisterFromOperatorSets(DeregisterParams calldata params) external;

    /// @notice Called by the DelegationManager at operator registration (effective at
    /// once), or by the operator to change it (effective after ALLOCATION_CONFIGURATION_DELAY + 1).
    function setAllocationDelay(address operator, uint32 delay) external;

    function setAVSRegistrar(address avs, IAVSRegistrar registrar) external;

    function updateAVSMetadataURI(address avs, string calldata metadataURI) external;

    /// @dev The slasher-aware form, in the core since v1.9.0.
    function createOperatorSets(address avs, CreateSetParamsV2[] calldata params) external;

    // ---- views
    function DEALLOCATION_DELAY() external view returns (uint32);

    function ALLOCATION_CONFIGURATION_DELAY() external view returns (uint32);

    function getAllocationDelay(address operator) external view returns (bool isSet, uint32 delay);

    function getAllocation(address operator, OperatorSet memory operatorSet, IStrategy strategy)
        external
        view
        returns (Allocation memory);

    function getMaxMagnitude(address operator, IStrategy strategy) external view returns (uint64);

    function getEncumberedMagnitude(address operator, IStrategy strategy) external view returns (uint64);

    function getAllocatableMagnitude(address operator, IStrategy strategy) external view returns (uint64);

    function isOperatorSlashable(address operator, OperatorSet memory operatorSet) external view returns (bool);

    function getAVSRegistrar(address avs) external view returns (IAVSRegistrar);

    function getSlasher(OperatorSet memory operatorSet) external view returns (address);

    function isOperatorSet(OperatorSet memory operatorSet) external view returns (bool);

    function getStrategiesInOperatorSet(OperatorSet memory operatorSet) external view returns (IStrategy[] memory);

    function getMembers(OperatorSet memory operatorSet) external view returns (address[] memory operators);

    function isMemberOfOperatorSet(address operator, OperatorSet memory operatorSet) external view returns (bool);

    function getSlashCount(OperatorSet memory operatorSet) external view returns (uint256);

    function getAllocatedStake(
        OperatorSet memory operatorSet,
        address[] memory operators,
        IStrategy[] memory strategies
    ) external view returns (uint256[][] memory slashableStake);
}

// ------------------------------------------------------------------------- delegation manager

interface ISignatureUtilsMixinTypes {
    struct SignatureWithExpiry {
        bytes signature;
        uint256 expiry;
    }
}

interface IDelegationManagerErrors {
    error OnlyStrategyManagerOrEigenPodManager();
    error OnlyAllocationManager();
    error ActivelyDelegated();
    error OperatorNotRegistered();
    error FullySlashed();
}

interface IDelegationManagerEvents {
    event OperatorRegistered(address indexed operator, address delegationApprover);
    event OperatorMetadataURIUpdated(address indexed operator, string metadataURI);
    event OperatorSharesIncreased(address indexed operator, address staker, IStrategy strategy, uint256 shares);
    event OperatorSharesDecreased(address indexed operator, address staker, IStrategy strategy, uint256 shares);
    event StakerDelegated(address indexed staker, address indexed operator);
    event OperatorSharesSlashed(address indexed operator, IStrategy strategy, uint256 totalSlashedShares);
}

interface IDelegationManager is IDelegationManagerErrors, IDelegationManagerEvents, ISignatureUtilsMixinTypes {
    function registerAsOperator(address initDelegationApprover, uint32 allocationDelay, string calldata metadataURI)
        external;

    function delegateTo(address operator, SignatureWithExpiry memory approverSignatureAndExpiry, bytes32 approverSalt)
        external;

    /// @notice StrategyManager only: `staker` got `addedShares` (its deposit shares were
    /// `prevDepositShares`); its operator's delegated shares grow by as much.
    function increaseDelegatedShares(address staker, IStrategy strategy, uint256 prevDepositShares, uint256 addedShares)
        external;

    /// @notice AllocationManager only: the operator's max magnitude fell from
    /// `prevMaxMagnitude` to `newMaxMagnitude`; its delegated shares fall in proportion.
    function slashOperatorShares(
        address operator,
        OperatorSet calldata operatorSet,
        uint256 slashId,
        IStrategy strategy,
        uint64 prevMaxMagnitude,
        uint64 newMaxMagnitude
    ) external returns (uint256 totalDepositSharesToSlash);

    function isOperator(address operator) external view returns (bool);

    function isDelegated(address staker) external view returns (bool);

    function delegatedTo(address staker) external view returns (address);

    function operatorShares(address operator, IStrategy strategy) external view returns (uint256);

    function getOperatorShares(address operator, IStrategy[] memory strategies) external view returns (uint256[] memory);
}

// ------------------------------------------------------------------------- strategy manager

interface IStrategyManagerErrors {
    error OnlyDelegationManager();
    error OnlyStrategyWhitelister();
    error SharesAmountZero();
    error StakerAddressZero();
    error StrategyNotWhitelisted();
}

interface IStrategyManagerEvents {
    /// @dev No indexed fields, as in the core.
    event Deposit(address staker, IStrategy strategy, uint256 shares);
    event StrategyAddedToDepositWhitelist(IStrategy strategy);
    event BurnOrRedistributableSharesIncreased(
        OperatorSet operatorSet, uint256 slashId, IStrategy strategy, uint256 shares
    );
}

interface IStrategyManager is IStrategyManagerErrors, IStrategyManagerEvents {
    function depositIntoStrategy(IStrategy strategy, IERC20 token, uint256 amount)
        external
        returns (uint256 depositShares);

    function addStrategiesToDepositWhitelist(IStrategy[] calldata strategiesToWhitelist) external;

    /// @notice DelegationManager only: slashed shares of `strategy`, to burn.
    function increaseBurnOrRedistributableShares(
        OperatorSet calldata operatorSet,
        uint256 slashId,
        IStrategy strategy,
        uint256 addedSharesToBurn
    ) external;

    function strategyIsWhitelistedForDeposit(IStrategy strategy) external view returns (bool);

    function stakerDepositShares(address staker, IStrategy strategy) external view returns (uint256);

    function getDeposits(address staker) external view returns (IStrategy[] memory, uint256[] memory);
}
