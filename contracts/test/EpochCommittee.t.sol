// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {console} from "forge-std/console.sol";
import {Devnet} from "./utils/Devnet.sol";
import {EpochManager} from "../src/avs/EpochManager.sol";
import {IEpochManager} from "../src/interfaces/IEpochManager.sol";

/// @notice Committees in the EpochManager: above `committeeSize` registered operators an
/// epoch's roster is a stake-weighted committee drawn by the service manager from the
/// previous epoch's seed (the previous block's hash for the first); only its members
/// commit, and the last member's commit closes the phase. `openEpoch`'s gas is bounded by
/// the committee's size: 20 and 100 registered operators against the whole-set snapshot.
contract EpochCommitteeTest is Devnet {
    function _manager(uint32 size) internal returns (EpochManager em) {
        EpochManager.Params memory p = defaultParams();
        p.committeeSize = size;
        em = new EpochManager(avs, verifier, p, genesisModel(), address(this));
    }

    function _grow(uint256 n) internal {
        for (uint256 i = ops.length; i < n; ++i) {
            (address op, uint256 key) = makeAddrAndKey(string.concat("operator", vm.toString(i)));
            addOperator(op, key, STAKE * (1 + i % 7));
        }
    }

    function _isOperator(address a) internal view returns (bool) {
        for (uint256 i; i < ops.length; ++i) {
            if (ops[i] == a) return true;
        }
        return false;
    }

    function test_aRosterAboveTheCommitteeSizeSitsADrawnCommittee() public {
        EpochManager em = _manager(4);
        (address[] memory expected, uint256[] memory stakes) = avs.sampleCommittee(blockhash(block.number - 1), 4);
        uint256 e = em.openEpoch();
        (address[] memory roster, uint256[] memory rosterStakes) = em.roster(e);
        assertEq(roster.length, 4);
        assertEq(roster, expected);
        assertEq(rosterStakes, stakes);
        uint256 total;
        for (uint256 i; i < roster.length; ++i) {
            assertTrue(_isOperator(roster[i]));
            assertTrue(em.inRoster(e, roster[i]));
            for (uint256 j; j < i; ++j) {
                assertTrue(roster[i] != roster[j], "distinct");
            }
            total += rosterStakes[i];
        }
        assertEq(em.getEpoch(e).totalStake, total);
        // an operator outside the committee sits the epoch out
        address outside;
        for (uint256 i; i < ops.length; ++i) {
            if (!em.inRoster(e, ops[i])) outside = ops[i];
        }
        assertTrue(outside != address(0));
        vm.prank(outside);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.NotInRoster.selector, e, outside));
        em.commitUpdate(e, keccak256("outside"));
        // the committee's last commit closes the phase
        for (uint256 i; i < roster.length; ++i) {
            vm.prank(roster[i]);
            em.commitUpdate(e, keccak256(abi.encode(i)));
        }
        assertEq(em.getEpoch(e).closeBlock, block.number);
    }

    function test_theNextCommitteeIsDrawnFromThePreviousSeed() public {
        EpochManager em = _manager(4);
        uint256 e = em.openEpoch();
        (address[] memory roster,) = em.roster(e);
        for (uint256 i; i < roster.length; ++i) {
            vm.prank(roster[i]);
            em.commitUpdate(e, keccak256(abi.encode(i)));
        }
        vm.roll(block.number + 1);
        bytes32 seed = em.recordSeed(e);
        // every attempt times out: the epoch is skipped, its seed recorded
        for (uint256 a; a < defaultParams().maxAttempts; ++a) {
            vm.roll(em.getEpoch(e).submitDeadline + 1);
            em.reportTimeout(e);
        }
        assertEq(uint8(em.getEpoch(e).status), uint8(IEpochManager.Status.Finalized));
        vm.roll(block.number + 1);
        (address[] memory expected,) = avs.sampleCommittee(seed, 4);
        uint256 next = em.openEpoch();
        (address[] memory second,) = em.roster(next);
        assertEq(second, expected);
    }

    function test_atOrBelowTheCommitteeSizeTheRosterIsEveryone() public {
        EpochManager em = _manager(uint32(N));
        uint256 e = em.openEpoch();
        (address[] memory roster,) = em.roster(e);
        assertEq(roster.length, N);
    }

    function test_aCommitteeSizeOutsideThreeTo255IsRefused() public {
        EpochManager.Params memory p = defaultParams();
        p.committeeSize = 2;
        vm.expectRevert(IEpochManager.BadParams.selector);
        new EpochManager(avs, verifier, p, genesisModel(), address(this));
        p.committeeSize = 256;
        vm.expectRevert(IEpochManager.BadParams.selector);
        new EpochManager(avs, verifier, p, genesisModel(), address(this));
    }

    function _openGas(uint32 size) internal returns (uint256 g) {
        EpochManager em = _manager(size);
        vm.cool(address(avs));
        vm.cool(address(allocation));
        vm.cool(address(delegation));
        g = gasleft();
        em.openEpoch();
        g -= gasleft();
    }

    function test_openEpochGasIsBoundedByTheCommittee() public {
        _grow(20);
        uint256 c8at20 = _openGas(8);
        uint256 c16at20 = _openGas(16);
        uint256 allAt20 = _openGas(255);
        _grow(100);
        uint256 c8at100 = _openGas(8);
        uint256 c16at100 = _openGas(16);
        uint256 allAt100 = _openGas(255);
        console.log("openEpoch, 20 registered: committee 8", c8at20);
        console.log("openEpoch, 20 registered: committee 16", c16at20);
        console.log("openEpoch, 20 registered: all (committeeSize 255)", allAt20);
        console.log("openEpoch, 100 registered: committee 8", c8at100);
        console.log("openEpoch, 100 registered: committee 16", c16at100);
        console.log("openEpoch, 100 registered: all (committeeSize 255)", allAt100);
        // five times the operators: the committee's cost grows by the tree's depth only
        assertLt(c16at100, c16at20 * 12 / 10);
        assertLt(c8at100, c8at20 * 12 / 10);
        assertGt(allAt100, allAt20 * 4);
        assertLt(c16at100 * 4, allAt100);
    }
}
