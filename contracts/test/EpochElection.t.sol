// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {console} from "forge-std/console.sol";
import {Devnet} from "./utils/Devnet.sol";
import {IEpochManager} from "../src/interfaces/IEpochManager.sol";

/// The aggregator election: the roster snapshot at open, the draw from the seed among the
/// operators that committed (`candidates`), and the draw matching the Python vectors.
/// (Apart from `EpochManager.t.sol`: solc-js's via-IR assembler fails on one test
/// contract of over 64 KiB, "Tag too large for reserved space".)
contract EpochElectionTest is Devnet {
    uint256 internal constant D = 100; // entries per update in these tests

    function commitAll(uint256 e, uint256 count) internal {
        for (uint256 i; i < count; ++i) {
            vm.prank(ops[i]);
            epochs.commitUpdate(e, keccak256(fakeUpdate(i, D)));
        }
    }

    function test_openEpochSnapshotsTheSetAndElectsFromTheSeed() public {
        uint256 e = epochs.openEpoch();
        assertEq(e, 1);
        (address[] memory roster, uint256[] memory stakes) = epochs.roster(e);
        assertEq(roster.length, N);
        assertEq(stakes[N - 1], STAKE * N);
        // nobody is elected before the seed exists
        assertEq(epochs.getEpoch(e).aggregator, address(0));
        assertEq(epochs.aggregatorAt(e, 0), address(0));
        commitAll(e, N);
        vm.roll(epochs.getEpoch(e).closeBlock + 1);
        bytes32 seed = epochs.recordSeed(e);
        address agg = epochs.getEpoch(e).aggregator;
        assertTrue(epochs.inRoster(e, agg));
        assertEq(agg, epochs.aggregatorAt(e, 0));
        assertEq(agg, roster[epochs.drawIndex(seed, 0, stakes)]);
        assertEq(epochs.aggregatorAt(e, 1), roster[epochs.drawIndex(seed, 1, stakes)]);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.PreviousEpochNotFinalized.selector, 1));
        epochs.openEpoch();
    }

    /// Only operators that committed are drawn: whoever of the roster stays silent, every
    /// attempt's aggregator committed, and it is the stake draw over `candidates` (the
    /// committed members in roster order, with their roster stakes). Nobody committed:
    /// nobody is drawn.
    function testFuzz_onlyCommittedOperatorsAreDrawn(uint8 silentMask, uint32 attempt) public {
        uint256 e = epochs.openEpoch();
        (address[] memory roster, uint256[] memory stakes) = epochs.roster(e);
        uint256 c;
        for (uint256 i; i < N; ++i) {
            if ((silentMask >> i) & 1 == 1) continue;
            vm.prank(ops[i]);
            epochs.commitUpdate(e, keccak256(fakeUpdate(i, D)));
            ++c;
        }
        vm.roll(epochs.getEpoch(e).closeBlock + 1);
        bytes32 seed = epochs.recordSeed(e);
        (address[] memory cand, uint256[] memory candStakes) = epochs.candidates(e);
        assertEq(cand.length, c);
        uint256 k;
        for (uint256 i; i < N; ++i) {
            if (epochs.commitmentOf(e, roster[i]) == bytes32(0)) continue;
            assertEq(cand[k], roster[i]);
            assertEq(candStakes[k], stakes[i]);
            ++k;
        }
        address agg = epochs.aggregatorAt(e, attempt);
        if (c == 0) {
            assertEq(agg, address(0));
            assertEq(epochs.getEpoch(e).aggregator, address(0));
            return;
        }
        assertTrue(epochs.commitmentOf(e, agg) != bytes32(0), "a silent operator was drawn");
        assertEq(agg, cand[epochs.drawIndex(seed, attempt, candStakes)]);
        assertEq(epochs.getEpoch(e).aggregator, epochs.aggregatorAt(e, 0));
    }

    /// Over many seeds, each operator is drawn about in proportion to its stake (1 : 2 : … : 6).
    function test_drawFollowsStake() public view {
        uint256[] memory stakes = new uint256[](N);
        uint256 total;
        for (uint256 i; i < N; ++i) {
            stakes[i] = STAKE * (i + 1);
            total += stakes[i];
        }
        uint256 draws = 4200;
        uint256[N] memory wins;
        for (uint256 j; j < draws; ++j) {
            wins[epochs.drawIndex(keccak256(abi.encode(j)), uint32(j % 7), stakes)] += 1;
        }
        for (uint256 i; i < N; ++i) {
            uint256 expected = draws * stakes[i] / total; // 200, 400, …, 1200
            assertApproxEqRel(wins[i], expected, 0.2e18);
        }
    }

    /// The draw lands on an operator with stake, in range, whose cumulative-stake interval
    /// holds r = keccak256(seed ‖ "aggregator" ‖ attempt) mod total.
    function testFuzz_drawIsInRangeAndInItsStakeInterval(bytes32 seed, uint32 attempt, uint64[5] memory raw) public {
        uint256[] memory stakes = new uint256[](5);
        uint256 total;
        for (uint256 i; i < 5; ++i) {
            stakes[i] = uint256(raw[i]) * 1 gwei; // zeros included: never drawn
            total += stakes[i];
        }
        if (total == 0) {
            vm.expectRevert(IEpochManager.NoOperators.selector);
            epochs.drawIndex(seed, attempt, stakes);
            return;
        }
        uint256 idx = epochs.drawIndex(seed, attempt, stakes);
        assertLt(idx, 5);
        assertGt(stakes[idx], 0);
        uint256 r = uint256(keccak256(abi.encodePacked(seed, "aggregator", attempt))) % total;
        uint256 below;
        for (uint256 i; i < idx; ++i) {
            below += stakes[i];
        }
        assertGe(r, below);
        assertLt(r, below + stakes[idx]);
    }

    /// The draws Python computes (tests/vectors/election.json, written by
    /// tests/vectors/election_vectors.py) are the contract's, bit for bit.
    function test_drawMatchesThePythonVectors() public view {
        string memory json = vm.readFile("../tests/vectors/election.json");
        uint256 count = vm.parseJsonUint(json, ".count");
        assertGt(count, 0);
        for (uint256 c; c < count; ++c) {
            string memory at = string.concat(".cases[", vm.toString(c), "]");
            bytes32 seed = vm.parseJsonBytes32(json, string.concat(at, ".seed"));
            uint256 attempt = vm.parseJsonUint(json, string.concat(at, ".attempt"));
            uint256[] memory stakes = vm.parseJsonUintArray(json, string.concat(at, ".stakes"));
            uint256 index = vm.parseJsonUint(json, string.concat(at, ".index"));
            assertEq(epochs.drawIndex(seed, uint32(attempt), stakes), index, at);
        }
    }

    /// The election needs a roster with stake.
    function test_drawOfAnEmptyRosterReverts() public {
        vm.expectRevert(IEpochManager.NoOperators.selector);
        epochs.drawIndex(bytes32(uint256(1)), 0, new uint256[](0));
    }

    /// Gas of `recordSeed`, which draws the aggregator over the candidates (one loop over
    /// the roster: its stake and whether it committed), with every one of the 6 and with 3
    /// committed; against the bare `drawIndex` over the same stakes in the same run.
    function test_gasOfTheDraw() public {
        for (uint256 count = N; count >= 3; count -= 3) {
            uint256 snap = vm.snapshotState();
            uint256 e = epochs.openEpoch();
            commitAll(e, count);
            vm.roll(epochs.getEpoch(e).closeBlock + 1);
            uint256 g = gasleft();
            bytes32 seed = epochs.recordSeed(e);
            uint256 used = g - gasleft();
            (, uint256[] memory stakes) = epochs.candidates(e);
            g = gasleft();
            epochs.drawIndex(seed, 0, stakes);
            uint256 bare = g - gasleft();
            console.log("recordSeed, committed of 6:", count, "gas", used);
            console.log("  drawIndex alone", bare);
            assertLt(used, 120_000); // bounded by the roster (committeeSize)
            vm.revertToState(snap);
        }
    }
}
