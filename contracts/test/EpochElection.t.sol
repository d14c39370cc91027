// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {console} from "forge-std/console.sol";
import {Devnet} from "./utils/Devnet.sol";
import {IEpochManager} from "../src/interfaces/IEpochManager.sol";
import {Election} from "../src/avs/Election.sol";
import {EpochManager} from "../src/avs/EpochManager.sol";

/// The aggregator election: the roster snapshot at open, the draw from the seed among the
/// operators that committed (`candidates`) and were not drawn at an earlier attempt, and
/// the draws matching the Python vectors.
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
        assertEq(agg, roster[Election.drawIndex(seed, 0, stakes)]);
        // attempt 1 draws among the others: the draw of attempt 1 with attempt 0's stake zeroed
        uint256 first = Election.drawIndex(seed, 0, stakes);
        stakes[first] = 0;
        assertEq(epochs.aggregatorAt(e, 1), roster[Election.drawIndex(seed, 1, stakes)]);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.PreviousEpochNotFinalized.selector, 1));
        epochs.openEpoch();
    }

    /// Only operators that committed are drawn: whoever of the roster stays silent, every
    /// attempt's aggregator committed, and it is the stake draw over `candidates` (the
    /// committed members in roster order, with their roster stakes). Nobody committed:
    /// nobody is drawn.
    function testFuzz_onlyCommittedOperatorsAreDrawn(uint8 silentMask, uint32 attempt) public {
        attempt %= 16; // each attempt costs a draw
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
        assertEq(agg, cand[Election.aggregatorIndex(seed, attempt, candStakes)]);
        assertEq(epochs.getEpoch(e).aggregator, epochs.aggregatorAt(e, 0));
    }

    /// No attempt draws an operator an earlier attempt of the epoch drew while another
    /// candidate is left (whichever are silent): the first `c` attempts draw `c` different
    /// operators, and attempt `c` starts over.
    function testFuzz_noAggregatorIsDrawnTwiceBeforeEveryCandidateWas(uint8 silentMask) public {
        uint256 e = epochs.openEpoch();
        for (uint256 i; i < N; ++i) {
            if ((silentMask >> i) & 1 == 1) continue;
            vm.prank(ops[i]);
            epochs.commitUpdate(e, keccak256(fakeUpdate(i, D)));
        }
        vm.roll(epochs.getEpoch(e).closeBlock + 1);
        bytes32 seed = epochs.recordSeed(e);
        (address[] memory cand, uint256[] memory stakes) = epochs.candidates(e);
        uint256 c = cand.length;
        vm.assume(c > 0);
        for (uint32 a; a < c; ++a) {
            address agg = epochs.aggregatorAt(e, a);
            for (uint32 b; b < a; ++b) {
                assertTrue(epochs.aggregatorAt(e, b) != agg, "drawn twice in one round");
            }
        }
        // once all were drawn, the draw starts over from every candidate
        assertEq(epochs.aggregatorAt(e, uint32(c)), cand[Election.drawIndex(seed, uint32(c), stakes)]);
    }

    /// A silent aggregator is never the epoch's aggregator again: every timeout passes the
    /// epoch to an operator that has not had it, until the attempts run out.
    function test_timeoutsRotateToOperatorsThatHaveNotHadTheEpoch() public {
        uint256 e = epochs.openEpoch();
        commitAll(e, N);
        vm.roll(epochs.getEpoch(e).closeBlock + 1);
        epochs.recordSeed(e);
        uint32 attempts = epochs.params().maxAttempts;
        address[] memory had = new address[](attempts);
        for (uint32 a; a < attempts; ++a) {
            EpochManager.Epoch memory ep = epochs.getEpoch(e);
            assertEq(ep.attempt, a);
            for (uint32 b; b < a; ++b) {
                assertTrue(had[b] != ep.aggregator, "a silent aggregator got the epoch back");
            }
            had[a] = ep.aggregator;
            vm.roll(ep.submitDeadline + 1);
            epochs.reportTimeout(e);
        }
        assertEq(uint8(epochs.getEpoch(e).status), uint8(IEpochManager.Status.Finalized)); // skipped
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
            wins[Election.drawIndex(keccak256(abi.encode(j)), uint32(j % 7), stakes)] += 1;
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
            Election.drawIndex(seed, attempt, stakes);
            return;
        }
        uint256 idx = Election.drawIndex(seed, attempt, stakes);
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
            assertEq(Election.drawIndex(seed, uint32(attempt), stakes), index, at);
        }
        count = vm.parseJsonUint(json, ".sequenceCount");
        assertGt(count, 0);
        for (uint256 c; c < count; ++c) {
            string memory at = string.concat(".sequences[", vm.toString(c), "]");
            bytes32 seed = vm.parseJsonBytes32(json, string.concat(at, ".seed"));
            uint256[] memory stakes = vm.parseJsonUintArray(json, string.concat(at, ".stakes"));
            uint256[] memory indices = vm.parseJsonUintArray(json, string.concat(at, ".indices"));
            for (uint32 a; a < indices.length; ++a) {
                assertEq(Election.aggregatorIndex(seed, a, stakes), indices[a], at);
            }
        }
    }

    /// The election needs a roster with stake.
    function test_drawOfAnEmptyRosterReverts() public {
        vm.expectRevert(IEpochManager.NoOperators.selector);
        Election.drawIndex(bytes32(uint256(1)), 0, new uint256[](0));
    }

    /// Gas of `recordSeed`, which draws the aggregator over the candidates (one loop over
    /// the roster: its stake and whether it committed), with every one of the 6 and with 3
    /// committed; against the bare `drawIndex` over the same stakes in the same run, and the
    /// draw of attempt 3 (four draws: what a rotation to the default last attempt costs).
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
            Election.drawIndex(seed, 0, stakes);
            uint256 bare = g - gasleft();
            g = gasleft();
            Election.aggregatorIndex(seed, 3, stakes);
            uint256 fourth = g - gasleft();
            console.log("recordSeed, committed of 6:", count, "gas", used);
            console.log("  drawIndex alone", bare);
            console.log("  aggregatorIndex of attempt 3 (four draws)", fourth);
            assertLt(used, 120_000); // bounded by the roster (committeeSize)
            vm.revertToState(snap);
        }
    }
}
