// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Devnet} from "./utils/Devnet.sol";
import {P2pflServiceManager} from "../src/avs/P2pflServiceManager.sol";
import {StakeTree} from "../src/avs/StakeTree.sol";
import {IAllocationManagerTypes, IStrategy, OperatorSet} from "../src/interfaces/IEigenLayer.sol";

/// @notice The service manager's committee weights (registration, deregistration,
/// refreshes, slashing) and `sampleCommittee` on the devnet core.
contract CommitteeTest is Devnet {
    function _total() internal view returns (uint256 sum) {
        for (uint256 i; i < ops.length; ++i) {
            sum += avs.weightOf(ops[i]);
        }
    }

    function _deregister(address op) internal {
        uint32[] memory ids = new uint32[](1);
        vm.prank(op);
        allocation.deregisterFromOperatorSets(IAllocationManagerTypes.DeregisterParams(op, address(avs), ids));
    }

    function _register(address op, uint256 key) internal {
        bytes memory peerId = abi.encodePacked("peer-", vm.toString(op));
        bytes memory sig = signPeer(key, op, peerId);
        uint32[] memory ids = new uint32[](1);
        vm.prank(op);
        allocation.registerForOperatorSets(
            op, IAllocationManagerTypes.RegisterParams(address(avs), ids, abi.encode(peerId, sig))
        );
    }

    function test_registrationGivesSlotsAndWeights() public view {
        assertEq(avs.operatorCount(), N);
        address[] memory slots = avs.slotOperators();
        assertEq(slots.length, N);
        for (uint256 i; i < N; ++i) {
            assertEq(slots[i], ops[i]);
            assertEq(avs.weightOf(ops[i]), STAKE * (i + 1));
        }
        assertEq(avs.totalWeight(), STAKE * N * (N + 1) / 2);
        assertEq(avs.weightOf(address(0xdead)), 0);
        assertEq(avs.DRAWS_PER_SEAT(), 4);
    }

    function test_registrationAnnouncesTheWeight() public {
        (address op, uint256 key) = makeAddrAndKey("newcomer");
        stakeAndAllocate(op, 7 ether);
        vm.expectEmit(true, false, false, true, address(avs));
        emit P2pflServiceManager.StakeRefreshed(op, 7 ether);
        _register(op, key);
        assertEq(avs.slotOperators()[N], op);
        assertEq(avs.totalWeight(), _total() + 7 ether);
    }

    function test_deregistrationFreesTheSlotAndRegistrationTakesItAgain() public {
        uint256 before = avs.totalWeight();
        vm.expectEmit(true, false, false, true, address(avs));
        emit P2pflServiceManager.StakeRefreshed(ops[2], 0);
        _deregister(ops[2]);
        assertEq(avs.weightOf(ops[2]), 0);
        assertEq(avs.operatorCount(), N - 1);
        assertEq(avs.totalWeight(), before - 3 * STAKE);
        assertEq(avs.slotOperators().length, N, "no slot removed");
        assertEq(avs.slotOperators()[2], address(0), "the slot is free");
        // never drawn while out
        for (uint256 s; s < 20; ++s) {
            (address[] memory committee,) = avs.sampleCommittee(keccak256(abi.encode(s)), N);
            for (uint256 i; i < committee.length; ++i) {
                assertTrue(committee[i] != ops[2]);
            }
        }
        // a newcomer takes the freed slot
        (address fresh, uint256 key) = makeAddrAndKey("newcomer");
        stakeAndAllocate(fresh, 3 * STAKE);
        _register(fresh, key);
        assertEq(avs.slotOperators().length, N, "no new slot");
        assertEq(avs.slotOperators()[2], fresh);
        assertEq(avs.weightOf(fresh), 3 * STAKE);
        assertEq(avs.weightOf(ops[2]), 0);
        assertEq(avs.totalWeight(), before);
        // the returning operator gets a new slot
        vm.roll(vm.getBlockNumber() + DEALLOCATION_DELAY + 1);
        _register(ops[2], keys[2]);
        assertEq(avs.slotOperators().length, N + 1);
        assertEq(avs.slotOperators()[N], ops[2]);
        assertEq(avs.weightOf(ops[2]), 3 * STAKE);
        assertEq(avs.totalWeight(), before + 3 * STAKE);
        assertEq(avs.operatorCount(), N + 1);
    }

    function test_refreshStakesFollowsAnAllocationChange() public {
        // more stake: deposited, counted at once by the core, by the tree only on refresh
        address op = ops[1];
        token.mint(op, 50 ether);
        vm.startPrank(op);
        token.approve(address(strategyManager), 50 ether);
        strategyManager.depositIntoStrategy(strategy, IERC20(address(token)), 50 ether);
        vm.stopPrank();
        assertEq(avs.stakeOf(op), 250 ether);
        assertEq(avs.weightOf(op), 200 ether, "stale until refreshed");
        address[] memory batch = new address[](3);
        (batch[0], batch[1], batch[2]) = (op, address(0xdead), ops[4]); // the stranger is ignored
        vm.expectEmit(true, false, false, true, address(avs));
        emit P2pflServiceManager.StakeRefreshed(op, 250 ether);
        vm.prank(address(0xbeef)); // anyone
        avs.refreshStakes(batch);
        assertEq(avs.weightOf(op), 250 ether);
        assertEq(avs.weightOf(address(0xdead)), 0);
        assertEq(avs.totalWeight(), _total());

        // less: half deallocated, effective after the deallocation delay
        IAllocationManagerTypes.AllocateParams[] memory alloc = new IAllocationManagerTypes.AllocateParams[](1);
        IStrategy[] memory strategies = new IStrategy[](1);
        strategies[0] = strategy;
        uint64[] memory mags = new uint64[](1);
        mags[0] = 0.5e18;
        alloc[0] = IAllocationManagerTypes.AllocateParams(OperatorSet(address(avs), 0), strategies, mags);
        vm.prank(op);
        allocation.modifyAllocations(op, alloc);
        vm.roll(vm.getBlockNumber() + DEALLOCATION_DELAY + 1);
        avs.refreshStakes(batch);
        assertEq(avs.weightOf(op), 125 ether);
        assertEq(avs.totalWeight(), _total());
    }

    function test_belowTheMinimumWeighsNothingAfterARefresh() public {
        avs.setMinimumStake(250 ether);
        assertEq(avs.weightOf(ops[0]), STAKE, "the minimum applies lazily");
        avs.refreshStakes(ops);
        for (uint256 i; i < N; ++i) {
            assertEq(avs.weightOf(ops[i]), i >= 2 ? STAKE * (i + 1) : 0);
        }
        assertEq(avs.totalWeight(), _total());
        for (uint256 s; s < 20; ++s) {
            (address[] memory committee,) = avs.sampleCommittee(keccak256(abi.encode(s)), N);
            for (uint256 i; i < committee.length; ++i) {
                assertTrue(committee[i] != ops[0] && committee[i] != ops[1], "nobody below");
            }
        }
        avs.setMinimumStake(1 ether);
        avs.refreshStakes(ops);
        assertEq(avs.weightOf(ops[0]), STAKE);
    }

    function test_slashingRefreshesTheWeight() public {
        vm.expectEmit(true, false, false, true, address(avs));
        emit P2pflServiceManager.StakeRefreshed(ops[3], 2 * STAKE);
        vm.prank(address(epochs));
        avs.slash(ops[3], 0.5e18, "test");
        assertEq(avs.stakeOf(ops[3]), 2 * STAKE);
        assertEq(avs.weightOf(ops[3]), 2 * STAKE);
        assertEq(avs.totalWeight(), _total());
        // a deregistered operator, still slashable, keeps weight 0
        _deregister(ops[4]);
        vm.prank(address(epochs));
        avs.slash(ops[4], 0.5e18, "test");
        assertEq(avs.weightOf(ops[4]), 0);
        assertEq(avs.totalWeight(), _total());
    }

    function test_sampleCommitteeIsDistinctWithFreshStakes() public {
        address op = ops[5];
        vm.prank(address(epochs));
        avs.slash(op, 0.1e18, "stale?"); // refreshes op
        token.mint(ops[0], 1 ether);
        vm.startPrank(ops[0]); // ops[0]'s weight goes stale
        token.approve(address(strategyManager), 1 ether);
        strategyManager.depositIntoStrategy(strategy, IERC20(address(token)), 1 ether);
        vm.stopPrank();
        for (uint256 s; s < 30; ++s) {
            uint256 size = 1 + s % N;
            (address[] memory committee, uint256[] memory stakes) = avs.sampleCommittee(keccak256(abi.encode(s)), size);
            assertEq(committee.length, stakes.length);
            assertLe(committee.length, size);
            assertGt(committee.length, 0);
            for (uint256 i; i < committee.length; ++i) {
                assertEq(stakes[i], avs.stakeOf(committee[i]), "fresh stake");
                assertGt(avs.weightOf(committee[i]), 0);
                for (uint256 j; j < i; ++j) {
                    assertTrue(committee[i] != committee[j], "distinct");
                }
            }
        }
    }

    function test_aWhaleLeavesTheCommitteeShortWithinTheDrawBound() public {
        (address whale, uint256 key) = makeAddrAndKey("whale");
        stakeAndAllocate(whale, 1e9 ether);
        _register(whale, key);
        uint256 short;
        for (uint256 s; s < 20; ++s) {
            (address[] memory committee,) = avs.sampleCommittee(keccak256(abi.encode(s)), 4);
            assertEq(committee[0], whale);
            if (committee.length < 4) ++short;
        }
        assertEq(short, 20, "16 draws cannot find 3 operators holding 2e-6 of the weight");
    }

    function test_drawFrequencyFollowsStake() public view {
        uint256[N] memory first;
        uint256 n = 600;
        for (uint256 s; s < n; ++s) {
            (address[] memory committee,) = avs.sampleCommittee(keccak256(abi.encode("freq", s)), 1);
            for (uint256 i; i < N; ++i) {
                if (committee[0] == ops[i]) ++first[i];
            }
        }
        uint256 total = N * (N + 1) / 2; // stakes 1..N × STAKE
        for (uint256 i; i < N; ++i) {
            // expected share (i + 1) / 21; allow ±6 percentage points (≥ 3 standard deviations)
            assertApproxEqAbs(first[i] * 100, n * (i + 1) * 100 / total, n * 6, "frequency");
        }
    }

    function test_anEmptySetSamplesNothing() public {
        P2pflServiceManager fresh = new P2pflServiceManager(allocation, strategy, 1 ether, address(this));
        (address[] memory committee, uint256[] memory stakes) = fresh.sampleCommittee(keccak256("x"), 8);
        assertEq(committee.length, 0);
        assertEq(stakes.length, 0);
        assertEq(fresh.totalWeight(), 0);
        assertEq(fresh.operatorCount(), 0);
        assertEq(fresh.slotOperators().length, 0);
        // everyone out: empty too
        for (uint256 i; i < N; ++i) {
            _deregister(ops[i]);
        }
        (committee, stakes) = avs.sampleCommittee(keccak256("x"), 8);
        assertEq(committee.length, 0);
        assertEq(avs.totalWeight(), 0);
        assertEq(avs.operatorCount(), 0);
    }

    /// @dev The storage slot of `_slotOperators` (its length is N, its first entry ops[0]).
    function _slotOperatorsSlot() internal view returns (bytes32) {
        for (uint256 s; s < 64; ++s) {
            if (
                uint256(vm.load(address(avs), bytes32(s))) == N
                    && vm.load(address(avs), keccak256(abi.encode(s))) == bytes32(uint256(uint160(ops[0])))
            ) return bytes32(s);
        }
        revert("slot not found");
    }

    function test_aFullTreeRefusesNewcomersUntilASlotIsFreed() public {
        bytes32 slot = _slotOperatorsSlot();
        vm.store(address(avs), slot, bytes32(StakeTree.CAPACITY)); // pretend every slot is taken
        (address op, uint256 key) = makeAddrAndKey("one too many");
        stakeAndAllocate(op, 5 ether);
        bytes memory peerId = "peer-late";
        bytes memory sig = signPeer(key, op, peerId); // before expectRevert: it calls the AVS
        uint32[] memory ids = new uint32[](1);
        vm.prank(op);
        vm.expectRevert(P2pflServiceManager.CapacityExceeded.selector);
        allocation.registerForOperatorSets(
            op, IAllocationManagerTypes.RegisterParams(address(avs), ids, abi.encode(peerId, sig))
        );
        _deregister(ops[0]); // frees slot 0
        _register(op, key);
        assertEq(avs.slotOperators()[0], op);
        assertEq(avs.weightOf(op), 5 ether);
    }
}
