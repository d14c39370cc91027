// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Vm} from "forge-std/Vm.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Devnet} from "./utils/Devnet.sol";
import {DevStrategy} from "../src/devnet/DevStrategy.sol";
import {P2pflServiceManager} from "../src/avs/P2pflServiceManager.sol";
import {
    IAllocationManager,
    IAllocationManagerErrors,
    IAllocationManagerEvents,
    IAllocationManagerTypes,
    IAVSRegistrar,
    IDelegationManagerErrors,
    IPermissionControllerMixin,
    IStrategy,
    IStrategyErrors,
    IStrategyManagerErrors,
    OperatorSet
} from "../src/interfaces/IEigenLayer.sol";

/// @notice Any ERC-20 (no minting rights for the devnet's deployer beyond its constructor).
contract PlainToken is ERC20 {
    constructor(address holder, uint256 supply) ERC20("plain", "PLN") {
        _mint(holder, supply);
    }
}

/// @notice An AVS that set no registrar: the core calls the AVS itself.
contract BareAvs is IAVSRegistrar {
    IAllocationManager internal immutable am;
    mapping(address => bool) public registered;

    constructor(IAllocationManager am_) {
        am = am_;
    }

    function createSet(IStrategy strategy, bool withMetadata) external {
        if (withMetadata) am.updateAVSMetadataURI(address(this), "bare");
        IAllocationManagerTypes.CreateSetParamsV2[] memory p = new IAllocationManagerTypes.CreateSetParamsV2[](1);
        IStrategy[] memory s = new IStrategy[](1);
        s[0] = strategy;
        p[0] = IAllocationManagerTypes.CreateSetParamsV2(7, s, address(this));
        am.createOperatorSets(address(this), p);
    }

    function setRegistrar(IAVSRegistrar registrar) external {
        am.setAVSRegistrar(address(this), registrar);
    }

    function registerOperator(address operator, address, uint32[] calldata, bytes calldata) external {
        registered[operator] = true;
    }

    function deregisterOperator(address operator, address, uint32[] calldata) external {
        registered[operator] = false;
    }

    function supportsAVS(address avs) external view returns (bool) {
        return avs == address(this);
    }
}

/// @notice The devnet stand-ins behave as EigenLayer's core v1.12 (the list in
/// `../shared/eigenlayer-core/README.md`): delays, queued deallocation, the slashable
/// window after deregistration, full slashes, and each revert with the core's selector.
contract DevCoreTest is Devnet, IAllocationManagerEvents {
    uint64 internal constant WAD = 1e18;
    bytes32 internal constant DEPOSIT_TOPIC = keccak256("Deposit(address,address,uint256)");

    function set() internal view returns (OperatorSet memory) {
        return OperatorSet(address(avs), 0);
    }

    function one(IStrategy s) internal pure returns (IStrategy[] memory a) {
        a = new IStrategy[](1);
        a[0] = s;
    }

    function allocate(address op, uint64 magnitude) internal {
        IAllocationManagerTypes.AllocateParams[] memory p = new IAllocationManagerTypes.AllocateParams[](1);
        uint64[] memory mags = new uint64[](1);
        mags[0] = magnitude;
        p[0] = IAllocationManagerTypes.AllocateParams(set(), one(strategy), mags);
        vm.prank(op);
        allocation.modifyAllocations(op, p);
    }

    function slashParams(address op, uint256 wad)
        internal
        pure
        returns (IAllocationManagerTypes.SlashingParams memory)
    {
        uint256[] memory wads = new uint256[](1);
        wads[0] = wad;
        return IAllocationManagerTypes.SlashingParams(op, 0, new IStrategy[](0), wads, "test");
    }

    function slash(address op, uint256 wad) internal {
        IAllocationManagerTypes.SlashingParams memory p = slashParams(op, wad);
        p.strategies = one(strategy);
        vm.prank(address(avs));
        allocation.slashOperator(address(avs), p);
    }

    /// A new EigenLayer operator with `stake` deposited and delay `delay`, nothing allocated.
    function newOperator(string memory name, uint256 stake, uint32 delay) internal returns (address op, uint256 key) {
        (op, key) = makeAddrAndKey(name);
        token.mint(op, stake);
        vm.startPrank(op);
        delegation.registerAsOperator(address(0), delay, "");
        token.approve(address(strategyManager), stake);
        strategyManager.depositIntoStrategy(strategy, IERC20(address(token)), stake);
        vm.stopPrank();
    }

    function registerParams(address op, uint256 key)
        internal
        view
        returns (IAllocationManagerTypes.RegisterParams memory)
    {
        bytes memory peerId = "peer-new";
        bytes memory sig = signPeer(key, op, peerId);
        return IAllocationManagerTypes.RegisterParams(address(avs), new uint32[](1), abi.encode(peerId, sig));
    }

    function join(address op, uint256 key) internal {
        IAllocationManagerTypes.RegisterParams memory p = registerParams(op, key);
        vm.prank(op);
        allocation.registerForOperatorSets(op, p);
    }

    function deregister(address op) internal {
        vm.prank(op);
        allocation.deregisterFromOperatorSets(
            IAllocationManagerTypes.DeregisterParams(op, address(avs), new uint32[](1))
        );
    }

    // ------------------------------------------------------------------ allocation delay

    function testFuzz_anAllocationCountsOnlyAfterTheOperatorsDelay(uint32 delaySeed) public {
        uint32 delay = uint32(bound(delaySeed, 1, 5000));
        (address op, uint256 key) = newOperator("late", 50 ether, delay);
        (bool isSet, uint32 d) = allocation.getAllocationDelay(op);
        assertTrue(isSet); // set at registration, effective at once
        assertEq(d, delay);
        uint32 effect = uint32(vm.getBlockNumber()) + delay;
        vm.expectEmit(address(allocation));
        emit AllocationUpdated(op, set(), strategy, WAD, effect);
        allocate(op, WAD);
        IAllocationManagerTypes.Allocation memory a = allocation.getAllocation(op, set(), strategy);
        assertEq(a.currentMagnitude, 0);
        assertEq(a.pendingDiff, int128(int64(WAD)));
        assertEq(a.effectBlock, effect);
        vm.roll(effect - 1);
        assertEq(avs.stakeOf(op), 0);
        // The AVS sees no stake yet: joining now is refused.
        bytes memory sig = signPeer(key, op, "p");
        vm.prank(op);
        vm.expectRevert(abi.encodeWithSelector(P2pflServiceManager.StakeTooLow.selector, op, 0, 1 ether));
        allocation.registerForOperatorSets(
            op, IAllocationManagerTypes.RegisterParams(address(avs), new uint32[](1), abi.encode(bytes("p"), sig))
        );
        vm.roll(effect);
        assertEq(avs.stakeOf(op), 50 ether);
        join(op, key);
        assertTrue(allocation.isMemberOfOperatorSet(op, set()));
    }

    function test_aChangedDelayAppliesAfterTheConfigurationDelay() public {
        address op = ops[0];
        vm.prank(op);
        allocation.setAllocationDelay(op, 40);
        (, uint32 d) = allocation.getAllocationDelay(op);
        assertEq(d, ALLOCATION_DELAY);
        vm.roll(vm.getBlockNumber() + ALLOCATION_CONFIGURATION_DELAY);
        (, d) = allocation.getAllocationDelay(op);
        assertEq(d, ALLOCATION_DELAY);
        vm.roll(vm.getBlockNumber() + 1);
        (, d) = allocation.getAllocationDelay(op);
        assertEq(d, 40);
        vm.prank(address(this));
        vm.expectRevert(IPermissionControllerMixin.InvalidPermissions.selector);
        allocation.setAllocationDelay(op, 1);
    }

    function test_uninitializedAllocationDelay() public {
        address stranger = makeAddr("stranger");
        vm.expectRevert(IAllocationManagerErrors.UninitializedAllocationDelay.selector);
        allocate(stranger, WAD);
    }

    function test_sameMagnitudeAndPendingModificationsAreRefused() public {
        vm.expectRevert(IAllocationManagerErrors.SameMagnitude.selector);
        allocate(ops[0], WAD);
        (address op,) = newOperator("pending", 10 ether, 3);
        allocate(op, WAD / 2);
        vm.expectRevert(IAllocationManagerErrors.ModificationAlreadyPending.selector);
        allocate(op, WAD);
        vm.roll(vm.getBlockNumber() + 3);
        vm.expectRevert(IAllocationManagerErrors.InsufficientMagnitude.selector);
        allocate(op, WAD + 1);
        allocate(op, WAD); // once the first took effect
        // a queued deallocation is pending too
        allocate(ops[0], WAD / 2);
        vm.expectRevert(IAllocationManagerErrors.ModificationAlreadyPending.selector);
        allocate(ops[0], WAD / 4);
    }

    // ------------------------------------------------------------------ deallocation

    function testFuzz_deallocationWhileRegisteredIsQueued(uint64 magSeed) public {
        uint64 mag = uint64(bound(magSeed, 0, WAD - 1));
        address op = ops[1];
        uint256 stake = avs.stakeOf(op);
        uint32 effect = uint32(vm.getBlockNumber()) + DEALLOCATION_DELAY + 1;
        vm.expectEmit(address(allocation));
        emit AllocationUpdated(op, set(), strategy, mag, effect);
        allocate(op, mag);
        vm.roll(effect - 1); // still slashable through here: the stake is unchanged
        assertEq(avs.stakeOf(op), stake);
        assertEq(allocation.getAllocation(op, set(), strategy).currentMagnitude, WAD);
        vm.roll(effect);
        assertEq(avs.stakeOf(op), stake * mag / WAD);
        assertEq(allocation.getAllocation(op, set(), strategy).effectBlock, 0);
    }

    function test_aSlashDuringAQueuedDeallocationShrinksIt() public {
        address op = ops[1];
        allocate(op, WAD / 2); // queued: -WAD/2
        slash(op, WAD / 2);
        IAllocationManagerTypes.Allocation memory a = allocation.getAllocation(op, set(), strategy);
        assertEq(a.currentMagnitude, WAD / 2);
        assertEq(a.pendingDiff, -int128(int64(WAD / 4)));
        vm.roll(a.effectBlock);
        assertEq(allocation.getAllocation(op, set(), strategy).currentMagnitude, WAD / 4);
    }

    function test_deallocatingWhatIsNotSlashableIsImmediate() public {
        (address op,) = newOperator("idle", 10 ether, 1);
        allocate(op, WAD);
        vm.roll(vm.getBlockNumber() + 1);
        allocate(op, 0); // never registered: not slashable, freed at once
        IAllocationManagerTypes.Allocation memory a = allocation.getAllocation(op, set(), strategy);
        assertEq(a.currentMagnitude, 0);
        assertEq(a.pendingDiff, 0);
        assertEq(allocation.getEncumberedMagnitude(op, strategy), 0);
    }

    // ------------------------------------------------------------------ deregistration

    function testFuzz_aDeregisteredOperatorStaysSlashableForTheDelay(uint8 waitSeed) public {
        address op = ops[2];
        uint256 key = keys[2];
        uint256 stake = avs.stakeOf(op);
        uint256 deregistered = vm.getBlockNumber();
        deregister(op);
        assertFalse(allocation.isMemberOfOperatorSet(op, set()));
        uint256 wait = bound(waitSeed, 0, 3 * DEALLOCATION_DELAY);
        vm.roll(deregistered + wait);
        bool inside = wait <= DEALLOCATION_DELAY;
        assertEq(allocation.isOperatorSlashable(op, set()), inside);
        if (inside) {
            slash(op, WAD / 2);
            assertEq(avs.stakeOf(op), stake / 2);
            IAllocationManagerTypes.RegisterParams memory again = registerParams(op, key);
            vm.prank(op);
            vm.expectRevert(IAllocationManagerErrors.AlreadyMemberOfSet.selector);
            allocation.registerForOperatorSets(op, again);
        } else {
            IAllocationManagerTypes.SlashingParams memory p = slashParams(op, WAD / 2);
            p.strategies = one(strategy);
            vm.prank(address(avs));
            vm.expectRevert(IAllocationManagerErrors.OperatorNotSlashable.selector);
            allocation.slashOperator(address(avs), p);
            join(op, key); // the window passed: it may come back
            assertTrue(allocation.isMemberOfOperatorSet(op, set()));
        }
    }

    function test_onlyTheOperatorOrTheAvsDeregisters() public {
        vm.expectRevert(IAllocationManagerErrors.InvalidCaller.selector);
        allocation.deregisterFromOperatorSets(
            IAllocationManagerTypes.DeregisterParams(ops[0], address(avs), new uint32[](1))
        );
        deregister(ops[0]);
        vm.expectRevert(IAllocationManagerErrors.NotMemberOfSet.selector);
        deregister(ops[0]);
    }

    // ------------------------------------------------------------------ slashing

    function test_aFullSlashLeavesMaxMagnitudeZero() public {
        address op = ops[0];
        vm.recordLogs();
        slash(op, WAD);
        assertEq(allocation.getMaxMagnitude(op, strategy), 0);
        assertEq(avs.stakeOf(op), 0);
        assertEq(delegation.operatorShares(op, strategy), 0);
        (, uint256[] memory wadSlashed) = _operatorSlashed(vm.getRecordedLogs());
        assertEq(wadSlashed[0], WAD);
        // nothing left to slash: a further slash changes nothing
        slash(op, WAD);
        assertEq(allocation.getMaxMagnitude(op, strategy), 0);
        // and the operator takes no new deposits
        token.mint(op, 1 ether);
        vm.startPrank(op);
        token.approve(address(strategyManager), 1 ether);
        vm.expectRevert(IDelegationManagerErrors.FullySlashed.selector);
        strategyManager.depositIntoStrategy(strategy, IERC20(address(token)), 1 ether);
        vm.stopPrank();
    }

    /// `OperatorSlashed.wadSlashed` is the slashed magnitude over the max magnitude before the
    /// slash; the operator keeps `shares * newMax / prevMax` (rounded up).
    function testFuzz_wadSlashedIsSlashedMagnitudeOverMaxMagnitude(uint64 allocSeed, uint64 wad1, uint64 wad2) public {
        uint64 mag = uint64(bound(allocSeed, WAD / 50, WAD));
        uint256 w1 = bound(wad1, 1, WAD);
        uint256 w2 = bound(wad2, 1, WAD);
        (address op, uint256 key) = newOperator("fuzz", 100 ether, 0);
        allocate(op, mag);
        join(op, key);
        uint64 max = WAD;
        uint64 current = mag;
        uint256[2] memory wads = [w1, w2];
        for (uint256 i; i < 2; ++i) {
            uint64 slashed = uint64((uint256(current) * wads[i] + WAD - 1) / WAD);
            uint256 shares = delegation.operatorShares(op, strategy);
            vm.recordLogs();
            slash(op, wads[i]);
            (, uint256[] memory wadSlashed) = _operatorSlashed(vm.getRecordedLogs());
            if (current == 0) {
                assertEq(wadSlashed[0], 0);
                continue;
            }
            assertEq(wadSlashed[0], uint256(slashed) * WAD / max);
            uint64 newMax = max - slashed;
            assertEq(allocation.getMaxMagnitude(op, strategy), newMax);
            assertEq(delegation.operatorShares(op, strategy), (shares * newMax + max - 1) / max);
            (max, current) = (newMax, current - slashed);
        }
    }

    function test_slashRevertsWithTheCoresErrors() public {
        address op = ops[0];
        IAllocationManagerTypes.SlashingParams memory p = slashParams(op, 0);
        p.strategies = one(strategy);
        vm.startPrank(address(avs));
        vm.expectRevert(IAllocationManagerErrors.InvalidWadToSlash.selector);
        allocation.slashOperator(address(avs), p);
        p.wadsToSlash[0] = uint256(WAD) + 1;
        vm.expectRevert(IAllocationManagerErrors.InvalidWadToSlash.selector);
        allocation.slashOperator(address(avs), p);
        p.wadsToSlash = new uint256[](2);
        (p.wadsToSlash[0], p.wadsToSlash[1]) = (1, 1);
        vm.expectRevert(IAllocationManagerErrors.InputArrayLengthMismatch.selector);
        allocation.slashOperator(address(avs), p);
        p.strategies = new IStrategy[](2);
        (p.strategies[0], p.strategies[1]) = (strategy, strategy);
        vm.expectRevert(IAllocationManagerErrors.StrategiesMustBeInAscendingOrder.selector);
        allocation.slashOperator(address(avs), p);
        p = slashParams(op, WAD);
        p.strategies = one(IStrategy(address(0xdead)));
        vm.expectRevert(IAllocationManagerErrors.StrategyNotInOperatorSet.selector);
        allocation.slashOperator(address(avs), p);
        p.strategies = one(strategy);
        p.operatorSetId = 9;
        vm.expectRevert(IAllocationManagerErrors.InvalidOperatorSet.selector);
        allocation.slashOperator(address(avs), p);
        p.operatorSetId = 0;
        p.operator = makeAddr("never registered");
        vm.expectRevert(IAllocationManagerErrors.OperatorNotSlashable.selector);
        allocation.slashOperator(address(avs), p);
        vm.stopPrank();
        p.operator = op;
        vm.expectRevert(IAllocationManagerErrors.InvalidCaller.selector); // not the slasher
        allocation.slashOperator(address(avs), p);
    }

    // ------------------------------------------------------------------ registrar, sets

    function test_withNoRegistrarSetTheAvsIsTheRegistrar() public {
        BareAvs bare = new BareAvs(allocation);
        vm.expectRevert(IAllocationManagerErrors.NonexistentAVSMetadata.selector);
        bare.createSet(strategy, false);
        OperatorSet memory s = OperatorSet(address(bare), 7);
        vm.expectEmit(address(allocation));
        emit SlasherUpdated(s, address(bare), uint32(vm.getBlockNumber()));
        bare.createSet(strategy, true);
        assertEq(address(allocation.getAVSRegistrar(address(bare))), address(bare));
        assertEq(allocation.getSlasher(s), address(bare));
        vm.expectRevert(IAllocationManagerErrors.InvalidAVSRegistrar.selector);
        bare.setRegistrar(IAVSRegistrar(address(avs))); // supports only itself
        uint32[] memory ids = new uint32[](1);
        ids[0] = 7;
        vm.prank(ops[0]);
        allocation.registerForOperatorSets(ops[0], IAllocationManagerTypes.RegisterParams(address(bare), ids, ""));
        assertTrue(bare.registered(ops[0]));
        address stranger = makeAddr("not an operator");
        vm.prank(stranger);
        vm.expectRevert(IAllocationManagerErrors.InvalidOperator.selector);
        allocation.registerForOperatorSets(stranger, IAllocationManagerTypes.RegisterParams(address(bare), ids, ""));
    }

    // ------------------------------------------------------------------ deposits

    function test_depositsGoThroughTheStrategyManagerIntoWhitelistedStrategies() public {
        address staker = makeAddr("staker");
        PlainToken plain = new PlainToken(staker, 10 ether);
        DevStrategy other = new DevStrategy(address(strategyManager), IERC20(address(plain)));
        vm.startPrank(staker);
        plain.approve(address(strategyManager), 10 ether);
        vm.expectRevert(IStrategyManagerErrors.StrategyNotWhitelisted.selector);
        strategyManager.depositIntoStrategy(other, IERC20(address(plain)), 1 ether);
        vm.stopPrank();
        strategyManager.addStrategiesToDepositWhitelist(one(other));
        vm.startPrank(staker);
        vm.expectRevert(IStrategyErrors.OnlyUnderlyingToken.selector);
        strategyManager.depositIntoStrategy(other, IERC20(address(token)), 0);
        vm.expectRevert(IStrategyErrors.NewSharesZero.selector);
        strategyManager.depositIntoStrategy(other, IERC20(address(plain)), 0);
        vm.recordLogs();
        strategyManager.depositIntoStrategy(other, IERC20(address(plain)), 4 ether); // any ERC-20
        vm.stopPrank();
        Vm.Log[] memory logs = vm.getRecordedLogs();
        uint256 found;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(strategyManager) && logs[i].topics[0] == DEPOSIT_TOPIC) {
                assertEq(logs[i].topics.length, 1); // no indexed fields
                assertEq(logs[i].data, abi.encode(staker, other, 4 ether));
                ++found;
            }
        }
        assertEq(found, 1);
        assertEq(strategyManager.stakerDepositShares(staker, other), 4 ether);
        assertEq(plain.balanceOf(address(other)), 4 ether);
        // deposits made before registering as an operator are delegated with it
        vm.prank(staker);
        delegation.registerAsOperator(address(0), 0, "");
        assertEq(delegation.operatorShares(staker, other), 4 ether);
        vm.prank(staker);
        vm.expectRevert(IDelegationManagerErrors.ActivelyDelegated.selector);
        delegation.registerAsOperator(address(0), 0, "");
    }

    function _operatorSlashed(Vm.Log[] memory logs)
        private
        view
        returns (IStrategy[] memory strategies, uint256[] memory wadSlashed)
    {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(allocation) && logs[i].topics[0] == OperatorSlashed.selector) {
                (,, strategies, wadSlashed,) =
                    abi.decode(logs[i].data, (address, OperatorSet, IStrategy[], uint256[], string));
                return (strategies, wadSlashed);
            }
        }
        revert("no OperatorSlashed");
    }
}
