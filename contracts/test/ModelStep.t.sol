// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";
import {ModelStepHarness} from "./utils/ModelStepHarness.sol";
import {ModelStep} from "../src/avs/ModelStep.sol";

/// @notice The leaf model step: equal to the Python reference on the shared vectors
/// (tests/vectors/model_step.json); rounding half up and toward −∞, the int32 clamp at
/// both ends, m from 1 to 64, against a reference spelled out with Euclidean division.
contract ModelStepTest is Test {
    ModelStepHarness internal h;
    int256 internal constant MAX = 2 ** 31 - 1;

    function setUp() public {
        h = new ModelStepHarness();
    }

    /// @dev floor((2x + m) / (2m)) by Euclid: the remainder taken non-negative.
    function refRdiv(int256 x, uint256 m) internal pure returns (int256) {
        int256 num = 2 * x + int256(m);
        int256 den = 2 * int256(m);
        int256 r = ((num % den) + den) % den;
        return (num - r) / den;
    }

    function leafOf(int256[] memory v) internal pure returns (bytes memory out) {
        out = new bytes(256);
        for (uint256 t; t < 64; ++t) {
            uint32 u = uint32(int32(v[t]));
            for (uint256 b; b < 4; ++b) {
                out[4 * t + b] = bytes1(uint8(u >> (8 * b)));
            }
        }
    }

    function randomEntries(uint256 salt) internal pure returns (int256[] memory v) {
        v = new int256[](64);
        for (uint256 t; t < 64; ++t) {
            uint256 r = uint256(keccak256(abi.encode(salt, t)));
            // a third small, a third large, a third at the extremes
            if (r % 3 == 0) v[t] = int256(r >> 200) % 1000 - 500;
            else if (r % 3 == 1) v[t] = int256(uint256(uint32(r >> 8))) - 2 ** 31;
            else v[t] = (r >> 100) % 2 == 0 ? MAX : -MAX;
            if (v[t] == -(2 ** 31)) v[t] = -MAX;
        }
    }

    function test_matchesEveryPythonVector() public view {
        string memory json = vm.readFile("../tests/vectors/model_step.json");
        uint256 c;
        for (; vm.keyExistsJson(json, string.concat(".cases[", vm.toString(c), "]")); ++c) {
            string memory p = string.concat(".cases[", vm.toString(c), "]");
            uint256 m = vm.parseJsonUint(json, string.concat(p, ".m"));
            bytes[] memory sel = new bytes[](m);
            for (uint256 i; i < m; ++i) {
                sel[i] = leafOf(padded(vm.parseJsonIntArray(json, string.concat(p, ".updates[", vm.toString(i), "]"))));
            }
            int256[] memory base = padded(vm.parseJsonIntArray(json, string.concat(p, ".base")));
            int256[] memory want = padded(vm.parseJsonIntArray(json, string.concat(p, ".expected")));
            assertEq(h.step(leafOf(base), sel), leafOf(want), vm.parseJsonString(json, string.concat(p, ".name")));
        }
        assertEq(c, 10, "all vector cases read");
    }

    /// @dev A vector of at most 64 entries as one leaf's entries (zero-padded).
    function padded(int256[] memory v) internal pure returns (int256[] memory out) {
        out = new int256[](64);
        for (uint256 t; t < v.length; ++t) {
            out[t] = v[t];
        }
    }

    function testFuzz_rdivIsFloorOfHalfUp(int64 x, uint8 mSeed) public view {
        uint256 m = 1 + (uint256(mSeed) % 64);
        assertEq(h.rdiv(x, m), refRdiv(x, m));
    }

    function test_rdivRoundsHalfUpAndTowardMinusInfinity() public view {
        assertEq(h.rdiv(1, 2), 1); // 0.5 -> 1
        assertEq(h.rdiv(-1, 2), 0); // -0.5 -> 0 (half up)
        assertEq(h.rdiv(-3, 2), -1); // -1.5 -> -1
        assertEq(h.rdiv(-2, 3), -1); // -0.67 -> -1
        assertEq(h.rdiv(-1, 3), 0); // -0.33 -> 0
        assertEq(h.rdiv(5, 1), 5);
        assertEq(h.rdiv(-64 * MAX, 64), -MAX);
    }

    function testFuzz_stepMatchesTheReference(uint256 salt, uint8 mSeed) public view {
        uint256 m = 1 + (uint256(mSeed) % 64);
        int256[] memory base = randomEntries(salt);
        bytes[] memory sel = new bytes[](m);
        int256[][] memory q = new int256[][](m);
        for (uint256 i; i < m; ++i) {
            q[i] = randomEntries(uint256(keccak256(abi.encode(salt, "u", i))));
            sel[i] = leafOf(q[i]);
        }
        int256[] memory want = new int256[](64);
        for (uint256 t; t < 64; ++t) {
            int256 sum;
            for (uint256 i; i < m; ++i) {
                sum += q[i][t];
            }
            int256 w = base[t] + refRdiv(sum, m);
            want[t] = w > MAX ? MAX : (w < -MAX ? -MAX : w);
        }
        assertEq(h.step(leafOf(base), sel), leafOf(want));
    }

    function test_clampsAtBothEnds() public view {
        int256[] memory base = new int256[](64);
        int256[] memory up = new int256[](64);
        for (uint256 t; t < 64; ++t) {
            base[t] = t % 2 == 0 ? MAX : -MAX;
            up[t] = t % 2 == 0 ? MAX : -MAX;
        }
        bytes[] memory sel = new bytes[](1);
        sel[0] = leafOf(up);
        assertEq(h.step(leafOf(base), sel), leafOf(base), "saturates");
    }

    function test_rejectsMalformedInput() public {
        bytes[] memory none = new bytes[](0);
        vm.expectRevert(ModelStep.NoSelectedUpdates.selector);
        h.step(new bytes(256), none);
        bytes[] memory one = new bytes[](1);
        one[0] = new bytes(256);
        vm.expectRevert(abi.encodeWithSelector(ModelStep.BadLeafLength.selector, 255));
        h.step(new bytes(255), one);
        one[0] = new bytes(288);
        vm.expectRevert(abi.encodeWithSelector(ModelStep.BadLeafLength.selector, 288));
        h.step(new bytes(256), one);
    }
}
