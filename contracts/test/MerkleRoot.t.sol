// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {console} from "forge-std/Test.sol";
import {MerkleVectors} from "./utils/MerkleVectors.sol";
import {MerkleHarness} from "./utils/MerkleHarness.sol";
import {MerkleRoot} from "../src/avs/MerkleRoot.sol";

/// @notice The Solidity Merkle root equals the Python reference on the shared vectors
/// (tests/vectors/merkle.json), rejects what it must, and costs what it costs.
contract MerkleRootTest is MerkleVectors {
    MerkleHarness internal h;

    function setUp() public {
        h = new MerkleHarness();
        json = vm.readFile(VECTORS);
    }

    // ---------------------------------------------------------------- shared vectors

    function test_matchesEveryPythonVector() public view {
        uint256 c;
        for (; vm.keyExistsJson(json, idx(".cases", "", c)); ++c) {
            string memory p = idx(".cases", "", c);
            uint256 d = vm.parseJsonUint(json, at(p, ".d"));
            uint256 D = vm.parseJsonUint(json, at(p, ".D"));
            uint256 height = vm.parseJsonUint(json, at(p, ".chunk_height"));
            bytes32 root = vm.parseJsonBytes32(json, at(p, ".root"));
            bytes memory padded = regenerate(p);
            assertEq(keccak256(slice(padded, 0, 4 * d)), vm.parseJsonBytes32(json, at(p, ".vector_keccak")), "regen");
            assertEq(referenceRoot(padded), root, "root");
            // the root from the live leaves' hashes alone (what a result posts)
            bytes32[] memory live = new bytes32[]((d + 63) / 64);
            for (uint256 i; i < live.length; ++i) {
                live[i] = keccak256(slice(padded, 256 * i, 256));
            }
            assertEq(h.rootOfLeafHashes(live, D), root, "root of leaf hashes");
            for (uint256 k; vm.keyExistsJson(json, idx(p, ".leaf_proofs", k)); ++k) {
                string memory q = idx(p, ".leaf_proofs", k);
                uint256 i = vm.parseJsonUint(json, at(q, ".index"));
                bytes memory leaf = vm.parseJsonBytes(json, at(q, ".bytes"));
                bytes32[] memory proof = proofAt(at(q, ".proof"));
                assertEq(leaf, slice(padded, 256 * i, 256), "leaf bytes");
                assertEq(h.leafHash(leaf), vm.parseJsonBytes32(json, at(q, ".hash")), "leaf hash");
                assertEq(proof.length, D);
                assertTrue(h.verifyLeaf(root, i, leaf, proof, D), "leaf proof");
            }
            for (uint256 k; vm.keyExistsJson(json, idx(p, ".chunk_proofs", k)); ++k) {
                string memory q = idx(p, ".chunk_proofs", k);
                uint256 ci = vm.parseJsonUint(json, at(q, ".index"));
                uint256 size = 256 << height;
                bytes memory chunk = slice(padded, ci * size, size);
                bytes32[] memory proof = proofAt(at(q, ".proof"));
                assertEq(keccak256(chunk), vm.parseJsonBytes32(json, at(q, ".bytes_keccak")), "chunk bytes");
                bytes32 sub = vm.parseJsonBytes32(json, at(q, ".subtree_root"));
                if (height == MerkleRoot.CHUNK_HEIGHT) assertEq(h.chunkRoot(chunk), sub, "chunk root");
                else assertEq(sub, root, "a small tree is its only chunk");
                assertEq(proof.length, D - height);
                assertTrue(h.verifyChunk(root, ci, chunk, proof, D), "chunk proof");
            }
        }
        assertEq(c, 7, "all vector cases read");
    }

    function test_rootOfLeafHashesRefusesAnEmptyOrOverfullLevel() public {
        vm.expectRevert(abi.encodeWithSelector(MerkleRoot.IndexOutOfRange.selector, 0, 3));
        h.rootOfLeafHashes(new bytes32[](0), 3);
        vm.expectRevert(abi.encodeWithSelector(MerkleRoot.IndexOutOfRange.selector, 9, 3));
        h.rootOfLeafHashes(new bytes32[](9), 3);
    }

    /// forge-config: default.fuzz.runs = 64
    function testFuzz_rootOfLeafHashesIsTheTreeRoot(uint256 salt, uint16 liveSeed) public view {
        uint256 D = 6;
        uint256 n = 1 + uint256(liveSeed) % (uint256(1) << D);
        bytes memory padded = new bytes(256 << D);
        bytes32[] memory live = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            bytes memory leaf = randomLeaf(uint256(keccak256(abi.encode(salt, i))));
            for (uint256 b; b < 256; ++b) {
                padded[256 * i + b] = leaf[b];
            }
            live[i] = keccak256(leaf);
        }
        assertEq(h.rootOfLeafHashes(live, D), referenceRoot(padded));
        live[n - 1] ^= bytes32(uint256(1)); // one hash changed: another root
        assertTrue(h.rootOfLeafHashes(live, D) != referenceRoot(padded));
    }

    // ---------------------------------------------------------------- fuzzing

    function randomLeaf(uint256 salt) internal pure returns (bytes memory leaf) {
        leaf = new bytes(256);
        for (uint256 i; i < 256; i += 32) {
            bytes32 w = keccak256(abi.encode(salt, "leaf", i));
            assembly ("memory-safe") {
                mstore(add(add(leaf, 0x20), i), w)
            }
        }
    }

    /// forge-config: default.fuzz.runs = 128
    function testFuzz_leafProofVerifiesAndNothingNear(uint256 salt, uint256 indexSeed, uint8 depthSeed) public view {
        uint256 D = depthSeed % 11; // up to the CNN's 10
        uint256 i = indexSeed % (1 << D);
        bytes memory leaf = randomLeaf(salt);
        bytes32[] memory hs = new bytes32[](1 << D);
        for (uint256 k; k < hs.length; ++k) {
            hs[k] = k == i ? keccak256(leaf) : keccak256(abi.encode(salt, k));
        }
        bytes32[][] memory levels = levelsOf(hs);
        bytes32 root = levels[D][0];
        bytes32[] memory proof = pathOf(levels, i, 0);
        assertTrue(h.verifyLeaf(root, i, leaf, proof, D));
        assertEq(h.rootFromLeaf(keccak256(leaf), i, proof), root);
        leaf[salt % 256] ^= 0x01;
        assertFalse(h.verifyLeaf(root, i, leaf, proof, D), "flipped leaf byte");
        leaf[salt % 256] ^= 0x01;
        if (D == 0) return;
        uint256 l = (salt >> 8) % D;
        assertFalse(h.verifyLeaf(root, i ^ (1 << l), leaf, proof, D), "wrong index");
        proof[l] ^= bytes32(uint256(1) << ((salt >> 16) % 256));
        assertFalse(h.verifyLeaf(root, i, leaf, proof, D), "flipped sibling");
    }

    function testFuzz_indexOutOfRangeReverts(uint256 index, uint8 depthSeed) public {
        uint256 D = depthSeed % 11;
        index = bound(index, 1 << D, type(uint256).max);
        bytes32[] memory proof = new bytes32[](D);
        vm.expectRevert(abi.encodeWithSelector(MerkleRoot.IndexOutOfRange.selector, index, D));
        h.verifyLeaf(bytes32(0), index, new bytes(256), proof, D);
    }

    function fakeChunk(uint256 salt) internal pure returns (bytes memory chunk) {
        chunk = new bytes(MerkleRoot.CHUNK_BYTES);
        for (uint256 i; i < chunk.length; i += 32) {
            bytes32 w = keccak256(abi.encode(salt, i));
            assembly ("memory-safe") {
                mstore(add(add(chunk, 0x20), i), w)
            }
        }
    }

    /// forge-config: default.fuzz.runs = 32
    function testFuzz_chunkProofAtDepth10(uint256 salt, uint8 cSeed) public view {
        uint256 c = cSeed % 4;
        bytes memory chunk = fakeChunk(salt);
        bytes32[] memory roots = new bytes32[](4);
        for (uint256 k; k < 4; ++k) {
            roots[k] = k == c ? h.chunkRoot(chunk) : keccak256(abi.encode(salt, "chunk", k));
        }
        bytes32[][] memory levels = levelsOf(roots);
        bytes32 root = levels[2][0];
        bytes32[] memory proof = pathOf(levels, c, 0);
        assertTrue(h.verifyChunk(root, c, chunk, proof, 10));
        assertFalse(h.verifyChunk(root, c ^ 1, chunk, proof, 10), "wrong chunk index");
        proof[salt % 2] ^= bytes32(uint256(1));
        assertFalse(h.verifyChunk(root, c, chunk, proof, 10), "flipped sibling");
    }

    // ---------------------------------------------------------------- edge cases

    function test_chunkRootEqualsTheLeafTree() public view {
        bytes memory chunk = fakeChunk(7);
        bytes32[] memory hs = new bytes32[](256);
        for (uint256 i; i < 256; ++i) {
            hs[i] = keccak256(slice(chunk, 256 * i, 256));
        }
        bytes32[][] memory levels = levelsOf(hs);
        assertEq(h.chunkRoot(chunk), levels[8][0]);
    }

    function test_depthZeroIsTheLeafHash() public view {
        bytes memory leaf = randomLeaf(1);
        bytes32[] memory none = new bytes32[](0);
        assertTrue(h.verifyLeaf(keccak256(leaf), 0, leaf, none, 0));
        assertTrue(h.verifyChunk(keccak256(leaf), 0, leaf, none, 0), "D = 0: the chunk is the leaf");
    }

    function test_smallTreeIsOneChunk() public {
        // D = 6: 64 leaves, 16 KiB, no proof hash; a 64 KiB chunk or chunk 1 is refused
        bytes memory whole = slice(fakeChunk(3), 0, 256 << 6);
        bytes32[] memory hs = new bytes32[](64);
        for (uint256 i; i < 64; ++i) {
            hs[i] = keccak256(slice(whole, 256 * i, 256));
        }
        bytes32[][] memory levels = levelsOf(hs);
        bytes32[] memory none = new bytes32[](0);
        assertTrue(h.verifyChunk(levels[6][0], 0, whole, none, 6));
        vm.expectRevert(abi.encodeWithSelector(MerkleRoot.IndexOutOfRange.selector, 1, 0));
        h.verifyChunk(levels[6][0], 1, whole, none, 6);
        vm.expectRevert(abi.encodeWithSelector(MerkleRoot.BadChunkLength.selector, 65536, 16384));
        h.verifyChunk(levels[6][0], 0, fakeChunk(3), none, 6);
        vm.expectRevert(abi.encodeWithSelector(MerkleRoot.BadProofLength.selector, 1, 0));
        h.verifyChunk(levels[6][0], 0, whole, new bytes32[](1), 6);
    }

    function test_rejectsMalformedInput() public {
        vm.expectRevert(abi.encodeWithSelector(MerkleRoot.BadLeafLength.selector, 255));
        h.leafHash(new bytes(255));
        vm.expectRevert(abi.encodeWithSelector(MerkleRoot.BadLeafLength.selector, 257));
        h.leafHash(new bytes(257));
        vm.expectRevert(abi.encodeWithSelector(MerkleRoot.BadLeafLength.selector, 64));
        h.verifyLeaf(bytes32(0), 0, new bytes(64), new bytes32[](1), 1); // an inner node pair
        vm.expectRevert(abi.encodeWithSelector(MerkleRoot.BadProofLength.selector, 9, 10));
        h.verifyLeaf(bytes32(0), 0, new bytes(256), new bytes32[](9), 10);
        vm.expectRevert(abi.encodeWithSelector(MerkleRoot.BadProofLength.selector, 11, 10));
        h.verifyLeaf(bytes32(0), 0, new bytes(256), new bytes32[](11), 10);
        vm.expectRevert(abi.encodeWithSelector(MerkleRoot.IndexOutOfRange.selector, 1024, 10));
        h.rootFromLeaf(bytes32(0), 1024, new bytes32[](10));
        vm.expectRevert(abi.encodeWithSelector(MerkleRoot.BadChunkLength.selector, 65535, 65536));
        h.chunkRoot(new bytes(65535));
        vm.expectRevert(abi.encodeWithSelector(MerkleRoot.BadChunkLength.selector, 65280, 65536));
        h.verifyChunk(bytes32(0), 0, new bytes(65280), new bytes32[](2), 10);
        vm.expectRevert(abi.encodeWithSelector(MerkleRoot.BadProofLength.selector, 3, 2));
        h.verifyChunk(bytes32(0), 0, new bytes(65536), new bytes32[](3), 10);
        vm.expectRevert(abi.encodeWithSelector(MerkleRoot.IndexOutOfRange.selector, 4, 2));
        h.verifyChunk(bytes32(0), 4, new bytes(65536), new bytes32[](2), 10);
    }

    // ---------------------------------------------------------------- gas

    /// @notice Execution gas of the harness's external calls (calldata decoding included;
    /// the transaction's base cost and calldata bytes are not).
    function test_gasOfCnnProofs() public view {
        string memory p = cnn();
        bytes32 root = vm.parseJsonBytes32(json, at(p, ".root"));
        string memory q = idx(p, ".leaf_proofs", 2); // leaf 730: the last with entries
        assertEq(vm.parseJsonUint(json, at(q, ".index")), 730);
        bytes memory leaf = vm.parseJsonBytes(json, at(q, ".bytes"));
        bytes32[] memory proof = proofAt(at(q, ".proof"));
        uint256 before = gasleft();
        bool ok = h.verifyLeaf(root, 730, leaf, proof, 10);
        uint256 leafGas = before - gasleft();
        assertTrue(ok);
        console.log("verifyLeaf gas, D = 10 (256-byte leaf, 10 hashes):", leafGas);

        bytes memory padded = regenerate(p);
        q = idx(p, ".chunk_proofs", 1); // chunk 2: entries 32,768 .. 46,729, then zeros
        assertEq(vm.parseJsonUint(json, at(q, ".index")), 2);
        bytes memory chunk = slice(padded, 2 * MerkleRoot.CHUNK_BYTES, MerkleRoot.CHUNK_BYTES);
        bytes32[] memory chunkProof = proofAt(at(q, ".proof"));
        h.verifyChunk(root, 2, chunk, chunkProof, 10); // expands this contract's memory once
        before = gasleft();
        ok = h.verifyChunk(root, 2, chunk, chunkProof, 10);
        uint256 chunkGas = before - gasleft();
        assertTrue(ok);
        console.log("verifyChunk gas, 64 KiB, D - 8 = 2 hashes:", chunkGas);
        before = gasleft();
        h.chunkRoot(chunk);
        console.log("chunkRoot gas, 64 KiB (511 keccak):", before - gasleft());
        (uint256 libLeaf, uint256 libChunk) = h.gasOfLibrary(root, leaf, chunk, proof, chunkProof);
        console.log("library only (arguments in memory): verifyLeaf", libLeaf);
        console.log("library only (arguments in memory): verifyChunk", libChunk);
        assertLt(leafGas, 20_000);
        assertLt(chunkGas, 150_000);
    }
}
