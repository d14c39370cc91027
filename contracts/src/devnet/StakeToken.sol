// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @notice The devnet's stake token: an ERC-20 the deployer mints to operators.
contract StakeToken is ERC20, Ownable {
    constructor(address owner_) ERC20("p2pfl devnet stake", "pSTAKE") Ownable(owner_) {}

    /// @notice Mint `amount` to `to` (deployer only).
    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
