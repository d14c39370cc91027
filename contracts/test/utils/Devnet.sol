// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Test} from "forge-std/Test.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {StakeToken} from "../../src/devnet/StakeToken.sol";
import {DevStrategy} from "../../src/devnet/DevStrategy.sol";
import {DevDelegationManager} from "../../src/devnet/DevDelegationManager.sol";
import {DevAllocationManager} from "../../src/devnet/DevAllocationManager.sol";
import {DevStrategyManager} from "../../src/devnet/DevStrategyManager.sol";
import {P2pflServiceManager} from "../../src/avs/P2pflServiceManager.sol";
import {EpochManager} from "../../src/avs/EpochManager.sol";
import {IEpochManager} from "../../src/interfaces/IEpochManager.sol";
import {MerkleRoot} from "../../src/avs/MerkleRoot.sol";
import {UpdateChunk} from "../../src/avs/UpdateChunk.sol";
import {IAllocationManagerTypes, IStrategy, OperatorSet} from "../../src/interfaces/IEigenLayer.sol";
import {MockVerifier} from "./MockVerifier.sol";
import {SketchHarness} from "./SketchHarness.sol";

/// @notice The whole devnet (core stand-ins, AVS, epoch manager) with N registered operators.
abstract contract Devnet is Test {
    uint256 internal constant N = 6;
    uint256 internal constant STAKE = 100 ether;
    uint256 internal constant K = 64;
    /// @dev The devnet's delays (blocks): deregistered operators stay slashable this long,
    /// at least an epoch's slashable span (10 + 3 × (10 + 2 × 10) = 100 blocks here).
    uint32 internal constant DEALLOCATION_DELAY = 100;
    /// @dev Entries of the model and of every update (the CNN's: 4 chunks, 3 of them live).
    uint32 internal constant MODEL_DIM = 46_730;
    uint256 internal constant REWARD_POOL = 1000 ether;
    uint32 internal constant ALLOCATION_CONFIGURATION_DELAY = 5;
    /// @dev Each operator's own allocation delay.
    uint32 internal constant ALLOCATION_DELAY = 2;

    StakeToken internal token;
    DevStrategy internal strategy;
    DevDelegationManager internal delegation;
    DevAllocationManager internal allocation;
    DevStrategyManager internal strategyManager;
    P2pflServiceManager internal avs;
    EpochManager internal epochs;
    MockVerifier internal verifier;
    SketchHarness internal harness;
    address[] internal ops;
    uint256[] internal keys;

    function setUp() public virtual {
        token = new StakeToken(address(this));
        delegation = new DevDelegationManager();
        allocation = new DevAllocationManager(delegation, DEALLOCATION_DELAY, ALLOCATION_CONFIGURATION_DELAY);
        strategyManager = new DevStrategyManager(delegation, address(this));
        delegation.initialize(allocation, strategyManager);
        strategy = new DevStrategy(address(strategyManager), IERC20(address(token)));
        IStrategy[] memory whitelist = new IStrategy[](1);
        whitelist[0] = strategy;
        strategyManager.addStrategiesToDepositWhitelist(whitelist);
        avs = new P2pflServiceManager(allocation, strategy, 1 ether, address(this));
        avs.initialize("p2pfl devnet");
        verifier = new MockVerifier();
        harness = new SketchHarness();
        epochs = new EpochManager(avs, verifier, defaultParams(), genesisModel(), address(this));
        avs.setEpochManager(address(epochs));
        vm.deal(address(this), 100 ether);
        token.mint(address(this), REWARD_POOL);
        token.approve(address(epochs), REWARD_POOL);
        epochs.fundRewards(REWARD_POOL);
        for (uint256 i; i < N; ++i) {
            (address op, uint256 key) = makeAddrAndKey(string.concat("operator", vm.toString(i)));
            addOperator(op, key, STAKE * (i + 1));
        }
    }

    /// @dev The genesis model's digest.
    function genesisModel() internal view virtual returns (bytes32) {
        return keccak256("genesis");
    }

    function defaultParams() internal view virtual returns (EpochManager.Params memory) {
        return EpochManager.Params({
            commitBlocks: 10,
            submitBlocks: 10,
            challengeBlocks: 10,
            sketchDim: uint32(K),
            modelDim: MODEL_DIM,
            maxByzantine: 1,
            flagRhoNum: 3,
            flagRhoDen: 1,
            maxAttempts: 3,
            flagSlashWad: 0.5e18,
            aggregatorSlashWad: 1e18,
            timeoutSlashWad: 0.1e18,
            normSlashWad: 0.1e18,
            challengeBond: 1 ether,
            rewardShareWad: 0.5e18,
            normBoundSq: type(uint256).max,
            committeeSize: 16
        });
    }

    /// @notice Mint, register as an EigenLayer operator, deposit through the strategy
    /// manager, allocate all to the AVS and wait out the allocation delay (the core's path).
    function stakeAndAllocate(address op, uint256 stake) internal {
        token.mint(op, stake);
        vm.startPrank(op);
        delegation.registerAsOperator(address(0), ALLOCATION_DELAY, "");
        token.approve(address(strategyManager), stake);
        strategyManager.depositIntoStrategy(strategy, IERC20(address(token)), stake);
        IAllocationManagerTypes.AllocateParams[] memory alloc = new IAllocationManagerTypes.AllocateParams[](1);
        IStrategy[] memory strategies = new IStrategy[](1);
        strategies[0] = strategy;
        uint64[] memory mags = new uint64[](1);
        mags[0] = 1e18;
        alloc[0] = IAllocationManagerTypes.AllocateParams(OperatorSet(address(avs), 0), strategies, mags);
        allocation.modifyAllocations(op, alloc);
        vm.stopPrank();
        vm.roll(vm.getBlockNumber() + ALLOCATION_DELAY); // via-IR may cache block.number
    }

    function addOperator(address op, uint256 key, uint256 stake) internal {
        stakeAndAllocate(op, stake);
        vm.startPrank(op);
        uint32[] memory ids = new uint32[](1);
        bytes memory peerId = abi.encodePacked("peer-", vm.toString(op));
        allocation.registerForOperatorSets(
            op, IAllocationManagerTypes.RegisterParams(address(avs), ids, abi.encode(peerId, signPeer(key, op, peerId)))
        );
        vm.stopPrank();
        ops.push(op);
        keys.push(key);
    }

    function signPeer(uint256 key, address op, bytes memory peerId) internal view returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, avs.peerBindingDigest(op, peerId));
        return abi.encodePacked(r, s, v);
    }

    /// @notice The private key of operator `op`.
    function keyOf(address op) internal view returns (uint256) {
        for (uint256 i; i < ops.length; ++i) {
            if (ops[i] == op) return keys[i];
        }
        revert("unknown operator");
    }

    /// @notice `op`'s availability attestation of epoch `e` holding `mask`, signed (EIP-712)
    /// with its key, as a node gossips it.
    function attest(uint256 e, address op, uint256 mask) internal view returns (IEpochManager.Attestation memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(keyOf(op), epochs.availabilityDigest(e, mask));
        return IEpochManager.Attestation(op, mask, abi.encodePacked(r, s, v));
    }

    /// @notice Every committed operator's attestation of `e` (ascending), each with
    /// `masks[i]` for the `i`-th committed operator in ascending order.
    function attestWith(uint256 e, uint256[] memory masks)
        internal
        view
        returns (IEpochManager.Attestation[] memory a)
    {
        address[] memory c = epochs.committedSorted(e);
        a = new IEpochManager.Attestation[](c.length);
        for (uint256 i; i < c.length; ++i) {
            a[i] = attest(e, c[i], masks[i]);
        }
    }

    /// @notice Every committed operator's attestation of `e`, each holding every update:
    /// the attestations of an epoch in which everybody served its bytes.
    function attestAll(uint256 e) internal view returns (IEpochManager.Attestation[] memory) {
        uint256 c = epochs.committed(e).length;
        uint256[] memory masks = new uint256[](c);
        for (uint256 i; i < c; ++i) {
            masks[i] = (1 << c) - 1;
        }
        return attestWith(e, masks);
    }

    /// @notice Some model's `ceil(MODEL_DIM / 64)` leaf hashes, as a result posts them.
    function modelLeafHashes(uint256 salt) internal pure returns (bytes32[] memory h) {
        h = new bytes32[]((uint256(MODEL_DIM) + 63) / 64);
        for (uint256 i; i < h.length; ++i) {
            h[i] = keccak256(abi.encode(salt, i));
        }
    }

    /// @notice The root the EpochManager derives from `modelLeafHashes(salt)`.
    function modelRoot(uint256 salt) internal pure returns (bytes32) {
        return MerkleRoot.rootOfLeafHashes(modelLeafHashes(salt), UpdateChunk.depth(MODEL_DIM));
    }

    /// @notice A deterministic int32 update of `d` entries (little-endian bytes).
    function fakeUpdate(uint256 salt, uint256 d) internal pure returns (bytes memory out) {
        out = new bytes(d * 4);
        for (uint256 t; t < d; ++t) {
            int32 v = int32(int256(uint256(keccak256(abi.encode(salt, t))) % 2_000_001) - 1_000_000);
            uint32 u = uint32(v);
            out[4 * t] = bytes1(uint8(u));
            out[4 * t + 1] = bytes1(uint8(u >> 8));
            out[4 * t + 2] = bytes1(uint8(u >> 16));
            out[4 * t + 3] = bytes1(uint8(u >> 24));
        }
    }

    function sorted(address[] memory a) internal pure returns (address[] memory) {
        for (uint256 i = 1; i < a.length; ++i) {
            for (uint256 j = i; j > 0 && a[j] < a[j - 1]; --j) {
                (a[j], a[j - 1]) = (a[j - 1], a[j]);
            }
        }
        return a;
    }
}
