// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Vm} from "forge-std/Vm.sol";
import {Devnet} from "./utils/Devnet.sol";
import {EpochManager} from "../src/avs/EpochManager.sol";
import {Election} from "../src/avs/Election.sol";
import {IEpochManager} from "../src/interfaces/IEpochManager.sol";
import {P2pflServiceManager} from "../src/avs/P2pflServiceManager.sol";

contract EpochManagerTest is Devnet {
    uint256 internal constant D = 100; // entries per update in these tests

    struct Result {
        address[] operators;
        IEpochManager.Attestation[] attestations;
        int256[] sketches;
        uint256 selectedMask;
        uint256 flagMask;
        bytes32 seed;
    }

    // ------------------------------------------------------------- helpers

    function commitAll(uint256 e, uint256 count) internal {
        for (uint256 i; i < count; ++i) {
            vm.prank(ops[i]);
            epochs.commitUpdate(e, keccak256(fakeUpdate(i, D)));
        }
    }

    function indexOf(address op) internal view returns (uint256) {
        for (uint256 i; i < ops.length; ++i) {
            if (ops[i] == op) return i;
        }
        revert("unknown operator");
    }

    /// Honest sketches of the committed updates, in ascending operator order.
    function honestResult(uint256 e) internal returns (Result memory r) {
        EpochManager.Epoch memory ep = epochs.getEpoch(e);
        if (vm.getBlockNumber() <= ep.closeBlock) vm.roll(ep.closeBlock + 1);
        r.seed = epochs.recordSeed(e);
        r.operators = sorted(epochs.committed(e));
        r.attestations = attestAll(e);
        uint256 n = r.operators.length;
        r.sketches = new int256[](n * K);
        for (uint256 i; i < n; ++i) {
            int256[] memory s = harness.sketch(fakeUpdate(indexOf(r.operators[i]), D), r.seed, K);
            for (uint256 b; b < K; ++b) {
                r.sketches[i * K + b] = s[b];
            }
        }
        uint256 f = epochs.byzantineBound(n);
        r.selectedMask = (1 << (n - f)) - 1;
        r.flagMask = 1 << (n - 1);
    }

    function proofFor(uint256 e, Result memory r) internal view returns (bytes memory) {
        uint256 n = r.operators.length;
        bytes32[] memory inputs =
            epochs.publicInputs(e, r.seed, n, epochs.byzantineBound(n), r.sketches, r.selectedMask, r.flagMask);
        return abi.encodePacked(keccak256(abi.encodePacked(inputs)));
    }

    function submit(uint256 e, Result memory r) internal {
        address agg = epochs.getEpoch(e).aggregator;
        bytes memory proof = proofFor(e, r);
        vm.prank(agg);
        epochs.submitResult(e, modelLeafHashes(1), r.attestations, r.sketches, r.selectedMask, r.flagMask, proof);
    }

    function openAndSubmit() internal returns (uint256 e, Result memory r) {
        e = epochs.openEpoch();
        commitAll(e, N);
        r = honestResult(e);
        submit(e, r);
    }

    function row(Result memory r, uint256 i) internal pure returns (int256[] memory out) {
        out = new int256[](K);
        for (uint256 b; b < K; ++b) {
            out[b] = r.sketches[i * K + b];
        }
    }

    // ------------------------------------------------------------- field

    function ecMul(uint256 x, uint256 y, uint256 k) internal view returns (uint256, uint256) {
        (bool ok, bytes memory out) = address(7).staticcall(abi.encode(x, y, k));
        assertTrue(ok);
        return abi.decode(out, (uint256, uint256));
    }

    /// The modulus is BN254's group order r: r * G is the point at infinity, (r - 1) * G = -G.
    function test_fieldModulusIsTheBn254GroupOrder() public view {
        uint256 r = epochs.FIELD_MODULUS();
        (uint256 x, uint256 y) = ecMul(1, 2, r);
        assertEq(x, 0);
        assertEq(y, 0);
        (x, y) = ecMul(1, 2, r - 1);
        assertEq(x, 1);
        assertEq(y, 21888242871839275222246405745257275088696311157297823662689037894645226208583 - 2);
    }

    function test_sketchEntriesArePackedFivePerInputWithOffset() public view {
        int256[] memory s = new int256[](7);
        for (uint256 i; i < 7; ++i) {
            s[i] = int256(i) - 3;
        }
        s[4] = 2 ** 47 - 1;
        s[5] = -(2 ** 47) + 1;
        bytes32[] memory inputs = epochs.publicInputs(1, bytes32(0), 1, 0, s, 3, 4);
        assertEq(inputs.length, 2 + 8);
        assertEq(uint256(inputs[4]), 3); // rho = 3 / 1 (the deployment's)
        assertEq(uint256(inputs[5]), 1);
        uint256 off = 2 ** 47;
        uint256 first;
        for (uint256 j; j < 5; ++j) {
            first |= uint256(s[j] + int256(off)) << (48 * j);
        }
        assertEq(uint256(inputs[6]), first);
        assertEq(uint256(inputs[7]), 1 | ((off + 3) << 48)); // s[5] = -2^47 + 1, s[6] = 3
        assertEq(uint256(inputs[8]), 3);
        assertEq(uint256(inputs[9]), 4);
    }

    function testFuzz_entriesOutsideTheProvableRangeAreRefused(int256 x, uint8 at) public {
        vm.assume(x <= -(2 ** 47) || x >= 2 ** 47);
        int256[] memory s = new int256[](uint256(at) + 1);
        s[at] = x;
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.SketchEntryOutOfRange.selector, uint256(at), x));
        epochs.publicInputs(1, bytes32(0), 1, 0, s, 0, 0);
    }

    // ------------------------------------------------------------- close

    function test_lastCommitClosesThePhaseEarly() public {
        uint256 e = epochs.openEpoch();
        EpochManager.Epoch memory ep = epochs.getEpoch(e);
        assertEq(ep.closeBlock, ep.commitDeadline);
        commitAll(e, N - 1);
        assertEq(epochs.getEpoch(e).closeBlock, ep.commitDeadline); // still open
        // the seed and the election wait for the close
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.CommitStillOpen.selector, e, ep.commitDeadline));
        epochs.recordSeed(e);
        assertEq(epochs.aggregatorAt(e, 0), address(0));
        uint256 b = ep.openBlock + 3;
        vm.roll(b);
        vm.expectEmit(true, false, false, true, address(epochs));
        emit IEpochManager.CommitPhaseClosed(e, uint64(b), uint64(b + 10));
        vm.prank(ops[N - 1]);
        epochs.commitUpdate(e, keccak256(fakeUpdate(N - 1, D)));
        ep = epochs.getEpoch(e);
        assertEq(ep.closeBlock, b);
        assertEq(ep.submitDeadline, b + 10); // closeBlock + submitBlocks
        assertLt(ep.closeBlock, ep.commitDeadline);
        // blockhash(closeBlock) is not known inside the close block
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.CommitStillOpen.selector, e, uint64(b)));
        epochs.recordSeed(e);
        vm.roll(b + 1);
        vm.expectEmit(true, false, false, false, address(epochs));
        emit IEpochManager.SeedRecorded(e, blockhash(b), address(0));
        assertEq(epochs.recordSeed(e), blockhash(b));
        assertEq(epochs.getEpoch(e).aggregator, epochs.aggregatorAt(e, 0));
        assertTrue(epochs.aggregatorAt(e, 0) != address(0));
    }

    function testFuzz_lastCommitterClosesThePhase(uint8 count, uint64 gaps) public {
        uint256 n = 1 + uint256(count) % N;
        uint256 e = epochs.openEpoch();
        EpochManager.Epoch memory ep = epochs.getEpoch(e);
        uint256 b = ep.openBlock;
        for (uint256 i; i < n; ++i) {
            b += (gaps >> (8 * i)) & 1; // commits in the same block or the next
            vm.roll(b);
            vm.prank(ops[i]);
            epochs.commitUpdate(e, keccak256(abi.encode(i)));
        }
        ep = epochs.getEpoch(e);
        if (n == N) {
            assertEq(ep.closeBlock, b);
            assertEq(ep.submitDeadline, b + 10);
        } else {
            assertEq(ep.closeBlock, ep.commitDeadline);
            assertEq(ep.submitDeadline, ep.commitDeadline + 10);
        }
        // nobody commits after the close
        vm.roll(uint256(ep.closeBlock) + 1);
        address late = ops[n % N];
        vm.prank(late);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.CommitClosed.selector, e, ep.closeBlock));
        epochs.commitUpdate(e, keccak256("late"));
    }

    function test_commitAfterCloseReverts() public {
        // closed early: a repeated commit, a stranger's, reverts CommitClosed first
        uint256 e = epochs.openEpoch();
        commitAll(e, N);
        uint64 closed = epochs.getEpoch(e).closeBlock;
        vm.roll(closed + 1);
        vm.prank(ops[0]);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.CommitClosed.selector, e, closed));
        epochs.commitUpdate(e, keccak256("again"));
        vm.prank(makeAddr("stranger"));
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.CommitClosed.selector, e, closed));
        epochs.commitUpdate(e, keccak256("u"));
    }

    function test_commitByANonMemberReverts() public {
        uint256 e = epochs.openEpoch();
        commitAll(e, N - 1);
        address stranger = makeAddr("stranger");
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.NotInRoster.selector, e, stranger));
        epochs.commitUpdate(e, keccak256("u"));
        // an operator registered after the open is not in the snapshot either
        (address late, uint256 lateKey) = makeAddrAndKey("late operator");
        addOperator(late, lateKey, STAKE);
        vm.prank(late);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.NotInRoster.selector, e, late));
        epochs.commitUpdate(e, keccak256("u"));
        assertEq(epochs.getEpoch(e).closeBlock, epochs.getEpoch(e).commitDeadline); // not closed
    }

    function test_noSubmissionBeforeTheClose() public {
        uint256 e = epochs.openEpoch();
        commitAll(e, N - 1);
        uint64 deadline = epochs.getEpoch(e).commitDeadline;
        IEpochManager.Attestation[] memory none = new IEpochManager.Attestation[](0);
        for (uint256 i; i < N; ++i) {
            vm.prank(ops[i]);
            vm.expectRevert(abi.encodeWithSelector(IEpochManager.CommitStillOpen.selector, e, deadline));
            epochs.submitResult(e, modelLeafHashes(0), none, new int256[](0), 0, 0, "");
        }
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.CommitStillOpen.selector, e, deadline));
        epochs.finalize(e);
    }

    // ------------------------------------------------------------- commit

    function test_commitRules() public {
        uint256 e = epochs.openEpoch();
        vm.prank(ops[0]);
        epochs.commitUpdate(e, keccak256("u"));
        vm.prank(ops[0]);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.AlreadyCommitted.selector, e, ops[0]));
        epochs.commitUpdate(e, keccak256("u2"));
        vm.prank(ops[1]);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.WrongEpoch.selector, 2, 1));
        epochs.commitUpdate(2, keccak256("u"));
        vm.prank(makeAddr("stranger"));
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.NotInRoster.selector, e, makeAddr("stranger")));
        epochs.commitUpdate(e, keccak256("u"));
        vm.prank(ops[1]);
        vm.expectRevert(IEpochManager.ZeroDigest.selector);
        epochs.commitUpdate(e, bytes32(0));
        vm.roll(epochs.getEpoch(e).commitDeadline + 1);
        vm.prank(ops[1]);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.CommitClosed.selector, e, epochs.getEpoch(e).closeBlock));
        epochs.commitUpdate(e, keccak256("u"));
    }

    function testFuzz_commitStoresDigestOnce(bytes32 digest, uint8 who) public {
        vm.assume(digest != bytes32(0));
        uint256 e = epochs.openEpoch();
        address op = ops[who % N];
        vm.prank(op);
        epochs.commitUpdate(e, digest);
        assertEq(epochs.commitmentOf(e, op), digest);
        assertEq(epochs.committed(e).length, 1);
    }

    // ------------------------------------------------------------- submit

    function test_submitHappyPath() public {
        (uint256 e, Result memory r) = openAndSubmit();
        EpochManager.Epoch memory ep = epochs.getEpoch(e);
        assertEq(uint8(ep.status), uint8(IEpochManager.Status.Submitted));
        assertEq(ep.seed, r.seed);
        assertEq(ep.seed, blockhash(ep.closeBlock));
        assertLt(ep.closeBlock, ep.commitDeadline); // every member committed: closed early
        assertEq(ep.submitDeadline, ep.closeBlock + 10);
        assertEq(epochs.resultOperators(e), r.operators);
    }

    function test_submitRejectsStrangersAndBadResults() public {
        uint256 e = epochs.openEpoch();
        commitAll(e, N);
        Result memory r = honestResult(e);
        address agg = epochs.getEpoch(e).aggregator;
        bytes memory proof = proofFor(e, r);

        address other = agg == ops[0] ? ops[1] : ops[0];
        vm.prank(other);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.NotAggregator.selector, e, other, agg));
        epochs.submitResult(e, modelLeafHashes(0), r.attestations, r.sketches, r.selectedMask, r.flagMask, proof);

        // a tampered sketch no longer matches the proof's public inputs
        r.sketches[3] += 1;
        vm.prank(agg);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.InvalidProof.selector, e));
        epochs.submitResult(e, modelLeafHashes(0), r.attestations, r.sketches, r.selectedMask, r.flagMask, proof);
        r.sketches[3] -= 1;

        // a tampered flag mask (the flagged operator left unflagged)
        vm.prank(agg);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.InvalidProof.selector, e));
        epochs.submitResult(e, modelLeafHashes(0), r.attestations, r.sketches, r.selectedMask, 0, proof);

        // wrong selection size
        vm.prank(agg);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.BadSelectionSize.selector, 1, N - 1));
        epochs.submitResult(e, modelLeafHashes(0), r.attestations, r.sketches, 1, r.flagMask, proof);

        // a sketch of the wrong length
        int256[] memory short = new int256[](K);
        vm.prank(agg);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.BadSketchLength.selector, K, N * K));
        epochs.submitResult(e, modelLeafHashes(0), r.attestations, short, r.selectedMask, r.flagMask, proof);

        // a proof for another epoch's inputs
        bytes32[] memory otherInputs =
            epochs.publicInputs(e + 1, r.seed, N, epochs.byzantineBound(N), r.sketches, r.selectedMask, r.flagMask);
        vm.prank(agg);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.InvalidProof.selector, e));
        epochs.submitResult(
            e,
            modelLeafHashes(0),
            r.attestations,
            r.sketches,
            r.selectedMask,
            r.flagMask,
            abi.encodePacked(keccak256(abi.encodePacked(otherInputs)))
        );
    }

    function testFuzz_aFlaggedOperatorIsNeverSelected(uint8 flagged) public {
        uint256 e = epochs.openEpoch();
        commitAll(e, N);
        Result memory r = honestResult(e);
        uint256 both = (uint256(flagged) % N == N - 1) ? 1 << (N - 2) : 1 << (uint256(flagged) % N);
        both &= r.selectedMask;
        vm.assume(both != 0);
        r.flagMask |= both;
        bytes memory proof = proofFor(e, r);
        vm.prank(epochs.getEpoch(e).aggregator);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.FlaggedSelected.selector, e, both));
        epochs.submitResult(e, modelLeafHashes(0), r.attestations, r.sketches, r.selectedMask, r.flagMask, proof);
    }

    /// rho must satisfy 1 <= den <= num < 2^16 (the circuit's range): anything else is
    /// refused at deployment, so no deployment can ask for proofs that cannot exist.
    function testFuzz_rhoOutsideTheCircuitsRangeIsRefused(uint32 num, uint32 den) public {
        EpochManager.Params memory p = defaultParams();
        p.flagRhoNum = num;
        p.flagRhoDen = den;
        bool valid = den >= 1 && num >= den && num < 2 ** 16;
        if (!valid) vm.expectRevert(IEpochManager.BadParams.selector);
        EpochManager em = new EpochManager(avs, verifier, p, bytes32(0), address(this));
        if (valid) assertEq(em.params().flagRhoNum, num);
    }

    function test_submitAfterDeadlineFails() public {
        uint256 e = epochs.openEpoch();
        commitAll(e, N);
        Result memory r = honestResult(e);
        EpochManager.Epoch memory ep = epochs.getEpoch(e);
        vm.roll(ep.submitDeadline + 1);
        bytes memory proof = proofFor(e, r);
        vm.prank(ep.aggregator);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.SubmitClosed.selector, e, ep.submitDeadline));
        epochs.submitResult(e, modelLeafHashes(0), r.attestations, r.sketches, r.selectedMask, r.flagMask, proof);
    }

    // ------------------------------------------------------------- timeout

    function test_timeoutPenalizesAndRotates() public {
        uint256 e = epochs.openEpoch();
        commitAll(e, N);
        EpochManager.Epoch memory ep = epochs.getEpoch(e);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.SubmitStillOpen.selector, e, ep.submitDeadline));
        epochs.reportTimeout(e);
        vm.roll(ep.submitDeadline + 1);
        // the silent aggregator is the seed's draw (reportTimeout records the seed)
        (address[] memory roster, uint256[] memory stakes) = epochs.roster(e);
        address absent = roster[Election.drawIndex(blockhash(ep.closeBlock), 0, stakes)];
        uint256 before = avs.stakeOf(absent);
        vm.expectEmit(true, true, false, true, address(epochs));
        emit IEpochManager.AggregatorTimedOut(e, absent);
        epochs.reportTimeout(e);
        assertEq(avs.stakeOf(absent), before - before / 10); // 10 % penalty
        EpochManager.Epoch memory next = epochs.getEpoch(e);
        assertEq(next.attempt, 1);
        assertEq(next.aggregator, epochs.aggregatorAt(e, 1));
        Result memory r = honestResult(e);
        submit(e, r); // the seed recorded earlier still stands
        assertEq(uint8(epochs.getEpoch(e).status), uint8(IEpochManager.Status.Submitted));
    }

    // ------------------------------------------------------------- finalize

    function test_finalizeSlashesFlaggedAndAdvancesTheModel() public {
        (uint256 e, Result memory r) = openAndSubmit();
        address flagged = r.operators[N - 1];
        uint256 before = avs.stakeOf(flagged);
        uint64 deadline = epochs.getEpoch(e).challengeDeadline;
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.ChallengeStillOpen.selector, e, deadline));
        epochs.finalize(e);
        vm.roll(deadline + 1);
        vm.expectEmit(true, true, false, true, address(epochs));
        emit IEpochManager.SlashApplied(e, flagged, 0.5e18, IEpochManager.SlashReason.Flagged);
        epochs.finalize(e);
        assertEq(avs.stakeOf(flagged), before / 2);
        for (uint256 i; i < N - 1; ++i) {
            address op = r.operators[i];
            assertEq(avs.stakeOf(op), STAKE * (indexOf(op) + 1)); // nobody else touched
        }
        assertEq(epochs.latestModel(), modelRoot(1));
        assertEq(epochs.openEpoch(), 2);
        assertEq(epochs.getEpoch(2).baseModel, modelRoot(1));
    }

    function test_epochWithTooFewCommitsIsSkipped() public {
        uint256 e = epochs.openEpoch();
        commitAll(e, 2);
        vm.roll(epochs.getEpoch(e).commitDeadline + 1);
        epochs.finalize(e);
        assertEq(uint8(epochs.getEpoch(e).status), uint8(IEpochManager.Status.Finalized));
        assertEq(epochs.latestModel(), keccak256("genesis"));
    }

    function test_epochWhoseSeedWasLostIsSkipped() public {
        uint256 e = epochs.openEpoch();
        commitAll(e, N);
        EpochManager.Epoch memory ep = epochs.getEpoch(e);
        vm.roll(uint256(ep.closeBlock) + 300); // blockhash(closeBlock) is gone
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.SeedUnavailable.selector, e));
        epochs.recordSeed(e);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.SeedUnavailable.selector, e));
        epochs.reportTimeout(e); // nobody was ever drawn: nobody to slash
        assertEq(epochs.aggregatorAt(e, 0), address(0));
        epochs.finalize(e);
        assertEq(uint8(epochs.getEpoch(e).status), uint8(IEpochManager.Status.Finalized));
        assertEq(epochs.latestModel(), keccak256("genesis"));
        assertEq(epochs.openEpoch(), e + 1); // the network moves on
    }

    function test_timeoutRecordsTheSeedWhileItCan() public {
        uint256 e = epochs.openEpoch();
        commitAll(e, N);
        EpochManager.Epoch memory ep = epochs.getEpoch(e);
        vm.roll(ep.submitDeadline + 1);
        epochs.reportTimeout(e);
        assertEq(epochs.getEpoch(e).seed, blockhash(ep.closeBlock));
    }

    // ------------------------------------------------------------- bounded rotations

    /// maxAttempts = 3 (Devnet): the third timeout skips the epoch instead of rotating.
    function test_timeoutsPastMaxAttemptsSkipTheEpoch() public {
        uint256 e = epochs.openEpoch();
        commitAll(e, N);
        for (uint32 a; a < 3; ++a) {
            EpochManager.Epoch memory ep = epochs.getEpoch(e);
            assertEq(ep.attempt, a);
            vm.roll(ep.submitDeadline + 1);
            if (a == 2) {
                vm.expectEmit(true, false, false, true, address(epochs));
                emit IEpochManager.AttemptsExhausted(e, 3);
                vm.expectEmit(true, false, false, true, address(epochs));
                emit IEpochManager.EpochSkipped(e, N);
            }
            address absent = epochs.aggregatorAt(e, a);
            uint256 before = avs.stakeOf(absent);
            epochs.reportTimeout(e);
            assertEq(avs.stakeOf(absent), before - before / 10); // slashed as before
        }
        EpochManager.Epoch memory done = epochs.getEpoch(e);
        assertEq(uint8(done.status), uint8(IEpochManager.Status.Finalized));
        assertEq(done.attempt, 2);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.WrongStatus.selector, e, IEpochManager.Status.Finalized));
        epochs.reportTimeout(e);
        assertEq(epochs.latestModel(), keccak256("genesis"));
        assertEq(epochs.openEpoch(), e + 1); // the network moves on
    }

    function test_maxAttemptsOfZeroIsRefused() public {
        EpochManager.Params memory p = defaultParams();
        p.maxAttempts = 0;
        vm.expectRevert(IEpochManager.BadParams.selector);
        new EpochManager(avs, verifier, p, bytes32(0), address(this));
    }

    // ------------------------------------------------------------- slash reasons

    /// The single SlashApplied of `op` in `logs` carries `reason` (as its uint8 on the wire),
    /// and the service manager passed EigenLayer the matching human `description`.
    function assertSlashed(
        Vm.Log[] memory logs,
        uint256 e,
        address op,
        uint256 wad,
        IEpochManager.SlashReason reason,
        string memory description
    ) internal view {
        uint256 applied;
        uint256 described;
        for (uint256 i; i < logs.length; ++i) {
            Vm.Log memory l = logs[i];
            if (l.topics.length < 2 || address(uint160(uint256(l.topics[l.topics.length - 1]))) != op) continue;
            if (l.emitter == address(epochs) && l.topics[0] == IEpochManager.SlashApplied.selector) {
                assertEq(uint256(l.topics[1]), e);
                (uint256 w, uint256 raw) = abi.decode(l.data, (uint256, uint256));
                assertEq(w, wad);
                assertEq(raw, uint256(reason));
                (, IEpochManager.SlashReason decoded) = abi.decode(l.data, (uint256, IEpochManager.SlashReason));
                assertEq(uint8(decoded), uint8(reason));
                ++applied;
            } else if (l.emitter == address(avs) && l.topics[0] == P2pflServiceManager.OperatorSlashed.selector) {
                (,, string memory d) = abi.decode(l.data, (uint256, uint256, string));
                assertEq(d, description);
                ++described;
            }
        }
        assertEq(applied, 1, "one SlashApplied");
        assertEq(described, 1, "one OperatorSlashed");
    }

    /// The wire values clients decode (p2pfl.chain.slashing.SlashReason): append only.
    function test_slashReasonValuesAreStable() public pure {
        assertEq(uint8(IEpochManager.SlashReason.Flagged), 0);
        assertEq(uint8(IEpochManager.SlashReason.WrongSketch), 1);
        assertEq(uint8(IEpochManager.SlashReason.MissedDeadline), 2);
        assertEq(uint8(IEpochManager.SlashReason.WrongModel), 3);
        assertEq(uint8(IEpochManager.SlashReason.NormViolation), 4);
        assertEq(uint8(IEpochManager.SlashReason.WrongfulExclusion), 5);
        assertEq(uint8(type(IEpochManager.SlashReason).max), 5);
    }

    function test_slashReasonFlagged() public {
        (uint256 e, Result memory r) = openAndSubmit();
        address flagged = r.operators[N - 1];
        vm.roll(epochs.getEpoch(e).challengeDeadline + 1);
        vm.recordLogs();
        epochs.finalize(e);
        assertSlashed(
            vm.getRecordedLogs(), e, flagged, 0.5e18, IEpochManager.SlashReason.Flagged, "p2pfl: flagged by Krum"
        );
    }

    function test_slashReasonMissedDeadline() public {
        uint256 e = epochs.openEpoch();
        commitAll(e, N);
        vm.roll(epochs.getEpoch(e).closeBlock + 1);
        epochs.recordSeed(e); // draws the aggregator
        EpochManager.Epoch memory ep = epochs.getEpoch(e);
        vm.roll(ep.submitDeadline + 1);
        vm.expectEmit(true, true, false, true, address(epochs));
        emit IEpochManager.SlashApplied(e, ep.aggregator, 0.1e18, IEpochManager.SlashReason.MissedDeadline);
        vm.recordLogs();
        epochs.reportTimeout(e);
        assertSlashed(
            vm.getRecordedLogs(),
            e,
            ep.aggregator,
            0.1e18,
            IEpochManager.SlashReason.MissedDeadline,
            "p2pfl: aggregator missed its deadline"
        );
    }

    function test_failedSlashKeepsItsReasonAndTheEpochGoesOn() public {
        (uint256 e, Result memory r) = openAndSubmit();
        address flagged = r.operators[N - 1];
        uint256 before = avs.stakeOf(flagged);
        bytes memory err = abi.encodeWithSelector(P2pflServiceManager.NotRegistered.selector, flagged);
        vm.mockCallRevert(address(avs), abi.encodeWithSelector(P2pflServiceManager.slash.selector), err);
        vm.roll(epochs.getEpoch(e).challengeDeadline + 1);
        vm.expectEmit(true, true, false, true, address(epochs));
        emit IEpochManager.SlashFailed(e, flagged, IEpochManager.SlashReason.Flagged, err);
        epochs.finalize(e);
        assertEq(avs.stakeOf(flagged), before);
        assertEq(uint8(epochs.getEpoch(e).status), uint8(IEpochManager.Status.Finalized));
        // kept as pending slash 0; a retry while the core still refuses reverts and keeps it
        assertEq(epochs.pendingSlashCount(), 1);
        EpochManager.PendingSlash memory p = epochs.pendingSlash(0);
        assertEq(p.operator, flagged);
        assertEq(p.wad, 0.5e18);
        assertFalse(p.done);
        vm.expectRevert(err);
        epochs.retrySlash(0);
        assertFalse(epochs.pendingSlash(0).done);
        // once the core accepts it, anyone's retry applies it, once
        vm.clearMockedCalls();
        vm.expectEmit(true, true, false, true, address(epochs));
        emit IEpochManager.SlashApplied(e, flagged, 0.5e18, IEpochManager.SlashReason.Flagged);
        vm.prank(ops[0]);
        epochs.retrySlash(0);
        assertLt(avs.stakeOf(flagged), before);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.NoPendingSlash.selector, 0));
        epochs.retrySlash(0);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.NoPendingSlash.selector, 1));
        epochs.retrySlash(1);
    }

    /// A slashing transaction sent with too little gas for the slash reverts as a whole:
    /// the slash can never be skipped by starving it (the real core's slash costs ~400 k,
    /// so under an estimated limit it used to run out of gas inside the try/catch).
    function testFuzz_aStarvedSlashRevertsTheTransaction(uint32 gasSeed) public {
        (uint256 e,) = openAndSubmit();
        vm.roll(epochs.getEpoch(e).challengeDeadline + 1);
        uint256 limit = bound(uint256(gasSeed), 80_000, epochs.SLASH_GAS());
        (bool ok, bytes memory ret) = address(epochs).call{gas: limit}(abi.encodeCall(epochs.finalize, (e)));
        assertFalse(ok);
        assertEq(bytes4(ret), IEpochManager.SlashGasTooLow.selector);
        assertEq(uint8(epochs.getEpoch(e).status), uint8(IEpochManager.Status.Submitted));
        assertEq(epochs.pendingSlashCount(), 0);
        epochs.finalize{gas: 3_000_000}(e); // with enough gas the slash applies
        assertEq(epochs.pendingSlashCount(), 0);
    }

    /// A core whose slash eats more than SLASH_GAS lands in the catch (recorded, retryable),
    /// never silently: the slash is pending and retryable with all the gas a caller sends.
    function test_aSlashThatOutgrowsItsGasIsPendingNotLost() public {
        (uint256 e, Result memory r) = openAndSubmit();
        address flagged = r.operators[N - 1];
        vm.roll(epochs.getEpoch(e).challengeDeadline + 1);
        GasHog hog = new GasHog();
        vm.etch(address(avs.allocationManager()), address(hog).code);
        epochs.finalize{gas: 5_000_000}(e);
        assertEq(epochs.pendingSlashCount(), 1);
        assertEq(epochs.pendingSlash(0).operator, flagged);
    }

    function testFuzz_slashingReducesStakeProportionally(uint64 wadSeed) public {
        uint256 wad = bound(uint256(wadSeed), 1, 1e18);
        address op = ops[2];
        uint256 before = avs.stakeOf(op);
        vm.prank(address(epochs));
        avs.slash(op, wad, "fuzz");
        uint256 expectedSlashed = before * ((1e18 * wad + 1e18 - 1) / 1e18) / 1e18;
        assertApproxEqAbs(avs.stakeOf(op), before - expectedSlashed, 1);
        assertLe(avs.stakeOf(op), before);
    }

    function test_onlyTheEpochManagerSlashes() public {
        vm.expectRevert(abi.encodeWithSelector(P2pflServiceManager.OnlyEpochManager.selector, address(this)));
        avs.slash(ops[0], 1e18, "no");
    }
}

/// Burns more gas than EpochManager.SLASH_GAS in any call.
contract GasHog {
    fallback() external {
        uint256 x;
        while (gasleft() > 5_000) {
            x += 1;
        }
    }
}
