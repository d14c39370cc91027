// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IResultChallenges
/// @notice The custom errors and events of the v2 challenges (model, chunked sketch, norm
/// proof) that the EpochManager inherits from `ResultChallenges`.
interface IResultChallenges {
    /// @notice What an upheld challenge showed wrong in a result.
    enum ChallengeKind {
        /// A leaf of the posted model is not the model step of the base and selected updates.
        Model,
        /// A posted sketch row is not the sketch of the operator's committed update.
        Sketch
    }

    // ------------------------------------------------------------------ errors

    /// @notice The result of `epoch` is empty (fewer than three operators included): it has
    /// no model or sketch to challenge, only exclusions (`challengeExclusion`).
    error EmptyResult(uint256 epoch);
    /// @notice A challenge must send exactly the challenge bond.
    error ChallengeBondWrong(uint256 sent, uint256 required);
    /// @notice Leaf `which` of a model challenge (0 the base model, 1 the posted model,
    /// 2 + j the j-th selected update) does not prove against its root.
    error LeafNotInRoot(uint256 epoch, uint256 which);
    /// @notice A model challenge must carry one leaf and proof per selected update.
    error SelectedLeavesWrong(uint256 sent);
    /// @notice Sketch row `index` does not exist (`n` rows).
    error ChallengedRowOutOfRange(uint256 index, uint256 n);
    /// @notice The row sent is not sketch row `index` as posted in `epoch`'s result.
    error PostedRowWrong(uint256 epoch, uint256 index);
    /// @notice The partial sketches must be `expected` entries (chunks × k).
    error PartialsLengthWrong(uint256 length, uint256 expected);
    /// @notice Chunk `chunk` holds padding only, so its partial sketch must be zero.
    error PaddingPartialNotZero(uint256 chunk);
    /// @notice The partial sketches sum to the posted row: nothing to challenge.
    error PartialsMatchPostedRow(uint256 epoch, uint256 index);
    /// @notice There is no open sketch challenge `id` (for that epoch).
    error NoSketchChallenge(uint256 id);
    /// @notice Sketch challenge `id` was not completed by block `deadline`.
    error SketchChallengeExpired(uint256 id, uint64 deadline);
    /// @notice Sketch challenge `id` can still be completed until block `deadline`.
    error SketchChallengeStillOpen(uint256 id, uint64 deadline);
    /// @notice Chunk `chunk` of challenge `id` is proven already.
    error ChunkAlreadyProven(uint256 id, uint256 chunk);
    /// @notice The proven chunk's partial sketch is not the one the challenger claimed.
    error PartialSketchWrong(uint256 id, uint256 chunk);
    /// @notice `epoch` can no longer be challenged, so no norm proof is taken.
    error NormNotProvable(uint256 epoch);
    /// @notice `operator` committed no update in `epoch`.
    error NothingCommitted(uint256 epoch, address operator);
    /// @notice `operator` was already slashed for its update of `epoch`.
    error AlreadySlashedForNorm(uint256 epoch, address operator);
    /// @notice Chunk `chunk` of `operator`'s update of `epoch` was counted already.
    error NormChunkAlreadyProven(uint256 epoch, address operator, uint256 chunk);

    // ------------------------------------------------------------------ events

    /// @notice `challenger` challenged leaf `leaf` of `epoch`'s model; `upheld` when wrong.
    event ModelChallenged(uint256 indexed epoch, uint256 leaf, address indexed challenger, bool upheld);
    /// @notice `challenger` opened sketch challenge `id` against row `index` of `epoch`.
    event SketchChallengeOpened(uint256 indexed epoch, uint256 indexed id, uint256 index, address challenger);
    /// @notice Chunk `chunk` of sketch challenge `id` was proven.
    event ChunkProven(uint256 indexed epoch, uint256 indexed id, uint256 chunk);
    /// @notice Sketch challenge `id` closed: `upheld` when every chunk was proven.
    event SketchChallengeClosed(uint256 indexed epoch, uint256 indexed id, bool upheld);
    /// @notice Chunk `chunk` of `operator`'s update of `epoch` was proven; `total` is the
    /// sum of squares of its chunks proven so far.
    event NormChunkProven(uint256 indexed epoch, address indexed operator, uint256 chunk, uint256 total);
}
