// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ResultChallenges} from "../../src/avs/ResultChallenges.sol";

/// @notice ResultChallenges over a settable result: the hooks read fields a test writes and
/// record what the challenges did (upheld, forfeited, refunded, slashed), so the challenge
/// logic is tested apart from the epoch flow.
contract ChallengeStage is ResultChallenges {
    ResultView public result;
    bool public open = true;
    bool public provable = true;
    address[] public operators;
    mapping(address => bytes32) public commitments;
    mapping(uint256 => bytes32) public rowHash;
    uint256 public dim;
    uint256 public k = 64;
    uint256 public bound;
    uint256 public constant BOND = 1 ether;

    uint256 public upheldCount;
    ChallengeKind public lastKind;
    address public lastWinner;
    mapping(address => uint256) public paid;
    address[] public normSlashed;

    function set(ResultView calldata r, address[] calldata ops, bytes32[] calldata roots, uint256 d, uint256 b)
        external
    {
        result = r;
        operators = ops;
        for (uint256 i; i < ops.length; ++i) {
            commitments[ops[i]] = roots[i];
        }
        dim = d;
        bound = b;
    }

    function setRow(uint256 i, int256[] calldata row) external {
        rowHash[i] = keccak256(abi.encode(row));
    }

    function setOpen(bool o) external {
        open = o;
    }

    function setProvable(bool p) external {
        provable = p;
    }

    function voidResult() external {
        result.standing = false;
    }

    function resubmit() external {
        result.standing = true;
        result.attempt += 1;
    }

    function normSlashedCount() external view returns (uint256) {
        return normSlashed.length;
    }

    // ---------------------------------------------------------------- hooks

    function _challengeable(uint256) internal view override returns (ResultView memory) {
        require(open && result.standing, "not challengeable");
        return result;
    }

    function _resultOf(uint256) internal view override returns (ResultView memory) {
        return result;
    }

    function _resultOperatorAt(uint256, uint256 index) internal view override returns (address) {
        return operators[index];
    }

    function _resultOperatorCount(uint256) internal view override returns (uint256) {
        return operators.length;
    }

    function _isPostedRow(uint256, uint256 index, int256[] calldata row) internal view override returns (bool) {
        return keccak256(abi.encode(row)) == rowHash[index];
    }

    function _commitment(uint256, address operator) internal view override returns (bytes32) {
        return commitments[operator];
    }

    function _normProvable(uint256) internal view override returns (bool) {
        return provable;
    }

    function _modelDim() internal view override returns (uint256) {
        return dim;
    }

    function _sketchDim() internal view override returns (uint256) {
        return k;
    }

    function _normBoundSq() internal view override returns (uint256) {
        return bound;
    }

    function _challengeBond() internal pure override returns (uint256) {
        return BOND;
    }

    function _challengeBlocks() internal pure override returns (uint64) {
        return 10;
    }

    function _uphold(uint256, address challenger, uint256 bond, ChallengeKind kind) internal override {
        upheldCount += 1;
        lastKind = kind;
        lastWinner = challenger;
        paid[challenger] += bond;
        result.standing = false;
    }

    function _forfeit(address aggregator, uint256 bond) internal override {
        paid[aggregator] += bond;
    }

    function _refund(address challenger, uint256 bond) internal override {
        paid[challenger] += bond;
    }

    function _slashNorm(uint256, address operator) internal override {
        normSlashed.push(operator);
    }
}
