// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {console} from "forge-std/Test.sol";
import {MerkleVectors} from "./utils/MerkleVectors.sol";
import {ChallengeStage} from "./utils/ChallengeStage.sol";
import {SketchHarness} from "./utils/SketchHarness.sol";
import {ChunkHarness} from "./utils/ChunkHarness.sol";
import {ModelStep} from "../src/avs/ModelStep.sol";
import {UpdateChunk} from "../src/avs/UpdateChunk.sol";
import {IResultChallenges} from "../src/interfaces/IResultChallenges.sol";
import {ResultChallenges} from "../src/avs/ResultChallenges.sol";

/// @notice The v2 challenges on a staged result: a wrong model leaf or sketch row is caught,
/// a right one costs the challenger its bond, a norm above the bound slashes its owner, and
/// every malformed or replayed proof is refused. Gas and calldata of each transaction.
contract ResultChallengesTest is MerkleVectors {
    ChallengeStage internal st;
    SketchHarness internal sk;
    ChunkHarness internal ch;
    address internal constant AGG = address(0xA66);
    address internal challenger = makeAddr("challenger");
    uint256 internal constant BOND = 1 ether;

    // the model-challenge world: d = 200 (4 leaves, depth 2), n = 10, m = 8
    uint256 internal constant D_SMALL = 200;
    uint256 internal constant N = 10;
    bytes internal base;
    bytes[] internal updates;
    bytes internal model;
    uint256 internal constant SELECTED = 0x3FC; // operators 2..9

    function setUp() public {
        st = new ChallengeStage();
        sk = new SketchHarness();
        ch = new ChunkHarness();
        json = vm.readFile(VECTORS);
        vm.deal(challenger, 100 ether);
    }

    // ---------------------------------------------------------------- helpers

    function ops(uint256 n) internal pure returns (address[] memory a) {
        a = new address[](n);
        for (uint256 i; i < n; ++i) {
            a[i] = address(uint160(0x1000 + i));
        }
    }

    /// @dev A padded vector of `d` entries (4 leaves for d = 200) from a salt, small values.
    function vectorOf(uint256 salt, uint256 d, uint256 leaves) internal pure returns (bytes memory v) {
        v = new bytes(256 * leaves);
        for (uint256 t; t < d; ++t) {
            int32 x = int32(int256(uint256(keccak256(abi.encode(salt, t))) % 2_000_001) - 1_000_000);
            uint32 u = uint32(x);
            for (uint256 b; b < 4; ++b) {
                v[4 * t + b] = bytes1(uint8(u >> (8 * b)));
            }
        }
    }

    function leafOf(bytes memory v, uint256 l) internal pure returns (bytes memory) {
        return slice(v, 256 * l, 256);
    }

    function rootOf(bytes memory v) internal pure returns (bytes32) {
        bytes32[][] memory lv = treeOf(v);
        return lv[lv.length - 1][0];
    }

    function proofOf(bytes memory v, uint256 l) internal pure returns (bytes32[] memory) {
        return pathOf(treeOf(v), l, 0);
    }

    /// @dev Base, N updates, and the honest model of the selected ones, leaf by leaf.
    function stageModelWorld(uint256 tamperLeaf, uint256 tamperEntry) internal {
        base = vectorOf(1, D_SMALL, 4);
        delete updates;
        bytes32[] memory roots = new bytes32[](N);
        for (uint256 i; i < N; ++i) {
            updates.push(vectorOf(100 + i, D_SMALL, 4));
            roots[i] = rootOf(updates[i]);
        }
        model = new bytes(1024);
        for (uint256 l; l < 4; ++l) {
            bytes[] memory sel = selectedLeaves(l);
            bytes memory w = ModelStep.step(leafOf(base, l), sel);
            for (uint256 b; b < 256; ++b) {
                model[256 * l + b] = w[b];
            }
        }
        if (tamperLeaf < 4) model[256 * tamperLeaf + 4 * tamperEntry] ^= 0x01;
        st.set(
            ResultChallenges.ResultView({
                standing: true,
                seed: bytes32(uint256(7)),
                baseModel: rootOf(base),
                modelDigest: rootOf(model),
                selectedMask: SELECTED,
                attempt: 0,
                aggregator: AGG
            }),
            ops(N),
            roots,
            D_SMALL,
            type(uint256).max
        );
    }

    function selectedLeaves(uint256 l) internal view returns (bytes[] memory sel) {
        sel = new bytes[](8);
        uint256 j;
        for (uint256 i; i < N; ++i) {
            if ((SELECTED >> i) & 1 == 1) sel[j++] = leafOf(updates[i], l);
        }
    }

    function selectedProofs(uint256 l) internal view returns (bytes32[][] memory p) {
        p = new bytes32[][](8);
        uint256 j;
        for (uint256 i; i < N; ++i) {
            if ((SELECTED >> i) & 1 == 1) p[j++] = proofOf(updates[i], l);
        }
    }

    function challengeLeaf(uint256 l) internal returns (bool) {
        vm.prank(challenger);
        return st.challengeModel{value: BOND}(
            1,
            l,
            leafOf(base, l),
            proofOf(base, l),
            selectedLeaves(l),
            selectedProofs(l),
            keccak256(leafOf(model, l)),
            proofOf(model, l)
        );
    }

    // ---------------------------------------------------------------- model

    function test_aWrongModelEntryIsCaught() public {
        stageModelWorld(1, 5);
        assertFalse(challengeLeaf(0), "leaf 0 is right");
        assertEq(st.paid(AGG), BOND, "a wrong challenge pays the aggregator");
        assertTrue(challengeLeaf(1), "leaf 1 carries the wrong entry");
        assertEq(st.upheldCount(), 1);
        assertEq(uint8(st.lastKind()), uint8(IResultChallenges.ChallengeKind.Model));
        assertEq(st.paid(challenger), BOND, "bond back");
    }

    function testFuzz_anyWrongEntryOfAnyLeafIsCaught(uint8 leafSeed, uint8 entrySeed) public {
        uint256 l = leafSeed % 4;
        uint256 t = entrySeed % 64;
        vm.assume(64 * l + t < D_SMALL); // padding entries are zero in every vector
        stageModelWorld(l, t);
        assertTrue(challengeLeaf(l));
    }

    function test_modelChallengeRefusesBadEvidence() public {
        stageModelWorld(1, 5);
        bytes memory baseLeaf = leafOf(base, 1);
        bytes32[] memory baseProof = proofOf(base, 1);
        bytes[] memory sel = selectedLeaves(1);
        bytes32[][] memory selProofs = selectedProofs(1);
        bytes memory modelLeaf = leafOf(model, 1);
        bytes32[] memory modelProof = proofOf(model, 1);

        vm.startPrank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.ChallengeBondWrong.selector, BOND - 1, BOND));
        st.challengeModel{value: BOND - 1}(1, 1, baseLeaf, baseProof, sel, selProofs, keccak256(modelLeaf), modelProof);

        baseLeaf[0] ^= 0x01; // a base the contract never saw
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.LeafNotInRoot.selector, 1, 0));
        st.challengeModel{value: BOND}(1, 1, baseLeaf, baseProof, sel, selProofs, keccak256(modelLeaf), modelProof);
        baseLeaf[0] ^= 0x01;

        modelLeaf[9] ^= 0x01; // a model leaf that is not the posted one
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.LeafNotInRoot.selector, 1, 1));
        st.challengeModel{value: BOND}(1, 1, baseLeaf, baseProof, sel, selProofs, keccak256(modelLeaf), modelProof);
        modelLeaf[9] ^= 0x01;

        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.LeafNotInRoot.selector, 1, 0));
        st.challengeModel{value: BOND}(1, 2, baseLeaf, baseProof, sel, selProofs, keccak256(modelLeaf), modelProof);

        bytes memory keep = sel[3];
        sel[3] = leafOf(updates[0], 1); // an unselected operator's leaf in place of a selected one
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.LeafNotInRoot.selector, 1, 5));
        st.challengeModel{value: BOND}(1, 1, baseLeaf, baseProof, sel, selProofs, keccak256(modelLeaf), modelProof);
        sel[3] = keep;

        bytes[] memory fewer = new bytes[](7);
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.SelectedLeavesWrong.selector, 7));
        st.challengeModel{value: BOND}(1, 1, baseLeaf, baseProof, fewer, selProofs, keccak256(modelLeaf), modelProof);
        vm.stopPrank();
        assertEq(st.upheldCount(), 0);
        assertEq(address(st).balance, 0, "every refused challenge kept its bond");
    }

    function test_gasAndCalldataOfAModelChallenge() public {
        stageModelWorld(1, 5);
        bytes memory data = abi.encodeCall(
            st.challengeModel,
            (
                1,
                1,
                leafOf(base, 1),
                proofOf(base, 1),
                selectedLeaves(1),
                selectedProofs(1),
                keccak256(leafOf(model, 1)),
                proofOf(model, 1)
            )
        );
        vm.prank(challenger);
        uint256 before = gasleft();
        (bool ok,) = address(st).call{value: BOND}(data);
        uint256 used = before - gasleft();
        assertTrue(ok);
        console.log("challengeModel, m = 8, depth 2: gas", used, "calldata bytes", data.length);
        // at the CNN's depth 10 each of the m + 2 proofs is 8 hashes longer
        console.log("calldata at depth 10, m = 8:", data.length + 10 * 8 * 32);
        assertLt(data.length + 10 * 8 * 32, 128 * 1024);
    }

    // ---------------------------------------------------------------- sketch

    struct SketchWorld {
        bytes padded;
        bytes32 root;
        bytes32 seed;
        uint256 d;
        bytes32[][] levels;
        int256[] row;
        int256[] partials;
    }

    /// @dev Operator 0's update is the CNN-size vector of the shared vectors (4 chunks).
    function stageSketchWorld(int256 error0) internal returns (SketchWorld memory w) {
        string memory p = cnn();
        w.d = vm.parseJsonUint(json, at(p, ".d"));
        w.seed = vm.parseJsonBytes32(json, at(p, ".sketch_seed"));
        w.padded = regenerate(p);
        w.levels = treeOf(w.padded);
        w.root = w.levels[w.levels.length - 1][0];
        w.row = sk.sketch(slice(w.padded, 0, 4 * w.d), w.seed, 64);
        w.row[0] += error0; // what the aggregator posted
        w.partials = new int256[](4 * 64);
        for (uint256 c; c < 4; ++c) {
            (int256[] memory part,) = ch.prove(w.root, w.d, c, chunkAt(w, c), chunkProof(w, c), w.seed, 64);
            for (uint256 b; b < 64; ++b) {
                w.partials[c * 64 + b] = part[b];
            }
        }
        stageOperators(w, true, w.seed, type(uint256).max);
        st.setRow(0, w.row);
    }

    /// @dev Three operators, operator 0's root the sketch world's, a standing result.
    function stageOperators(SketchWorld memory w, bool standing, bytes32 seed, uint256 bound) internal {
        bytes32[] memory roots = new bytes32[](3);
        roots[0] = w.root;
        roots[1] = keccak256("1");
        roots[2] = keccak256("2");
        st.set(
            ResultChallenges.ResultView({
                standing: standing,
                seed: seed,
                baseModel: bytes32(0),
                modelDigest: bytes32(0),
                selectedMask: 3,
                attempt: 0,
                aggregator: AGG
            }),
            ops(3),
            roots,
            w.d,
            bound
        );
    }

    function chunkAt(SketchWorld memory w, uint256 c) internal pure returns (bytes memory) {
        return slice(w.padded, c * 65_536, 65_536);
    }

    function chunkProof(SketchWorld memory w, uint256 c) internal pure returns (bytes32[] memory) {
        return pathOf(w.levels, c, 8);
    }

    function open(SketchWorld memory w) internal returns (uint256 id) {
        vm.prank(challenger);
        id = st.openSketchChallenge{value: BOND}(1, 0, w.row, w.partials);
    }

    function test_aWrongSketchRowIsCaughtChunkByChunk() public {
        SketchWorld memory w = stageSketchWorld(1);
        bytes memory call = abi.encodeCall(st.openSketchChallenge, (1, 0, w.row, w.partials));
        vm.prank(challenger);
        uint256 before0 = gasleft();
        (bool opened, bytes memory idData) = address(st).call{value: BOND}(call);
        console.log("openSketchChallenge: gas", before0 - gasleft(), "calldata bytes", call.length);
        assertTrue(opened);
        assertLt(call.length, 128 * 1024);
        uint256 id = abi.decode(idData, (uint256));
        assertEq(st.openSketchChallenges(1), 1, "the result cannot finalize now");
        for (uint256 c; c < 3; ++c) {
            bytes memory data = abi.encodeCall(st.proveChunk, (1, id, c, chunkAt(w, c), chunkProof(w, c)));
            uint256 before = gasleft();
            (bool ok, bytes memory ret) = address(st).call(data);
            uint256 used = before - gasleft();
            assertTrue(ok);
            assertEq(abi.decode(ret, (bool)), c == 2, "upheld with the last chunk that holds entries");
            if (c == 0) console.log("proveChunk: gas", used, "calldata bytes", data.length);
            assertLt(data.length, 128 * 1024);
        }
        assertEq(st.upheldCount(), 1);
        assertEq(uint8(st.lastKind()), uint8(IResultChallenges.ChallengeKind.Sketch));
        assertEq(st.openSketchChallenges(1), 0);
        assertEq(st.paid(challenger), BOND);
    }

    function test_openingRefusesWhatCannotBeWrong() public {
        SketchWorld memory w = stageSketchWorld(0); // the posted row is right
        vm.startPrank(challenger);
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.PartialsMatchPostedRow.selector, 1, 0));
        st.openSketchChallenge{value: BOND}(1, 0, w.row, w.partials);
        int256[] memory other = new int256[](64);
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.PostedRowWrong.selector, 1, 0));
        st.openSketchChallenge{value: BOND}(1, 0, other, w.partials);
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.ChallengedRowOutOfRange.selector, 3, 3));
        st.openSketchChallenge{value: BOND}(1, 3, w.row, w.partials);
        int256[] memory short = new int256[](64 * 3);
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.PartialsLengthWrong.selector, 192, 256));
        st.openSketchChallenge{value: BOND}(1, 0, w.row, short);
        w.row[0] += 1; // a wrong row, challenged with a non-zero partial for the padding chunk
        st.setRow(0, w.row);
        w.partials[3 * 64 + 1] = 5;
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.PaddingPartialNotZero.selector, 3));
        st.openSketchChallenge{value: BOND}(1, 0, w.row, w.partials);
        w.partials[3 * 64 + 1] = 0;
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.ChallengeBondWrong.selector, 0, BOND));
        st.openSketchChallenge(1, 0, w.row, w.partials);
        vm.stopPrank();
    }

    /// @dev A challenger who lies about one chunk's partial sketch (to make the sum differ
    /// from a right row) can never prove that chunk, and loses its bond at the deadline.
    function test_aLieInOnePartialCannotBeProvenAndForfeits() public {
        SketchWorld memory w = stageSketchWorld(0);
        w.partials[2 * 64 + 7] += 1;
        uint256 id = open(w);
        st.proveChunk(1, id, 0, chunkAt(w, 0), chunkProof(w, 0));
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.PartialSketchWrong.selector, id, 2));
        st.proveChunk(1, id, 2, chunkAt(w, 2), chunkProof(w, 2));
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.ChunkAlreadyProven.selector, id, 0));
        st.proveChunk(1, id, 0, chunkAt(w, 0), chunkProof(w, 0));
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.SketchChallengeStillOpen.selector, id, 11));
        st.closeSketchChallenge(1, id);
        vm.roll(12);
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.SketchChallengeExpired.selector, id, 11));
        st.proveChunk(1, id, 1, chunkAt(w, 1), chunkProof(w, 1));
        st.closeSketchChallenge(1, id);
        assertEq(st.paid(AGG), BOND, "the bond goes to the aggregator");
        assertEq(st.openSketchChallenges(1), 0);
        assertEq(st.upheldCount(), 0);
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.NoSketchChallenge.selector, id));
        st.closeSketchChallenge(1, id);
    }

    function test_proveChunkRefusesForeignBytesAndWrongEpochs() public {
        SketchWorld memory w = stageSketchWorld(1);
        uint256 id = open(w);
        bytes memory wrong = chunkAt(w, 1);
        wrong[100] ^= 0x01;
        vm.expectRevert(abi.encodeWithSelector(UpdateChunk.ChunkNotInRoot.selector, 1));
        st.proveChunk(1, id, 1, wrong, chunkProof(w, 1));
        vm.expectRevert(abi.encodeWithSelector(UpdateChunk.ChunkNotInRoot.selector, 2));
        st.proveChunk(1, id, 2, chunkAt(w, 1), chunkProof(w, 1)); // chunk 1 offered as chunk 2
        vm.expectRevert(abi.encodeWithSelector(UpdateChunk.ChunkOutOfRange.selector, 4, 4));
        st.proveChunk(1, id, 4, chunkAt(w, 1), chunkProof(w, 1));
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.ChunkAlreadyProven.selector, id, 3));
        st.proveChunk(1, id, 3, chunkAt(w, 3), chunkProof(w, 3)); // padding only: proven at opening
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.NoSketchChallenge.selector, id));
        st.proveChunk(2, id, 1, chunkAt(w, 1), chunkProof(w, 1));
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.NoSketchChallenge.selector, id + 1));
        st.proveChunk(1, id + 1, 1, chunkAt(w, 1), chunkProof(w, 1));
    }

    /// @dev When another challenge voids the result first, an open sketch challenge is moot:
    /// the next call closes it and returns its bond.
    function test_aChallengeOfAVoidedResultIsRefunded() public {
        SketchWorld memory w = stageSketchWorld(1);
        uint256 id = open(w);
        st.proveChunk(1, id, 0, chunkAt(w, 0), chunkProof(w, 0));
        st.voidResult();
        st.resubmit(); // the next aggregator's result, attempt 1
        assertFalse(st.proveChunk(1, id, 1, chunkAt(w, 1), chunkProof(w, 1)));
        assertEq(st.paid(challenger), BOND);
        assertEq(st.openSketchChallenges(1), 0);
        assertEq(st.upheldCount(), 0);
    }

    // ---------------------------------------------------------------- norm

    function test_aNormAboveTheBoundSlashesItsOwnerOnce() public {
        SketchWorld memory w = stageSketchWorld(0);
        string memory q = idx(cnn(), ".chunk_proofs", 0);
        uint256 chunk0 = vm.parseJsonUint(json, at(q, ".sum_squares"));
        address[] memory o = ops(3);
        // bound between chunk 0 and chunks 0 + 1: the second chunk tips it over
        stageBound(w, chunk0 + 1);
        assertFalse(st.proveNormChunk(1, o[0], 0, chunkAt(w, 0), chunkProof(w, 0)));
        assertEq(st.normProof(1, o[0]).sumOfSquares, chunk0);
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.NormChunkAlreadyProven.selector, 1, o[0], 0));
        st.proveNormChunk(1, o[0], 0, chunkAt(w, 0), chunkProof(w, 0));
        bytes memory data = abi.encodeCall(st.proveNormChunk, (1, o[0], 1, chunkAt(w, 1), chunkProof(w, 1)));
        uint256 before = gasleft();
        (bool ok, bytes memory ret) = address(st).call(data);
        console.log("proveNormChunk: gas", before - gasleft(), "calldata bytes", data.length);
        assertTrue(ok && abi.decode(ret, (bool)), "slashed");
        assertEq(st.normSlashedCount(), 1);
        assertEq(st.normSlashed(0), o[0]);
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.AlreadySlashedForNorm.selector, 1, o[0]));
        st.proveNormChunk(1, o[0], 2, chunkAt(w, 2), chunkProof(w, 2));
    }

    function test_aValidUpdateIsNeverSlashed() public {
        SketchWorld memory w = stageSketchWorld(0);
        stageBound(w, type(uint256).max);
        address op = ops(3)[0];
        for (uint256 c; c < 4; ++c) {
            assertFalse(st.proveNormChunk(1, op, c, chunkAt(w, c), chunkProof(w, c)));
        }
        assertEq(st.normSlashedCount(), 0);
    }

    function test_normProofRefusals() public {
        SketchWorld memory w = stageSketchWorld(0);
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.NothingCommitted.selector, 1, address(0xBEEF)));
        st.proveNormChunk(1, address(0xBEEF), 0, chunkAt(w, 0), chunkProof(w, 0));
        address op = ops(3)[1]; // committed a root these bytes do not belong to
        vm.expectRevert(abi.encodeWithSelector(UpdateChunk.ChunkNotInRoot.selector, 0));
        st.proveNormChunk(1, op, 0, chunkAt(w, 0), chunkProof(w, 0));
        st.setProvable(false);
        vm.expectRevert(abi.encodeWithSelector(IResultChallenges.NormNotProvable.selector, 1));
        st.proveNormChunk(1, ops(3)[0], 0, chunkAt(w, 0), chunkProof(w, 0));
    }

    function stageBound(SketchWorld memory w, uint256 bound) internal {
        (bool standing, bytes32 seed,,,,,) = st.result();
        stageOperators(w, standing, seed, bound);
    }
}
