// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Devnet} from "./utils/Devnet.sol";
import {P2pflServiceManager} from "../src/avs/P2pflServiceManager.sol";
import {IAllocationManagerTypes} from "../src/interfaces/IEigenLayer.sol";

contract ServiceManagerTest is Devnet {
    function test_viewsListTheSetWithStakes() public view {
        (address[] memory members, uint256[] memory stakes) = avs.operatorsWithStakes();
        assertEq(members.length, N);
        for (uint256 i; i < N; ++i) {
            assertEq(members[i], ops[i]);
            assertEq(stakes[i], STAKE * (i + 1));
            assertEq(avs.peerIdOf(ops[i]), abi.encodePacked("peer-", vm.toString(ops[i])));
        }
        assertTrue(avs.supportsAVS(address(avs)));
        assertFalse(avs.supportsAVS(address(1)));
    }

    function test_onlyTheAllocationManagerCallsTheRegistrar() public {
        uint32[] memory ids = new uint32[](1);
        vm.expectRevert(abi.encodeWithSelector(P2pflServiceManager.OnlyAllocationManager.selector, address(this)));
        avs.registerOperator(ops[0], address(avs), ids, "");
        vm.expectRevert(abi.encodeWithSelector(P2pflServiceManager.OnlyAllocationManager.selector, address(this)));
        avs.deregisterOperator(ops[0], address(avs), ids);
    }

    function _prepare(string memory name, uint256 stake) internal returns (address op, uint256 key) {
        (op, key) = makeAddrAndKey(name);
        stakeAndAllocate(op, stake);
    }

    function test_aForgedPeerBindingIsRefused() public {
        (address op,) = _prepare("newcomer", 5 ether);
        (, uint256 otherKey) = makeAddrAndKey("impostor");
        bytes memory peerId = "peer-x";
        bytes memory sig = signPeer(otherKey, op, peerId);
        uint32[] memory ids = new uint32[](1);
        vm.prank(op);
        vm.expectRevert(abi.encodeWithSelector(P2pflServiceManager.BadPeerSignature.selector, op));
        allocation.registerForOperatorSets(
            op, IAllocationManagerTypes.RegisterParams(address(avs), ids, abi.encode(peerId, sig))
        );
    }

    function test_stakeBelowTheMinimumIsRefused() public {
        (address op, uint256 key) = _prepare("small", 0.5 ether);
        bytes memory peerId = "peer-small";
        bytes memory sig = signPeer(key, op, peerId); // before prank: it calls the AVS
        uint32[] memory ids = new uint32[](1);
        vm.prank(op);
        vm.expectRevert(abi.encodeWithSelector(P2pflServiceManager.StakeTooLow.selector, op, 0.5 ether, 1 ether));
        allocation.registerForOperatorSets(
            op, IAllocationManagerTypes.RegisterParams(address(avs), ids, abi.encode(peerId, sig))
        );
    }

    function test_operatorRotatesItsPeerId() public {
        bytes memory fresh = "peer-rotated";
        bytes memory sig = signPeer(keys[1], ops[1], fresh); // before prank: it calls the AVS
        bytes memory wrong = signPeer(keys[2], ops[1], "peer-y");
        vm.expectEmit(true, false, false, true, address(avs));
        emit P2pflServiceManager.PeerIdUpdated(ops[1], fresh);
        vm.prank(ops[1]);
        avs.updatePeerId(fresh, sig);
        assertEq(avs.peerIdOf(ops[1]), fresh);
        vm.prank(ops[1]);
        vm.expectRevert(abi.encodeWithSelector(P2pflServiceManager.BadPeerSignature.selector, ops[1]));
        avs.updatePeerId("peer-y", wrong);
    }

    function test_ownerOnlySettings() public {
        vm.prank(ops[0]);
        vm.expectRevert();
        avs.setMinimumStake(0);
        vm.expectRevert(P2pflServiceManager.EpochManagerAlreadySet.selector);
        avs.setEpochManager(address(1));
    }
}
