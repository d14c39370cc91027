// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";
import {StakeTree} from "../src/avs/StakeTree.sol";
import {StakeTreeHarness} from "./utils/StakeTreeHarness.sol";

/// @notice `StakeTree` against naive prefix sums, at its boundaries, and its committee draw.
contract StakeTreeTest is Test {
    StakeTreeHarness internal tree;

    function setUp() public {
        tree = new StakeTreeHarness();
    }

    function _weights(uint256[] memory w) internal {
        tree.setAll(w);
    }

    /// @dev Random sets over the whole capacity, then prefix sums and finds equal the naive ones.
    function testFuzz_fenwickEqualsNaivePrefixSums(uint256[24] memory slots, uint96[24] memory weights, uint256 r)
        public
    {
        for (uint256 i; i < 24; ++i) {
            // half of the sets land in a small range, so that slots are set more than once
            uint256 slot = i % 2 == 0 ? slots[i] % 16 : slots[i] % StakeTree.CAPACITY;
            tree.set(slot, i % 5 == 4 ? 0 : weights[i]);
        }
        for (uint256 i; i < 24; ++i) {
            uint256 count = i % 2 == 0 ? slots[i] % 17 : (slots[i] % StakeTree.CAPACITY) + 1;
            assertEq(tree.prefix(count), tree.naivePrefix(count), "prefix");
            uint256 slot = i % 2 == 0 ? slots[i] % 16 : slots[i] % StakeTree.CAPACITY;
            assertEq(tree.weightOf(slot), tree.naive(slot), "weight");
        }
        assertEq(tree.prefix(StakeTree.CAPACITY), tree.total());
        assertEq(tree.total(), tree.naivePrefix(StakeTree.CAPACITY), "total");
        if (tree.total() == 0) return;
        r %= tree.total();
        uint256 found = tree.find(r);
        assertEq(found, tree.naiveFind(r), "find");
        assertLe(tree.prefix(found), r);
        assertGt(tree.prefix(found + 1), r);
        assertGt(tree.weightOf(found), 0, "a zero-weight slot is never found");
    }

    /// @dev Every `r` of a small tree with zero weights between: find equals the naive search.
    function testFuzz_everyRFindsItsInterval(uint8[12] memory w) public {
        uint256[] memory weights = new uint256[](12);
        for (uint256 i; i < 12; ++i) {
            weights[i] = i % 3 == 1 ? 0 : w[i] % 7;
        }
        _weights(weights);
        for (uint256 r; r < tree.total(); ++r) {
            uint256 slot = tree.find(r);
            assertEq(slot, tree.naiveFind(r));
            assertGt(weights[slot], 0);
        }
    }

    function test_findAtTheBoundaries() public {
        uint256[] memory weights = new uint256[](6);
        (weights[1], weights[3], weights[5]) = (5, 7, 3); // 0 5 0 7 0 3
        _weights(weights);
        assertEq(tree.total(), 15);
        assertEq(tree.find(0), 1);
        assertEq(tree.find(4), 1);
        assertEq(tree.find(5), 3); // r = prefix(3) exactly: slot 3, not the empty slot 2
        assertEq(tree.find(11), 3);
        assertEq(tree.find(12), 5);
        assertEq(tree.find(14), 5);
        vm.expectRevert(abi.encodeWithSelector(StakeTree.OutOfRange.selector, 15, 15));
        tree.find(15);
    }

    function test_theLastSlotAndTheCapacity() public {
        tree.set(0, 1);
        tree.set(StakeTree.CAPACITY - 1, 2);
        assertEq(tree.find(0), 0);
        assertEq(tree.find(1), StakeTree.CAPACITY - 1);
        assertEq(tree.find(2), StakeTree.CAPACITY - 1);
        assertEq(tree.prefix(StakeTree.CAPACITY - 1), 1);
        vm.expectRevert(StakeTree.CapacityExceeded.selector);
        tree.set(StakeTree.CAPACITY, 1);
        vm.expectRevert(StakeTree.CapacityExceeded.selector);
        tree.weightOf(StakeTree.CAPACITY);
        vm.expectRevert(StakeTree.CapacityExceeded.selector);
        tree.prefix(StakeTree.CAPACITY + 1);
    }

    function test_anEmptyTreeFindsNothing() public {
        vm.expectRevert(abi.encodeWithSelector(StakeTree.OutOfRange.selector, 0, 0));
        tree.find(0);
        assertEq(tree.sample(keccak256("s"), 8).length, 0);
    }

    function test_lowerAndZeroWeightsLeaveTheTotal() public {
        tree.set(3, 10);
        tree.set(700, 5);
        tree.set(3, 4);
        assertEq(tree.total(), 9);
        tree.set(3, 0);
        assertEq(tree.total(), 5);
        assertEq(tree.find(0), 700);
        assertEq(tree.find(4), 700);
    }

    function test_theTotalMayNotOverflow() public {
        tree.set(0, type(uint256).max);
        vm.expectRevert(); // arithmetic overflow
        tree.set(1, 1);
    }

    /// @dev Distinct, positive-weight slots, at most `size`, and the early stop changes nothing.
    function testFuzz_sampleIsDistinctBoundedAndStopsEarlyAlike(bytes32 seed, uint64[10] memory w, uint8 size) public {
        uint256[] memory weights = new uint256[](10);
        for (uint256 i; i < 10; ++i) {
            weights[i] = i % 4 == 2 ? 0 : w[i];
        }
        _weights(weights);
        size %= 14;
        uint256[] memory slots = tree.sample(seed, size);
        assertEq(abi.encode(slots), abi.encode(tree.sampleNoEarlyStop(seed, size)), "early stop");
        assertLe(slots.length, size);
        for (uint256 i; i < slots.length; ++i) {
            assertGt(weights[slots[i]], 0);
            for (uint256 j; j < i; ++j) {
                assertTrue(slots[i] != slots[j], "distinct");
            }
        }
    }

    function test_aDominantSlotStopsTheDrawAtItsBound() public {
        uint256[] memory weights = new uint256[](20);
        weights[7] = 1e30;
        for (uint256 i; i < 20; ++i) {
            if (i != 7) weights[i] = 1;
        }
        _weights(weights);
        uint256 alone;
        for (uint256 s; s < 20; ++s) {
            uint256[] memory slots = tree.sample(keccak256(abi.encode(s)), 4); // 16 draws
            assertEq(slots[0], 7);
            if (slots.length == 1) ++alone;
        }
        assertEq(alone, 20, "16 draws never leave the whale");
    }

    function test_aCommitteeLargerThanTheTreeIsRefused() public {
        tree.set(0, 1);
        vm.expectRevert(abi.encodeWithSelector(StakeTree.CommitteeTooLarge.selector, StakeTree.CAPACITY + 1));
        tree.sample(bytes32(0), StakeTree.CAPACITY + 1);
    }

    /// @dev Over many seeds, the first seat goes to each slot about as often as its weight.
    function test_theFirstSeatFollowsTheWeights() public {
        uint256[] memory weights = new uint256[](5);
        (weights[0], weights[1], weights[2], weights[3], weights[4]) = (1, 2, 3, 4, 10);
        _weights(weights);
        uint256[5] memory counts;
        uint256 n = 2000;
        for (uint256 s; s < n; ++s) {
            ++counts[tree.sample(keccak256(abi.encode("freq", s)), 1)[0]];
        }
        for (uint256 i; i < 5; ++i) {
            // expected n * w / 20; allow ±4 percentage points (≥ 4 standard deviations)
            assertApproxEqAbs(counts[i] * 100, n * weights[i] * 100 / 20, n * 4, "frequency");
        }
    }
}
