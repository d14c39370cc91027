// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Vm} from "forge-std/Vm.sol";
import {console} from "forge-std/console.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Devnet} from "./utils/Devnet.sol";
import {EpochManager} from "../src/avs/EpochManager.sol";
import {Attestations} from "../src/avs/Attestations.sol";
import {P2pflServiceManager} from "../src/avs/P2pflServiceManager.sol";
import {IEpochManager} from "../src/interfaces/IEpochManager.sol";
import {IResultChallenges} from "../src/interfaces/IResultChallenges.sol";
import {IKrumVerifier} from "../src/interfaces/IKrumVerifier.sol";

/// @notice Availability attestations on chain (DESIGN.md, the epoch, steps 5-7): the
/// included set a result's attestations derive, every way an attestation is refused, the
/// empty result, and the exclusion challenge, on the devnet with nine operators and
/// `maxByzantine = 3`, so `f_c = 3` when all nine commit: an operator is included with 4
/// attestations by others, and an exclusion challenge needs 7.
abstract contract AvailabilityBase is Devnet {
    uint256 internal constant D = 100; // entries per update
    uint256 internal constant C = 9; // committed operators
    uint256 internal constant F = 3; // byzantineBound(9) with maxByzantine = 3
    uint256 internal constant ALL = (1 << C) - 1;

    address internal watcher = makeAddr("watcher");

    struct Result {
        address[] operators;
        int256[] sketches;
        uint256 selectedMask;
        uint256 flagMask;
        bytes proof;
    }

    function setUp() public virtual override {
        super.setUp();
        for (uint256 i = N; i < C; ++i) {
            (address op, uint256 key) = makeAddrAndKey(string.concat("operator", vm.toString(i)));
            addOperator(op, key, STAKE * (i + 1));
        }
    }

    function defaultParams() internal view virtual override returns (EpochManager.Params memory p) {
        p = super.defaultParams();
        p.maxByzantine = 3;
        p.aggregatorSlashWad = 0.5e18;
    }

    // ---------------------------------------------------------------- helpers

    /// @dev Open an epoch, let the first `count` operators commit, record the seed.
    function openWith(uint256 count) internal returns (uint256 e) {
        e = epochs.openEpoch();
        for (uint256 i; i < count; ++i) {
            vm.prank(ops[i]);
            epochs.commitUpdate(e, keccak256(fakeUpdate(i, D)));
        }
        vm.roll(epochs.getEpoch(e).closeBlock + 1);
        epochs.recordSeed(e);
    }

    function opIndex(address op) internal view returns (uint256) {
        for (uint256 i; i < ops.length; ++i) {
            if (ops[i] == op) return i;
        }
        revert("unknown operator");
    }

    /// @dev Every committed operator attests with the same mask, except that operator `j`
    /// (in ascending order) is held by exactly `holders` operators other than itself (the
    /// first ones, skipping `j`); `j` itself claims to hold everything, its own update too.
    function masksHolding(uint256 j, uint256 holders) internal pure returns (uint256[] memory masks) {
        masks = new uint256[](C);
        uint256 given;
        for (uint256 i; i < C; ++i) {
            masks[i] = ALL;
            if (i == j) continue;
            if (given < holders) ++given;
            else masks[i] &= ~(uint256(1) << j);
        }
    }

    /// @dev The included set as the contract derives it: bit j set iff at least f + 1
    /// attestations (of `attestors`, a mask over the ascending order) by others hold j.
    function derive(uint256[] memory masks, uint256 attestors, uint256 f) internal pure returns (uint256 set) {
        for (uint256 j; j < masks.length; ++j) {
            if (holdersOf(masks, attestors, j) >= f + 1) set |= 1 << j;
        }
    }

    function holdersOf(uint256[] memory masks, uint256 attestors, uint256 j) internal pure returns (uint256 n) {
        for (uint256 i; i < masks.length; ++i) {
            if (i != j && (attestors >> i) & 1 == 1 && (masks[i] >> j) & 1 == 1) ++n;
        }
    }

    /// @dev Attestations of `e` by the operators in `attestors` (a mask over the ascending
    /// committed order) with their `masks`.
    function attestSome(uint256 e, uint256[] memory masks, uint256 attestors)
        internal
        view
        returns (IEpochManager.Attestation[] memory a)
    {
        address[] memory c = epochs.committedSorted(e);
        a = new IEpochManager.Attestation[](_popcount(attestors));
        uint256 k;
        for (uint256 i; i < c.length; ++i) {
            if ((attestors >> i) & 1 == 1) a[k++] = attest(e, c[i], masks[i]);
        }
    }

    /// @dev An honest result over the operators of `set` (a mask over the ascending
    /// committed order): their sketches, Krum's n − f lowest selected, nobody flagged.
    function resultFor(uint256 e, uint256 set) internal view returns (Result memory r) {
        address[] memory c = epochs.committedSorted(e);
        uint256 n = _popcount(set);
        r.operators = new address[](n);
        uint256 k;
        for (uint256 i; i < c.length; ++i) {
            if ((set >> i) & 1 == 1) r.operators[k++] = c[i];
        }
        bytes32 seed = epochs.getEpoch(e).seed;
        if (n < 3) return r; // an empty result: no sketches, masks or proof
        r.sketches = new int256[](n * K);
        for (uint256 i; i < n; ++i) {
            int256[] memory s = harness.sketch(fakeUpdate(opIndex(r.operators[i]), D), seed, K);
            for (uint256 b; b < K; ++b) {
                r.sketches[i * K + b] = s[b];
            }
        }
        r.selectedMask = (1 << (n - epochs.byzantineBound(n))) - 1;
        r.proof = proofOf(e, n, r.sketches, r.selectedMask, 0);
    }

    function proofOf(uint256 e, uint256 n, int256[] memory sketches, uint256 selectedMask, uint256 flagMask)
        internal
        view
        returns (bytes memory)
    {
        bytes32[] memory inputs = epochs.publicInputs(
            e, epochs.getEpoch(e).seed, n, epochs.byzantineBound(n), sketches, selectedMask, flagMask
        );
        return abi.encodePacked(keccak256(abi.encodePacked(inputs)));
    }

    function leafHashesFor(uint256 n) internal pure returns (bytes32[] memory) {
        return n >= 3 ? modelLeafHashes(1) : new bytes32[](0);
    }

    function submit(uint256 e, IEpochManager.Attestation[] memory atts, Result memory r) internal {
        bytes32[] memory leaves = leafHashesFor(r.operators.length);
        vm.prank(epochs.getEpoch(e).aggregator);
        epochs.submitResult(e, leaves, atts, r.sketches, r.selectedMask, r.flagMask, r.proof);
    }

    /// @dev Submit with `atts` and expect the revert `err` (everything else honest for all).
    function submitExpecting(uint256 e, IEpochManager.Attestation[] memory atts, bytes memory err) internal {
        Result memory r = resultFor(e, ALL);
        bytes32[] memory leaves = modelLeafHashes(1);
        address agg = epochs.getEpoch(e).aggregator;
        vm.prank(agg);
        vm.expectRevert(err);
        epochs.submitResult(e, leaves, atts, r.sketches, r.selectedMask, r.flagMask, r.proof);
    }

    function sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function domainDigest(uint256 chainId, address avsAddr, uint256 e, uint256 mask) internal pure returns (bytes32) {
        bytes32 ds = keccak256(
            abi.encode(
                keccak256("EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"),
                keccak256("p2pfl"),
                keccak256("1"),
                chainId,
                avsAddr
            )
        );
        bytes32 sh = keccak256(abi.encode(keccak256("Availability(uint256 epoch,uint256 heldMask)"), e, mask));
        return keccak256(abi.encodePacked("\x19\x01", ds, sh));
    }

    function bad(uint256 e, address op) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IEpochManager.BadAttestationSignature.selector, e, op);
    }

    function _popcount(uint256 x) internal pure returns (uint256 c) {
        for (; x != 0; x &= x - 1) {
            ++c;
        }
    }
}

/// @notice The included set, refused attestations, the empty result and the exclusion
/// challenge (see `AvailabilityBase`).
contract EpochAvailabilityTest is AvailabilityBase {
    // ---------------------------------------------------------------- views

    function test_quorumsAndOrder() public {
        assertEq(epochs.byzantineBound(C), F);
        assertEq(epochs.exclusionQuorum(C), 2 * F + 1);
        assertEq(epochs.exclusionQuorum(3), 1); // f = 0
        assertEq(epochs.exclusionQuorum(6), 3); // f = min(3, (6 - 3) / 2) = 1
        uint256 e = openWith(C);
        address[] memory c = epochs.committedSorted(e);
        assertEq(c.length, C);
        for (uint256 i = 1; i < C; ++i) {
            assertLt(uint160(c[i - 1]), uint160(c[i]));
        }
        assertEq(c, sorted(epochs.committed(e)));
        assertEq(epochs.availabilityDigest(e, 5), domainDigest(block.chainid, address(avs), e, 5), "EIP-712 digest");
    }

    // ---------------------------------------------------------------- included set

    /// Operator j held by exactly f others is excluded, by f + 1 included; its own bit (it
    /// claims its own update) never counts.
    function test_includedSetIsDerivedFromTheAttestations() public {
        uint256 e = openWith(C);
        uint256[] memory masks = masksHolding(2, F); // j = 2: f others + itself
        uint256[] memory more = masksHolding(5, F + 1);
        for (uint256 i; i < C; ++i) {
            masks[i] &= more[i]; // j = 5: f + 1 others
        }
        uint256 set = derive(masks, ALL, F);
        assertEq(set, ALL & ~uint256(1 << 2), "2 out, 5 in");
        IEpochManager.Attestation[] memory atts = attestWith(e, masks);
        Result memory r = resultFor(e, set);
        EpochManager.Epoch memory ep = epochs.getEpoch(e);
        bytes32[] memory leaves = modelLeafHashes(1);
        vm.expectEmit(true, true, false, true, address(epochs));
        emit IEpochManager.ResultSubmitted(
            e, ep.aggregator, modelRoot(1), ep.seed, r.operators, r.sketches, r.selectedMask, 0
        );
        vm.prank(ep.aggregator);
        epochs.submitResult(e, leaves, atts, r.sketches, r.selectedMask, 0, r.proof);
        assertEq(epochs.resultOperators(e), r.operators);
        assertEq(epochs.resultOperators(e).length, C - 1);
        assertEq(uint8(epochs.getEpoch(e).status), uint8(IEpochManager.Status.Submitted));
    }

    /// Operators that post no attestation count for nobody; their own inclusion rests on the
    /// others' attestations alone.
    function test_silentOperatorsAttestNothing() public {
        uint256 e = openWith(C);
        uint256[] memory masks = new uint256[](C);
        for (uint256 i; i < C; ++i) {
            masks[i] = ALL;
        }
        uint256 attestors = (1 << (F + 1)) - 1; // operators 0..3 attest: 4 = f + 1
        uint256 set = derive(masks, attestors, F);
        assertEq(set, ALL & ~attestors, "each attestor has only f others");
        IEpochManager.Attestation[] memory atts = attestSome(e, masks, attestors);
        submit(e, atts, resultFor(e, set));
        assertEq(epochs.resultOperators(e).length, C - (F + 1));
    }

    /// For random masks and random attestors, the included set is the reference derivation.
    function testFuzz_includedSetMatchesTheDefinition(uint256 seed, uint16 attestorBits) public {
        uint256 e = openWith(C);
        uint256[] memory masks = new uint256[](C);
        for (uint256 i; i < C; ++i) {
            // mostly held: each bit is dropped with probability 1/4
            uint256 rnd = uint256(keccak256(abi.encode(seed, i)));
            masks[i] = ALL & (rnd | (rnd >> 64));
        }
        uint256 attestors = uint256(attestorBits) & ALL;
        uint256 set = derive(masks, attestors, F);
        IEpochManager.Attestation[] memory atts = attestSome(e, masks, attestors);
        Result memory r = resultFor(e, set);
        submit(e, atts, r);
        assertEq(epochs.resultOperators(e), r.operators);
    }

    /// A result whose sketches and masks are for a set other than the derived one (the
    /// withheld operator's sketch included) is refused.
    function test_aResultForAnotherSetIsRefused() public {
        uint256 e = openWith(C);
        IEpochManager.Attestation[] memory atts = attestWith(e, masksHolding(4, F));
        Result memory all = resultFor(e, ALL); // 9 rows, masks over 9, a proof for n = 9
        bytes32[] memory leaves = modelLeafHashes(1);
        address agg = epochs.getEpoch(e).aggregator;
        vm.prank(agg);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.BadSketchLength.selector, C * K, (C - 1) * K));
        epochs.submitResult(e, leaves, atts, all.sketches, all.selectedMask, 0, all.proof);
        // masks over nine (the withheld operator flagged, as if it were row 8)
        Result memory r = resultFor(e, ALL & ~uint256(1 << 4));
        vm.prank(agg);
        vm.expectRevert(IEpochManager.BadMask.selector);
        epochs.submitResult(e, leaves, atts, r.sketches, r.selectedMask, 1 << (C - 1), r.proof);
        // a proof over nine operators' inputs does not verify against the derived eight
        bytes memory nineProof = proofOf(e, C, r.sketches, r.selectedMask, 0);
        vm.prank(agg);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.InvalidProof.selector, e));
        epochs.submitResult(e, leaves, atts, r.sketches, r.selectedMask, 0, nineProof);
        // the derived eight pass
        vm.prank(agg);
        epochs.submitResult(e, leaves, atts, r.sketches, r.selectedMask, 0, r.proof);
    }

    // ---------------------------------------------------------------- refused attestations

    function test_forgedSignatureIsRefused() public {
        uint256 e = openWith(C);
        IEpochManager.Attestation[] memory atts = attestAll(e);
        atts[3].signature[10] ^= 0x01;
        submitExpecting(e, atts, bad(e, atts[3].operator));
        atts = attestAll(e);
        atts[2].signature = new bytes(65); // all zero: ecrecover fails
        submitExpecting(e, atts, bad(e, atts[2].operator));
        atts = attestAll(e);
        atts[1].signature = new bytes(64); // malformed length
        submitExpecting(e, atts, bad(e, atts[1].operator));
        atts = attestAll(e);
        atts[0].signature = "";
        submitExpecting(e, atts, bad(e, atts[0].operator));
    }

    function test_signatureByAnotherOperatorIsRefused() public {
        uint256 e = openWith(C);
        IEpochManager.Attestation[] memory atts = attestAll(e);
        atts[5].signature = sign(keyOf(atts[6].operator), epochs.availabilityDigest(e, ALL));
        submitExpecting(e, atts, bad(e, atts[5].operator));
    }

    function test_signatureOverAnotherMaskIsRefused() public {
        uint256 e = openWith(C);
        IEpochManager.Attestation[] memory atts = attestAll(e);
        atts[5].heldMask = ALL >> 1; // signed ALL, claims less
        submitExpecting(e, atts, bad(e, atts[5].operator));
    }

    function test_wrongEpochSignatureIsRefused() public {
        uint256 e = openWith(C);
        IEpochManager.Attestation[] memory atts = attestAll(e);
        atts[4].signature = sign(keyOf(atts[4].operator), epochs.availabilityDigest(e + 1, ALL));
        submitExpecting(e, atts, bad(e, atts[4].operator));
    }

    function test_wrongDomainSignatureIsRefused() public {
        uint256 e = openWith(C);
        IEpochManager.Attestation[] memory atts = attestAll(e);
        address op = atts[4].operator;
        // another verifying contract (the epoch manager instead of the AVS)
        atts[4].signature = sign(keyOf(op), domainDigest(block.chainid, address(epochs), e, ALL));
        submitExpecting(e, atts, bad(e, op));
        // another chain
        atts[4].signature = sign(keyOf(op), domainDigest(block.chainid + 1, address(avs), e, ALL));
        submitExpecting(e, atts, bad(e, op));
        // the right domain passes (the digest is the one signed)
        atts[4].signature = sign(keyOf(op), domainDigest(block.chainid, address(avs), e, ALL));
        submit(e, atts, resultFor(e, ALL));
    }

    /// A signature with s in the upper half order (the malleable twin of a valid one) is
    /// refused: one attestation, one encoding.
    function test_malleableSignatureIsRefused() public {
        uint256 e = openWith(C);
        IEpochManager.Attestation[] memory atts = attestAll(e);
        address op = atts[7].operator;
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keyOf(op), epochs.availabilityDigest(e, ALL));
        uint256 n = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
        atts[7].signature = abi.encodePacked(r, bytes32(n - uint256(s)), v == 27 ? uint8(28) : uint8(27));
        submitExpecting(e, atts, bad(e, op));
    }

    function test_duplicatedAttestationIsRefused() public {
        uint256 e = openWith(C);
        IEpochManager.Attestation[] memory atts = attestAll(e);
        atts[3] = atts[2];
        submitExpecting(e, atts, abi.encodeWithSelector(IEpochManager.AttestationsNotAscending.selector, 3));
    }

    function test_unsortedAttestationsAreRefused() public {
        uint256 e = openWith(C);
        IEpochManager.Attestation[] memory atts = attestAll(e);
        (atts[6], atts[7]) = (atts[7], atts[6]);
        submitExpecting(e, atts, abi.encodeWithSelector(IEpochManager.AttestationsNotAscending.selector, 7));
    }

    function test_nonCommittedAttestorIsRefused() public {
        // operator C - 1 is in the roster but does not commit
        uint256 e = openWith(C - 1);
        address idle = ops[C - 1];
        IEpochManager.Attestation[] memory atts = attestAll(e);
        IEpochManager.Attestation[] memory withIdle = new IEpochManager.Attestation[](atts.length + 1);
        uint256 k;
        bool placed;
        for (uint256 i; i < atts.length; ++i) {
            if (!placed && uint160(idle) < uint160(atts[i].operator)) {
                withIdle[k++] = attest(e, idle, (1 << (C - 1)) - 1);
                placed = true;
            }
            withIdle[k++] = atts[i];
        }
        if (!placed) withIdle[k] = attest(e, idle, (1 << (C - 1)) - 1);
        Result memory r = resultFor(e, (1 << (C - 1)) - 1);
        bytes32[] memory leaves = modelLeafHashes(1);
        vm.prank(epochs.getEpoch(e).aggregator);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.AttestorNotCommitted.selector, e, idle));
        epochs.submitResult(e, leaves, withIdle, r.sketches, r.selectedMask, 0, r.proof);
        // a stranger (no operator at all) at the end
        (address stranger, uint256 key) = makeAddrAndKey("stranger");
        IEpochManager.Attestation[] memory one = new IEpochManager.Attestation[](1);
        one[0] = IEpochManager.Attestation(stranger, 1, sign(key, epochs.availabilityDigest(e, 1)));
        vm.prank(epochs.getEpoch(e).aggregator);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.AttestorNotCommitted.selector, e, stranger));
        epochs.submitResult(e, new bytes32[](0), one, new int256[](0), 0, 0, "");
    }

    function test_maskTooWideIsRefused() public {
        uint256 e = openWith(C);
        IEpochManager.Attestation[] memory atts = attestAll(e);
        address op = atts[8].operator;
        atts[8] = attest(e, op, ALL | (1 << C));
        submitExpecting(e, atts, abi.encodeWithSelector(IEpochManager.AttestationMaskTooWide.selector, e, op));
        atts[8] = attest(e, op, 1 << 255);
        submitExpecting(e, atts, abi.encodeWithSelector(IEpochManager.AttestationMaskTooWide.selector, e, op));
    }

    /// Any bit flipped anywhere in any signature is refused (never a panic, never accepted).
    function testFuzz_anyTamperedSignatureIsRefused(uint8 which, uint16 bit) public {
        uint256 e = openWith(C);
        IEpochManager.Attestation[] memory atts = attestAll(e);
        uint256 i = uint256(which) % C;
        uint256 b = uint256(bit) % (65 * 8);
        atts[i].signature[b / 8] ^= bytes1(uint8(1 << (b % 8)));
        submitExpecting(e, atts, bad(e, atts[i].operator));
    }

    // ---------------------------------------------------------------- empty result

    function test_emptyResultSkipsTheEpochWithoutProofOrSlash() public {
        uint256 e = openWith(C);
        // only operators 0 and 1 are held by f + 1 others
        uint256[] memory masks = new uint256[](C);
        for (uint256 i; i < C; ++i) {
            masks[i] = 3;
        }
        IEpochManager.Attestation[] memory atts = attestWith(e, masks);
        Result memory r = resultFor(e, 3);
        assertEq(r.operators.length, 2);
        bytes32 base = epochs.getEpoch(e).baseModel;
        address agg = epochs.getEpoch(e).aggregator;
        bytes32 seed = epochs.getEpoch(e).seed;
        vm.expectEmit(true, true, false, true, address(epochs));
        emit IEpochManager.ResultSubmitted(e, agg, base, seed, r.operators, new int256[](0), 0, 0);
        vm.prank(agg);
        epochs.submitResult(e, new bytes32[](0), atts, new int256[](0), 0, 0, "");
        EpochManager.Epoch memory ep = epochs.getEpoch(e);
        assertEq(uint8(ep.status), uint8(IEpochManager.Status.Submitted));
        assertEq(ep.modelDigest, base);
        assertEq(epochs.resultOperators(e), r.operators);
        // finalize after the window: skipped, the model kept, nobody slashed
        uint256[] memory stakes = new uint256[](C);
        for (uint256 i; i < C; ++i) {
            stakes[i] = avs.stakeOf(ops[i]);
        }
        vm.roll(ep.challengeDeadline + 1);
        vm.recordLogs();
        vm.expectEmit(true, false, false, true, address(epochs));
        emit IEpochManager.EpochSkipped(e, C);
        epochs.finalize(e);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        for (uint256 i; i < logs.length; ++i) {
            assertTrue(logs[i].topics[0] != IEpochManager.EpochFinalized.selector, "no EpochFinalized");
            assertTrue(logs[i].topics[0] != IEpochManager.SlashApplied.selector, "nobody slashed");
        }
        assertEq(uint8(epochs.getEpoch(e).status), uint8(IEpochManager.Status.Finalized));
        assertEq(epochs.latestModel(), base);
        for (uint256 i; i < C; ++i) {
            assertEq(avs.stakeOf(ops[i]), stakes[i]);
        }
        assertEq(epochs.openEpoch(), e + 1);
        assertEq(epochs.getEpoch(e + 1).baseModel, base);
    }

    /// No attestation at all: nobody included, an empty result.
    function test_noAttestationsMakeAnEmptyResult() public {
        uint256 e = openWith(C);
        vm.prank(epochs.getEpoch(e).aggregator);
        epochs.submitResult(e, new bytes32[](0), new IEpochManager.Attestation[](0), new int256[](0), 0, 0, "");
        assertEq(epochs.resultOperators(e).length, 0);
        assertEq(uint8(epochs.getEpoch(e).status), uint8(IEpochManager.Status.Submitted));
    }

    function test_malformedEmptyResultIsRefused() public {
        uint256 e = openWith(C);
        uint256[] memory masks = new uint256[](C);
        for (uint256 i; i < C; ++i) {
            masks[i] = 3;
        }
        IEpochManager.Attestation[] memory atts = attestWith(e, masks);
        Result memory r = resultFor(e, ALL);
        address agg = epochs.getEpoch(e).aggregator;
        bytes memory err = abi.encodeWithSelector(IEpochManager.EmptyResultMalformed.selector, e);
        bytes32[] memory none = new bytes32[](0);
        int256[] memory noSketch = new int256[](0);
        bytes32[] memory leaves = modelLeafHashes(1);
        vm.startPrank(agg);
        vm.expectRevert(err);
        epochs.submitResult(e, leaves, atts, noSketch, 0, 0, "");
        vm.expectRevert(err);
        epochs.submitResult(e, none, atts, r.sketches, 0, 0, "");
        vm.expectRevert(err);
        epochs.submitResult(e, none, atts, noSketch, 0, 0, hex"00");
        vm.expectRevert(err);
        epochs.submitResult(e, none, atts, noSketch, 1, 0, "");
        vm.expectRevert(err);
        epochs.submitResult(e, none, atts, noSketch, 0, 1 << 200, "");
        epochs.submitResult(e, none, atts, noSketch, 0, 0, "");
        vm.stopPrank();
    }

    /// An empty result has no model or sketch to challenge: named errors, no panic.
    function test_modelAndSketchChallengesOfAnEmptyResultAreRefused() public {
        uint256 e = openWith(C);
        uint256[] memory masks = new uint256[](C);
        for (uint256 i; i < C; ++i) {
            masks[i] = 3;
        }
        IEpochManager.Attestation[] memory atts = attestWith(e, masks);
        vm.prank(epochs.getEpoch(e).aggregator);
        epochs.submitResult(e, new bytes32[](0), atts, new int256[](0), 0, 0, "");
        vm.deal(watcher, 10 ether);
        bytes memory err = abi.encodeWithSelector(IResultChallenges.EmptyResult.selector, e);
        vm.startPrank(watcher);
        vm.expectRevert(err);
        epochs.challengeModel{value: 1 ether}(
            e, 0, new bytes(256), new bytes32[](10), new bytes[](0), new bytes32[][](0), bytes32(0), new bytes32[](10)
        );
        for (uint256 row; row < 3; ++row) {
            vm.expectRevert(err);
            epochs.openSketchChallenge{value: 1 ether}(e, row, new int256[](K), new int256[](4 * K));
        }
        vm.stopPrank();
    }

    function test_tooFewCommitsRefuseAResult() public {
        uint256 e = openWith(2);
        address agg = epochs.getEpoch(e).aggregator;
        vm.prank(agg);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.TooFewParticipants.selector, e, 2));
        epochs.submitResult(e, new bytes32[](0), new IEpochManager.Attestation[](0), new int256[](0), 0, 0, "");
        epochs.finalize(e); // skipped without a result
        assertEq(uint8(epochs.getEpoch(e).status), uint8(IEpochManager.Status.Finalized));
    }

    // ---------------------------------------------------------------- exclusion challenge

    /// @dev A result that leaves out operator `j` (held by f others at submit time, so an
    /// honest exclusion) and `2f + 1` attestations that hold it, for the challenge.
    function excluded(uint256 j)
        internal
        returns (uint256 e, address target, IEpochManager.Attestation[] memory quorum)
    {
        e = openWith(C);
        submit(e, attestWith(e, masksHolding(j, F)), resultFor(e, ALL & ~uint256(1 << j)));
        target = epochs.committedSorted(e)[j];
        quorum = attestWith(e, masksHolding(j, 2 * F + 1));
    }

    function test_exclusionChallengeUpheld() public {
        (uint256 e, address target, IEpochManager.Attestation[] memory quorum) = excluded(3);
        EpochManager.Epoch memory ep = epochs.getEpoch(e);
        address agg = ep.aggregator;
        uint256 before = avs.stakeOf(agg);
        uint256 pool = epochs.rewardPool();
        address next = epochs.aggregatorAt(e, 1);
        vm.expectEmit(true, true, false, true, address(epochs));
        emit IEpochManager.ExclusionChallenged(e, target, watcher);
        vm.expectEmit(true, true, false, true, address(epochs));
        emit IEpochManager.ResultVoided(e, agg, watcher);
        vm.expectEmit(true, false, false, true, address(epochs));
        emit IEpochManager.AggregatorRotated(e, 1, next, uint64(vm.getBlockNumber() + 10));
        vm.expectEmit(true, true, false, true, address(epochs));
        emit IEpochManager.SlashApplied(e, agg, 0.5e18, IEpochManager.SlashReason.WrongfulExclusion);
        vm.recordLogs();
        vm.prank(watcher);
        assertTrue(epochs.challengeExclusion(e, target, quorum));
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bool described;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(avs) && logs[i].topics[0] == P2pflServiceManager.OperatorSlashed.selector) {
                (,, string memory d) = abi.decode(logs[i].data, (uint256, uint256, string));
                assertEq(d, "p2pfl: wrongful exclusion");
                described = true;
            }
        }
        assertTrue(described);
        uint256 lost = before - avs.stakeOf(agg);
        assertEq(lost, before / 2);
        assertEq(epochs.owedTokens(watcher), lost / 2); // rewardShareWad = 0.5
        assertEq(epochs.rewardPool(), pool - lost / 2);
        assertEq(epochs.owed(watcher), 0, "no bond");
        ep = epochs.getEpoch(e);
        assertEq(uint8(ep.status), uint8(IEpochManager.Status.Open));
        assertEq(ep.attempt, 1);
        // the next aggregator includes the operator and its result stands
        submit(e, quorum, resultFor(e, ALL));
        assertEq(epochs.resultOperators(e).length, C);
    }

    /// On the last attempt an upheld exclusion challenge skips the epoch.
    function test_exclusionChallengeOnTheLastAttemptSkips() public {
        uint256 e = openWith(C);
        for (uint256 t; t < 2; ++t) {
            vm.roll(epochs.getEpoch(e).submitDeadline + 1);
            epochs.reportTimeout(e);
        }
        submit(e, attestWith(e, masksHolding(0, F)), resultFor(e, ALL & ~uint256(1)));
        IEpochManager.Attestation[] memory quorum = attestWith(e, masksHolding(0, 2 * F + 1));
        address target = epochs.committedSorted(e)[0];
        vm.expectEmit(true, false, false, true, address(epochs));
        emit IEpochManager.EpochSkipped(e, C);
        vm.prank(watcher);
        epochs.challengeExclusion(e, target, quorum);
        assertEq(uint8(epochs.getEpoch(e).status), uint8(IEpochManager.Status.Finalized));
        assertEq(epochs.latestModel(), genesisModel());
    }

    function test_exclusionChallengeOfAnEmptyResult() public {
        uint256 e = openWith(C);
        uint256[] memory masks = new uint256[](C);
        for (uint256 i; i < C; ++i) {
            masks[i] = 3;
        }
        IEpochManager.Attestation[] memory atts = attestWith(e, masks);
        vm.prank(epochs.getEpoch(e).aggregator);
        epochs.submitResult(e, new bytes32[](0), atts, new int256[](0), 0, 0, "");
        IEpochManager.Attestation[] memory quorum = attestAll(e);
        address target = epochs.committedSorted(e)[8];
        vm.prank(watcher);
        epochs.challengeExclusion(e, target, quorum);
        assertEq(uint8(epochs.getEpoch(e).status), uint8(IEpochManager.Status.Open));
    }

    function test_exclusionChallengeBelowQuorumIsRefused() public {
        (uint256 e, address target,) = excluded(3);
        IEpochManager.Attestation[] memory twoF = attestWith(e, masksHolding(3, 2 * F));
        vm.prank(watcher);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.ExclusionQuorumNotMet.selector, e, 2 * F, 2 * F + 1));
        epochs.challengeExclusion(e, target, twoF);
        // the target's own attestation of itself never counts
        IEpochManager.Attestation[] memory own = attestSome(e, masksHolding(3, 2 * F), 1 << 3);
        vm.prank(watcher);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.ExclusionQuorumNotMet.selector, e, 0, 2 * F + 1));
        epochs.challengeExclusion(e, target, own);
    }

    function test_exclusionChallengeOfAnIncludedOrUncommittedOperatorIsRefused() public {
        (uint256 e,, IEpochManager.Attestation[] memory quorum) = excluded(3);
        address included = epochs.committedSorted(e)[4];
        vm.prank(watcher);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.NotExcluded.selector, e, included));
        epochs.challengeExclusion(e, included, quorum);
        address stranger = makeAddr("stranger");
        vm.prank(watcher);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.NotExcluded.selector, e, stranger));
        epochs.challengeExclusion(e, stranger, quorum);
    }

    function test_exclusionChallengeAfterTheWindowIsRefused() public {
        (uint256 e, address target, IEpochManager.Attestation[] memory quorum) = excluded(3);
        uint64 deadline = epochs.getEpoch(e).challengeDeadline;
        vm.roll(deadline + 1);
        vm.prank(watcher);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.ChallengeClosed.selector, e, deadline));
        epochs.challengeExclusion(e, target, quorum);
        epochs.finalize(e);
        vm.prank(watcher);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.WrongStatus.selector, e, IEpochManager.Status.Finalized));
        epochs.challengeExclusion(e, target, quorum);
    }

    function test_exclusionChallengeOfAVoidedResultIsRefused() public {
        (uint256 e, address target, IEpochManager.Attestation[] memory quorum) = excluded(3);
        vm.prank(watcher);
        epochs.challengeExclusion(e, target, quorum);
        vm.prank(watcher);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.WrongStatus.selector, e, IEpochManager.Status.Open));
        epochs.challengeExclusion(e, target, quorum);
    }

    /// The exclusion challenge validates its attestations exactly as a result's.
    function test_exclusionChallengeRefusesBadAttestations() public {
        (uint256 e, address target, IEpochManager.Attestation[] memory quorum) = excluded(3);
        IEpochManager.Attestation memory keep = quorum[1];
        quorum[1] = quorum[0];
        vm.prank(watcher);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.AttestationsNotAscending.selector, 1));
        epochs.challengeExclusion(e, target, quorum);
        quorum[1] = keep;
        quorum[2].signature = sign(keyOf(quorum[2].operator), epochs.availabilityDigest(e + 1, quorum[2].heldMask));
        vm.prank(watcher);
        vm.expectRevert(bad(e, quorum[2].operator));
        epochs.challengeExclusion(e, target, quorum);
        quorum[2] = attest(e, quorum[2].operator, 1 << C);
        vm.prank(watcher);
        vm.expectRevert(abi.encodeWithSelector(IEpochManager.AttestationMaskTooWide.selector, e, quorum[2].operator));
        epochs.challengeExclusion(e, target, quorum);
    }

    /// An honest aggregator includes every operator that f + 1 others attest. Whatever the
    /// masks, an operator it leaves out has at most f honest attestations, and up to f
    /// Byzantine operators that withheld theirs and now attest everything bring it to at
    /// most 2f < 2f + 1: no exclusion challenge against it succeeds.
    function testFuzz_honestAggregatorSurvivesEveryExclusionChallenge(uint256 seed, uint16 byzantineBits) public {
        uint256 e = openWith(C);
        // up to f Byzantine operators
        uint256 byz;
        for (uint256 i; i < C && _popcount(byz) < F; ++i) {
            if ((byzantineBits >> i) & 1 == 1) byz |= 1 << i;
        }
        uint256 honest = ALL & ~byz;
        uint256[] memory masks = new uint256[](C);
        for (uint256 i; i < C; ++i) {
            uint256 rnd = uint256(keccak256(abi.encode(seed, i)));
            // honest: each bit held with probability 1/4, 1/2 or 3/4 (by seed)
            uint256 held = seed % 3 == 0 ? rnd & (rnd >> 32) : seed % 3 == 1 ? rnd : rnd | (rnd >> 32);
            masks[i] = (byz >> i) & 1 == 1 ? ALL : ALL & held;
        }
        // the aggregator saw the honest attestations only (the Byzantine ones withheld)
        uint256 set = derive(masks, honest, F);
        submit(e, attestSome(e, masks, honest), resultFor(e, set));
        // the challenger has everything: honest and Byzantine attestations
        IEpochManager.Attestation[] memory all = attestSome(e, masks, ALL);
        address[] memory c = epochs.committedSorted(e);
        for (uint256 j; j < C; ++j) {
            if ((set >> j) & 1 == 1) continue;
            uint256 have = holdersOf(masks, ALL, j);
            assertLe(have, 2 * F);
            vm.prank(watcher);
            vm.expectRevert(abi.encodeWithSelector(IEpochManager.ExclusionQuorumNotMet.selector, e, have, 2 * F + 1));
            epochs.challengeExclusion(e, c[j], all);
        }
        assertEq(uint8(epochs.getEpoch(e).status), uint8(IEpochManager.Status.Submitted));
    }

    // ---------------------------------------------------------------- vectors

    /// `availabilityDigest` is the digest of tests/vectors/availability.json (Python's), for
    /// each case's chain and AVS, and the vectors' signatures recover to their signers.
    function test_availabilityDigestMatchesThePythonVectors() public {
        string memory json = vm.readFile("../tests/vectors/availability.json");
        FakeServiceManager fake = new FakeServiceManager();
        uint256 c;
        for (; vm.keyExistsJson(json, string.concat(".cases[", vm.toString(c), "]")); ++c) {
            string memory p = string.concat(".cases[", vm.toString(c), "]");
            uint256 chainId = vm.parseJsonUint(json, string.concat(p, ".chain_id"));
            address avsAddr = vm.parseJsonAddress(json, string.concat(p, ".avs"));
            uint256 e = vm.parseJsonUint(json, string.concat(p, ".epoch"));
            uint256 mask = vm.parseUint(vm.parseJsonString(json, string.concat(p, ".held_mask")));
            vm.etch(avsAddr, address(fake).code);
            EpochManager em = new EpochManager(
                P2pflServiceManager(avsAddr), IKrumVerifier(address(verifier)), defaultParams(), 0, address(this)
            );
            vm.chainId(chainId);
            bytes32 digest = em.availabilityDigest(e, mask);
            assertEq(digest, vm.parseJsonBytes32(json, string.concat(p, ".digest")));
            bytes memory sig = vm.parseJsonBytes(json, string.concat(p, ".attestation.signature"));
            assertEq(ECDSA.recover(digest, sig), vm.parseJsonAddress(json, string.concat(p, ".signer")));
        }
        assertEq(c, 3, "all vector cases read");
    }
}

/// @notice Gas of `submitResult` with 8 and 16 attestations (all held, everyone included,
/// k = 64, the CNN's 731 leaf hashes, the mock verifier: add the real verifier's cost),
/// and of one attestation: the difference between 16 and 8 attestations over the same 16
/// committed operators and the same result, per attestation. Execution gas of the call;
/// the calldata's intrinsic cost is printed apart.
contract EpochAvailabilityGasTest is AvailabilityBase {
    function setUp() public override {
        super.setUp();
        for (uint256 i = C; i < 16; ++i) {
            (address op, uint256 key) = makeAddrAndKey(string.concat("operator", vm.toString(i)));
            addOperator(op, key, STAKE * (i + 1));
        }
    }

    function allHeld(uint256 c) internal pure returns (uint256[] memory masks) {
        masks = new uint256[](c);
        for (uint256 i; i < c; ++i) {
            masks[i] = (1 << c) - 1;
        }
    }

    /// @dev The calldata of an honest `submitResult` of `e` for `set` with `atts`.
    function submitCall(uint256 e, IEpochManager.Attestation[] memory atts, uint256 set)
        internal
        view
        returns (bytes memory)
    {
        Result memory r = resultFor(e, set);
        return
            abi.encodeCall(epochs.submitResult, (e, modelLeafHashes(1), atts, r.sketches, r.selectedMask, 0, r.proof));
    }

    /// @dev Gas the call `data` from the aggregator of `e` used (execution, EIP-150 call
    /// included), and its calldata's intrinsic cost (4 per zero byte, 16 per other byte).
    function run(uint256 e, bytes memory data) internal returns (uint256 used, uint256 calldataGas) {
        vm.prank(epochs.getEpoch(e).aggregator);
        (bool ok,) = address(epochs).call(data);
        assertTrue(ok, "submitResult");
        used = vm.lastCallGas().gasTotalUsed;
        for (uint256 i; i < data.length; ++i) {
            calldataGas += data[i] == 0 ? 4 : 16;
        }
    }

    function test_gasOfSubmitResultWith8Attestations() public {
        uint256 e = openWith(8);
        bytes memory data = submitCall(e, attestSome(e, allHeld(8), 0xff), 0xff);
        (uint256 used, uint256 cd) = run(e, data);
        console.log("submitResult, 8 committed, 8 attestations: gas", used);
        console.log("  calldata bytes", data.length, "calldata gas", cd);
        assertEq(epochs.resultOperators(e).length, 8);
    }

    function test_gasOfSubmitResultWith16Attestations() public {
        uint256 e = openWith(16);
        bytes memory data = submitCall(e, attestSome(e, allHeld(16), 0xffff), 0xffff);
        (uint256 used, uint256 cd) = run(e, data);
        console.log("submitResult, 16 committed, 16 attestations: gas", used);
        console.log("  calldata bytes", data.length, "calldata gas", cd);
        assertEq(epochs.resultOperators(e).length, 16);
    }

    /// The same result over 16 committed operators, posted with 16 and with 8 attestations
    /// (8 attestations of everything include everybody: 7 or 8 others >= f + 1 = 4), from
    /// the same state: the difference is the cost of 8 attestations.
    function test_gasPerAttestation() public {
        uint256 e = openWith(16);
        bytes memory with16 = submitCall(e, attestSome(e, allHeld(16), 0xffff), 0xffff);
        bytes memory with8 = submitCall(e, attestSome(e, allHeld(16), 0xff), 0xffff);
        uint256 snap = vm.snapshotState();
        run(e, with16); // warm-up: both measured calls meet the same warm or cold state
        vm.revertToState(snap);
        (uint256 g8, uint256 cd8) = run(e, with8);
        vm.revertToState(snap);
        (uint256 g16, uint256 cd16) = run(e, with16);
        console.log("per attestation (16 committed): execution gas", (g16 - g8) / 8);
        console.log("  calldata bytes", (with16.length - with8.length) / 8, "calldata gas", (cd16 - cd8) / 8);
        assertLt((g16 - g8) / 8, 20_000);
    }
}

/// @notice A service manager stand-in for deploying an EpochManager at a vector's AVS
/// address: only what the constructor reads (its code is etched there, so no storage).
contract FakeServiceManager {
    FakeCore internal immutable core = new FakeCore();

    function allocationManager() external view returns (FakeCore) {
        return core;
    }

    function strategy() external view returns (FakeCore) {
        return core;
    }
}

contract FakeCore {
    function DEALLOCATION_DELAY() external pure returns (uint32) {
        return type(uint32).max;
    }

    function underlyingToken() external pure returns (address) {
        return address(0x7070);
    }
}
