// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice The EIP-712 digest of `Availability{epoch, heldMask}` as the contract builds
/// it equals Python's (tests/vectors/availability.json), and the vectors' signatures
/// recover to their operators (`EpochAvailability.t.sol` checks `availabilityDigest` itself).
contract AvailabilityVectorsTest is Test {
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    bytes32 internal constant AVAILABILITY_TYPEHASH = keccak256("Availability(uint256 epoch,uint256 heldMask)");

    function test_digestsAndSignersMatchPython() public view {
        string memory json = vm.readFile("../tests/vectors/availability.json");
        uint256 c;
        for (; vm.keyExistsJson(json, string.concat(".cases[", vm.toString(c), "]")); ++c) {
            string memory p = string.concat(".cases[", vm.toString(c), "]");
            uint256 chainId = vm.parseJsonUint(json, string.concat(p, ".chain_id"));
            address avs = vm.parseJsonAddress(json, string.concat(p, ".avs"));
            uint256 epoch = vm.parseJsonUint(json, string.concat(p, ".epoch"));
            uint256 mask = vm.parseUint(vm.parseJsonString(json, string.concat(p, ".held_mask")));
            bytes32 ds = keccak256(abi.encode(DOMAIN_TYPEHASH, keccak256("p2pfl"), keccak256("1"), chainId, avs));
            bytes32 sh = keccak256(abi.encode(AVAILABILITY_TYPEHASH, epoch, mask));
            bytes32 digest = keccak256(abi.encodePacked("\x19\x01", ds, sh));
            assertEq(AVAILABILITY_TYPEHASH, vm.parseJsonBytes32(json, string.concat(p, ".type_hash")));
            assertEq(ds, vm.parseJsonBytes32(json, string.concat(p, ".domain_separator")));
            assertEq(sh, vm.parseJsonBytes32(json, string.concat(p, ".struct_hash")));
            assertEq(digest, vm.parseJsonBytes32(json, string.concat(p, ".digest")));
            bytes memory sig = vm.parseJsonBytes(json, string.concat(p, ".attestation.signature"));
            assertEq(ECDSA.recover(digest, sig), vm.parseJsonAddress(json, string.concat(p, ".signer")));
            // the same signature over another mask recovers to someone else
            bytes32 other = keccak256(
                abi.encodePacked("\x19\x01", ds, keccak256(abi.encode(AVAILABILITY_TYPEHASH, epoch, mask ^ 1)))
            );
            assertTrue(ECDSA.recover(other, sig) != vm.parseJsonAddress(json, string.concat(p, ".signer")));
        }
        assertEq(c, 3, "all vector cases read");
    }
}
