// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {console} from "forge-std/Test.sol";
import {MerkleVectors} from "./utils/MerkleVectors.sol";
import {ChunkHarness} from "./utils/ChunkHarness.sol";
import {SketchHarness} from "./utils/SketchHarness.sol";
import {MerkleRoot} from "../src/avs/MerkleRoot.sol";
import {UpdateChunk} from "../src/avs/UpdateChunk.sol";

/// @notice A chunk's partial sketch and sum of squares equal the Python reference's on the
/// shared vectors; the partial sketches of a vector sum to its sketch; a chunk that is not
/// in the root, has non-zero padding or lies out of range is refused.
contract UpdateChunkTest is MerkleVectors {
    ChunkHarness internal h;
    SketchHarness internal sk;

    function setUp() public {
        h = new ChunkHarness();
        sk = new SketchHarness();
        json = vm.readFile(VECTORS);
    }

    function chunkOf(string memory p, bytes memory padded, uint256 c) internal view returns (bytes memory) {
        uint256 size = 256 << vm.parseJsonUint(json, at(p, ".chunk_height"));
        return slice(padded, c * size, size);
    }

    function test_matchesEveryPythonVector() public view {
        uint256 n;
        for (; vm.keyExistsJson(json, idx(".cases", "", n)); ++n) {
            string memory p = idx(".cases", "", n);
            uint256 d = vm.parseJsonUint(json, at(p, ".d"));
            bytes32 root = vm.parseJsonBytes32(json, at(p, ".root"));
            bytes32 seed = vm.parseJsonBytes32(json, at(p, ".sketch_seed"));
            bytes memory padded = regenerate(p);
            assertEq(h.depth(d), vm.parseJsonUint(json, at(p, ".D")), "depth");
            for (uint256 k; vm.keyExistsJson(json, idx(p, ".chunk_proofs", k)); ++k) {
                string memory q = idx(p, ".chunk_proofs", k);
                uint256 c = vm.parseJsonUint(json, at(q, ".index"));
                (int256[] memory s, uint256 sq) =
                    h.prove(root, d, c, chunkOf(p, padded, c), proofAt(at(q, ".proof")), seed, 64);
                assertEq(s, vm.parseJsonIntArray(json, at(q, ".partial_sketch")), "partial sketch");
                assertEq(sq, vm.parseJsonUint(json, at(q, ".sum_squares")), "sum of squares");
            }
        }
        assertEq(n, 7, "all vector cases read");
    }

    /// @dev Every chunk of the CNN-size vector, proven against its root, sums to the sketch
    /// of the whole vector (the linearity the chunked sketch challenge rests on).
    function test_partialSketchesSumToTheSketch() public view {
        string memory p = cnn();
        uint256 d = vm.parseJsonUint(json, at(p, ".d"));
        bytes32 seed = vm.parseJsonBytes32(json, at(p, ".sketch_seed"));
        bytes memory padded = regenerate(p);
        bytes32[][] memory levels = treeOf(padded);
        int256[] memory total = new int256[](64);
        uint256 chunks = h.chunkCount(d);
        assertEq(chunks, 4);
        for (uint256 c; c < chunks; ++c) {
            bytes32[] memory proof = new bytes32[](2);
            proof[0] = levels[8][(c) ^ 1];
            proof[1] = levels[9][(c >> 1) ^ 1];
            (int256[] memory s,) = h.prove(levels[10][0], d, c, chunkOf(p, padded, c), proof, seed, 64);
            for (uint256 b; b < 64; ++b) {
                total[b] += s[b];
            }
        }
        assertEq(total, sk.sketch(slice(padded, 0, 4 * d), seed, 64));
    }

    // ---------------------------------------------------------------- adversarial

    /// @dev A one-chunk vector (D < 8) built from a seed, its root, and d.
    function small(uint256 salt, uint256 d) internal pure returns (bytes memory chunk, bytes32 root) {
        uint256 D;
        while (1 << D < (d + 63) / 64) ++D;
        chunk = new bytes(256 << D);
        for (uint256 i; i < 4 * d; i += 32) {
            bytes32 w = keccak256(abi.encode(salt, i));
            assembly ("memory-safe") {
                mstore(add(add(chunk, 0x20), i), w)
            }
        }
        for (uint256 i = 4 * d; i < chunk.length; ++i) {
            chunk[i] = 0; // the word writes above ran past entry d
        }
        root = UpdateChunkRef.rootOf(chunk);
    }

    function testFuzz_anyFlippedBitIsRefused(uint256 salt, uint16 dSeed, uint256 bitSeed) public {
        uint256 d = 1 + (uint256(dSeed) % 2048);
        (bytes memory chunk, bytes32 root) = small(salt, d);
        h.prove(root, d, 0, chunk, new bytes32[](0), bytes32(salt), 64); // the honest chunk passes
        uint256 bit = bitSeed % (chunk.length * 8);
        chunk[bit / 8] ^= bytes1(uint8(1 << (bit % 8)));
        vm.expectRevert(abi.encodeWithSelector(UpdateChunk.ChunkNotInRoot.selector, 0));
        h.prove(root, d, 0, chunk, new bytes32[](0), bytes32(salt), 64);
    }

    function testFuzz_nonZeroPaddingIsRefusedEvenUnderItsOwnRoot(uint256 salt, uint16 dSeed, uint256 at_) public {
        uint256 d = 1 + (uint256(dSeed) % 2047); // at least one padding entry in the last leaf or beyond
        (bytes memory chunk,) = small(salt, d);
        vm.assume(4 * d < chunk.length);
        uint256 i = 4 * d + (at_ % (chunk.length - 4 * d));
        chunk[i] = 0x01;
        bytes32 root = UpdateChunkRef.rootOf(chunk); // an operator committed these bytes
        vm.expectRevert(abi.encodeWithSelector(UpdateChunk.PaddingNotZero.selector, 0));
        h.prove(root, d, 0, chunk, new bytes32[](0), bytes32(salt), 64);
    }

    function test_rejectsMalformedInput() public {
        vm.expectRevert(UpdateChunk.EmptyVector.selector);
        h.depth(0);
        vm.expectRevert(abi.encodeWithSelector(UpdateChunk.ChunkOutOfRange.selector, 4, 4));
        h.place(46_730, 4);
        vm.expectRevert(abi.encodeWithSelector(UpdateChunk.ChunkOutOfRange.selector, 1, 1));
        h.place(100, 1);
        vm.expectRevert(abi.encodeWithSelector(MerkleRoot.BadChunkLength.selector, 256, 65536));
        h.prove(bytes32(0), 46_730, 0, new bytes(256), new bytes32[](2), bytes32(0), 64);
        vm.expectRevert(abi.encodeWithSelector(MerkleRoot.BadProofLength.selector, 1, 2));
        h.prove(bytes32(0), 46_730, 0, new bytes(65536), new bytes32[](1), bytes32(0), 64);
        vm.expectRevert(abi.encodeWithSelector(UpdateChunk.ChunkNotInRoot.selector, 3));
        h.prove(bytes32(0), 46_730, 3, new bytes(65536), new bytes32[](2), bytes32(0), 64);
    }

    function test_placeOfTheCnnChunks() public view {
        UpdateChunk.Place memory p = h.place(46_730, 2);
        assertEq(p.depth, 10);
        assertEq(p.height, 8);
        assertEq(p.first, 32_768);
        assertEq(p.count, 46_730 - 32_768);
        p = h.place(46_730, 3);
        assertEq(p.first, 49_152);
        assertEq(p.count, 0, "a chunk of padding only");
        p = h.place(1, 0);
        assertEq(p.depth, 0);
        assertEq(p.count, 1);
    }

    /// @notice Gas of one full chunk (verify, partial sketch, sum of squares), external call.
    function test_gasOfOneCnnChunk() public view {
        string memory p = cnn();
        bytes memory padded = regenerate(p);
        string memory q = idx(p, ".chunk_proofs", 0);
        bytes memory chunk = chunkOf(p, padded, 0);
        bytes32[] memory proof = proofAt(at(q, ".proof"));
        bytes32 root = vm.parseJsonBytes32(json, at(p, ".root"));
        uint256 before = gasleft();
        h.prove(root, 46_730, 0, chunk, proof, bytes32(0), 64);
        console.log("verify + partial sketch + sum of squares, one 64 KiB chunk:", before - gasleft());
    }
}

/// @dev The root of a one-chunk (power-of-two leaves) buffer, spelled out.
library UpdateChunkRef {
    function rootOf(bytes memory data) internal pure returns (bytes32) {
        uint256 n = data.length / 256;
        bytes32[] memory level = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            bytes32 hh;
            assembly ("memory-safe") {
                hh := keccak256(add(add(data, 0x20), mul(i, 256)), 256)
            }
            level[i] = hh;
        }
        while (n > 1) {
            n /= 2;
            for (uint256 j; j < n; ++j) {
                level[j] = keccak256(abi.encodePacked(level[2 * j], level[2 * j + 1]));
            }
        }
        return level[0];
    }
}
