// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";
import {MerkleRoot} from "../../src/avs/MerkleRoot.sol";

/// @notice Reads the shared Merkle vectors (tests/vectors/merkle.json) and regenerates
/// their vectors by the file's rule, for the tests of every library that uses roots.
abstract contract MerkleVectors is Test {
    string internal constant VECTORS = "../tests/vectors/merkle.json";
    string internal json;

    function at(string memory p, string memory key) internal pure returns (string memory) {
        return string.concat(p, key);
    }

    function idx(string memory p, string memory key, uint256 i) internal pure returns (string memory) {
        return string.concat(p, key, "[", vm.toString(i), "]");
    }

    function proofAt(string memory p) internal view returns (bytes32[] memory) {
        uint256 n;
        while (vm.keyExistsJson(json, idx(p, "", n))) ++n;
        bytes32[] memory proof = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            proof[i] = vm.parseJsonBytes32(json, idx(p, "", i));
        }
        return proof;
    }

    /// @dev The case's vector by the vectors' rule (int32 of the sketch's hash words, then
    /// the overrides), little-endian, zero-padded to 2^D leaves.
    function regenerate(string memory p) internal view returns (bytes memory out) {
        uint256 d = vm.parseJsonUint(json, at(p, ".d"));
        uint256 D = vm.parseJsonUint(json, at(p, ".D"));
        bytes32 seed = vm.parseJsonBytes32(json, at(p, ".seed"));
        out = new bytes(MerkleRoot.LEAF_BYTES << D);
        for (uint256 g; 8 * g < d; ++g) {
            uint256 w = uint256(keccak256(abi.encode(seed, g)));
            // big-endian uint32 lanes -> little-endian int32 bytes: swap within every lane
            w = ((w & 0xff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00) >> 8)
                | ((w & 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff) << 8);
            w = ((w & 0xffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000) >> 16)
                | ((w & 0x0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff0000ffff) << 16);
            uint256 lanes = d - 8 * g < 8 ? d - 8 * g : 8;
            if (lanes < 8) w &= ~(type(uint256).max >> (32 * lanes));
            assembly ("memory-safe") {
                mstore(add(add(out, 0x20), shl(5, g)), w)
            }
        }
        for (uint256 k; vm.keyExistsJson(json, idx(p, ".overrides", k)); ++k) {
            int256[] memory tv = vm.parseJsonIntArray(json, idx(p, ".overrides", k));
            uint32 v = uint32(int32(tv[1]));
            uint256 t = uint256(tv[0]);
            for (uint256 b; b < 4; ++b) {
                out[4 * t + b] = bytes1(uint8(v >> (8 * b)));
            }
        }
    }

    function slice(bytes memory b, uint256 off, uint256 len) internal pure returns (bytes memory s) {
        s = new bytes(len);
        for (uint256 i; i < len; i += 32) {
            assembly ("memory-safe") {
                mstore(add(add(s, 0x20), i), mload(add(add(b, 0x20), add(off, i))))
            }
        }
    }

    function cnn() internal view returns (string memory p) {
        for (uint256 c;; ++c) {
            p = idx(".cases", "", c);
            if (vm.parseJsonUint(json, at(p, ".d")) == 46_730) return p;
        }
    }

    /// @dev The definition spelled out: every leaf hashed, levels halved with abi.encodePacked.
    function levelsOf(bytes32[] memory leafHashes) internal pure returns (bytes32[][] memory levels) {
        uint256 D;
        while (1 << D < leafHashes.length) ++D;
        levels = new bytes32[][](D + 1);
        levels[0] = leafHashes;
        for (uint256 l; l < D; ++l) {
            bytes32[] memory up = new bytes32[](levels[l].length / 2);
            for (uint256 j; j < up.length; ++j) {
                up[j] = keccak256(abi.encodePacked(levels[l][2 * j], levels[l][2 * j + 1]));
            }
            levels[l + 1] = up;
        }
    }

    function referenceRoot(bytes memory padded) internal pure returns (bytes32) {
        bytes32[] memory hs = new bytes32[](padded.length / 256);
        for (uint256 i; i < hs.length; ++i) {
            hs[i] = keccak256(slice(padded, 256 * i, 256));
        }
        bytes32[][] memory levels = levelsOf(hs);
        return levels[levels.length - 1][0];
    }

    function pathOf(bytes32[][] memory levels, uint256 i, uint256 from) internal pure returns (bytes32[] memory p) {
        p = new bytes32[](levels.length - 1 - from);
        for (uint256 l = from; l + 1 < levels.length; ++l) {
            p[l - from] = levels[l][(i >> (l - from)) ^ 1];
        }
    }

    /// @dev Every level of the tree of a padded vector (2^D leaves of 256 bytes), leaves first.
    function treeOf(bytes memory padded) internal pure returns (bytes32[][] memory) {
        bytes32[] memory hs = new bytes32[](padded.length / 256);
        for (uint256 i; i < hs.length; ++i) {
            hs[i] = keccak256(slice(padded, 256 * i, 256));
        }
        return levelsOf(hs);
    }
}
