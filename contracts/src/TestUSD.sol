// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title TestUSD
/// @notice 6-decimal stablecoin stand-in for local runs and tests (1 unit = 1 micro-USD). Not for production.
contract TestUSD is ERC20, Ownable {
    constructor(address owner) ERC20("Citepay Test USD", "tUSD") Ownable(owner) {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
