// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IEpochManager} from "../interfaces/IEpochManager.sol";

/// @title Attestations
/// @notice DESIGN.md's availability attestations (the epoch, step 5) on chain: every
/// committed operator signs, as EIP-712 typed data, `Availability(uint256 epoch,uint256
/// heldMask)` in the domain `{name: "p2pfl", version: "1", chainId: block.chainid,
/// verifyingContract: the AVS service manager}`; bit `i` of `heldMask` is the `i`-th
/// committed operator of the epoch in ascending address order. This library checks a list
/// of attestations and counts, for every committed operator `j`, the attestations by
/// operators other than `j` that hold `j` (an operator's own bit never counts): the
/// EpochManager derives a result's included set from those counts (`include`) and judges
/// an exclusion challenge by them (`checkExclusion`).
///
/// A list of attestations is valid iff its operators are strictly ascending (one
/// attestation per operator), every one committed in the epoch, no mask has a bit at or
/// beyond the committed count, and every signature is a well-formed 65-byte `r ‖ s ‖ v`
/// signature (low `s`, as `ECDSA.tryRecover` requires) that recovers to its operator over
/// its mask, this epoch, this chain and this AVS. Anything else reverts with the
/// `IEpochManager` error that names the first fault.
/// @dev External (public) functions: the library is deployed on its own and linked into
/// the EpochManager (fully-qualified name `src/avs/Attestations.sol:Attestations`), which
/// keeps the manager under the contract size limit. The committed operators are passed as
/// the manager's storage array (by reference: a delegatecall reads the manager's storage).
library Attestations {
    /// @notice EIP-712's domain type hash.
    bytes32 internal constant DOMAIN_TYPEHASH =
        keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)");
    /// @notice The type hash of an attestation.
    bytes32 internal constant AVAILABILITY_TYPEHASH = keccak256("Availability(uint256 epoch,uint256 heldMask)");
    /// @notice `keccak256("p2pfl")` and `keccak256("1")`: the domain's name and version.
    bytes32 internal constant NAME_HASH = keccak256("p2pfl");
    bytes32 internal constant VERSION_HASH = keccak256("1");

    /// @notice The EIP-712 digest an operator signs to attest that, of the updates committed
    /// in `epoch`, it holds those in `heldMask`, for the AVS `verifyingContract` on this chain.
    function digest(address verifyingContract, uint256 epoch, uint256 heldMask) public view returns (bytes32) {
        return _digest(_domainSeparator(verifyingContract), epoch, heldMask);
    }

    /// @notice The committed operators `committed` in ascending address order: the order of
    /// the bits of a `heldMask`.
    function sorted(address[] memory committed) public pure returns (address[] memory) {
        return _sort(committed);
    }

    /// @notice Derive a result's included set and write it to `set` (replacing what it
    /// held): the committed operators, in ascending order, that at least `threshold` of the
    /// valid `attestations` by other operators hold (`threshold = f_c + 1`: at least one
    /// honest operator holds the bytes). Reverts unless every attestation is valid (see the
    /// library's notice).
    /// @return n The number of included operators.
    function include(
        address verifyingContract,
        uint256 epoch,
        address[] storage committed,
        IEpochManager.Attestation[] calldata attestations,
        uint256 threshold,
        address[] storage set
    ) public returns (uint256 n) {
        address[] memory ops = _sort(committed);
        uint256[] memory counts = _tally(verifyingContract, epoch, ops, attestations);
        while (set.length > 0) set.pop();
        for (uint256 j; j < ops.length; ++j) {
            if (counts[j] < threshold) continue;
            set.push(ops[j]);
            ++n;
        }
    }

    /// @notice Check an exclusion challenge: `operator` committed and is not among the
    /// result's operators `set` (else `NotExcluded`), every attestation is valid, and at
    /// least `need` of them by operators other than `operator` hold it (else
    /// `ExclusionQuorumNotMet`).
    function checkExclusion(
        address verifyingContract,
        uint256 epoch,
        address[] storage committed,
        IEpochManager.Attestation[] calldata attestations,
        address operator,
        address[] storage set,
        uint256 need
    ) public view {
        for (uint256 i; i < set.length; ++i) {
            if (set[i] == operator) revert IEpochManager.NotExcluded(epoch, operator);
        }
        address[] memory ops = _sort(committed);
        uint256 j;
        while (j < ops.length && ops[j] != operator) ++j;
        if (j == ops.length) revert IEpochManager.NotExcluded(epoch, operator);
        uint256 have = _tally(verifyingContract, epoch, ops, attestations)[j];
        if (have < need) revert IEpochManager.ExclusionQuorumNotMet(epoch, have, need);
    }

    // ------------------------------------------------------------------ internals

    /// @dev `counts[j]`: the attestations by operators other than `ops[j]` that hold it.
    /// `ops` is ascending; the attestations must be too, so one merge pass finds each
    /// attestor's index.
    function _tally(
        address verifyingContract,
        uint256 epoch,
        address[] memory ops,
        IEpochManager.Attestation[] calldata attestations
    ) private view returns (uint256[] memory counts) {
        uint256 c = ops.length;
        counts = new uint256[](c);
        bytes32 domain = _domainSeparator(verifyingContract);
        uint256 p; // index in ops of the current attestor
        for (uint256 i; i < attestations.length; ++i) {
            IEpochManager.Attestation calldata a = attestations[i];
            address op = a.operator;
            if (i > 0 && op <= attestations[i - 1].operator) revert IEpochManager.AttestationsNotAscending(i);
            while (p < c && ops[p] < op) ++p;
            if (p == c || ops[p] != op) revert IEpochManager.AttestorNotCommitted(epoch, op);
            uint256 mask = a.heldMask;
            if (mask >> c != 0) revert IEpochManager.AttestationMaskTooWide(epoch, op);
            (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecover(_digest(domain, epoch, mask), a.signature);
            if (err != ECDSA.RecoverError.NoError || signer != op) {
                revert IEpochManager.BadAttestationSignature(epoch, op);
            }
            mask &= ~(uint256(1) << p); // an operator's own bit never counts
            for (uint256 j; mask != 0; ++j) {
                if (mask & 1 == 1) ++counts[j];
                mask >>= 1;
            }
        }
    }

    function _domainSeparator(address verifyingContract) private view returns (bytes32) {
        return keccak256(abi.encode(DOMAIN_TYPEHASH, NAME_HASH, VERSION_HASH, block.chainid, verifyingContract));
    }

    function _digest(bytes32 domain, uint256 epoch, uint256 heldMask) private pure returns (bytes32) {
        return
            keccak256(
                abi.encodePacked("\x19\x01", domain, keccak256(abi.encode(AVAILABILITY_TYPEHASH, epoch, heldMask)))
            );
    }

    /// @dev `out` insertion-sorted ascending in place (a committee is small).
    function _sort(address[] memory out) private pure returns (address[] memory) {
        for (uint256 i = 1; i < out.length; ++i) {
            address x = out[i];
            uint256 j = i;
            for (; j > 0 && out[j - 1] > x; --j) {
                out[j] = out[j - 1];
            }
            out[j] = x;
        }
        return out;
    }
}
