// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @notice Benchmark baseline only: push payouts as one ERC-20 transfer per payee, from the caller's balance
/// (the caller approves this contract; with an infinite allowance OpenZeppelin's ERC-20 skips the allowance write).
contract BatchTransfer {
    using SafeERC20 for IERC20;

    error LengthMismatch();

    function push(IERC20 token, address[] calldata to, uint256[] calldata amounts) external {
        uint256 n = to.length;
        if (amounts.length != n) revert LengthMismatch();
        for (uint256 i; i < n; ++i) {
            token.safeTransferFrom(msg.sender, to[i], amounts[i]);
        }
    }
}
