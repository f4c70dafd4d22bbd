// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC3009} from "@openzeppelin/contracts/token/ERC20/extensions/draft-ERC3009.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title TestUSD
/// @notice 6-decimal stablecoin stand-in for local runs and tests (1 unit = 1 micro-USD). Not for production.
/// @dev EIP-3009 transferWithAuthorization (random bytes32 nonces, v/r/s as USDC takes them) so x402's
///      `exact` scheme can pay with it; EIP-712 domain ("Citepay Test USD", "1"), readable via ERC-5267.
contract TestUSD is ERC20, ERC3009, Ownable {
    constructor(address owner) ERC20("Citepay Test USD", "tUSD") EIP712("Citepay Test USD", "1") Ownable(owner) {}

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external onlyOwner {
        _mint(to, amount);
    }
}
