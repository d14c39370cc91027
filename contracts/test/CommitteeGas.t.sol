// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {console} from "forge-std/console.sol";
import {Devnet} from "./utils/Devnet.sol";
import {IAllocationManagerTypes, IStrategy, OperatorSet} from "../src/interfaces/IEigenLayer.sol";

/// @notice Gas of `sampleCommittee` (bounded by the committee's size) against
/// `operatorsWithStakes` (linear in the operators), each from cold storage, with 20 and
/// 100 registered operators.
contract CommitteeGasTest is Devnet {
    function _grow(uint256 n) internal {
        for (uint256 i = ops.length; i < n; ++i) {
            (address op, uint256 key) = makeAddrAndKey(string.concat("operator", vm.toString(i)));
            addOperator(op, key, STAKE * (1 + i % 7));
        }
    }

    function _cool() internal {
        vm.cool(address(avs));
        vm.cool(address(allocation));
        vm.cool(address(delegation));
    }

    function _measure(uint256 n) internal returns (uint256 g8, uint256 g16, uint256 all) {
        _grow(n);
        assertEq(avs.operatorCount(), n);
        bytes32 seed = keccak256("gas");
        _cool();
        uint256 g = gasleft();
        (address[] memory c8,) = avs.sampleCommittee(seed, 8);
        g8 = g - gasleft();
        _cool();
        g = gasleft();
        (address[] memory c16,) = avs.sampleCommittee(seed, 16);
        g16 = g - gasleft();
        _cool();
        g = gasleft();
        (address[] memory members,) = avs.operatorsWithStakes();
        all = g - gasleft();
        // of sampleCommittee(seed, 16): the fresh stakes of the 16 (one getAllocatedStake)
        IStrategy[] memory strategies = new IStrategy[](1);
        strategies[0] = strategy;
        _cool();
        g = gasleft();
        allocation.getAllocatedStake(OperatorSet(address(avs), 0), c16, strategies);
        uint256 stakes16 = g - gasleft();
        assertEq(c8.length, 8);
        assertEq(c16.length, 16);
        assertEq(members.length, n);
        console.log("operators", n);
        console.log("  sampleCommittee(seed, 8) gas", g8);
        console.log("  sampleCommittee(seed, 16) gas", g16);
        console.log("    of which getAllocatedStake of the 16", stakes16);
        console.log("  operatorsWithStakes() gas", all);
    }

    function test_gas20() public {
        (uint256 g8, uint256 g16,) = _measure(20);
        assertLt(g8, g16);
    }

    /// @dev Registration (core + registrar, with the new slot) and a refresh of 16 operators.
    function test_gasOfRegistrationAndRefresh() public {
        _grow(100);
        (address op, uint256 key) = makeAddrAndKey("late");
        stakeAndAllocate(op, STAKE);
        bytes memory peerId = abi.encodePacked("peer-", vm.toString(op));
        bytes memory sig = signPeer(key, op, peerId);
        uint32[] memory ids = new uint32[](1);
        _cool();
        vm.prank(op);
        uint256 g = gasleft();
        allocation.registerForOperatorSets(
            op, IAllocationManagerTypes.RegisterParams(address(avs), ids, abi.encode(peerId, sig))
        );
        console.log("registerForOperatorSets of the 101st operator gas", g - gasleft());
        address[] memory batch = new address[](16);
        for (uint256 i; i < 16; ++i) {
            batch[i] = ops[i * 6];
        }
        _cool();
        g = gasleft();
        avs.refreshStakes(batch);
        console.log("refreshStakes of 16 unchanged operators gas", g - gasleft());
        avs.setMinimumStake(STAKE * 4);
        _cool();
        g = gasleft();
        avs.refreshStakes(batch);
        console.log("refreshStakes of 16 operators, some falling below the minimum, gas", g - gasleft());
    }

    function test_gas100() public {
        (uint256 g8, uint256 g16, uint256 all) = _measure(100);
        assertLt(g16, all, "a committee of 16 is cheaper than listing 100");
        assertLt(g16, 1_000_000);
        assertLt(g8, 500_000);
    }
}
