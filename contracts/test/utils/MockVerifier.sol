// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IKrumVerifier} from "../../src/interfaces/IKrumVerifier.sol";

/// @notice Test-only verifier: accepts a proof iff it equals keccak256 of the public
/// inputs, so tests can tell "right inputs" from "tampered inputs" without a circuit.
/// The real Noir verifier replaces it in the zk issue.
contract MockVerifier is IKrumVerifier {
    function verify(bytes calldata proof, bytes32[] calldata publicInputs) external pure returns (bool) {
        return proof.length == 32 && bytes32(proof) == keccak256(abi.encodePacked(publicInputs));
    }
}
