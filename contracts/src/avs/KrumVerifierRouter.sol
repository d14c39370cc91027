// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IKrumVerifier} from "../interfaces/IKrumVerifier.sol";

/// @title KrumVerifierRouter
/// @notice One Krum verifier per participant count. A Noir circuit has fixed sizes, so the
/// generated verifier of the (n, k) variant accepts only proofs for exactly n sketches;
/// an epoch's n is however many operators committed. The epoch manager puts n at public
/// input 2 (it computes it itself from the committed operators), and this router hands
/// the proof to the verifier registered for that n.
contract KrumVerifierRouter is IKrumVerifier, Ownable {
    /// @notice Index of `n` among the public inputs (EpochManager.publicInputs).
    uint256 public constant N_INPUT = 2;

    mapping(uint256 n => IKrumVerifier) public verifierFor;

    error NoVerifierFor(uint256 n);
    error MissingInputs(uint256 length);

    event VerifierSet(uint256 indexed n, address verifier);

    constructor(address owner_) Ownable(owner_) {}

    /// @notice Register (or replace, or with address zero remove) the verifier for `n`.
    function setVerifier(uint256 n, IKrumVerifier verifier) external onlyOwner {
        verifierFor[n] = verifier;
        emit VerifierSet(n, address(verifier));
    }

    /// @notice Verify with the verifier of the proof's participant count.
    function verify(bytes calldata proof, bytes32[] calldata publicInputs) external view returns (bool) {
        if (publicInputs.length <= N_INPUT) revert MissingInputs(publicInputs.length);
        uint256 n = uint256(publicInputs[N_INPUT]);
        IKrumVerifier target = verifierFor[n];
        if (address(target) == address(0)) revert NoVerifierFor(n);
        return target.verify(proof, publicInputs);
    }
}
