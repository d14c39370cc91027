// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";
import {StakeTree} from "../src/avs/StakeTree.sol";
import {StakeTreeHarness} from "./utils/StakeTreeHarness.sol";

/// @notice `StakeTree` and its committee draw give Python's slots
/// (`tests/vectors/committee.json`, written by `p2pfl.protocol.committee`).
contract CommitteeVectorsTest is Test {
    function test_slotsMatchPython() public {
        string memory json = vm.readFile("../tests/vectors/committee.json");
        uint256 c;
        for (; vm.keyExistsJson(json, string.concat(".cases[", vm.toString(c), "]")); ++c) {
            string memory p = string.concat(".cases[", vm.toString(c), "]");
            bytes32 seed = vm.parseJsonBytes32(json, string.concat(p, ".seed"));
            uint256 size = vm.parseJsonUint(json, string.concat(p, ".size"));
            string[] memory w = vm.parseJsonStringArray(json, string.concat(p, ".weights"));
            StakeTreeHarness tree = new StakeTreeHarness();
            uint256[] memory weights = new uint256[](w.length);
            for (uint256 i; i < w.length; ++i) {
                weights[i] = vm.parseUint(w[i]);
            }
            tree.setAll(weights);
            assertEq(tree.total(), vm.parseUint(vm.parseJsonString(json, string.concat(p, ".total"))));
            string[] memory words = vm.parseJsonStringArray(json, string.concat(p, ".words"));
            for (uint256 t; t < words.length; ++t) {
                assertEq(StakeTree.drawWord(seed, t), vm.parseUint(words[t]), "draw word");
            }
            uint256[] memory slots = tree.sample(seed, size);
            uint256 n;
            for (; vm.keyExistsJson(json, string.concat(p, ".slots[", vm.toString(n), "]")); ++n) {
                assertLt(n, slots.length, "fewer slots than Python");
                uint256 want = vm.parseJsonUint(json, string.concat(p, ".slots[", vm.toString(n), "]"));
                assertEq(slots[n], want, vm.parseJsonString(json, string.concat(p, ".name")));
            }
            assertEq(slots.length, n, "as many slots as Python");
            assertEq(abi.encode(tree.sampleNoEarlyStop(seed, size)), abi.encode(slots), "early stop");
        }
        assertEq(c, 12, "all vector cases read");
    }
}
