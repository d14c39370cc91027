// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";
import {SketchHarness} from "./utils/SketchHarness.sol";
import {CountSketch} from "../src/avs/CountSketch.sol";
import {MerkleRoot} from "../src/avs/MerkleRoot.sol";
import {UpdateChunk} from "../src/avs/UpdateChunk.sol";

/// @notice The Solidity CountSketch equals the Python reference on the shared vectors, and
/// each update's digest is its Merkle root (DESIGN.md's Root).
contract CountSketchTest is Test {
    SketchHarness internal h;
    string internal json;

    function setUp() public {
        h = new SketchHarness();
        json = vm.readFile("../tests/vectors/krum.json");
    }

    function encodeLE(int256[] memory q) internal pure returns (bytes memory out) {
        out = new bytes(q.length * 4);
        for (uint256 t; t < q.length; ++t) {
            uint32 u = uint32(int32(q[t]));
            out[4 * t] = bytes1(uint8(u));
            out[4 * t + 1] = bytes1(uint8(u >> 8));
            out[4 * t + 2] = bytes1(uint8(u >> 16));
            out[4 * t + 3] = bytes1(uint8(u >> 24));
        }
    }

    /// @dev The Merkle root of a little-endian update: zero-padded to `2^D` leaves.
    function rootOf(bytes memory upd) internal pure returns (bytes32) {
        uint256 D = UpdateChunk.depth(upd.length / 4);
        bytes memory padded = new bytes(MerkleRoot.LEAF_BYTES << D);
        for (uint256 i; i < upd.length; ++i) {
            padded[i] = upd[i];
        }
        return MerkleRoot.subtreeRoot(padded, D);
    }

    function test_matchesEveryPythonVector() public view {
        uint256 c;
        for (; vm.keyExistsJson(json, string.concat(".cases[", vm.toString(c), "]")); ++c) {
            string memory p = string.concat(".cases[", vm.toString(c), "]");
            bytes32 seed = vm.parseJsonBytes32(json, string.concat(p, ".seed"));
            uint256 k = vm.parseJsonUint(json, string.concat(p, ".k"));
            uint256 n = vm.parseJsonUint(json, string.concat(p, ".n"));
            for (uint256 i; i < n; ++i) {
                string memory row = string.concat("[", vm.toString(i), "]");
                int256[] memory q = vm.parseJsonIntArray(json, string.concat(p, ".updates", row));
                bytes memory upd = encodeLE(q);
                assertEq(rootOf(upd), vm.parseJsonBytes32(json, string.concat(p, ".digests", row)), "update digest");
                string[] memory want = vm.parseJsonStringArray(json, string.concat(p, ".sketches", row));
                int256[] memory got = h.sketch(upd, seed, k);
                assertEq(got.length, want.length);
                for (uint256 b; b < k; ++b) {
                    assertEq(got[b], vm.parseInt(want[b]), "sketch entry");
                }
            }
        }
        assertGt(c, 10, "all vector cases read");
    }

    /// forge-config: default.fuzz.runs = 64
    function testFuzz_isLinear(bytes32 seed, uint256 salt) public view {
        uint256 d = 37; // not a multiple of 8: the last group is partial
        int256[] memory a = new int256[](d);
        int256[] memory b = new int256[](d);
        int256[] memory ab = new int256[](d);
        for (uint256 t; t < d; ++t) {
            a[t] = int256(uint256(keccak256(abi.encode(salt, t))) % 2 ** 29) - 2 ** 28;
            b[t] = int256(uint256(keccak256(abi.encode(salt, t, 1))) % 2 ** 29) - 2 ** 28;
            ab[t] = a[t] + b[t];
        }
        int256[] memory sa = h.sketch(encodeLE(a), seed, 64);
        int256[] memory sb = h.sketch(encodeLE(b), seed, 64);
        int256[] memory sab = h.sketch(encodeLE(ab), seed, 64);
        for (uint256 i; i < 64; ++i) {
            assertEq(sab[i], sa[i] + sb[i]);
        }
    }

    function test_rejectsBytesThatAreNotInt32() public {
        vm.expectRevert(abi.encodeWithSelector(CountSketch.UpdateNotInt32.selector, 5));
        h.sketch(hex"0102030405", bytes32(0), 64);
    }

    function test_rejectsZeroBuckets() public {
        vm.expectRevert(abi.encodeWithSelector(CountSketch.BadBuckets.selector, 0));
        h.sketch(hex"01020304", bytes32(0), 0);
    }
}
