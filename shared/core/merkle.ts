// Payout and receipts Merkle trees, pure (core: the chain client, viem, stays in shared/chain/). Thin wrappers over OpenZeppelin's StandardMerkleTree with
// the leaf encodings fixed to what CitepayDistributor verifies:
//   payout leaf   = keccak256(keccak256(abi.encode(address wallet, uint256 cumulative)))
//   receipts leaf = keccak256(keccak256(abi.encode(bytes32 receiptHash)))
// Pairs are hashed sorted (OpenZeppelin MerkleProof), leaves sorted by hash, so a root does not
// depend on input order.
import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { checksumAddress, isAddress, isHex, type Address, type Hex } from './hex.ts';

export const PAYOUT_LEAF_ENCODING = ['address', 'uint256'] as const;
export const RECEIPT_LEAF_ENCODING = ['bytes32'] as const;

export interface PayoutEntry {
  wallet: Address;
  /** Total ever earned by the wallet, in micro-USD (token units). */
  cumulative: bigint;
}

export interface PayoutProof extends PayoutEntry {
  proof: Hex[];
}

/** JSON-safe dump (amounts as decimal strings) from which {@link loadPayoutTree} restores the tree. */
export type PayoutTreeDump = ReturnType<StandardMerkleTree<[wallet: string, cumulative: string]>['dump']>;
export type ReceiptsTreeDump = ReturnType<StandardMerkleTree<[receiptHash: string]>['dump']>;

export interface PayoutTree {
  readonly root: Hex;
  readonly size: number;
  /** Sum of all cumulative amounts: the `totalCumulative` to publish with this root. */
  readonly totalCumulative: bigint;
  /** Entries sorted by wallet (lower-case hex order). */
  entries(): PayoutEntry[];
  /** The wallet's leaf and proof; undefined when the wallet is not in the tree. Case-insensitive. */
  proof(wallet: Address): PayoutProof | undefined;
  dump(): PayoutTreeDump;
}

export interface ReceiptsTree {
  readonly root: Hex;
  readonly size: number;
  /** Proof for a receipt hash, or for the receipt at `index` in the input order; undefined when absent. */
  proof(receipt: Hex | number): { receiptHash: Hex; index: number; proof: Hex[] } | undefined;
  dump(): ReceiptsTreeDump;
}

/**
 * One leaf per wallet. The same entries in any order give the same root (and the same dump).
 * Throws on an empty list, a duplicate wallet, a bad address or a negative amount.
 */
export function buildPayoutTree(entries: readonly PayoutEntry[]): PayoutTree {
  if (entries.length === 0) throw new Error('a payout tree needs at least one entry');
  const rows = entries.map(({ wallet, cumulative }) => {
    if (!isAddress(wallet)) throw new Error(`not an address: ${wallet}`);
    if (cumulative < 0n) throw new Error(`negative cumulative amount for ${wallet}`);
    return [wallet.toLowerCase(), cumulative.toString()] as [string, string];
  });
  rows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  for (let i = 1; i < rows.length; i++)
    if (rows[i]![0] === rows[i - 1]![0]) throw new Error(`duplicate wallet in payout tree: ${rows[i]![0]}`);
  return wrapPayoutTree(StandardMerkleTree.of(rows, [...PAYOUT_LEAF_ENCODING]));
}

/** Restores a tree from {@link PayoutTree.dump} (re-hashes every leaf to validate it). */
export function loadPayoutTree(dump: PayoutTreeDump): PayoutTree {
  assertEncoding(dump.leafEncoding, PAYOUT_LEAF_ENCODING);
  return wrapPayoutTree(StandardMerkleTree.load(dump));
}

function wrapPayoutTree(tree: StandardMerkleTree<[string, string]>): PayoutTree {
  const index = new Map<string, number>();
  let total = 0n;
  for (const [i, [wallet, amount]] of tree.entries()) {
    index.set(wallet.toLowerCase(), i);
    total += BigInt(amount);
  }
  return {
    root: tree.root as Hex,
    size: tree.length,
    totalCumulative: total,
    entries: () =>
      Array.from(tree.entries(), ([, [wallet, amount]]) => ({
        wallet: checksumAddress(wallet),
        cumulative: BigInt(amount),
      })),
    proof(wallet) {
      const i = index.get(wallet.toLowerCase());
      if (i === undefined) return undefined;
      const [, amount] = tree.at(i)!;
      return { wallet: checksumAddress(wallet), cumulative: BigInt(amount), proof: tree.getProof(i) as Hex[] };
    },
    dump: () => tree.dump(),
  };
}

/** One leaf per receipt hash (duplicates refused). Input order matters only for `proof(index)`. */
export function buildReceiptsTree(receiptHashes: readonly Hex[]): ReceiptsTree {
  if (receiptHashes.length === 0) throw new Error('a receipts tree needs at least one receipt');
  const seen = new Set<string>();
  const rows = receiptHashes.map((h) => {
    if (!isHex(h) || h.length !== 66) throw new Error(`not a 32-byte hash: ${h}`);
    const lower = h.toLowerCase();
    if (seen.has(lower)) throw new Error(`duplicate receipt hash: ${h}`);
    seen.add(lower);
    return [lower] as [string];
  });
  return wrapReceiptsTree(StandardMerkleTree.of(rows, [...RECEIPT_LEAF_ENCODING]));
}

export function loadReceiptsTree(dump: ReceiptsTreeDump): ReceiptsTree {
  assertEncoding(dump.leafEncoding, RECEIPT_LEAF_ENCODING);
  return wrapReceiptsTree(StandardMerkleTree.load(dump));
}

function wrapReceiptsTree(tree: StandardMerkleTree<[string]>): ReceiptsTree {
  const index = new Map<string, number>();
  for (const [i, [hash]] of tree.entries()) index.set(hash.toLowerCase(), i);
  return {
    root: tree.root as Hex,
    size: tree.length,
    proof(receipt) {
      const i = typeof receipt === 'number' ? receipt : index.get(receipt.toLowerCase());
      if (i === undefined || !Number.isInteger(i) || i < 0 || i >= tree.length) return undefined;
      return { receiptHash: tree.at(i)![0] as Hex, index: i, proof: tree.getProof(i) as Hex[] };
    },
    dump: () => tree.dump(),
  };
}

export function verifyPayoutProof(root: Hex, entry: PayoutEntry, proof: readonly Hex[]): boolean {
  try {
    return StandardMerkleTree.verify(
      root,
      [...PAYOUT_LEAF_ENCODING],
      [entry.wallet, entry.cumulative.toString()],
      [...proof],
    );
  } catch {
    return false; // malformed proof or leaf
  }
}

export function verifyReceiptProof(root: Hex, receiptHash: Hex, proof: readonly Hex[]): boolean {
  try {
    return StandardMerkleTree.verify(root, [...RECEIPT_LEAF_ENCODING], [receiptHash], [...proof]);
  } catch {
    return false;
  }
}

function assertEncoding(actual: readonly string[] | undefined, expected: readonly string[]) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`unexpected leaf encoding ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  }
}
