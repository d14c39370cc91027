// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IResultChallenges} from "../interfaces/IResultChallenges.sol";
import {MerkleRoot} from "./MerkleRoot.sol";
import {ModelStep} from "./ModelStep.sol";
import {UpdateChunk} from "./UpdateChunk.sol";

/// @title ResultChallenges
/// @notice DESIGN.md's challenges of v2, every transaction under 128 KB: against the
/// aggregator, the **model challenge** (one leaf of the base model, of every selected
/// update and of the posted model, recomputed) and the **chunked sketch challenge**
/// (`openSketchChallenge` with the challenger's partial sketches, then `proveChunk` per
/// 64 KiB chunk against the operator's root); against an operator, the **norm proof**
/// (`proveNormChunk`: chunks' `Σ q²` accumulated until the total passes the bound).
/// Digests are Merkle roots (`MerkleRoot`) of vectors of `modelDim` int32.
/// @dev Abstract: the epoch's state lives in the inheriting EpochManager, reached through
/// the hooks below, which also void results, slash and credit.
abstract contract ResultChallenges is IResultChallenges {
    /// @notice A chunked sketch challenge in progress.
    struct SketchChallenge {
        uint256 epoch;
        address challenger;
        uint64 deadline;
        uint32 attempt;
        uint32 index;
        uint32 chunks;
        uint256 bond;
        uint256 provenMask;
        bool closed;
    }

    /// @notice An operator's norm proof in progress for one epoch.
    struct NormProof {
        uint256 provenMask;
        uint256 sumOfSquares;
        bool slashed;
    }

    /// @notice What a challenge needs to know of the result it challenges.
    struct ResultView {
        /// @notice A result is posted and stands (status Submitted).
        bool standing;
        bytes32 seed;
        bytes32 baseModel;
        bytes32 modelDigest;
        uint256 selectedMask;
        uint32 attempt;
        address aggregator;
    }

    SketchChallenge[] private _sketchChallenges;
    mapping(uint256 id => mapping(uint256 chunk => bytes32)) private _partialHash;
    mapping(uint256 epoch => uint256) public openSketchChallenges;
    mapping(uint256 epoch => uint256[]) private _sketchChallengeIds;
    mapping(uint256 epoch => mapping(address operator => NormProof)) private _norm;

    // ------------------------------------------------------------------ hooks

    /// @dev The result of `epoch`, which must be challengeable now (else revert).
    function _challengeable(uint256 epoch) internal view virtual returns (ResultView memory);
    /// @dev The ascending operators of the result of `epoch`.
    function _resultOperatorAt(uint256 epoch, uint256 index) internal view virtual returns (address);
    function _resultOperatorCount(uint256 epoch) internal view virtual returns (uint256);
    /// @dev The posted sketch row `index` of `epoch`'s result is `row`.
    function _isPostedRow(uint256 epoch, uint256 index, int256[] calldata row) internal view virtual returns (bool);
    function _commitment(uint256 epoch, address operator) internal view virtual returns (bytes32);
    /// @dev The commitment of `operator` may still be proven invalid (its epoch is open or
    /// its result challengeable).
    function _normProvable(uint256 epoch) internal view virtual returns (bool);
    function _modelDim() internal view virtual returns (uint256);
    function _sketchDim() internal view virtual returns (uint256);
    function _normBoundSq() internal view virtual returns (uint256);
    function _challengeBond() internal view virtual returns (uint256);
    function _challengeBlocks() internal view virtual returns (uint64);
    /// @dev Void the result (attempt `attempt`) of `epoch` for an upheld challenge by
    /// `challenger` who sent `bond`: pay, rotate, slash the aggregator.
    function _uphold(uint256 epoch, address challenger, uint256 bond, ChallengeKind kind) internal virtual;
    /// @dev A challenge that proved nothing: `bond` goes to `aggregator`.
    function _forfeit(address aggregator, uint256 bond) internal virtual;
    /// @dev Return `bond` to `challenger` (the result it challenged was voided meanwhile).
    function _refund(address challenger, uint256 bond) internal virtual;
    /// @dev Slash `operator` for an update above the norm bound in `epoch`.
    function _slashNorm(uint256 epoch, address operator) internal virtual;

    // ------------------------------------------------------------------ model

    /// @notice Prove that leaf `leaf` of the posted model is not the model step of the base
    /// model's leaf and the selected updates' leaves (selected in ascending operator
    /// order), each leaf with its Merkle proof. The posted model is given by its leaf's
    /// hash and proof (both follow from the leaf hashes the result posted), not its bytes:
    /// a model its aggregator never serves is challengeable all the same. Entries past
    /// `modelDim` are zero in any model, so the step's are zeroed before the comparison.
    /// Sent with the challenge bond. Upheld: the result is voided and the aggregator
    /// slashed; otherwise the bond goes to it. An empty result (it selects nobody: a Krum
    /// result selects `n − f >= 3`) has no model to challenge (`EmptyResult`).
    function challengeModel(
        uint256 epoch,
        uint256 leaf,
        bytes calldata baseLeaf,
        bytes32[] calldata baseProof,
        bytes[] calldata selectedLeaves,
        bytes32[][] calldata selectedProofs,
        bytes32 modelLeafHash,
        bytes32[] calldata modelProof
    ) external payable returns (bool upheld) {
        ResultView memory r = _challengeable(epoch);
        if (r.selectedMask == 0) revert EmptyResult(epoch);
        if (msg.value != _challengeBond()) revert ChallengeBondWrong(msg.value, _challengeBond());
        uint256 depth = UpdateChunk.depth(_modelDim());
        if (!MerkleRoot.verifyLeaf(r.baseModel, leaf, baseLeaf, baseProof, depth)) revert LeafNotInRoot(epoch, 0);
        if (modelProof.length != depth) revert MerkleRoot.BadProofLength(modelProof.length, depth);
        if (MerkleRoot.rootFromLeaf(modelLeafHash, leaf, modelProof) != r.modelDigest) {
            revert LeafNotInRoot(epoch, 1);
        }
        uint256 n = _resultOperatorCount(epoch);
        uint256 m = selectedLeaves.length;
        if (m != selectedProofs.length || m != _popcount(r.selectedMask)) revert SelectedLeavesWrong(m);
        bytes[] memory leaves = new bytes[](m);
        uint256 j;
        for (uint256 i; i < n; ++i) {
            if ((r.selectedMask >> i) & 1 == 0) continue;
            bytes32 root = _commitment(epoch, _resultOperatorAt(epoch, i));
            if (!MerkleRoot.verifyLeaf(root, leaf, selectedLeaves[j], selectedProofs[j], depth)) {
                revert LeafNotInRoot(epoch, 2 + j);
            }
            leaves[j] = selectedLeaves[j];
            ++j;
        }
        bytes memory want = ModelStep.step(baseLeaf, leaves);
        _zeroPastDim(want, leaf);
        upheld = keccak256(want) != modelLeafHash;
        emit ModelChallenged(epoch, leaf, msg.sender, upheld);
        if (upheld) _uphold(epoch, msg.sender, msg.value, ChallengeKind.Model);
        else _forfeit(r.aggregator, msg.value);
    }

    // ------------------------------------------------------------------ sketch

    /// @notice Open a chunked challenge of sketch row `index`: `posted` is the row as the
    /// result posted it, `partials` the challenger's partial sketch of every chunk of the
    /// operator's update (`chunks × k` entries, chunk-major), which must not sum to the
    /// posted row. Sent with the challenge bond. Then `proveChunk` for every chunk, by
    /// anyone, before the challenge's deadline; the result cannot finalize meanwhile. An
    /// empty result has no sketch to challenge (`EmptyResult`).
    function openSketchChallenge(uint256 epoch, uint256 index, int256[] calldata posted, int256[] calldata partials)
        external
        payable
        returns (uint256 id)
    {
        ResultView memory r = _challengeable(epoch);
        if (r.selectedMask == 0) revert EmptyResult(epoch);
        if (msg.value != _challengeBond()) revert ChallengeBondWrong(msg.value, _challengeBond());
        uint256 n = _resultOperatorCount(epoch);
        if (index >= n) revert ChallengedRowOutOfRange(index, n);
        if (!_isPostedRow(epoch, index, posted)) revert PostedRowWrong(epoch, index);
        uint256 k = _sketchDim();
        uint256 chunks = UpdateChunk.chunkCount(_modelDim());
        if (partials.length != chunks * k) revert PartialsLengthWrong(partials.length, chunks * k);
        bool differs;
        for (uint256 b; b < k; ++b) {
            int256 sum;
            for (uint256 c; c < chunks; ++c) {
                sum += partials[c * k + b];
            }
            if (sum != posted[b]) differs = true;
        }
        if (!differs) revert PartialsMatchPostedRow(epoch, index);
        // Chunks past the last entry are padding: their partial sketch is zero, proven as is.
        uint256 live = UpdateChunk.liveChunks(_modelDim());
        for (uint256 i = live * k; i < partials.length; ++i) {
            if (partials[i] != 0) revert PaddingPartialNotZero(i / k);
        }
        id = _sketchChallenges.length;
        for (uint256 c; c < chunks; ++c) {
            _partialHash[id][c] = keccak256(abi.encode(partials[c * k:(c + 1) * k]));
        }
        _sketchChallenges.push(
            SketchChallenge({
                epoch: epoch,
                challenger: msg.sender,
                deadline: uint64(block.number) + _challengeBlocks(),
                attempt: r.attempt,
                index: uint32(index),
                chunks: uint32(chunks),
                bond: msg.value,
                provenMask: ((1 << chunks) - 1) ^ ((1 << live) - 1),
                closed: false
            })
        );
        openSketchChallenges[epoch] += 1;
        _sketchChallengeIds[epoch].push(id);
        emit SketchChallengeOpened(epoch, id, index, msg.sender);
    }

    /// @notice Prove chunk `chunk` of challenge `id`: its bytes and Merkle proof against the
    /// challenged operator's root. Its partial sketch must equal the challenger's; the last
    /// chunk proven upholds the challenge. Anyone may call it.
    function proveChunk(uint256 epoch, uint256 id, uint256 chunk, bytes calldata data, bytes32[] calldata proof)
        external
        returns (bool upheld)
    {
        SketchChallenge storage ch = _openChallenge(epoch, id);
        ResultView memory r = _resultOf(epoch);
        // The result was voided meanwhile (by another challenge): nothing left to prove.
        if (!r.standing || r.attempt != ch.attempt) return _closeMoot(epoch, id, ch);
        if (block.number > ch.deadline) revert SketchChallengeExpired(id, ch.deadline);
        if (chunk >= ch.chunks) revert UpdateChunk.ChunkOutOfRange(chunk, ch.chunks);
        if ((ch.provenMask >> chunk) & 1 == 1) revert ChunkAlreadyProven(id, chunk);
        bytes32 root = _commitment(epoch, _resultOperatorAt(epoch, ch.index));
        UpdateChunk.Place memory p = UpdateChunk.verify(root, _modelDim(), chunk, data, proof);
        int256[] memory part = UpdateChunk.partialSketch(data, p, r.seed, _sketchDim());
        if (keccak256(abi.encode(part)) != _partialHash[id][chunk]) revert PartialSketchWrong(id, chunk);
        ch.provenMask |= 1 << chunk;
        emit ChunkProven(epoch, id, chunk);
        if (ch.provenMask != (1 << ch.chunks) - 1) return false;
        ch.closed = true;
        openSketchChallenges[epoch] -= 1;
        emit SketchChallengeClosed(epoch, id, true);
        _uphold(epoch, ch.challenger, ch.bond, ChallengeKind.Sketch);
        return true;
    }

    /// @notice Close challenge `id` that was not completed in time (its bond goes to the
    /// aggregator) or whose result was voided meanwhile (its bond goes back). Anyone may call it.
    function closeSketchChallenge(uint256 epoch, uint256 id) external {
        SketchChallenge storage ch = _openChallenge(epoch, id);
        ResultView memory r = _resultOf(epoch);
        if (!r.standing || r.attempt != ch.attempt) {
            _closeMoot(epoch, id, ch);
            return;
        }
        if (block.number <= ch.deadline) revert SketchChallengeStillOpen(id, ch.deadline);
        ch.closed = true;
        openSketchChallenges[epoch] -= 1;
        emit SketchChallengeClosed(epoch, id, false);
        _forfeit(r.aggregator, ch.bond);
    }

    /// @notice Challenge `id`.
    function sketchChallenge(uint256 id) external view returns (SketchChallenge memory) {
        if (id >= _sketchChallenges.length) revert NoSketchChallenge(id);
        return _sketchChallenges[id];
    }

    /// @notice The ids of every sketch challenge opened against `epoch`'s results, closed
    /// ones included, in opening order: where a node finds expired or moot ones to close.
    function sketchChallengeIds(uint256 epoch) external view returns (uint256[] memory) {
        return _sketchChallengeIds[epoch];
    }

    // ------------------------------------------------------------------ norm

    /// @notice Prove chunk `chunk` of `operator`'s committed update of `epoch`: its `Σ q²`
    /// is added to the operator's total; once the total passes the norm bound the operator
    /// is slashed (once). Anyone may call it while the epoch can still be challenged.
    function proveNormChunk(
        uint256 epoch,
        address operator,
        uint256 chunk,
        bytes calldata data,
        bytes32[] calldata proof
    ) external returns (bool slashed) {
        if (!_normProvable(epoch)) revert NormNotProvable(epoch);
        bytes32 root = _commitment(epoch, operator);
        if (root == bytes32(0)) revert NothingCommitted(epoch, operator);
        NormProof storage np = _norm[epoch][operator];
        if (np.slashed) revert AlreadySlashedForNorm(epoch, operator);
        if ((np.provenMask >> chunk) & 1 == 1) revert NormChunkAlreadyProven(epoch, operator, chunk);
        UpdateChunk.Place memory p = UpdateChunk.verify(root, _modelDim(), chunk, data, proof);
        np.provenMask |= 1 << chunk;
        np.sumOfSquares += UpdateChunk.sumOfSquares(data, p);
        emit NormChunkProven(epoch, operator, chunk, np.sumOfSquares);
        if (np.sumOfSquares <= _normBoundSq()) return false;
        np.slashed = true;
        _slashNorm(epoch, operator);
        return true;
    }

    /// @notice The norm proof of `operator` in `epoch` so far.
    function normProof(uint256 epoch, address operator) external view returns (NormProof memory) {
        return _norm[epoch][operator];
    }

    // ------------------------------------------------------------------ internals

    /// @dev The result of `epoch` as it stands, challengeable or not.
    function _resultOf(uint256 epoch) internal view virtual returns (ResultView memory);

    function _openChallenge(uint256 epoch, uint256 id) private view returns (SketchChallenge storage ch) {
        if (id >= _sketchChallenges.length) revert NoSketchChallenge(id);
        ch = _sketchChallenges[id];
        if (ch.closed || ch.epoch != epoch) revert NoSketchChallenge(id);
    }

    function _closeMoot(uint256 epoch, uint256 id, SketchChallenge storage ch) private returns (bool) {
        ch.closed = true;
        openSketchChallenges[epoch] -= 1;
        emit SketchChallengeClosed(epoch, id, false);
        _refund(ch.challenger, ch.bond);
        return false;
    }

    /// @dev Zero the entries of leaf `leaf` at or past `modelDim` (padding in any model).
    function _zeroPastDim(bytes memory out, uint256 leaf) private view {
        uint256 first = leaf * MerkleRoot.LEAF_BYTES / 4;
        uint256 d = _modelDim();
        uint256 live = d <= first ? 0 : d - first;
        for (uint256 b = live * 4; b < out.length; ++b) {
            out[b] = 0;
        }
    }

    function _popcount(uint256 x) internal pure returns (uint256 c) {
        for (; x != 0; x &= x - 1) {
            ++c;
        }
    }
}
