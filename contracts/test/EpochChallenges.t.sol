// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Vm} from "forge-std/Vm.sol";
import {stdStorage, StdStorage} from "forge-std/StdStorage.sol";
import {Devnet} from "./utils/Devnet.sol";
import {MerkleVectors} from "./utils/MerkleVectors.sol";
import {ChunkHarness} from "./utils/ChunkHarness.sol";
import {EpochManager} from "../src/avs/EpochManager.sol";
import {ModelStep} from "../src/avs/ModelStep.sol";
import {UpdateChunk} from "../src/avs/UpdateChunk.sol";
import {P2pflServiceManager} from "../src/avs/P2pflServiceManager.sol";
import {IEpochManager} from "../src/interfaces/IEpochManager.sol";
import {IResultChallenges} from "../src/interfaces/IResultChallenges.sol";
import {ResultChallenges} from "../src/avs/ResultChallenges.sol";
import {IAllocationManagerTypes} from "../src/interfaces/IEigenLayer.sol";

/// @notice The v2 challenges through the real EpochManager on the devnet core: committed
/// updates are Merkle roots of `MODEL_DIM` int32 entries, results are challenged leaf by
/// leaf (model), chunk by chunk (sketch) and updates proven above the norm bound; the
/// economics (bond in wei, reward in stake tokens out of what the slash removed).
contract EpochChallengesTest is Devnet, MerkleVectors {
    using stdStorage for StdStorage;

    uint256 internal constant DEPTH = 10; // 731 leaves of the CNN's 46,730 entries
    uint256 internal constant LAST_LEAF = 730; // the last live leaf: 10 entries, then padding
    uint256 internal constant CHUNK_BYTES = 65_536;
    uint256 internal constant BOND = 1 ether;

    ChunkHarness internal chunks;
    address internal watcher = makeAddr("watcher");
    address internal watcher2 = makeAddr("watcher2");

    /// @dev One epoch's result and every vector behind it, in the result's order.
    struct World {
        uint256 e;
        bytes32 seed;
        address aggregator;
        address[] sorted;
        bytes[] vecs;
        bytes32[][][] trees;
        int256[] sketches;
        uint256 selectedMask;
        uint256 flagMask;
        uint256 cnnRow;
        bytes base;
        bytes32[][] baseTree;
        bytes model;
        bytes32[][] modelTree;
    }

    function setUp() public override {
        json = vm.readFile(VECTORS);
        super.setUp();
        chunks = new ChunkHarness();
        vm.deal(watcher, 100 ether);
        vm.deal(watcher2, 100 ether);
    }

    /// @dev The genesis model is the zero vector of MODEL_DIM entries.
    function genesisModel() internal pure override returns (bytes32 z) {
        z = keccak256(new bytes(256));
        for (uint256 l; l < DEPTH; ++l) {
            z = keccak256(abi.encodePacked(z, z));
        }
    }

    /// @dev The norm bound lies between the CNN vector's chunk 0 and chunks 0 + 1.
    function defaultParams() internal view override returns (EpochManager.Params memory p) {
        p = super.defaultParams();
        p.normBoundSq = chunkSumOfSquares(0) + 1;
    }

    function chunkSumOfSquares(uint256 c) internal view returns (uint256) {
        return vm.parseJsonUint(json, at(idx(cnn(), ".chunk_proofs", c), ".sum_squares"));
    }

    // ---------------------------------------------------------------- vectors

    /// @dev Operator 0's update is the CNN vector of the shared vectors (above the norm
    /// bound); the others' are small and sparse (two leaves of entries, far below it).
    function updateOf(uint256 opIndex) internal view returns (bytes memory v) {
        if (opIndex == 0) return regenerate(cnn());
        v = new bytes(256 << DEPTH);
        for (uint256 t; t < 128; ++t) {
            uint32 u = uint32(int32(int256(uint256(keccak256(abi.encode(opIndex, t))) % 2001) - 1000));
            for (uint256 b; b < 4; ++b) {
                v[4 * t + b] = bytes1(uint8(u >> (8 * b)));
            }
        }
        // Non-zero bytes past entry MODEL_DIM in the last live leaf (operators 2 and up): a
        // root an honest node never commits, yet one a model challenge must not turn
        // against the aggregator.
        if (opIndex < 2) return v;
        for (uint256 b = 4 * MODEL_DIM; b < 256 * LAST_LEAF + 256; b += 7) {
            v[b] = 0x5a;
        }
    }

    /// @dev Every level of a padded vector's tree, leaves hashed in place.
    function fastTree(bytes memory padded) internal pure returns (bytes32[][] memory) {
        uint256 leaves = padded.length / 256;
        bytes32[] memory hs = new bytes32[](leaves);
        for (uint256 i; i < leaves; ++i) {
            bytes32 h;
            assembly ("memory-safe") {
                h := keccak256(add(add(padded, 0x20), mul(i, 256)), 256)
            }
            hs[i] = h;
        }
        return levelsOf(hs);
    }

    /// @notice The hashes of the live leaves (`ceil(MODEL_DIM / 64)`): what a result posts.
    function liveLeafHashes(bytes32[][] memory lv) internal pure returns (bytes32[] memory h) {
        h = new bytes32[]((uint256(MODEL_DIM) + 63) / 64);
        for (uint256 i; i < h.length; ++i) {
            h[i] = lv[0][i];
        }
    }

    function rootOfTree(bytes32[][] memory lv) internal pure returns (bytes32) {
        return lv[lv.length - 1][0];
    }

    function opIndex(address op) internal view returns (uint256) {
        for (uint256 i; i < ops.length; ++i) {
            if (ops[i] == op) return i;
        }
        revert("unknown operator");
    }

    // ---------------------------------------------------------------- epoch

    /// @dev Open, commit every operator's root, build the honest result (the model honest
    /// on leaves 0 and 1 only: the challenged ones), tamper as asked, submit.
    function stage(bool wrongModelLeaf1, int256 rowError) internal returns (World memory w) {
        return stageAfter(0, wrongModelLeaf1, rowError);
    }

    /// @dev As `stage`, the result posted by the aggregator of attempt `timeouts` (the
    /// earlier ones stayed silent).
    function stageAfter(uint256 timeouts, bool wrongModelLeaf1, int256 rowError) internal returns (World memory w) {
        w.e = epochs.openEpoch();
        bytes[] memory byOp = new bytes[](N);
        for (uint256 i; i < N; ++i) {
            byOp[i] = updateOf(i);
            vm.prank(ops[i]);
            epochs.commitUpdate(w.e, rootOfTree(fastTree(byOp[i])));
        }
        vm.roll(epochs.getEpoch(w.e).closeBlock + 1);
        w.seed = epochs.recordSeed(w.e);
        for (uint256 t; t < timeouts; ++t) {
            vm.roll(epochs.getEpoch(w.e).submitDeadline + 1);
            epochs.reportTimeout(w.e);
        }
        w.aggregator = epochs.getEpoch(w.e).aggregator;
        w.sorted = sorted(epochs.committed(w.e));
        uint256 n = w.sorted.length;
        w.vecs = new bytes[](n);
        w.trees = new bytes32[][][](n);
        for (uint256 i; i < n; ++i) {
            w.vecs[i] = byOp[opIndex(w.sorted[i])];
            w.trees[i] = fastTree(w.vecs[i]);
            if (w.sorted[i] == ops[0]) w.cnnRow = i;
        }
        w.sketches = new int256[](n * K);
        int256[] memory cnnRow = honestRow(w, w.cnnRow);
        for (uint256 b; b < K; ++b) {
            w.sketches[w.cnnRow * K + b] = cnnRow[b];
        }
        w.sketches[w.cnnRow * K] += rowError;
        uint256 f = epochs.byzantineBound(n);
        w.selectedMask = (1 << (n - f)) - 1;
        w.flagMask = 1 << (n - 1);
        w.base = new bytes(256 << DEPTH);
        w.baseTree = fastTree(w.base);
        w.model = new bytes(256 << DEPTH);
        for (uint256 l; l <= LAST_LEAF; l = l == 1 ? LAST_LEAF : l + 1) {
            bytes memory leaf = ModelStep.step(slice(w.base, 256 * l, 256), selectedLeaves(w, l));
            for (uint256 b = l == LAST_LEAF ? 4 * MODEL_DIM - 256 * LAST_LEAF : 256; b < 256; ++b) {
                leaf[b] = 0; // entries past MODEL_DIM are zero in any model
            }
            for (uint256 b; b < 256; ++b) {
                w.model[256 * l + b] = leaf[b];
            }
        }
        if (wrongModelLeaf1) w.model[256 + 8] ^= 0x01;
        w.modelTree = fastTree(w.model);
        bytes32[] memory inputs = epochs.publicInputs(w.e, w.seed, n, f, w.sketches, w.selectedMask, w.flagMask);
        IEpochManager.Attestation[] memory attestations = attestAll(w.e);
        vm.prank(w.aggregator);
        epochs.submitResult(
            w.e,
            liveLeafHashes(w.modelTree),
            attestations,
            w.sketches,
            w.selectedMask,
            w.flagMask,
            abi.encodePacked(keccak256(abi.encodePacked(inputs)))
        );
    }

    function honestRow(World memory w, uint256 i) internal view returns (int256[] memory row) {
        row = new int256[](K);
        int256[] memory parts = partials(w, i);
        for (uint256 c; c < 4; ++c) {
            for (uint256 b; b < K; ++b) {
                row[b] += parts[c * K + b];
            }
        }
    }

    function partials(World memory w, uint256 i) internal view returns (int256[] memory out) {
        out = new int256[](4 * K);
        bytes32 root = rootOfTree(w.trees[i]);
        for (uint256 c; c < 3; ++c) {
            (int256[] memory part,) = chunks.prove(root, MODEL_DIM, c, chunkAt(w, i, c), chunkProof(w, i, c), w.seed, K);
            for (uint256 b; b < K; ++b) {
                out[c * K + b] = part[b];
            }
        }
    }

    function chunkAt(World memory w, uint256 i, uint256 c) internal pure returns (bytes memory) {
        return slice(w.vecs[i], c * CHUNK_BYTES, CHUNK_BYTES);
    }

    function chunkProof(World memory w, uint256 i, uint256 c) internal pure returns (bytes32[] memory) {
        return pathOf(w.trees[i], c, 8);
    }

    function postedRow(World memory w, uint256 i) internal pure returns (int256[] memory row) {
        row = new int256[](K);
        for (uint256 b; b < K; ++b) {
            row[b] = w.sketches[i * K + b];
        }
    }

    function selectedLeaves(World memory w, uint256 l) internal pure returns (bytes[] memory sel) {
        uint256 m;
        for (uint256 i; i < w.sorted.length; ++i) {
            if ((w.selectedMask >> i) & 1 == 1) ++m;
        }
        sel = new bytes[](m);
        uint256 j;
        for (uint256 i; i < w.sorted.length; ++i) {
            if ((w.selectedMask >> i) & 1 == 1) sel[j++] = slice(w.vecs[i], 256 * l, 256);
        }
    }

    function selectedProofs(World memory w, uint256 l) internal pure returns (bytes32[][] memory p) {
        uint256 m;
        for (uint256 i; i < w.sorted.length; ++i) {
            if ((w.selectedMask >> i) & 1 == 1) ++m;
        }
        p = new bytes32[][](m);
        uint256 j;
        for (uint256 i; i < w.sorted.length; ++i) {
            if ((w.selectedMask >> i) & 1 == 1) p[j++] = pathOf(w.trees[i], l, 0);
        }
    }

    function challengeLeaf(World memory w, address who, uint256 l) internal returns (bool) {
        return challengeLeafOn(epochs, w, who, l);
    }

    function challengeLeafOn(EpochManager em, World memory w, address who, uint256 l) internal returns (bool) {
        bytes[] memory sel = selectedLeaves(w, l);
        bytes32[][] memory selProofs = selectedProofs(w, l);
        bytes memory baseLeaf = slice(w.base, 256 * l, 256);
        bytes32[] memory baseProof = pathOf(w.baseTree, l, 0);
        bytes memory modelLeaf = slice(w.model, 256 * l, 256);
        bytes32[] memory modelProof = pathOf(w.modelTree, l, 0);
        vm.prank(who);
        return
            em.challengeModel{value: BOND}(
                w.e, l, baseLeaf, baseProof, sel, selProofs, keccak256(modelLeaf), modelProof
            );
    }

    function openSketch(World memory w, address who, int256[] memory parts) internal returns (uint256 id) {
        int256[] memory row = postedRow(w, w.cnnRow);
        vm.prank(who);
        id = epochs.openSketchChallenge{value: BOND}(w.e, w.cnnRow, row, parts);
    }

    function assertReason(Vm.Log[] memory logs, address op, IEpochManager.SlashReason reason, string memory d)
        internal
        view
    {
        uint256 applied;
        uint256 described;
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (l.topics.length < 2 || address(uint160(uint256(l.topics[l.topics.length - 1]))) != op) continue;
            if (l.emitter == address(epochs) && l.topics[0] == IEpochManager.SlashApplied.selector) {
                (, IEpochManager.SlashReason got) = abi.decode(l.data, (uint256, IEpochManager.SlashReason));
                assertEq(uint8(got), uint8(reason));
                ++applied;
            } else if (l.emitter == address(avs) && l.topics[0] == P2pflServiceManager.OperatorSlashed.selector) {
                (,, string memory s) = abi.decode(l.data, (uint256, uint256, string));
                assertEq(s, d);
                ++described;
            }
        }
        assertEq(applied, 1, "one SlashApplied");
        assertEq(described, 1, "one OperatorSlashed");
    }

    // ---------------------------------------------------------------- model challenge

    function test_modelChallengeUpheldVoidsSlashesAndRewardsInTokens() public {
        World memory w = stage(true, 0);
        uint256 aggStake = avs.stakeOf(w.aggregator);
        assertFalse(challengeLeaf(w, watcher2, 0), "leaf 0 is right");
        assertEq(epochs.owed(w.aggregator), BOND, "a wrong challenge pays the aggregator");
        vm.recordLogs();
        assertTrue(challengeLeaf(w, watcher, 1));
        assertReason(
            vm.getRecordedLogs(), w.aggregator, IEpochManager.SlashReason.WrongModel, "p2pfl: wrong model in result"
        );
        EpochManager.Epoch memory ep = epochs.getEpoch(w.e);
        assertEq(uint8(ep.status), uint8(IEpochManager.Status.Open));
        assertEq(ep.attempt, 1);
        assertEq(ep.aggregator, epochs.aggregatorAt(w.e, 1));
        assertEq(avs.stakeOf(w.aggregator), 0, "aggregatorSlashWad = 100 %");
        uint256 reward = aggStake / 2; // rewardShareWad = 50 %
        assertEq(epochs.owed(watcher), BOND);
        assertEq(epochs.owedTokens(watcher), reward);
        assertEq(epochs.rewardPool(), REWARD_POOL - reward);
        uint256 eth = watcher.balance;
        vm.expectEmit(true, false, false, true, address(epochs));
        emit IEpochManager.Withdrawn(watcher, BOND, reward);
        vm.prank(watcher);
        epochs.withdraw();
        assertEq(watcher.balance, eth + BOND);
        assertEq(token.balanceOf(watcher), reward);
        vm.prank(watcher);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.NothingOwed.selector, watcher));
        epochs.withdraw();
    }

    function test_garbagePastTheDimensionNeverFramesAnHonestAggregator() public {
        World memory w = stage(false, 0);
        bool garbageSelected;
        for (uint256 i; i < w.sorted.length; ++i) {
            if ((w.selectedMask >> i) & 1 == 1 && opIndex(w.sorted[i]) >= 2) garbageSelected = true;
        }
        assertTrue(garbageSelected, "the garbage is in a selected update");
        // a selected update has non-zero bytes past MODEL_DIM in the last live leaf; the
        // honest model is zero there: the challenge of that leaf is refused
        assertFalse(challengeLeaf(w, watcher, LAST_LEAF), "honest last leaf");
        assertEq(uint8(epochs.getEpoch(w.e).status), uint8(IEpochManager.Status.Submitted));
    }

    function test_modelChallengeRefusals() public {
        World memory w = stage(true, 0);
        bytes[] memory sel = selectedLeaves(w, 1);
        bytes32[][] memory selProofs = selectedProofs(w, 1);
        bytes memory baseLeaf = slice(w.base, 256, 256);
        bytes32[] memory baseProof = pathOf(w.baseTree, 1, 0);
        bytes memory modelLeaf = slice(w.model, 256, 256);
        bytes32[] memory modelProof = pathOf(w.modelTree, 1, 0);
        vm.startPrank(watcher);
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.ChallengeBondWrong.selector, BOND + 1, BOND));
        epochs.challengeModel{value: BOND + 1}(
            w.e, 1, baseLeaf, baseProof, sel, selProofs, keccak256(modelLeaf), modelProof
        );
        // leaf 1's evidence offered as leaf 2 (the zero base leaf proves at leaf 2 too)
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.LeafNotInRoot.selector, w.e, 1));
        epochs.challengeModel{value: BOND}(
            w.e, 2, baseLeaf, baseProof, sel, selProofs, keccak256(modelLeaf), modelProof
        );
        sel[0][3] ^= 0x01;
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.LeafNotInRoot.selector, w.e, 2));
        epochs.challengeModel{value: BOND}(
            w.e, 1, baseLeaf, baseProof, sel, selProofs, keccak256(modelLeaf), modelProof
        );
        sel[0][3] ^= 0x01;
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.WrongStatus.selector, w.e + 1, IEpochManager.Status.None));
        epochs.challengeModel{value: BOND}(
            w.e + 1, 1, baseLeaf, baseProof, sel, selProofs, keccak256(modelLeaf), modelProof
        );
        assertTrue(
            epochs.challengeModel{value: BOND}(
                w.e, 1, baseLeaf, baseProof, sel, selProofs, keccak256(modelLeaf), modelProof
            )
        );
        // a replay finds the result voided
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.WrongStatus.selector, w.e, IEpochManager.Status.Open));
        epochs.challengeModel{value: BOND}(
            w.e, 1, baseLeaf, baseProof, sel, selProofs, keccak256(modelLeaf), modelProof
        );
        vm.stopPrank();
    }

    function test_challengesEndWithTheWindowAndTheEpoch() public {
        World memory w = stage(true, 0);
        uint64 deadline = epochs.getEpoch(w.e).challengeDeadline;
        vm.roll(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.ChallengeClosed.selector, w.e, deadline));
        challengeLeaf(w, watcher, 1);
        epochs.finalize(w.e);
        assertEq(epochs.latestModel(), rootOfTree(w.modelTree));
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.WrongStatus.selector, w.e, IEpochManager.Status.Finalized));
        challengeLeaf(w, watcher, 1);
        int256[] memory parts = partials(w, w.cnnRow);
        int256[] memory row = postedRow(w, w.cnnRow);
        vm.prank(watcher);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.WrongStatus.selector, w.e, IEpochManager.Status.Finalized));
        epochs.openSketchChallenge{value: BOND}(w.e, w.cnnRow, row, parts);
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.NormNotProvable.selector, w.e));
        epochs.proveNormChunk(w.e, ops[0], 0, chunkAt(w, w.cnnRow, 0), chunkProof(w, w.cnnRow, 0));
    }

    /// @dev An upheld challenge on the last attempt skips the epoch: no model, the next
    /// epoch opens, and a sketch challenge still open on it is moot (bond back).
    function test_anUpheldChallengeOnTheLastAttemptSkipsTheEpoch() public {
        World memory w = stageAfter(2, true, 1); // maxAttempts = 3
        assertEq(epochs.getEpoch(w.e).attempt, 2);
        uint256 id = openSketch(w, watcher2, partials(w, w.cnnRow));
        vm.expectEmit(true, false, false, true, address(epochs));
        emit IEpochManager.AttemptsExhausted(w.e, 3);
        assertTrue(challengeLeaf(w, watcher, 1));
        assertEq(uint8(epochs.getEpoch(w.e).status), uint8(IEpochManager.Status.Finalized));
        assertEq(epochs.latestModel(), genesisModel());
        assertEq(avs.stakeOf(w.aggregator), 0);
        assertEq(epochs.owed(watcher), BOND);
        assertGt(epochs.owedTokens(watcher), 0);
        epochs.closeSketchChallenge(w.e, id);
        assertEq(epochs.owed(watcher2), BOND, "moot: bond back");
        assertEq(epochs.openEpoch(), w.e + 1);
    }

    // ---------------------------------------------------------------- sketch challenge

    function test_wrongSketchRowIsCaughtOverSeveralTransactions() public {
        World memory w = stage(false, 3);
        uint256 aggStake = avs.stakeOf(w.aggregator);
        vm.roll(vm.getBlockNumber() + 1); // the challenge outlives the window by a block
        uint256 id = openSketch(w, watcher, partials(w, w.cnnRow));
        assertEq(epochs.openSketchChallenges(w.e), 1);
        uint256[] memory ids = epochs.sketchChallengeIds(w.e);
        assertEq(ids.length, 1);
        assertEq(ids[0], id);
        ResultChallenges.SketchChallenge memory c = epochs.sketchChallenge(id);
        assertEq(c.challenger, watcher);
        assertEq(c.chunks, 4);
        assertEq(c.provenMask, 8, "the padding chunk counts as proven");
        assertFalse(epochs.proveChunk(w.e, id, 0, chunkAt(w, w.cnnRow, 0), chunkProof(w, w.cnnRow, 0)));
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.ChunkAlreadyProven.selector, id, 0));
        epochs.proveChunk(w.e, id, 0, chunkAt(w, w.cnnRow, 0), chunkProof(w, w.cnnRow, 0));
        vm.expectRevert(abi.encodeWithSelector(UpdateChunk.ChunkOutOfRange.selector, 4, 4));
        epochs.proveChunk(w.e, id, 4, chunkAt(w, w.cnnRow, 1), chunkProof(w, w.cnnRow, 1));
        vm.expectRevert(abi.encodeWithSelector(UpdateChunk.ChunkNotInRoot.selector, 2));
        epochs.proveChunk(w.e, id, 2, chunkAt(w, w.cnnRow, 1), chunkProof(w, w.cnnRow, 1));
        assertFalse(epochs.proveChunk(w.e, id, 1, chunkAt(w, w.cnnRow, 1), chunkProof(w, w.cnnRow, 1)));
        // the window closed, but the open challenge holds the result back
        uint64 deadline = epochs.getEpoch(w.e).challengeDeadline;
        vm.roll(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.SketchChallengesOpen.selector, w.e, 1));
        epochs.finalize(w.e);
        vm.recordLogs();
        assertTrue(epochs.proveChunk(w.e, id, 2, chunkAt(w, w.cnnRow, 2), chunkProof(w, w.cnnRow, 2)));
        assertReason(
            vm.getRecordedLogs(), w.aggregator, IEpochManager.SlashReason.WrongSketch, "p2pfl: wrong sketch in result"
        );
        assertEq(epochs.openSketchChallenges(w.e), 0);
        assertTrue(epochs.sketchChallenge(id).closed);
        assertEq(uint8(epochs.getEpoch(w.e).status), uint8(IEpochManager.Status.Open));
        assertEq(epochs.owed(watcher), BOND);
        assertEq(epochs.owedTokens(watcher), aggStake / 2);
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.NoSketchChallenge.selector, id));
        epochs.proveChunk(w.e, id, 3, chunkAt(w, w.cnnRow, 3), chunkProof(w, w.cnnRow, 3));
    }

    function test_sketchOpeningRefusals() public {
        World memory w = stage(false, 0);
        int256[] memory parts = partials(w, w.cnnRow);
        int256[] memory row = postedRow(w, w.cnnRow);
        vm.startPrank(watcher);
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.ChallengeBondWrong.selector, 0, BOND));
        epochs.openSketchChallenge(w.e, w.cnnRow, row, parts);
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.PartialsMatchPostedRow.selector, w.e, w.cnnRow));
        epochs.openSketchChallenge{value: BOND}(w.e, w.cnnRow, row, parts);
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.ChallengedRowOutOfRange.selector, N, N));
        epochs.openSketchChallenge{value: BOND}(w.e, N, row, parts);
        row[1] += 1;
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.PostedRowWrong.selector, w.e, w.cnnRow));
        epochs.openSketchChallenge{value: BOND}(w.e, w.cnnRow, row, parts);
        vm.stopPrank();
    }

    /// @dev A challenger who lies about one partial (to challenge a right row) cannot prove
    /// it: at the challenge's deadline anyone closes it and the bond goes to the aggregator.
    function test_expiredSketchChallengeForfeitsAndReleasesTheResult() public {
        World memory w = stage(false, 0);
        int256[] memory parts = partials(w, w.cnnRow);
        parts[2 * K + 5] += 1;
        uint256 id = openSketch(w, watcher, parts);
        epochs.proveChunk(w.e, id, 0, chunkAt(w, w.cnnRow, 0), chunkProof(w, w.cnnRow, 0));
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.PartialSketchWrong.selector, id, 2));
        epochs.proveChunk(w.e, id, 2, chunkAt(w, w.cnnRow, 2), chunkProof(w, w.cnnRow, 2));
        uint64 deadline = epochs.sketchChallenge(id).deadline;
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.SketchChallengeStillOpen.selector, id, deadline));
        epochs.closeSketchChallenge(w.e, id);
        vm.roll(deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.SketchChallengesOpen.selector, w.e, 1));
        epochs.finalize(w.e);
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.SketchChallengeExpired.selector, id, deadline));
        epochs.proveChunk(w.e, id, 1, chunkAt(w, w.cnnRow, 1), chunkProof(w, w.cnnRow, 1));
        epochs.closeSketchChallenge(w.e, id);
        assertEq(epochs.owed(w.aggregator), BOND);
        assertEq(epochs.owed(watcher), 0);
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.NoSketchChallenge.selector, id));
        epochs.closeSketchChallenge(w.e, id);
        epochs.finalize(w.e);
        assertEq(uint8(epochs.getEpoch(w.e).status), uint8(IEpochManager.Status.Finalized));
    }

    /// @dev A model challenge voids the result while a sketch challenge is open: the sketch
    /// challenge is moot, its bond refunded, and the aggregator slashed once.
    function test_mootSketchChallengeIsRefunded() public {
        World memory w = stage(true, 1);
        uint256 id = openSketch(w, watcher2, partials(w, w.cnnRow));
        epochs.proveChunk(w.e, id, 0, chunkAt(w, w.cnnRow, 0), chunkProof(w, w.cnnRow, 0));
        assertTrue(challengeLeaf(w, watcher, 1));
        assertEq(epochs.openSketchChallenges(w.e), 1, "moot until closed");
        assertFalse(epochs.proveChunk(w.e, id, 1, chunkAt(w, w.cnnRow, 1), chunkProof(w, w.cnnRow, 1)));
        assertEq(epochs.owed(watcher2), BOND, "bond back");
        assertEq(epochs.owedTokens(watcher2), 0, "no reward for a moot challenge");
        assertEq(epochs.openSketchChallenges(w.e), 0);
        assertEq(epochs.pendingSlashCount(), 0);
    }

    // ---------------------------------------------------------------- norm proof

    function test_normProofSlashesAnInvalidUpdateOnceAndNeverAValidOne() public {
        uint256 e = epochs.openEpoch();
        bytes memory cnn = updateOf(0);
        bytes32[][] memory cnnTree = fastTree(cnn);
        bytes memory small = updateOf(1);
        bytes32[][] memory smallTree = fastTree(small);
        for (uint256 i; i < N; ++i) {
            vm.prank(ops[i]);
            epochs.commitUpdate(e, rootOfTree(fastTree(updateOf(i))));
        }
        // the commit phase closed in this block: not provable before the next
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.NormNotProvable.selector, e));
        epochs.proveNormChunk(e, ops[0], 0, slice(cnn, 0, CHUNK_BYTES), pathOf(cnnTree, 0, 8));
        vm.roll(vm.getBlockNumber() + 1);
        uint256 stake = avs.stakeOf(ops[0]);
        assertFalse(epochs.proveNormChunk(e, ops[0], 0, slice(cnn, 0, CHUNK_BYTES), pathOf(cnnTree, 0, 8)));
        assertEq(epochs.normProof(e, ops[0]).sumOfSquares, chunkSumOfSquares(0));
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.NormChunkAlreadyProven.selector, e, ops[0], 0));
        epochs.proveNormChunk(e, ops[0], 0, slice(cnn, 0, CHUNK_BYTES), pathOf(cnnTree, 0, 8));
        vm.recordLogs();
        assertTrue(epochs.proveNormChunk(e, ops[0], 1, slice(cnn, CHUNK_BYTES, CHUNK_BYTES), pathOf(cnnTree, 1, 8)));
        assertReason(
            vm.getRecordedLogs(), ops[0], IEpochManager.SlashReason.NormViolation, "p2pfl: update above the norm bound"
        );
        assertApproxEqAbs(avs.stakeOf(ops[0]), stake - stake / 10, 1, "normSlashWad = 10 %");
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.AlreadySlashedForNorm.selector, e, ops[0]));
        epochs.proveNormChunk(e, ops[0], 2, slice(cnn, 2 * CHUNK_BYTES, CHUNK_BYTES), pathOf(cnnTree, 2, 8));
        // a valid update: every chunk proven, never slashed
        for (uint256 c; c < 4; ++c) {
            assertFalse(
                epochs.proveNormChunk(e, ops[1], c, slice(small, c * CHUNK_BYTES, CHUNK_BYTES), pathOf(smallTree, c, 8))
            );
        }
        assertFalse(epochs.normProof(e, ops[1]).slashed);
        // bytes of another update
        vm.expectRevert(abi.encodeWithSelector(UpdateChunk.ChunkNotInRoot.selector, 0));
        epochs.proveNormChunk(e, ops[2], 0, slice(small, 0, CHUNK_BYTES), pathOf(smallTree, 0, 8));
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.NothingCommitted.selector, e, watcher));
        epochs.proveNormChunk(e, watcher, 0, slice(small, 0, CHUNK_BYTES), pathOf(smallTree, 0, 8));
        assertEq(epochs.pendingSlashCount(), 0);
    }

    // ---------------------------------------------------------------- economics

    /// @dev Swap in a fresh EpochManager (same core and AVS) with `p` and a pool of `pool`.
    function swapEpochManager(EpochManager.Params memory p, uint256 pool) internal {
        epochs = new EpochManager(avs, verifier, p, genesisModel(), address(this));
        stdstore.target(address(avs)).sig("epochManager()").checked_write(address(epochs));
        if (pool > 0) {
            token.mint(address(this), pool);
            token.approve(address(epochs), pool);
            epochs.fundRewards(pool);
        }
    }

    /// @dev The aggregator deregisters inside the challenge window: the core keeps it
    /// slashable for DEALLOCATION_DELAY blocks, so the upheld challenge still slashes it
    /// and pays the challenger.
    function test_anAggregatorThatDeregistersInsideTheWindowIsStillSlashed() public {
        World memory w = stage(true, 0);
        uint256 stake = avs.stakeOf(w.aggregator);
        uint32[] memory ids = new uint32[](1);
        vm.prank(w.aggregator);
        allocation.deregisterFromOperatorSets(IAllocationManagerTypes.DeregisterParams(w.aggregator, address(avs), ids));
        vm.roll(epochs.getEpoch(w.e).challengeDeadline);
        assertTrue(challengeLeaf(w, watcher, 1));
        assertEq(avs.stakeOf(w.aggregator), 0);
        assertEq(epochs.pendingSlashCount(), 0);
        assertEq(epochs.owedTokens(watcher), stake / 2);
    }

    function test_deallocationDelayShorterThanTheSpanIsRefused() public {
        EpochManager.Params memory p = defaultParams();
        p.challengeBlocks = 20; // 10 + 3 × (10 + 40) = 160 > 100
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.DeallocationDelayTooShort.selector, 100, 160));
        new EpochManager(avs, verifier, p, bytes32(0), address(this));
    }

    function test_badEconomicParamsAreRefused() public {
        EpochManager.Params memory p = defaultParams();
        p.rewardShareWad = 1e18;
        vm.expectRevert(IEpochManager.BadParams.selector);
        new EpochManager(avs, verifier, p, bytes32(0), address(this));
        p = defaultParams();
        p.modelDim = 0;
        vm.expectRevert(IEpochManager.BadParams.selector);
        new EpochManager(avs, verifier, p, bytes32(0), address(this));
        p = defaultParams();
        p.normSlashWad = 1e18 + 1;
        vm.expectRevert(IEpochManager.BadParams.selector);
        new EpochManager(avs, verifier, p, bytes32(0), address(this));
        p = defaultParams();
        p.normBoundSq = 0;
        vm.expectRevert(IEpochManager.BadParams.selector);
        new EpochManager(avs, verifier, p, bytes32(0), address(this));
        p = defaultParams();
        p.modelDim = type(uint32).max; // 2^20 chunks: more than a challenge's bitmask holds
        vm.expectRevert(IEpochManager.BadParams.selector);
        new EpochManager(avs, verifier, p, bytes32(0), address(this));
    }

    /// @dev A cheating aggregator that challenges itself from a second address gets its
    /// bond back and at most `rewardShareWad < 1` of what its slash removed: a net loss.
    /// forge-config: default.fuzz.runs = 16
    function testFuzz_selfChallengeIsUnprofitable(uint64 shareSeed, uint64 wadSeed) public {
        EpochManager.Params memory p = defaultParams();
        p.rewardShareWad = bound(uint256(shareSeed), 0, 1e18 - 1);
        p.aggregatorSlashWad = bound(uint256(wadSeed), 1, 1e18);
        swapEpochManager(p, REWARD_POOL);
        World memory w = stage(true, 0);
        address sybil = makeAddr("sybil");
        vm.deal(sybil, BOND);
        uint256 before = avs.stakeOf(w.aggregator) + token.balanceOf(sybil);
        assertTrue(challengeLeaf(w, sybil, 1));
        vm.prank(sybil);
        epochs.withdraw();
        uint256 afterwards = avs.stakeOf(w.aggregator) + token.balanceOf(sybil);
        assertLt(afterwards, before, "the cheater loses stake tokens");
        assertEq(sybil.balance, BOND, "and gains no ether");
    }

    /// @dev The core refuses the slash: no reward now; the retry that applies it pays it.
    function test_rewardIsZeroWhileTheSlashIsPendingAndPaidOnRetry() public {
        World memory w = stage(true, 0);
        uint256 stake = avs.stakeOf(w.aggregator);
        bytes memory err = abi.encodeWithSelector(P2pflServiceManager.NotRegistered.selector, w.aggregator);
        vm.mockCallRevert(address(avs), abi.encodeWithSelector(P2pflServiceManager.slash.selector), err);
        assertTrue(challengeLeaf(w, watcher, 1));
        assertEq(epochs.owed(watcher), BOND, "the bond comes back at once");
        assertEq(epochs.owedTokens(watcher), 0, "no reward for a slash that did not happen");
        assertEq(epochs.pendingSlashCount(), 1);
        EpochManager.PendingSlash memory ps = epochs.pendingSlash(0);
        assertEq(ps.challenger, watcher);
        assertEq(uint8(ps.reason), uint8(IEpochManager.SlashReason.WrongModel));
        vm.expectRevert(err);
        epochs.retrySlash(0);
        vm.clearMockedCalls();
        vm.expectEmit(true, true, false, true, address(epochs));
        emit IEpochManager.RewardCredited(w.e, watcher, stake / 2, stake);
        epochs.retrySlash(0);
        assertEq(epochs.owedTokens(watcher), stake / 2);
        assertEq(avs.stakeOf(w.aggregator), 0);
    }

    function test_rewardIsCappedByThePool() public {
        swapEpochManager(defaultParams(), 3 ether);
        World memory w = stage(true, 0);
        assertTrue(challengeLeaf(w, watcher, 1));
        assertEq(epochs.owedTokens(watcher), 3 ether);
        assertEq(epochs.rewardPool(), 0);
    }

    function test_noRewardWithoutASlash() public {
        EpochManager.Params memory p = defaultParams();
        p.aggregatorSlashWad = 0;
        swapEpochManager(p, REWARD_POOL);
        World memory w = stage(true, 0);
        assertTrue(challengeLeaf(w, watcher, 1));
        assertEq(epochs.owed(watcher), BOND);
        assertEq(epochs.owedTokens(watcher), 0);
    }

    function test_fundRewardsPullsTokens() public {
        vm.expectRevert(IEpochManager.ZeroAmount.selector);
        epochs.fundRewards(0);
        vm.prank(watcher);
        vm.expectRevert(); // no allowance
        epochs.fundRewards(1 ether);
        token.mint(watcher, 2 ether);
        vm.startPrank(watcher);
        token.approve(address(epochs), 2 ether);
        vm.expectEmit(true, false, false, true, address(epochs));
        emit IEpochManager.RewardsFunded(watcher, 2 ether);
        epochs.fundRewards(2 ether);
        vm.stopPrank();
        assertEq(epochs.rewardPool(), REWARD_POOL + 2 ether);
        assertEq(token.balanceOf(address(epochs)), REWARD_POOL + 2 ether);
    }

    function test_withdrawIsNotReentrant() public {
        World memory w = stage(true, 0);
        Reenterer attacker = new Reenterer(epochs);
        vm.deal(address(attacker), BOND);
        assertTrue(challengeLeaf(w, address(attacker), 1));
        uint256 tokens = epochs.owedTokens(address(attacker));
        assertGt(tokens, 0);
        attacker.cashOut();
        assertEq(attacker.received(), BOND, "paid once, re-entry refused");
        assertTrue(attacker.reentryFailed());
        assertEq(token.balanceOf(address(attacker)), tokens);
        assertEq(epochs.owed(address(attacker)), 0);
        assertEq(epochs.owedTokens(address(attacker)), 0);
    }
}

/// @notice A challenger contract that tries to re-enter `withdraw` from its receive hook.
contract Reenterer {
    EpochManager internal immutable epochs;
    uint256 public received;
    bool public reentryFailed;

    constructor(EpochManager epochs_) {
        epochs = epochs_;
    }

    function cashOut() external {
        epochs.withdraw();
    }

    receive() external payable {
        received += msg.value;
        try epochs.withdraw() {}
        catch {
            reentryFailed = true;
        }
    }
}
