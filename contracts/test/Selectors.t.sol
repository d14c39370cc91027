// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";
import {
    IAllocationManager,
    IAllocationManagerErrors,
    IAllocationManagerEvents,
    IAVSRegistrar,
    IDelegationManager,
    IDelegationManagerEvents,
    IStrategyManager,
    IStrategyManagerEvents
} from "../src/interfaces/IEigenLayer.sol";
import {DevAllocationManager} from "../src/devnet/DevAllocationManager.sol";
import {DevDelegationManager} from "../src/devnet/DevDelegationManager.sol";

/// @notice Our interfaces and devnet contracts use EigenLayer's published signatures, so
/// the AVS deploys unchanged against the real core.
contract SelectorsTest is Test {
    function sel(string memory signature) internal pure returns (bytes4) {
        return bytes4(keccak256(bytes(signature)));
    }

    function test_allocationManagerSelectors() public pure {
        assertEq(
            IAllocationManager.slashOperator.selector,
            sel("slashOperator(address,(address,uint32,address[],uint256[],string))")
        );
        assertEq(
            IAllocationManager.registerForOperatorSets.selector,
            sel("registerForOperatorSets(address,(address,uint32[],bytes))")
        );
        assertEq(
            IAllocationManager.deregisterFromOperatorSets.selector,
            sel("deregisterFromOperatorSets((address,address,uint32[]))")
        );
        assertEq(
            IAllocationManager.createOperatorSets.selector,
            sel("createOperatorSets(address,(uint32,address[],address)[])")
        );
        assertEq(
            IAllocationManager.modifyAllocations.selector,
            sel("modifyAllocations(address,((address,uint32),address[],uint64[])[])")
        );
        assertEq(IAllocationManager.setAVSRegistrar.selector, sel("setAVSRegistrar(address,address)"));
        assertEq(IAllocationManager.updateAVSMetadataURI.selector, sel("updateAVSMetadataURI(address,string)"));
        assertEq(IAllocationManager.getMembers.selector, sel("getMembers((address,uint32))"));
        assertEq(
            IAllocationManager.isMemberOfOperatorSet.selector, sel("isMemberOfOperatorSet(address,(address,uint32))")
        );
        assertEq(
            IAllocationManager.getAllocatedStake.selector,
            sel("getAllocatedStake((address,uint32),address[],address[])")
        );
    }

    function test_delegationAndRegistrarSelectors() public pure {
        assertEq(IDelegationManager.registerAsOperator.selector, sel("registerAsOperator(address,uint32,string)"));
        assertEq(IDelegationManager.delegateTo.selector, sel("delegateTo(address,(bytes,uint256),bytes32)"));
        assertEq(IDelegationManager.isOperator.selector, sel("isOperator(address)"));
        assertEq(IDelegationManager.getOperatorShares.selector, sel("getOperatorShares(address,address[])"));
        assertEq(IStrategyManager.depositIntoStrategy.selector, sel("depositIntoStrategy(address,address,uint256)"));
        assertEq(IAVSRegistrar.registerOperator.selector, sel("registerOperator(address,address,uint32[],bytes)"));
        assertEq(IAVSRegistrar.deregisterOperator.selector, sel("deregisterOperator(address,address,uint32[])"));
        assertEq(IAVSRegistrar.supportsAVS.selector, sel("supportsAVS(address)"));
    }

    /// The events the core emits, as v1.12 declares them (topics are what indexers match).
    function test_eventSignaturesAreTheCores() public pure {
        assertEq(
            IAllocationManagerEvents.AllocationUpdated.selector,
            keccak256("AllocationUpdated(address,(address,uint32),address,uint64,uint32)")
        );
        assertEq(
            IAllocationManagerEvents.SlasherUpdated.selector,
            keccak256("SlasherUpdated((address,uint32),address,uint32)")
        );
        assertEq(
            IAllocationManagerEvents.OperatorSlashed.selector,
            keccak256("OperatorSlashed(address,(address,uint32),address[],uint256[],string)")
        );
        assertEq(
            IAllocationManagerEvents.AllocationDelaySet.selector, keccak256("AllocationDelaySet(address,uint32,uint32)")
        );
        assertEq(IStrategyManagerEvents.Deposit.selector, keccak256("Deposit(address,address,uint256)"));
        assertEq(
            IDelegationManagerEvents.OperatorSharesSlashed.selector,
            keccak256("OperatorSharesSlashed(address,address,uint256)")
        );
    }

    /// The core's custom errors take no arguments: the selector is the name's.
    function test_errorSelectorsAreTheCores() public pure {
        assertEq(IAllocationManagerErrors.SameMagnitude.selector, sel("SameMagnitude()"));
        assertEq(IAllocationManagerErrors.ModificationAlreadyPending.selector, sel("ModificationAlreadyPending()"));
        assertEq(IAllocationManagerErrors.UninitializedAllocationDelay.selector, sel("UninitializedAllocationDelay()"));
        assertEq(
            IAllocationManagerErrors.StrategiesMustBeInAscendingOrder.selector,
            sel("StrategiesMustBeInAscendingOrder()")
        );
        assertEq(IAllocationManagerErrors.InvalidWadToSlash.selector, sel("InvalidWadToSlash()"));
        assertEq(IAllocationManagerErrors.AlreadyMemberOfSet.selector, sel("AlreadyMemberOfSet()"));
        assertEq(IAllocationManagerErrors.OperatorNotSlashable.selector, sel("OperatorNotSlashable()"));
    }

    function test_devnetContractsImplementThem() public {
        DevDelegationManager d = new DevDelegationManager();
        DevAllocationManager a = new DevAllocationManager(d, 5, 5);
        // Calls through the interface selectors reach the devnet implementations.
        (bool ok,) = address(a)
            .staticcall(
                abi.encodeWithSelector(
                    IAllocationManager.isMemberOfOperatorSet.selector, address(1), address(2), uint32(0)
                )
            );
        assertTrue(ok);
        (ok,) = address(d).staticcall(abi.encodeWithSelector(IDelegationManager.isOperator.selector, address(1)));
        assertTrue(ok);
    }
}
