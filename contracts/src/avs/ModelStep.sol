// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title ModelStep
/// @notice DESIGN.md's model step on one 256-byte leaf (64 little-endian int32 entries),
/// bit for bit as the Python reference (`p2pfl.learn.fixedpoint`):
/// `w'[t] = clamp(w[t] + rdiv(Σ_{i∈S} q_i[t], m))`, `rdiv(x, m) = floor((2x + m) / (2m))`
/// (round half up, floor toward −∞), `clamp` to `[−2^31 + 1, 2^31 − 1]`. Exact integers:
/// the model challenge recomputes one leaf of the new model from one leaf of the base model
/// and of every selected update.
library ModelStep {
    /// @notice Bytes in a leaf: 64 int32 entries.
    uint256 internal constant LEAF_BYTES = 256;
    /// @notice The int32 range of every vector (−2^31 is never a value).
    int256 internal constant INT32_MAX = 2 ** 31 - 1;

    /// @notice A leaf is not exactly `LEAF_BYTES` long.
    error BadLeafLength(uint256 length);
    /// @notice No update is selected (`m = 0`).
    error NoSelectedUpdates();

    /// @notice Entry `t` (0..63) of a leaf, sign-extended.
    function entry(bytes memory leaf, uint256 t) internal pure returns (int256 v) {
        assembly ("memory-safe") {
            let w := mload(add(add(leaf, 0x20), shl(2, t)))
            v := signextend(3, or(or(byte(0, w), shl(8, byte(1, w))), or(shl(16, byte(2, w)), shl(24, byte(3, w)))))
        }
    }

    /// @notice `floor((2x + m) / (2m))` for `m ≥ 1`.
    function rdiv(int256 x, uint256 m) internal pure returns (int256 q) {
        int256 num = 2 * x + int256(m);
        int256 den = 2 * int256(m);
        q = num / den;
        if (num % den != 0 && num < 0) q -= 1;
    }

    /// @notice `x` clamped to `[−2^31 + 1, 2^31 − 1]`.
    function clamp(int256 x) internal pure returns (int256) {
        if (x > INT32_MAX) return INT32_MAX;
        if (x < -INT32_MAX) return -INT32_MAX;
        return x;
    }

    /// @notice The new model's leaf from the base model's leaf and the selected updates'
    /// leaves at the same index (`m = selected.length`).
    function step(bytes memory base, bytes[] memory selected) internal pure returns (bytes memory out) {
        uint256 m = selected.length;
        if (m == 0) revert NoSelectedUpdates();
        if (base.length != LEAF_BYTES) revert BadLeafLength(base.length);
        for (uint256 i; i < m; ++i) {
            if (selected[i].length != LEAF_BYTES) revert BadLeafLength(selected[i].length);
        }
        out = new bytes(LEAF_BYTES);
        for (uint256 t; t < LEAF_BYTES / 4; ++t) {
            int256 sum;
            for (uint256 i; i < m; ++i) {
                sum += entry(selected[i], t);
            }
            uint32 v = uint32(int32(clamp(entry(base, t) + rdiv(sum, m))));
            assembly ("memory-safe") {
                let p := add(add(out, 0x20), shl(2, t))
                mstore8(p, and(v, 0xff))
                mstore8(add(p, 1), and(shr(8, v), 0xff))
                mstore8(add(p, 2), and(shr(16, v), 0xff))
                mstore8(add(p, 3), shr(24, v))
            }
        }
    }
}
