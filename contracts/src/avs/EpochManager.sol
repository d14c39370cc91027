// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IEpochManager} from "../interfaces/IEpochManager.sol";
import {IKrumVerifier} from "../interfaces/IKrumVerifier.sol";
import {Attestations} from "./Attestations.sol";
import {Election} from "./Election.sol";
import {MerkleRoot} from "./MerkleRoot.sol";
import {P2pflServiceManager} from "./P2pflServiceManager.sol";
import {ResultChallenges} from "./ResultChallenges.sol";
import {UpdateChunk} from "./UpdateChunk.sol";

/// @title EpochManager
/// @notice The epoch of DESIGN.md on chain: block deadlines, update commitments (Merkle
/// roots of the int32 updates), the stake-weighted aggregator election, results checked by
/// a Krum proof verifier over the operators that availability attestations include, the v2
/// challenges (`ResultChallenges`: model, chunked sketch, norm proof; here: exclusion), the
/// timeout path, and finalization, which slashes the operators the proven computation flagged.
///
/// Epoch `e` opens with a snapshot of the operator set and its stakes. Operators commit
/// update digests until the commit phase closes: at `commitDeadline`, or in the block
/// where the last roster member commits (`closeBlock`, whichever comes first). The seed
/// is `blockhash(closeBlock)`, and the aggregator of attempt `a` is drawn by stake, among
/// the roster members that committed (`candidates`) and were not drawn at an earlier
/// attempt, from `keccak256(seed ‖ "aggregator" ‖ uint32 a)` (the linked `Election`
/// library): nobody knows it before every update is committed, an operator that did not
/// commit is never drawn, and a voided or silent aggregator never gets the epoch back.
/// The aggregator submits until `submitDeadline`
/// (`closeBlock + submitBlocks`); then anyone may challenge until `challengeDeadline`,
/// then finalize. A voided result or a silent aggregator passes the epoch to the next
/// draw with a fresh submit deadline, at most `maxAttempts` attempts in all: past them
/// the epoch is skipped (`AttemptsExhausted`, `EpochSkipped`).
///
/// Availability (DESIGN.md, the epoch, steps 5-7): a result carries the committed
/// operators' signed attestations (`Attestation`, checked by the linked `Attestations`
/// library); the contract derives from them the included set, the committed operators that
/// at least `f_c + 1` other operators hold (`f_c = byzantineBound(c)`, `c` committed), and
/// checks the proof against sketches of exactly that set. An operator that commits and
/// never serves its bytes is left out, so nobody stalls an epoch by staying silent. With
/// fewer than three included operators the result is empty (no model, no proof) and its
/// finalization skips the epoch. A result that leaves out an operator that
/// `exclusionQuorum(c)` others attest is voided by `challengeExclusion`.
///
/// Challenge economics: a challenge sends `challengeBond` wei, returned when upheld (or
/// moot), forfeited to the aggregator otherwise. An upheld challenge's reward is paid in
/// the stake token from a funded pool (`fundRewards`) and only out of what the aggregator's
/// slash actually removed: `min(lost × rewardShareWad / 1e18, pool)`, `rewardShareWad < 1`,
/// so challenging oneself loses `lost × (1 − rewardShareWad)`. A slash the core refuses is
/// pending (`retrySlash`), and its reward is credited when a retry applies it. The
/// constructor refuses an allocation manager whose `DEALLOCATION_DELAY` is shorter than
/// the span an epoch's operators must stay slashable, so deregistering inside a window does
/// not escape a slash.
/// @dev Its status and slash-reason enums, custom errors and events are declared in
/// `IEpochManager`.
contract EpochManager is IEpochManager, ResultChallenges, Ownable, ReentrancyGuard {
    using SafeERC20 for IERC20;

    /// @notice BN254 scalar field: public inputs of the proof are field elements.
    /// @notice Sketch entries per public input of the proof, and their bound (exclusive).
    uint256 public constant SKETCH_PACK = 5;
    int256 public constant SKETCH_ENTRY_BOUND = 2 ** 47;
    uint256 public constant FIELD_MODULUS =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    uint256 public constant MIN_PARTICIPANTS = 3; // Krum needs n >= 2f + 3 with f >= 0
    /// @notice rho's numerator and denominator are below this (the circuit's range check).
    uint256 public constant RHO_LIMIT = 2 ** 16;
    /// @notice Gas a slash is given through the service manager into the core. The real
    /// core's `slashOperator` (delegation and strategy managers included) costs 410-460 k;
    /// this leaves room for a heavier core. A slashing transaction with less gas left
    /// reverts (`SlashGasTooLow`) instead of landing in the `catch`: gas estimation settles
    /// on the cheapest limit at which a transaction succeeds, and a swallowed out-of-gas
    /// slash would otherwise be that limit.
    uint256 public constant SLASH_GAS = 1_000_000;
    /// @notice Gas kept back for the bookkeeping after the call (EIP-150 forwards 63/64).
    uint256 public constant SLASH_GAS_MARGIN = 60_000;
    /// @notice Public inputs before the packed sketches: epoch, seed, n, f, rho_num, rho_den.
    uint256 public constant HEAD_INPUTS = 6;

    struct Params {
        uint64 commitBlocks;
        uint64 submitBlocks;
        uint64 challengeBlocks;
        uint32 sketchDim;
        /// @dev Entries (int32) of the model and of every update: the Merkle trees' size.
        uint32 modelDim;
        uint32 maxByzantine;
        /// @dev Flag rule: operator i is flagged iff flagRhoDen * score_i > flagRhoNum * T,
        /// T the largest selected score; 1 <= flagRhoDen <= flagRhoNum < RHO_LIMIT.
        uint32 flagRhoNum;
        uint32 flagRhoDen;
        /// @dev Aggregator attempts per epoch (>= 1): a timeout or an upheld challenge on
        /// attempt `maxAttempts - 1` skips the epoch instead of rotating.
        uint32 maxAttempts;
        uint256 flagSlashWad;
        uint256 aggregatorSlashWad;
        uint256 timeoutSlashWad;
        /// @dev Slash of an operator whose update a norm proof showed above the bound.
        uint256 normSlashWad;
        /// @dev Wei a challenge sends (returned if upheld, else forfeited to the aggregator).
        uint256 challengeBond;
        /// @dev Share (< 1e18) of the stake an upheld challenge's slash removed that the
        /// challenger is paid, in stake tokens from the reward pool.
        uint256 rewardShareWad;
        /// @dev Bound on an update's `Σ q²` (fixed point), above which it is slashable.
        uint256 normBoundSq;
        /// @dev N_max, the largest committee: the largest `n` a Krum verifier is deployed
        /// for (3 ..= 255). A larger operator set sits a stake-weighted committee per epoch.
        uint32 committeeSize;
    }

    struct PendingSlash {
        uint256 epoch;
        address operator;
        uint256 wad;
        SlashReason reason;
        bool done;
        /// @dev Whose upheld challenge the slash punishes (rewarded when a retry applies it);
        /// address(0) for slashes without a challenger.
        address challenger;
    }

    struct Epoch {
        Status status;
        uint32 attempt;
        uint64 openBlock;
        uint64 commitDeadline;
        /// @dev The block the commit phase closed in: `commitDeadline`, or earlier the
        /// block of the last roster member's commit. Commits are accepted up to it.
        uint64 closeBlock;
        uint64 submitDeadline;
        uint64 challengeDeadline;
        /// @dev The current attempt's aggregator; address(0) until the seed is recorded.
        address aggregator;
        bytes32 seed;
        bytes32 baseModel;
        bytes32 modelDigest;
        uint256 selectedMask;
        uint256 flagMask;
        uint256 totalStake;
    }

    P2pflServiceManager public immutable serviceManager;
    IKrumVerifier public immutable verifier;
    /// @notice The stake token (the strategy's underlying token): challenger rewards.
    IERC20 public immutable rewardToken;
    Params private _params;

    uint256 public currentEpoch;
    bytes32 public latestModel;
    /// @notice Stake tokens left in the challenger reward pool.
    uint256 public rewardPool;
    /// @notice Wei credited to `account` (bonds), to withdraw.
    mapping(address account => uint256) public owed;
    /// @notice Stake tokens credited to `account` (rewards), to withdraw.
    mapping(address account => uint256) public owedTokens;

    mapping(uint256 epoch => Epoch) private _epochs;
    mapping(uint256 epoch => address[]) private _roster;
    mapping(uint256 epoch => uint256[]) private _rosterStake;
    mapping(uint256 epoch => mapping(address => bool)) public inRoster;
    mapping(uint256 epoch => mapping(address => bytes32)) public commitmentOf;
    mapping(uint256 epoch => address[]) private _committed;
    mapping(uint256 epoch => address[]) private _resultOperators;
    mapping(uint256 epoch => bytes32[]) private _sketchHashes;
    /// @dev Slashes the core refused for a reason other than gas, to retry (`retrySlash`).
    PendingSlash[] private _pendingSlashes;

    constructor(
        P2pflServiceManager serviceManager_,
        IKrumVerifier verifier_,
        Params memory params_,
        bytes32 genesisModel,
        address owner_
    ) Ownable(owner_) {
        if (
            params_.sketchDim == 0 || params_.commitBlocks == 0 || params_.submitBlocks == 0
                || params_.challengeBlocks == 0 || params_.flagSlashWad > 1e18 || params_.aggregatorSlashWad > 1e18
                || params_.timeoutSlashWad > 1e18 || params_.flagRhoDen == 0 || params_.flagRhoNum < params_.flagRhoDen
                || params_.flagRhoNum >= RHO_LIMIT || params_.maxAttempts == 0 || params_.modelDim == 0
                || UpdateChunk.chunkCount(params_.modelDim) > 255 || params_.normSlashWad > 1e18
                || params_.normBoundSq == 0 || params_.rewardShareWad >= 1e18
                || params_.committeeSize < MIN_PARTICIPANTS || params_.committeeSize > 255
        ) revert BadParams();
        // Longest an operator of an epoch must stay slashable after the epoch opened: the
        // commit phase, then per attempt the submit phase, the challenge window and the
        // deadline of a sketch challenge opened in its last block.
        uint256 span = uint256(params_.commitBlocks) + uint256(params_.maxAttempts)
            * (uint256(params_.submitBlocks) + 2 * uint256(params_.challengeBlocks));
        uint32 delay = serviceManager_.allocationManager().DEALLOCATION_DELAY();
        if (delay < span) revert DeallocationDelayTooShort(delay, span);
        serviceManager = serviceManager_;
        verifier = verifier_;
        rewardToken = serviceManager_.strategy().underlyingToken();
        _params = params_;
        latestModel = genesisModel;
    }

    // ------------------------------------------------------------------ epoch flow

    /// @notice Open the next epoch: snapshot its roster and stakes. Up to `committeeSize`
    /// registered operators, the roster is the whole operator set; above it, a committee of
    /// at most `committeeSize` operators drawn by stake (`P2pflServiceManager.sampleCommittee`)
    /// from the previous epoch's seed (or, with none recorded, the previous block's hash):
    /// the gas is then bounded by the committee's size, not the operator set's. The
    /// aggregator is drawn later, from the seed (`recordSeed`). Anyone may call it once the
    /// previous epoch is finalized.
    function openEpoch() external returns (uint256 epoch) {
        uint256 prev = currentEpoch;
        if (prev != 0 && _epochs[prev].status != Status.Finalized) revert PreviousEpochNotFinalized(prev);
        uint256 size = _params.committeeSize;
        address[] memory ops;
        uint256[] memory stakes;
        if (serviceManager.operatorCount() > size) {
            bytes32 from = _epochs[prev].seed;
            if (from == bytes32(0)) from = blockhash(block.number - 1);
            (ops, stakes) = serviceManager.sampleCommittee(from, size);
        } else {
            (ops, stakes) = serviceManager.operatorsWithStakes();
        }
        uint256 minimum = serviceManager.minimumStake();
        epoch = prev + 1;
        uint256 total;
        for (uint256 i; i < ops.length; ++i) {
            if (stakes[i] == 0 || stakes[i] < minimum) continue;
            _roster[epoch].push(ops[i]);
            _rosterStake[epoch].push(stakes[i]);
            inRoster[epoch][ops[i]] = true;
            total += stakes[i];
        }
        if (total == 0) revert NoOperators();
        currentEpoch = epoch;
        Epoch storage ep = _epochs[epoch];
        ep.status = Status.Open;
        ep.openBlock = uint64(block.number);
        ep.commitDeadline = uint64(block.number) + _params.commitBlocks;
        ep.closeBlock = ep.commitDeadline;
        ep.submitDeadline = ep.commitDeadline + _params.submitBlocks;
        ep.baseModel = latestModel;
        ep.totalStake = total;
        emit EpochOpened(epoch, ep.commitDeadline, ep.submitDeadline, ep.baseModel);
    }

    /// @notice Commit the digest (the Merkle root, `MerkleRoot`, of the `modelDim` int32
    /// entries) of the caller's update for `epoch`, once, while the commit phase is open. The last roster
    /// member's commit closes the phase in its block (`CommitPhaseClosed`).
    function commitUpdate(uint256 epoch, bytes32 digest) external {
        Epoch storage ep = _open(epoch);
        if (block.number > ep.closeBlock) revert CommitClosed(epoch, ep.closeBlock);
        if (!inRoster[epoch][msg.sender]) revert NotInRoster(epoch, msg.sender);
        if (commitmentOf[epoch][msg.sender] != bytes32(0)) revert AlreadyCommitted(epoch, msg.sender);
        if (digest == bytes32(0)) revert ZeroDigest();
        commitmentOf[epoch][msg.sender] = digest;
        _committed[epoch].push(msg.sender);
        emit UpdateCommitted(epoch, msg.sender, digest);
        if (_committed[epoch].length == _roster[epoch].length) {
            ep.closeBlock = uint64(block.number);
            ep.submitDeadline = ep.closeBlock + _params.submitBlocks;
            emit CommitPhaseClosed(epoch, ep.closeBlock, ep.submitDeadline);
        }
    }

    /// @notice Record `blockhash(closeBlock)` as the epoch's seed and draw the aggregator of
    /// the current attempt from it. Anyone may call it once the commit phase has closed
    /// (from `closeBlock + 1`, within 256 blocks); submitting a result or reporting a
    /// timeout records it too.
    function recordSeed(uint256 epoch) public returns (bytes32 seed) {
        Epoch storage ep = _epochs[epoch];
        if (ep.status == Status.None) revert WrongEpoch(epoch, currentEpoch);
        seed = ep.seed;
        if (seed != bytes32(0)) return seed;
        if (block.number <= ep.closeBlock) revert CommitStillOpen(epoch, ep.closeBlock);
        seed = blockhash(ep.closeBlock);
        if (seed == bytes32(0)) revert SeedUnavailable(epoch);
        ep.seed = seed;
        ep.aggregator = _elect(epoch, ep.attempt);
        emit SeedRecorded(epoch, seed, ep.aggregator);
    }

    /// @notice The aggregator posts the epoch's result: the hashes of the new model's
    /// `ceil(modelDim / 64)` leaves (its root, the model digest, is derived from them, so
    /// every leaf of the posted model can be proven by anyone from this calldata), the
    /// availability attestations it received, the sketch of every included update
    /// (operators in ascending address order, `k` entries each), the Multi-Krum selection
    /// and the flags as bitmasks over that order, and the proof.
    /// @dev The attestations (strictly ascending by operator, each by a committed operator,
    /// masks within the `c` committed, signatures valid: else the `Attestations` library's
    /// errors) derive the included set: committed operator `j` is included iff at least
    /// `byzantineBound(c) + 1` of them by operators other than `j` hold it. With `n >= 3`
    /// included, the sketches, masks and proof are checked against exactly that set. With
    /// fewer, the result is empty: no leaf hashes, sketches or proof and zero masks (else
    /// `EmptyResultMalformed`); it is stored unproven with the base model as digest, so its
    /// exclusions can be challenged, and its finalization skips the epoch. Reverts
    /// `TooFewParticipants` when fewer than three operators committed (`finalize` skips
    /// such an epoch without a result).
    function submitResult(
        uint256 epoch,
        bytes32[] calldata modelLeafHashes,
        Attestation[] calldata attestations,
        int256[] calldata sketches,
        uint256 selectedMask,
        uint256 flagMask,
        bytes calldata proof
    ) external {
        Epoch storage ep = _open(epoch);
        bytes32 seed = recordSeed(epoch); // draws the aggregator
        if (msg.sender != ep.aggregator) revert NotAggregator(epoch, msg.sender, ep.aggregator);
        if (block.number > ep.submitDeadline) revert SubmitClosed(epoch, ep.submitDeadline);
        uint256 c = _committed[epoch].length;
        if (c < MIN_PARTICIPANTS) revert TooFewParticipants(epoch, c);
        uint256 n = Attestations.include(
            address(serviceManager),
            epoch,
            _committed[epoch],
            attestations,
            byzantineBound(c) + 1,
            _resultOperators[epoch]
        );
        bytes32 modelDigest = ep.baseModel;
        if (n < MIN_PARTICIPANTS) {
            if (modelLeafHashes.length | sketches.length | proof.length | selectedMask | flagMask != 0) {
                revert EmptyResultMalformed(epoch);
            }
        } else {
            _checkAndVerify(epoch, seed, n, sketches, selectedMask, flagMask, proof);
            modelDigest = _modelRoot(modelLeafHashes);
        }
        _storeResult(epoch, ep, modelDigest, sketches, selectedMask, flagMask);
    }

    /// @notice Show that the standing result of `epoch` wrongly left out `operator`: with
    /// `attestations` (validated exactly as `submitResult` validates them) of which at least
    /// `exclusionQuorum(c)` by operators other than `operator` hold it. While the result is
    /// challengeable (its window open); no bond: a refused challenge reverts. Upheld: the
    /// result is voided, the epoch passes to the next aggregator (or is skipped after the
    /// last attempt), the aggregator is slashed `aggregatorSlashWad` (`WrongfulExclusion`)
    /// and the caller rewarded out of what the slash removed.
    /// @dev Why `2·f_c + 1` and not the `f_c + 1` that includes an operator: with `f_c + 1`,
    /// up to `f_c` Byzantine operators could withhold their attestations of `j` until an
    /// honest aggregator, having received only one honest attestation of `j`, rightly left
    /// `j` out, then challenge with them, and the honest aggregator would be slashed. Of
    /// `2·f_c + 1` attestations at least `f_c + 1` are honest, and an honest operator's
    /// attestation reaches the aggregator before it posts (it waits for every committed
    /// operator's attestation or its availability timeout), so it included `j`: an honest
    /// aggregator cannot lose an exclusion challenge.
    /// @return upheld Always true (a challenge that proves nothing reverts).
    function challengeExclusion(uint256 epoch, address operator, Attestation[] calldata attestations)
        external
        returns (bool upheld)
    {
        _challengeable(epoch);
        Attestations.checkExclusion(
            address(serviceManager),
            epoch,
            _committed[epoch],
            attestations,
            operator,
            _resultOperators[epoch],
            exclusionQuorum(_committed[epoch].length)
        );
        emit ExclusionChallenged(epoch, operator, msg.sender);
        _void(epoch, msg.sender, SlashReason.WrongfulExclusion);
        return true;
    }

    /// @notice When the aggregator let its submit deadline pass, penalize it and hand the
    /// epoch to the next draw, or skip the epoch after its last attempt. Records the seed
    /// (and so the silent aggregator) if nobody did; reverts `SeedUnavailable` if it can no
    /// longer be read (then `finalize` skips the epoch). Anyone may call it.
    function reportTimeout(uint256 epoch) external {
        Epoch storage ep = _open(epoch);
        if (block.number <= ep.submitDeadline) revert SubmitStillOpen(epoch, ep.submitDeadline);
        uint256 committed = _committed[epoch].length;
        if (committed < MIN_PARTICIPANTS) revert TooFewParticipants(epoch, committed);
        recordSeed(epoch);
        address absent = ep.aggregator;
        emit AggregatorTimedOut(epoch, absent);
        _rotate(epoch, ep);
        _slash(PendingSlash(epoch, absent, _params.timeoutSlashWad, SlashReason.MissedDeadline, false, address(0)));
    }

    /// @notice After the challenge window, once no sketch challenge of the epoch is open
    /// (`SketchChallengesOpen`: prove or close them first), the result stands: flagged
    /// operators are slashed and the new model becomes the next epoch's base. An empty
    /// result (fewer than three operators included) skips the epoch instead (`EpochSkipped`,
    /// the model unchanged, nobody slashed). An epoch with fewer than three
    /// commitments is skipped once its commit phase has closed, and so is one whose seed
    /// was never recorded while `blockhash` could still read it. Anyone may call it.
    function finalize(uint256 epoch) external {
        Epoch storage ep = _epochs[epoch];
        if (ep.status == Status.Open) {
            uint256 committed = _committed[epoch].length;
            if (block.number <= ep.closeBlock) revert CommitStillOpen(epoch, ep.closeBlock);
            // Skip an epoch with too few commitments, or whose seed can no longer be read
            // (nobody recorded blockhash(closeBlock) within 256 blocks).
            bool seedLost = ep.seed == bytes32(0) && block.number > uint256(ep.closeBlock) + 256;
            if (committed >= MIN_PARTICIPANTS && !seedLost) revert WrongStatus(epoch, ep.status);
            _skip(epoch, ep, committed);
            return;
        }
        if (ep.status != Status.Submitted) revert WrongStatus(epoch, ep.status);
        if (block.number <= ep.challengeDeadline) revert ChallengeStillOpen(epoch, ep.challengeDeadline);
        uint256 open = openSketchChallenges[epoch];
        if (open > 0) revert SketchChallengesOpen(epoch, open);
        if (ep.selectedMask == 0) {
            // An empty result (fewer than three included): no model, nobody slashed.
            _skip(epoch, ep, _committed[epoch].length);
            return;
        }
        ep.status = Status.Finalized;
        latestModel = ep.modelDigest;
        emit EpochFinalized(epoch, ep.modelDigest, ep.flagMask);
        address[] storage ops = _resultOperators[epoch];
        uint256 mask = ep.flagMask;
        for (uint256 i; i < ops.length; ++i) {
            if ((mask >> i) & 1 == 1) {
                _slash(PendingSlash(epoch, ops[i], _params.flagSlashWad, SlashReason.Flagged, false, address(0)));
            }
        }
    }

    /// @notice Retry pending slash `id` (one the core refused, see `SlashFailed`), with all
    /// the gas the caller sends. Reverts with the core's error if it fails again, leaving
    /// the slash pending. Anyone may call it. A slash that punishes an upheld challenge
    /// credits the challenger's reward now, out of what it removed.
    function retrySlash(uint256 id) external nonReentrant {
        if (id >= _pendingSlashes.length || _pendingSlashes[id].done) revert NoPendingSlash(id);
        PendingSlash storage p = _pendingSlashes[id];
        p.done = true;
        uint256 before = serviceManager.stakeOf(p.operator);
        serviceManager.slash(p.operator, p.wad, _describe(p.reason));
        emit SlashApplied(p.epoch, p.operator, p.wad, p.reason);
        if (p.challenger != address(0)) _reward(p.epoch, p.challenger, before, p.operator);
    }

    /// @notice Pending slash `id`: what the core refused, and whether a retry applied it.
    function pendingSlash(uint256 id) external view returns (PendingSlash memory) {
        if (id >= _pendingSlashes.length) revert NoPendingSlash(id);
        return _pendingSlashes[id];
    }

    /// @notice How many slashes the core has ever refused (ids `0 .. count − 1`).
    function pendingSlashCount() external view returns (uint256) {
        return _pendingSlashes.length;
    }

    // ------------------------------------------------------------------ payments

    /// @notice Add `amount` stake tokens to the challenger reward pool (pulled from the
    /// caller, which must have approved them).
    function fundRewards(uint256 amount) external nonReentrant {
        if (amount == 0) revert ZeroAmount();
        rewardPool += amount;
        emit RewardsFunded(msg.sender, amount);
        rewardToken.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Withdraw the bonds (wei) and rewards (stake tokens) credited to the caller.
    function withdraw() external nonReentrant {
        uint256 amount = owed[msg.sender];
        uint256 tokens = owedTokens[msg.sender];
        if (amount == 0 && tokens == 0) revert NothingOwed(msg.sender);
        owed[msg.sender] = 0;
        owedTokens[msg.sender] = 0;
        emit Withdrawn(msg.sender, amount, tokens);
        if (tokens != 0) rewardToken.safeTransfer(msg.sender, tokens);
        if (amount != 0) {
            (bool ok,) = msg.sender.call{value: amount}("");
            if (!ok) revert TransferFailed(msg.sender, amount);
        }
    }

    // ------------------------------------------------------------------ views

    /// @notice The network parameters.
    function params() external view returns (Params memory) {
        return _params;
    }

    /// @notice Everything stored about `epoch`.
    function getEpoch(uint256 epoch) external view returns (Epoch memory) {
        return _epochs[epoch];
    }

    /// @notice The operator set snapshot of `epoch` with stakes.
    function roster(uint256 epoch) external view returns (address[] memory, uint256[] memory) {
        return (_roster[epoch], _rosterStake[epoch]);
    }

    /// @notice Operators that committed in `epoch`, in commit order.
    function committed(uint256 epoch) external view returns (address[] memory) {
        return _committed[epoch];
    }

    /// @notice Operators that committed in `epoch`, in ascending address order: bit `i` of
    /// an attestation's `heldMask` is the `i`-th of them.
    function committedSorted(uint256 epoch) external view returns (address[] memory) {
        return Attestations.sorted(_committed[epoch]);
    }

    /// @notice The EIP-712 digest an operator signs to attest that, of the updates committed
    /// in `epoch`, it holds those in `heldMask`: `Availability(uint256 epoch,uint256
    /// heldMask)` in the domain `{name: "p2pfl", version: "1", chainId: block.chainid,
    /// verifyingContract: serviceManager}`.
    function availabilityDigest(uint256 epoch, uint256 heldMask) public view returns (bytes32) {
        return Attestations.digest(address(serviceManager), epoch, heldMask);
    }

    /// @notice Attestations of an excluded operator by others that uphold an exclusion
    /// challenge in an epoch of `committedCount` commitments: `2·byzantineBound(c) + 1`
    /// (see `challengeExclusion` for why not `f_c + 1`).
    function exclusionQuorum(uint256 committedCount) public view returns (uint256) {
        return 2 * byzantineBound(committedCount) + 1;
    }

    /// @notice Operators of the submitted result, in the result's (ascending) order: the
    /// included set its attestations derive.
    function resultOperators(uint256 epoch) external view returns (address[] memory) {
        return _resultOperators[epoch];
    }

    /// @notice The operators the aggregator of `epoch` is drawn from, with their stakes: the
    /// roster members that committed an update, in roster order. Someone who did not commit
    /// (offline, partitioned) is never drawn, so it cannot cost the epoch a rotation nor
    /// be slashed for a deadline it could not know about. Final once the commit phase has
    /// closed. The loop is bounded by the roster, at most `committeeSize`.
    function candidates(uint256 epoch) external view returns (address[] memory, uint256[] memory) {
        return Election.candidates(_roster[epoch], _rosterStake[epoch], commitmentOf[epoch], _committed[epoch].length);
    }

    /// @notice The aggregator of `epoch` at rotation `attempt` (what every node computes
    /// from `blockhash(closeBlock)` and `candidates`): drawn by stake among the candidates
    /// not drawn at attempts `0 … attempt - 1` (`Election.aggregatorIndex`); address(0)
    /// until the seed is recorded, or if nobody committed.
    function aggregatorAt(uint256 epoch, uint32 attempt) external view returns (address) {
        return _elect(epoch, attempt);
    }

    /// @notice The Byzantine bound used for `n` participants: `min(maxByzantine, (n-3)/2)`.
    function byzantineBound(uint256 n) public view returns (uint256) {
        uint256 cap = n >= MIN_PARTICIPANTS ? (n - MIN_PARTICIPANTS) / 2 : 0;
        return _params.maxByzantine < cap ? _params.maxByzantine : cap;
    }

    /// @notice The proof's public inputs, in order: epoch, seed (mod p), n, f, the flag
    /// rule's rho (numerator, denominator: this deployment's), the n·k sketch entries
    /// packed five to an input (entry j of a group, plus 2^47, at bit 48·j; the last group
    /// zero-padded), the selection mask, the flag mask. Packing saves the verifier ~1.7 k
    /// gas for four of every five entries.
    /// @dev Reverts with SketchEntryOutOfRange unless every entry lies in (−2^47, 2^47),
    /// the range in which the circuit's distances cannot wrap around the field.
    function publicInputs(
        uint256 epoch,
        bytes32 seed,
        uint256 n,
        uint256 f,
        int256[] calldata sketches,
        uint256 selectedMask,
        uint256 flagMask
    ) public view returns (bytes32[] memory inputs) {
        uint256 packed = (sketches.length + SKETCH_PACK - 1) / SKETCH_PACK;
        inputs = new bytes32[](packed + HEAD_INPUTS + 2);
        inputs[0] = bytes32(epoch);
        inputs[1] = bytes32(uint256(seed) % FIELD_MODULUS);
        inputs[2] = bytes32(n);
        inputs[3] = bytes32(f);
        inputs[4] = bytes32(uint256(_params.flagRhoNum));
        inputs[5] = bytes32(uint256(_params.flagRhoDen));
        for (uint256 c; c < packed; ++c) {
            uint256 acc;
            for (uint256 j; j < SKETCH_PACK; ++j) {
                uint256 i = c * SKETCH_PACK + j;
                if (i == sketches.length) break;
                int256 x = sketches[i];
                if (x <= -SKETCH_ENTRY_BOUND || x >= SKETCH_ENTRY_BOUND) revert SketchEntryOutOfRange(i, x);
                acc |= uint256(x + SKETCH_ENTRY_BOUND) << (48 * j);
            }
            inputs[HEAD_INPUTS + c] = bytes32(acc);
        }
        inputs[HEAD_INPUTS + packed] = bytes32(selectedMask);
        inputs[HEAD_INPUTS + packed + 1] = bytes32(flagMask);
    }

    // ------------------------------------------------------------------ internals

    function _open(uint256 epoch) private view returns (Epoch storage ep) {
        if (epoch != currentEpoch) revert WrongEpoch(epoch, currentEpoch);
        ep = _epochs[epoch];
        if (ep.status != Status.Open) revert WrongStatus(epoch, ep.status);
    }

    function _elect(uint256 epoch, uint32 attempt) private view returns (address) {
        bytes32 seed = _epochs[epoch].seed;
        if (seed == bytes32(0)) return address(0);
        return Election.elect(
            seed, attempt, _roster[epoch], _rosterStake[epoch], commitmentOf[epoch], _committed[epoch].length
        );
    }

    /// @dev The next attempt, with a fresh submit deadline; past the last one, the epoch is
    /// skipped so the next can open.
    function _rotate(uint256 epoch, Epoch storage ep) private {
        if (ep.attempt + 1 >= _params.maxAttempts) {
            emit AttemptsExhausted(epoch, ep.attempt + 1);
            _skip(epoch, ep, _committed[epoch].length);
            return;
        }
        ep.attempt += 1;
        ep.aggregator = _elect(epoch, ep.attempt);
        ep.submitDeadline = uint64(block.number) + _params.submitBlocks;
        emit AggregatorRotated(epoch, ep.attempt, ep.aggregator, ep.submitDeadline);
    }

    function _skip(uint256 epoch, Epoch storage ep, uint256 commits) private {
        ep.status = Status.Finalized;
        emit EpochSkipped(epoch, commits);
    }

    function _checkAndVerify(
        uint256 epoch,
        bytes32 seed,
        uint256 n,
        int256[] calldata sketches,
        uint256 selectedMask,
        uint256 flagMask,
        bytes calldata proof
    ) private view {
        uint256 k = _params.sketchDim;
        if (sketches.length != n * k) revert BadSketchLength(sketches.length, n * k);
        if (n > 255 || selectedMask >> n != 0 || flagMask >> n != 0) revert BadMask();
        if (selectedMask & flagMask != 0) revert FlaggedSelected(epoch, selectedMask & flagMask);
        uint256 f = byzantineBound(n);
        uint256 chosen = _popcount(selectedMask);
        if (chosen != n - f) revert BadSelectionSize(chosen, n - f);
        // The generated UltraHonk verifier reverts (rather than returning false) on a bad
        // proof: both mean the same here.
        try verifier.verify(proof, publicInputs(epoch, seed, n, f, sketches, selectedMask, flagMask)) returns (
            bool ok
        ) {
            if (!ok) revert InvalidProof(epoch);
        } catch {
            revert InvalidProof(epoch);
        }
    }

    function _storeResult(
        uint256 epoch,
        Epoch storage ep,
        bytes32 modelDigest,
        int256[] calldata sketches,
        uint256 selectedMask,
        uint256 flagMask
    ) private {
        uint256 k = _params.sketchDim;
        bytes32[] storage hashes = _sketchHashes[epoch];
        while (hashes.length > 0) hashes.pop();
        // One row per included operator; none in an empty result.
        for (uint256 i; i < sketches.length / k; ++i) {
            hashes.push(keccak256(abi.encode(sketches[i * k:(i + 1) * k])));
        }
        ep.status = Status.Submitted;
        ep.modelDigest = modelDigest;
        ep.selectedMask = selectedMask;
        ep.flagMask = flagMask;
        ep.challengeDeadline = uint64(block.number) + _params.challengeBlocks;
        emit ResultSubmitted(
            epoch, msg.sender, modelDigest, ep.seed, _resultOperators[epoch], sketches, selectedMask, flagMask
        );
    }

    /// @dev The root of the model whose live leaves hash to `hashes` (one per leaf).
    function _modelRoot(bytes32[] calldata hashes) private view returns (bytes32) {
        uint256 d = _params.modelDim;
        uint256 leaves = (d + 63) / 64;
        if (hashes.length != leaves) revert ModelLeafHashesWrong(hashes.length, leaves);
        return MerkleRoot.rootOfLeafHashes(hashes, UpdateChunk.depth(d));
    }

    /// @dev A slash never fails for lack of gas: the whole transaction reverts unless the
    /// call can be given SLASH_GAS (EIP-150 forwards at most 63/64 of what is left). One
    /// the core refuses for another reason (e.g. the operator is no longer slashable) is
    /// recorded as pending and reported; the epoch goes on. With a `challenger`, the stake
    /// the slash removed is measured and the challenger rewarded out of it (on a retry for
    /// a pending slash). Takes the slash as one memory struct (`done` false): the optimizer specializes
    /// a function for the literal arguments of each call site, which copied this whole body
    /// once per slash reason; a struct pointer is never a literal, so there is one copy.
    function _slash(PendingSlash memory p) private {
        if (p.wad == 0) return;
        uint256 before = p.challenger == address(0) ? 0 : serviceManager.stakeOf(p.operator);
        uint256 needed = SLASH_GAS + SLASH_GAS / 63 + SLASH_GAS_MARGIN;
        if (gasleft() < needed) revert SlashGasTooLow(needed, gasleft());
        try serviceManager.slash{gas: SLASH_GAS}(p.operator, p.wad, _describe(p.reason)) {
            emit SlashApplied(p.epoch, p.operator, p.wad, p.reason);
            if (p.challenger != address(0)) _reward(p.epoch, p.challenger, before, p.operator);
        } catch (bytes memory err) {
            _pendingSlashes.push(p);
            emit SlashFailed(p.epoch, p.operator, p.reason, err);
            emit SlashPending(_pendingSlashes.length - 1, p.epoch, p.operator);
        }
    }

    /// @dev The human description EigenLayer records with the slash.
    function _describe(SlashReason reason) private pure returns (string memory) {
        if (reason == SlashReason.Flagged) return "p2pfl: flagged by Krum";
        if (reason == SlashReason.WrongSketch) return "p2pfl: wrong sketch in result";
        if (reason == SlashReason.WrongModel) return "p2pfl: wrong model in result";
        if (reason == SlashReason.NormViolation) return "p2pfl: update above the norm bound";
        if (reason == SlashReason.WrongfulExclusion) return "p2pfl: wrongful exclusion";
        return "p2pfl: aggregator missed its deadline";
    }

    function _credit(address account, uint256 amount) private {
        owed[account] += amount;
        emit Credited(account, amount);
    }

    /// @dev Credit `challenger` `min(lost × rewardShareWad / 1e18, pool)` stake tokens,
    /// `lost` the drop of `operator`'s allocated stake from `before` (stake is counted in
    /// strategy shares, one to one with the token for the devnet strategy and the core's
    /// StrategyBase). It reads the allocation, so it holds for a deregistered operator
    /// that is still slashable.
    function _reward(uint256 epoch, address challenger, uint256 before, address operator) private {
        uint256 left = serviceManager.stakeOf(operator);
        uint256 lost = before > left ? before - left : 0;
        uint256 amount = lost * _params.rewardShareWad / 1e18;
        if (amount > rewardPool) amount = rewardPool;
        if (amount == 0) return;
        rewardPool -= amount;
        owedTokens[challenger] += amount;
        emit RewardCredited(epoch, challenger, amount, lost);
    }

    // ------------------------------------------------------------------ challenge hooks

    /// @dev Submitted and within its challenge window.
    function _challengeable(uint256 epoch) internal view override returns (ResultView memory r) {
        Epoch storage ep = _epochs[epoch];
        if (ep.status != Status.Submitted) revert WrongStatus(epoch, ep.status);
        if (block.number > ep.challengeDeadline) revert ChallengeClosed(epoch, ep.challengeDeadline);
        return _resultOf(epoch);
    }

    function _resultOf(uint256 epoch) internal view override returns (ResultView memory) {
        Epoch storage ep = _epochs[epoch];
        return ResultView({
            standing: ep.status == Status.Submitted,
            seed: ep.seed,
            baseModel: ep.baseModel,
            modelDigest: ep.modelDigest,
            selectedMask: ep.selectedMask,
            attempt: ep.attempt,
            aggregator: ep.aggregator
        });
    }

    function _resultOperatorAt(uint256 epoch, uint256 index) internal view override returns (address) {
        return _resultOperators[epoch][index];
    }

    function _resultOperatorCount(uint256 epoch) internal view override returns (uint256) {
        return _resultOperators[epoch].length;
    }

    function _isPostedRow(uint256 epoch, uint256 index, int256[] calldata row) internal view override returns (bool) {
        return keccak256(abi.encode(row)) == _sketchHashes[epoch][index];
    }

    function _commitment(uint256 epoch, address operator) internal view override returns (bytes32) {
        return commitmentOf[epoch][operator];
    }

    /// @dev The current epoch once its commit phase has closed and until its result's
    /// challenge window ends.
    function _normProvable(uint256 epoch) internal view override returns (bool) {
        Epoch storage ep = _epochs[epoch];
        if (ep.status == Status.Open) return epoch == currentEpoch && block.number > ep.closeBlock;
        return ep.status == Status.Submitted && block.number <= ep.challengeDeadline;
    }

    function _modelDim() internal view override returns (uint256) {
        return _params.modelDim;
    }

    function _sketchDim() internal view override returns (uint256) {
        return _params.sketchDim;
    }

    function _normBoundSq() internal view override returns (uint256) {
        return _params.normBoundSq;
    }

    function _challengeBond() internal view override returns (uint256) {
        return _params.challengeBond;
    }

    function _challengeBlocks() internal view override returns (uint64) {
        return _params.challengeBlocks;
    }

    /// @dev Void the result: the bond back, the epoch to the next attempt (or skipped),
    /// the aggregator slashed and the challenger rewarded out of what the slash removed.
    function _uphold(uint256 epoch, address challenger, uint256 bond, ChallengeKind kind) internal override {
        _credit(challenger, bond);
        _void(epoch, challenger, kind == ChallengeKind.Model ? SlashReason.WrongModel : SlashReason.WrongSketch);
    }

    /// @dev An upheld challenge by `challenger`: the result voided, the epoch to the next
    /// attempt (or skipped), then (the interaction, last) the aggregator slashed for
    /// `reason` and the challenger rewarded out of what the slash removed.
    function _void(uint256 epoch, address challenger, SlashReason reason) private {
        Epoch storage ep = _epochs[epoch];
        address aggregator = ep.aggregator;
        ep.status = Status.Open;
        emit ResultVoided(epoch, aggregator, challenger);
        _rotate(epoch, ep);
        _slash(PendingSlash(epoch, aggregator, _params.aggregatorSlashWad, reason, false, challenger));
    }

    function _forfeit(address aggregator, uint256 bond) internal override {
        _credit(aggregator, bond);
    }

    function _refund(address challenger, uint256 bond) internal override {
        _credit(challenger, bond);
    }

    function _slashNorm(uint256 epoch, address operator) internal override {
        _slash(PendingSlash(epoch, operator, _params.normSlashWad, SlashReason.NormViolation, false, address(0)));
    }
}
