// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @notice What the epoch manager needs of a proof verifier. Barretenberg's generated
/// UltraHonk Solidity verifier has exactly this function.
interface IKrumVerifier {
    function verify(bytes calldata proof, bytes32[] calldata publicInputs) external view returns (bool);
}
