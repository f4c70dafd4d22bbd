// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Metadata} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Metadata.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

/// @title CitepayDistributor
/// @notice Cumulative Merkle distributor. Each epoch the settler publishes one root over
/// (wallet, cumulative amount earned since the beginning) and, in the same transaction, funds
/// exactly the growth of the total. A claim pays `cumulative − already claimed` to the wallet,
/// so a contributor claims once for any number of epochs, and anyone may claim for a wallet.
/// @dev 1 token unit = 1 micro-USD, the API's unit; the constructor refuses other decimals.
/// Trust: the contract cannot check a root against its leaves. The settler must publish trees in
/// which no wallet's cumulative amount decreases and whose leaves sum to `totalCumulative`; under
/// that rule the balance always covers everything still claimable.
contract CitepayDistributor is AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 public constant SETTLER_ROLE = keccak256("SETTLER_ROLE");
    uint8 public constant UNIT_DECIMALS = 6;

    IERC20 public immutable token;

    // One slot: claims read the epoch for their event, publish writes both together.
    uint64 public currentEpoch;
    uint192 private _totalCumulative;

    bytes32 public payoutRoot;

    /// @notice Cumulative amount already paid out per wallet.
    mapping(address account => uint256) public claimed;
    /// @notice Root of the receipts tree of every published epoch, kept so old receipts stay verifiable.
    mapping(uint64 epoch => bytes32) public receiptsRootOf;

    event EpochPublished(
        uint64 indexed epoch, bytes32 payoutRoot, bytes32 receiptsRoot, uint256 totalCumulative, uint256 funded
    );
    event Claimed(address indexed account, uint256 paid, uint256 cumulativeAmount, uint64 epoch);

    error UnitOfAccountMismatch(uint8 decimals);
    error EpochNotIncreasing(uint64 epoch, uint64 currentEpoch);
    error TotalCumulativeDecreased(uint256 totalCumulative, uint256 previousTotalCumulative);
    error InvalidProof(address account, uint256 cumulativeAmount);
    error LengthMismatch();

    constructor(IERC20Metadata token_, address admin, address settler) {
        uint8 decimals = token_.decimals();
        if (decimals != UNIT_DECIMALS) revert UnitOfAccountMismatch(decimals);
        token = token_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(SETTLER_ROLE, settler);
    }

    /// @notice Sum over all wallets of their cumulative amounts in the current tree.
    function totalCumulative() external view returns (uint256) {
        return _totalCumulative;
    }

    /// @notice Publishes epoch `epoch` and pulls `totalCumulative − previous total` from the caller,
    /// so funding and publishing are one atomic transaction. Gas does not depend on the payee count.
    function publish(uint64 epoch, bytes32 payoutRoot_, bytes32 receiptsRoot, uint256 totalCumulative_)
        external
        onlyRole(SETTLER_ROLE)
        nonReentrant
    {
        uint64 previousEpoch = currentEpoch;
        if (epoch <= previousEpoch) revert EpochNotIncreasing(epoch, previousEpoch);
        uint256 previousTotal = _totalCumulative;
        if (totalCumulative_ < previousTotal) revert TotalCumulativeDecreased(totalCumulative_, previousTotal);
        uint256 funded = totalCumulative_ - previousTotal;

        currentEpoch = epoch;
        _totalCumulative = SafeCast.toUint192(totalCumulative_);
        payoutRoot = payoutRoot_;
        receiptsRootOf[epoch] = receiptsRoot;
        emit EpochPublished(epoch, payoutRoot_, receiptsRoot, totalCumulative_, funded);

        if (funded != 0) token.safeTransferFrom(msg.sender, address(this), funded);
    }

    /// @notice Pays `account` whatever its cumulative amount in the current tree exceeds what it
    /// was already paid. Anyone may call; the tokens always go to `account`. Pays 0 (no revert, no
    /// transfer) when nothing is due; reverts on a proof that does not match the current root.
    function claim(address account, uint256 cumulativeAmount, bytes32[] calldata proof)
        external
        nonReentrant
        returns (uint256 paid)
    {
        return _claim(account, cumulativeAmount, proof, payoutRoot, currentEpoch);
    }

    /// @notice Relayer batch of {claim}; entries with nothing due are skipped, any bad proof reverts the batch.
    function claimMany(address[] calldata accounts, uint256[] calldata cumulativeAmounts, bytes32[][] calldata proofs)
        external
        nonReentrant
        returns (uint256 paid)
    {
        uint256 n = accounts.length;
        if (cumulativeAmounts.length != n || proofs.length != n) revert LengthMismatch();
        bytes32 root = payoutRoot;
        uint64 epoch = currentEpoch;
        for (uint256 i; i < n; ++i) {
            paid += _claim(accounts[i], cumulativeAmounts[i], proofs[i], root, epoch);
        }
    }

    function _claim(address account, uint256 cumulativeAmount, bytes32[] calldata proof, bytes32 root, uint64 epoch)
        private
        returns (uint256 paid)
    {
        // StandardMerkleTree leaf: keccak256(keccak256(abi.encode(address, uint256))).
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, cumulativeAmount))));
        if (!MerkleProof.verifyCalldata(proof, root, leaf)) revert InvalidProof(account, cumulativeAmount);

        uint256 already = claimed[account];
        if (cumulativeAmount <= already) return 0;
        paid = cumulativeAmount - already;
        claimed[account] = cumulativeAmount;
        emit Claimed(account, paid, cumulativeAmount, epoch);

        token.safeTransfer(account, paid);
    }
}
