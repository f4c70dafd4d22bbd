// SPDX-License-Identifier: MIT
pragma solidity ^0.8.17;

/// @notice Stands in for solmate's `ERC20` where the vendored Permit2 imports it
///         (`solmate/src/tokens/ERC20.sol`, remapped here by contracts/build.ts).
/// @dev Permit2 uses the type only to name token addresses and to call `transferFrom` through
///      `SafeTransferLib`; solmate is AGPL-3.0, so instead of vendoring it this MIT file declares
///      the ERC-20 surface Permit2's sources name. Nothing here is deployed.
abstract contract ERC20 {
    function transferFrom(address from, address to, uint256 amount) public virtual returns (bool);

    function DOMAIN_SEPARATOR() public view virtual returns (bytes32);

    function nonces(address owner) public view virtual returns (uint256);

    function permit(address owner, address spender, uint256 value, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        public
        virtual;
}
