// SPDX-License-Identifier: MIT
pragma solidity ^0.8.17;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ERC20} from "./ERC20.sol";

/// @notice Stands in for solmate's `SafeTransferLib` where the vendored Permit2 imports it
///         (`solmate/src/utils/SafeTransferLib.sol`, remapped by contracts/build.ts), on
///         OpenZeppelin's MIT `SafeERC20` instead of AGPL-3.0 solmate.
/// @dev Same contract as solmate's for every real token (reverts when the call reverts or returns
///      `false`; accepts tokens that return nothing); stricter in one case: OpenZeppelin also
///      reverts when the "token" has no code, where solmate's call to an empty address succeeds.
library SafeTransferLib {
    function safeTransferFrom(ERC20 token, address from, address to, uint256 amount) internal {
        SafeERC20.safeTransferFrom(IERC20(address(token)), from, to, amount);
    }
}
