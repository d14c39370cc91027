// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/// @title IEpochManager
/// @notice The types, custom errors and events of the EpochManager: what an off-chain
/// client decodes (the Python side mirrors `SlashReason` in `p2pfl.chain.slashing`).
interface IEpochManager {
    // ------------------------------------------------------------------ types

    /// @notice The lifecycle of an epoch.
    enum Status {
        None,
        Open,
        Submitted,
        Finalized
    }

    /// @notice Why an operator was slashed. Append new reasons at the end only: the
    /// numeric value is what events carry and what clients decode.
    enum SlashReason {
        /// The proven Multi-Krum computation flagged the operator's update.
        Flagged,
        /// The aggregator posted a sketch that a challenge showed to be wrong.
        WrongSketch,
        /// The aggregator let its submit deadline pass.
        MissedDeadline,
        /// The aggregator posted a model that a model challenge showed to be wrong.
        WrongModel,
        /// The operator's committed update is above the norm bound (a norm proof).
        NormViolation,
        /// The aggregator left out an operator that an exclusion challenge showed available
        /// (`challengeExclusion`: `exclusionQuorum` attestations of it by others).
        WrongfulExclusion
    }

    /// @notice A committed operator's availability attestation: its EIP-712 signature
    /// (65 bytes, `r ‖ s ‖ v`) over `Availability(uint256 epoch,uint256 heldMask)` in the
    /// domain `{name: "p2pfl", version: "1", chainId, verifyingContract: the AVS service
    /// manager}`. Bit `i` of `heldMask` is the `i`-th operator that committed in the epoch,
    /// in ascending address order (`committedSorted`): the updates whose bytes the operator
    /// fetched and checked against their roots.
    struct Attestation {
        address operator;
        uint256 heldMask;
        bytes signature;
    }

    // ------------------------------------------------------------------ errors

    /// @notice `epoch` is not the current epoch (or was never opened).
    error WrongEpoch(uint256 epoch, uint256 current);
    /// @notice `epoch` is in `status`, which does not allow the call.
    error WrongStatus(uint256 epoch, Status status);
    /// @notice A new epoch cannot open before `epoch` is finalized.
    error PreviousEpochNotFinalized(uint256 epoch);
    /// @notice No registered operator has a stake at or above the minimum.
    error NoOperators();
    /// @notice `operator` is not in the operator snapshot of `epoch`.
    error NotInRoster(uint256 epoch, address operator);
    /// @notice `operator` already committed an update in `epoch`.
    error AlreadyCommitted(uint256 epoch, address operator);
    /// @notice An update commitment must not be zero.
    error ZeroDigest();
    /// @notice The commit phase of `epoch` closed in block `closeBlock` (its deadline, or
    /// the block of the last roster member's commit).
    error CommitClosed(uint256 epoch, uint64 closeBlock);
    /// @notice The commit phase of `epoch` has not closed yet: it closes in `closeBlock` at
    /// the latest, so the seed (`blockhash(closeBlock)`) is not known.
    error CommitStillOpen(uint256 epoch, uint64 closeBlock);
    /// @notice Only the drawn aggregator of `epoch`'s current attempt may submit its result.
    error NotAggregator(uint256 epoch, address caller, address aggregator);
    /// @notice The submit deadline of `epoch` has passed.
    error SubmitClosed(uint256 epoch, uint64 deadline);
    /// @notice The submit deadline of `epoch` has not passed yet.
    error SubmitStillOpen(uint256 epoch, uint64 deadline);
    /// @notice `blockhash(closeBlock)` of `epoch` can no longer be read (256 blocks passed).
    error SeedUnavailable(uint256 epoch);
    /// @notice `epoch` has `committed` participants, fewer than the minimum.
    error TooFewParticipants(uint256 epoch, uint256 committed);
    /// @notice The attestations are not in strictly ascending operator order at `index`
    /// (a repeated operator included: one attestation counts per operator).
    error AttestationsNotAscending(uint256 index);
    /// @notice An attestation of `epoch` is by `operator`, which did not commit in it.
    error AttestorNotCommitted(uint256 epoch, address operator);
    /// @notice `operator`'s attestation of `epoch` sets bits at or beyond the committed count.
    error AttestationMaskTooWide(uint256 epoch, address operator);
    /// @notice `operator`'s attestation does not carry its signature over its mask in
    /// `epoch`, this chain and this AVS (malformed, another signer, epoch or domain).
    error BadAttestationSignature(uint256 epoch, address operator);
    /// @notice Fewer than three operators are included in the result of `epoch`, so it must
    /// be empty: no model leaf hashes, sketches or proof, and both masks zero.
    error EmptyResultMalformed(uint256 epoch);
    /// @notice `operator` did not commit in `epoch`, or the result includes it: there is no
    /// exclusion to challenge.
    error NotExcluded(uint256 epoch, address operator);
    /// @notice An exclusion challenge in `epoch` carries `have` valid attestations of the
    /// operator by others, fewer than the `need` (`exclusionQuorum`) it takes.
    error ExclusionQuorumNotMet(uint256 epoch, uint256 have, uint256 need);
    /// @notice The result posts `length` model leaf hashes instead of `expected`
    /// (`ceil(modelDim / 64)`).
    error ModelLeafHashesWrong(uint256 length, uint256 expected);
    /// @notice The result carries `length` sketch entries instead of `expected`.
    error BadSketchLength(uint256 length, uint256 expected);
    /// @notice Sketch entry `index` lies outside (−2^47, 2^47).
    error SketchEntryOutOfRange(uint256 index, int256 value);
    /// @notice A selection or flag mask has bits beyond the operators (or n > 255).
    error BadMask();
    /// @notice The selection holds `selected` operators instead of `expected` (n − f).
    error BadSelectionSize(uint256 selected, uint256 expected);
    /// @notice The result selects operators it also flags (`both`, a mask): a flagged
    /// operator is never selected.
    error FlaggedSelected(uint256 epoch, uint256 both);
    /// @notice The Krum proof of the result of `epoch` does not verify.
    error InvalidProof(uint256 epoch);
    /// @notice The challenge window of `epoch` has closed.
    error ChallengeClosed(uint256 epoch, uint64 deadline);
    /// @notice The challenge window of `epoch` is still open.
    error ChallengeStillOpen(uint256 epoch, uint64 deadline);
    /// @notice `open` sketch challenges of `epoch` are still open: prove or close them
    /// (`closeSketchChallenge`, ids from `sketchChallengeIds`) before finalizing.
    error SketchChallengesOpen(uint256 epoch, uint256 open);
    /// @notice Nothing is credited to `account`.
    error NothingOwed(address account);
    /// @notice Sending `amount` to `to` failed.
    error TransferFailed(address to, uint256 amount);
    /// @notice The constructor's parameters are out of range (`maxAttempts` must be >= 1).
    error BadParams();
    /// @notice The allocation manager keeps a deregistered operator slashable for `delay`
    /// blocks, shorter than the `span` blocks an epoch's operators must stay slashable
    /// (`commitBlocks + maxAttempts × (submitBlocks + 2 × challengeBlocks)`).
    error DeallocationDelayTooShort(uint32 delay, uint256 span);
    /// @notice A reward pool deposit must not be zero.
    error ZeroAmount();
    /// @notice A slashing transaction had `left` gas where the slash needs `needed`: send
    /// it with more gas (a slash is never allowed to fail for lack of gas).
    error SlashGasTooLow(uint256 needed, uint256 left);
    /// @notice There is no pending slash `id` (or it was applied already).
    error NoPendingSlash(uint256 id);

    // ------------------------------------------------------------------ events

    /// @notice Epoch `epoch` opened with these deadlines (the submit deadline as if the
    /// commit phase ran to its deadline), on top of the model `baseModel`. No aggregator
    /// yet: it is drawn from the seed, known only once the commit phase has closed.
    event EpochOpened(uint256 indexed epoch, uint64 commitDeadline, uint64 submitDeadline, bytes32 baseModel);
    /// @notice `operator` committed the update digest `digest` in `epoch`.
    event UpdateCommitted(uint256 indexed epoch, address indexed operator, bytes32 digest);
    /// @notice Every roster member of `epoch` has committed: the commit phase closed early,
    /// in `closeBlock`, and the submit deadline moved to `closeBlock + submitBlocks`.
    event CommitPhaseClosed(uint256 indexed epoch, uint64 closeBlock, uint64 submitDeadline);
    /// @notice The seed of `epoch`, `blockhash(closeBlock)`, was recorded, and `aggregator`
    /// drawn from it for the current attempt.
    event SeedRecorded(uint256 indexed epoch, bytes32 seed, address aggregator);
    /// @notice `aggregator` posted the result of `epoch`: the new model's digest, the
    /// sketches of the (ascending) `operators` (the included set the attestations derive),
    /// and the selection and flag bitmasks. An empty result (fewer than three operators
    /// included) has the base model as digest, no sketches and zero masks.
    event ResultSubmitted(
        uint256 indexed epoch,
        address indexed aggregator,
        bytes32 modelDigest,
        bytes32 seed,
        address[] operators,
        int256[] sketches,
        uint256 selectedMask,
        uint256 flagMask
    );
    /// @notice An upheld challenge by `challenger` voided `aggregator`'s result of `epoch`.
    event ResultVoided(uint256 indexed epoch, address indexed aggregator, address challenger);
    /// @notice `challenger` showed that the result of `epoch` wrongly left out `operator`
    /// (an upheld exclusion challenge; `ResultVoided` follows).
    event ExclusionChallenged(uint256 indexed epoch, address indexed operator, address challenger);
    /// @notice `aggregator` let the submit deadline of `epoch` pass.
    event AggregatorTimedOut(uint256 indexed epoch, address indexed aggregator);
    /// @notice `epoch` passed to `aggregator` (drawn for rotation `attempt`) with a new submit
    /// deadline.
    event AggregatorRotated(uint256 indexed epoch, uint32 attempt, address aggregator, uint64 submitDeadline);
    /// @notice All `attempts` aggregator attempts of `epoch` (the deployment's `maxAttempts`)
    /// timed out or were voided: the epoch is skipped (`EpochSkipped` follows).
    event AttemptsExhausted(uint256 indexed epoch, uint32 attempts);
    /// @notice The result of `epoch` stands: `modelDigest` is the new model.
    event EpochFinalized(uint256 indexed epoch, bytes32 modelDigest, uint256 flagMask);
    /// @notice `epoch` ended without a new model (`committed` commitments, a lost seed, its
    /// aggregator attempts exhausted, or an empty result finalized).
    event EpochSkipped(uint256 indexed epoch, uint256 committed);
    /// @notice `operator` was slashed by `wad` (1e18 = all) of its allocation in `epoch`
    /// for `reason` (also when a retry applies a pending slash).
    event SlashApplied(uint256 indexed epoch, address indexed operator, uint256 wad, SlashReason reason);
    /// @notice Slashing `operator` in `epoch` for `reason` reverted with `error` (never for
    /// lack of gas); the epoch went on regardless and the slash is pending (`SlashPending`).
    event SlashFailed(uint256 indexed epoch, address indexed operator, SlashReason reason, bytes error);
    /// @notice The failed slash of `operator` in `epoch` is kept as pending slash `id`;
    /// anyone may retry it with `retrySlash(id)`.
    event SlashPending(uint256 indexed id, uint256 indexed epoch, address indexed operator);
    /// @notice `amount` wei (a challenge bond) was credited to `account`, to withdraw.
    event Credited(address indexed account, uint256 amount);
    /// @notice `amount` stake tokens were credited to `challenger` from the reward pool for
    /// its upheld challenge in `epoch`, whose slash removed `lost` tokens of the aggregator's
    /// stake (`amount = min(lost × rewardShareWad / 1e18, pool)`).
    event RewardCredited(uint256 indexed epoch, address indexed challenger, uint256 amount, uint256 lost);
    /// @notice `account` withdrew `amount` wei and `tokens` stake tokens.
    event Withdrawn(address indexed account, uint256 amount, uint256 tokens);
    /// @notice `from` added `amount` stake tokens to the challenger reward pool.
    event RewardsFunded(address indexed from, uint256 amount);
}
