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
}
