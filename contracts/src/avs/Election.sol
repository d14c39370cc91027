// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IEpochManager} from "../interfaces/IEpochManager.sol";

/// @title Election
/// @notice DESIGN.md's aggregator draw (the epoch, step 4): the aggregator of attempt `a`
/// is drawn by stake from `keccak256(seed ‖ "aggregator" ‖ uint32 a)`, among the
/// candidates not drawn at an earlier attempt of the same epoch. A voided or silent
/// aggregator therefore never gets the epoch back: a cheater cannot void twice, and a
/// silent operator cannot cost the epoch two rotations. Once every candidate has been
/// drawn (fewer candidates than attempts), the draw starts over from all of them.
/// @dev External (public) functions: the library is deployed on its own and linked into
/// the EpochManager (fully-qualified name `src/avs/Election.sol:Election`), which keeps
/// the manager under the contract size limit. `p2pfl.protocol.election` computes the same
/// numbers; `tests/vectors/election.json` holds the shared vectors.
library Election {
    /// @notice The candidates of an epoch, with their stakes: the members of `roster` that
    /// committed (`commitments` non-zero), in roster order, with their `stakes`; `c` is the
    /// number that committed (the loop stops once all are found). The loop is bounded by
    /// the roster, at most the committee size.
    function candidates(
        address[] storage roster,
        uint256[] storage stakes,
        mapping(address => bytes32) storage commitments,
        uint256 c
    ) public view returns (address[] memory ops, uint256[] memory weights) {
        ops = new address[](c);
        weights = new uint256[](c);
        uint256 k;
        for (uint256 i; i < roster.length && k < c; ++i) {
            if (commitments[roster[i]] != bytes32(0)) {
                ops[k] = roster[i];
                weights[k] = stakes[i];
                ++k;
            }
        }
    }

    /// @notice The aggregator of attempt `attempt` of an epoch with seed `seed`: its
    /// candidates (see `candidates`) indexed by `aggregatorIndex`; address(0) if nobody
    /// committed.
    function elect(
        bytes32 seed,
        uint32 attempt,
        address[] storage roster,
        uint256[] storage stakes,
        mapping(address => bytes32) storage commitments,
        uint256 c
    ) public view returns (address) {
        if (c == 0) return address(0);
        (address[] memory ops, uint256[] memory weights) = candidates(roster, stakes, commitments, c);
        return ops[aggregatorIndex(seed, attempt, weights)];
    }

    /// @notice One draw: the first index `i` with `r < stakes[0] + … + stakes[i]`, where
    /// `r = uint256(keccak256(abi.encodePacked(seed, "aggregator", attempt))) % Σ stakes`
    /// (46 bytes hashed: the seed, the 10 ASCII bytes, the big-endian uint32). A zero stake
    /// is never drawn. Reverts `NoOperators` if the stakes sum to zero.
    function drawIndex(bytes32 seed, uint32 attempt, uint256[] memory stakes) public pure returns (uint256 i) {
        uint256 total = _sum(stakes);
        if (total == 0) revert IEpochManager.NoOperators();
        uint256 r = uint256(keccak256(abi.encodePacked(seed, "aggregator", attempt))) % total;
        for (; r >= stakes[i]; ++i) {
            r -= stakes[i];
        }
    }

    /// @notice The index of the aggregator of attempt `attempt`: the draws of attempts
    /// `0 … attempt` in turn, each over the stakes with every earlier draw's stake set to
    /// zero (all restored once they sum to zero). Attempt 0 is `drawIndex(seed, 0, stakes)`.
    /// Costs `attempt + 1` draws; attempts are bounded by `maxAttempts`.
    function aggregatorIndex(bytes32 seed, uint32 attempt, uint256[] memory stakes) public pure returns (uint256 i) {
        uint256[] memory left = _copy(stakes);
        for (uint32 b; ; ++b) {
            if (_sum(left) == 0) left = _copy(stakes);
            i = drawIndex(seed, b, left);
            if (b == attempt) return i;
            left[i] = 0;
        }
    }

    function _sum(uint256[] memory stakes) private pure returns (uint256 total) {
        for (uint256 j; j < stakes.length; ++j) {
            total += stakes[j];
        }
    }

    function _copy(uint256[] memory stakes) private pure returns (uint256[] memory out) {
        out = new uint256[](stakes.length);
        for (uint256 j; j < stakes.length; ++j) {
            out[j] = stakes[j];
        }
    }
}
