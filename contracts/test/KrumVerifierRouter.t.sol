// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IKrumVerifier} from "../src/interfaces/IKrumVerifier.sol";
import {KrumVerifierRouter} from "../src/avs/KrumVerifierRouter.sol";

/// A verifier for one n that records nothing: accepts iff the proof is its own tag.
contract TaggedVerifier is IKrumVerifier {
    bytes32 public immutable tag;

    constructor(bytes32 tag_) {
        tag = tag_;
    }

    function verify(bytes calldata proof, bytes32[] calldata) external view returns (bool) {
        return proof.length == 32 && bytes32(proof) == tag;
    }
}

contract KrumVerifierRouterTest is Test {
    KrumVerifierRouter internal router;
    TaggedVerifier internal v4;
    TaggedVerifier internal v6;

    event VerifierSet(uint256 indexed n, address verifier);

    function setUp() public {
        router = new KrumVerifierRouter(address(this));
        v4 = new TaggedVerifier("four");
        v6 = new TaggedVerifier("six");
        router.setVerifier(4, v4);
        router.setVerifier(6, v6);
    }

    function inputs(uint256 n) internal pure returns (bytes32[] memory p) {
        p = new bytes32[](5);
        p[0] = bytes32(uint256(1));
        p[2] = bytes32(n);
    }

    function test_routes_by_n() public view {
        assertTrue(router.verify(abi.encodePacked(bytes32("four")), inputs(4)));
        assertTrue(router.verify(abi.encodePacked(bytes32("six")), inputs(6)));
        // a proof for another n is handed to that n's verifier, which refuses it
        assertFalse(router.verify(abi.encodePacked(bytes32("six")), inputs(4)));
    }

    function test_unknown_n_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(KrumVerifierRouter.NoVerifierFor.selector, 5));
        router.verify(abi.encodePacked(bytes32("four")), inputs(5));
    }

    function test_short_inputs_revert() public {
        vm.expectRevert(abi.encodeWithSelector(KrumVerifierRouter.MissingInputs.selector, 2));
        router.verify("", new bytes32[](2));
    }

    function test_only_owner_sets() public {
        vm.prank(address(0xBEEF));
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(0xBEEF)));
        router.setVerifier(5, v4);
    }

    function test_set_emits_and_removes() public {
        vm.expectEmit(true, false, false, true);
        emit VerifierSet(4, address(0));
        router.setVerifier(4, IKrumVerifier(address(0)));
        vm.expectRevert(abi.encodeWithSelector(KrumVerifierRouter.NoVerifierFor.selector, 4));
        router.verify(abi.encodePacked(bytes32("four")), inputs(4));
    }

    function testFuzz_unregistered_n_never_verifies(uint256 n, bytes32 proof) public {
        vm.assume(n != 4 && n != 6);
        vm.expectRevert(abi.encodeWithSelector(KrumVerifierRouter.NoVerifierFor.selector, n));
        router.verify(abi.encodePacked(proof), inputs(n));
    }
}
