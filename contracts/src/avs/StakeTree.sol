// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title StakeTree
/// @notice A Fenwick (binary indexed) tree of weights over the slots `0 .. CAPACITY - 1`:
/// `set` changes one slot's weight in O(log CAPACITY) writes, `find` maps a number
/// `r < total` to the slot whose weight interval `[prefix(slot), prefix(slot + 1))` holds
/// it in O(log CAPACITY) reads (binary lifting), so a draw by weight costs the same for
/// ten operators as for a thousand. `sample` is the committee draw rule of DESIGN.md
/// ("The epoch", step 1) on top of it, shared by the service manager and its tests.
/// @dev Storage layout inside `nodes`: the Fenwick nodes `1 .. CAPACITY - 1` (node `i`
/// holds the weights of the slots `i - lowbit(i) .. i - 1`), and each slot's own weight at
/// key `LEAVES + slot`. The root node `CAPACITY` (the sum of every slot) is `total` itself
/// and is not stored twice. Every function is internal: the library is inlined, never linked.
library StakeTree {
    /// @notice log2 of the number of slots.
    uint256 internal constant CAPACITY_LOG2 = 10;
    /// @notice The number of slots (1024).
    uint256 internal constant CAPACITY = 1 << CAPACITY_LOG2;
    /// @notice The committee draw's domain tag: `keccak256(seed ‖ "committee" ‖ uint32_be(t))`.
    bytes9 internal constant TAG = "committee";
    /// @notice Draws allowed per committee seat before the sample stops short.
    uint256 internal constant DRAWS_PER_SEAT = 4;
    /// @dev Key offset of the slots' own weights in `nodes` (far above the Fenwick nodes).
    uint256 private constant LEAVES = 1 << 128;

    /// @notice The tree: Fenwick nodes and slot weights in `nodes`, their sum in `total`.
    struct Tree {
        mapping(uint256 => uint256) nodes;
        uint256 total;
    }

    /// @notice A slot at or beyond `CAPACITY`.
    error CapacityExceeded();
    /// @notice `find` of an `r` at or above the total weight.
    error OutOfRange(uint256 r, uint256 total);
    /// @notice A committee larger than the number of slots.
    error CommitteeTooLarge(uint256 size);

    /// @notice Set `slot`'s weight to `weight` (O(log CAPACITY) writes; no-op if unchanged).
    function set(Tree storage tree, uint256 slot, uint256 weight) internal {
        if (slot >= CAPACITY) revert CapacityExceeded();
        uint256 previous = tree.nodes[LEAVES + slot];
        if (previous == weight) return;
        tree.nodes[LEAVES + slot] = weight;
        if (weight > previous) {
            uint256 delta = weight - previous;
            tree.total += delta; // checked: the sum of all weights must fit
            unchecked {
                // every node on the path is at most the total, which did not overflow
                for (uint256 i = slot + 1; i < CAPACITY; i += i & (0 - i)) {
                    tree.nodes[i] += delta;
                }
            }
        } else {
            uint256 delta = previous - weight;
            unchecked {
                // every node on the path covers `slot`, so it holds at least `previous`
                tree.total -= delta;
                for (uint256 i = slot + 1; i < CAPACITY; i += i & (0 - i)) {
                    tree.nodes[i] -= delta;
                }
            }
        }
    }

    /// @notice The weight of `slot` (one read).
    function weightOf(Tree storage tree, uint256 slot) internal view returns (uint256) {
        if (slot >= CAPACITY) revert CapacityExceeded();
        return tree.nodes[LEAVES + slot];
    }

    /// @notice The sum of the weights of the slots `0 .. count - 1` (O(log CAPACITY) reads).
    function prefix(Tree storage tree, uint256 count) internal view returns (uint256 sum) {
        if (count > CAPACITY) revert CapacityExceeded();
        if (count == CAPACITY) return tree.total;
        unchecked {
            for (uint256 i = count; i > 0; i &= i - 1) {
                sum += tree.nodes[i];
            }
        }
    }

    /// @notice The slot `i` with `prefix(i) <= r < prefix(i + 1)`, for `r < total`: the
    /// slot a uniform `r` lands in when every slot owns an interval as wide as its weight.
    /// A zero-weight slot owns an empty interval and is never found.
    /// @dev Binary lifting: the largest `pos` with `prefix(pos) <= r`, one node per level
    /// (CAPACITY_LOG2 reads); the root level is skipped since `r < total`.
    function find(Tree storage tree, uint256 r) internal view returns (uint256 slot) {
        uint256 total = tree.total;
        if (r >= total) revert OutOfRange(r, total);
        unchecked {
            for (uint256 step = CAPACITY >> 1; step > 0; step >>= 1) {
                uint256 w = tree.nodes[slot + step];
                if (w <= r) {
                    slot += step;
                    r -= w;
                }
            }
        }
    }

    /// @notice The draw word of draw `t`: `uint256(keccak256(seed ‖ "committee" ‖ uint32_be(t)))`.
    function drawWord(bytes32 seed, uint256 t) internal pure returns (uint256) {
        return uint256(keccak256(abi.encodePacked(seed, TAG, uint32(t))));
    }

    /// @notice The committee of `size` slots drawn by weight from `seed`: draws
    /// `t = 0, 1, 2, …` each pick `find(drawWord(seed, t) % total)`; a slot already drawn is
    /// skipped; the draw stops at `size` distinct slots or after `DRAWS_PER_SEAT * size`
    /// draws, whichever comes first. Slots in draw order; empty if the total is zero.
    /// @param nonZero The number of slots of positive weight (or any larger number): once
    /// that many are drawn every further draw could only repeat one, so the draw stops
    /// early with the same result.
    /// @dev Gas is O(size · DRAWS_PER_SEAT · CAPACITY_LOG2) reads, whatever the roster.
    function sample(Tree storage tree, bytes32 seed, uint256 size, uint256 nonZero)
        internal
        view
        returns (uint256[] memory slots)
    {
        if (size > CAPACITY) revert CommitteeTooLarge(size);
        uint256 total = tree.total;
        if (total == 0) return new uint256[](0);
        slots = new uint256[](size);
        uint256 want = size < nonZero ? size : nonZero;
        uint256[CAPACITY / 256] memory drawn;
        uint256 n;
        for (uint256 t; n < want && t < DRAWS_PER_SEAT * size; ++t) {
            uint256 slot = find(tree, drawWord(seed, t) % total);
            uint256 bit = 1 << (slot & 255);
            if (drawn[slot >> 8] & bit != 0) continue;
            drawn[slot >> 8] |= bit;
            slots[n++] = slot;
        }
        assembly ("memory-safe") {
            mstore(slots, n) // shorten to the slots drawn
        }
    }
}
