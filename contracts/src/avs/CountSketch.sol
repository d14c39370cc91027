// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title CountSketch
/// @notice DESIGN.md's CountSketch of a quantized update, bit for bit as the Python
/// reference (`p2pfl.robust.sketch`) and the Noir circuit compute it. For every group of
/// 8 consecutive indices `g = t / 8`, `h = keccak256(seed ‖ uint256(g))`; entry `t` reads
/// bytes `4·(t%8) .. 4·(t%8)+3` of `h` as a big-endian uint32 `r`: bucket `r mod k`,
/// sign `+1` if `r >> 31 == 0` else `−1`.
library CountSketch {
    error UpdateNotInt32(uint256 length);
    error BadBuckets(uint256 k);

    /// @notice Sketch `update` (little-endian int32 entries, as committed) into `k` buckets.
    /// @dev One calldata word holds the 8 entries of one hash group; sums are int256 and
    /// cannot overflow (at most 2^32 entries of magnitude < 2^31).
    function sketch(bytes calldata update, bytes32 seed, uint256 k) internal pure returns (int256[] memory s) {
        if (update.length % 4 != 0) revert UpdateNotInt32(update.length);
        if (k == 0 || k > 65536) revert BadBuckets(k);
        s = new int256[](k);
        assembly ("memory-safe") {
            let n := div(update.length, 4)
            let base := add(s, 0x20)
            let groups := div(add(n, 7), 8)
            mstore(0x00, seed)
            for { let g := 0 } lt(g, groups) { g := add(g, 1) } {
                mstore(0x20, g)
                let h := keccak256(0x00, 0x40)
                let word := calldataload(add(update.offset, mul(g, 32)))
                let first := mul(g, 8)
                let count := sub(n, first)
                if gt(count, 8) { count := 8 }
                for { let j := 0 } lt(j, count) { j := add(j, 1) } {
                    let r := and(shr(sub(224, mul(j, 32)), h), 0xffffffff)
                    let b := mul(j, 4)
                    // little-endian int32 at bytes b .. b+3 of the word
                    let v := or(
                        or(byte(b, word), shl(8, byte(add(b, 1), word))),
                        or(shl(16, byte(add(b, 2), word)), shl(24, byte(add(b, 3), word)))
                    )
                    v := signextend(3, v)
                    if shr(31, r) { v := sub(0, v) }
                    let slot := add(base, mul(mod(r, k), 0x20))
                    mstore(slot, add(mload(slot), v))
                }
            }
        }
    }
}
