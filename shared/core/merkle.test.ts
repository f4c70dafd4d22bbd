import fc from 'fast-check';
import { encodeAbiParameters, getAddress, keccak256, type Address, type Hex } from 'viem';
import { describe, expect, it } from 'vitest';
import {
  buildPayoutTree,
  buildReceiptsTree,
  loadPayoutTree,
  loadReceiptsTree,
  verifyPayoutProof,
  verifyReceiptProof,
  type PayoutEntry,
} from './merkle.ts';

const wallet = (i: number) => getAddress(`0x${(i + 1).toString(16).padStart(40, '0')}`);
const hash = (i: number) => keccak256(encodeAbiParameters([{ type: 'uint256' }], [BigInt(i)]));

const arbEntries = fc
  .uniqueArray(fc.integer({ min: 0, max: 1_000_000 }), { minLength: 1, maxLength: 40 })
  .chain((ids) =>
    fc.tuple(
      fc.constant(ids),
      fc.array(fc.bigInt({ min: 0n, max: 2n ** 128n }), { minLength: ids.length, maxLength: ids.length }),
    ),
  )
  .map(([ids, amounts]) => ids.map((id, i) => ({ wallet: wallet(id), cumulative: amounts[i]! })));

describe('payout tree', () => {
  it('has the leaf the contract verifies: keccak256(keccak256(abi.encode(address, uint256)))', () => {
    const entry = { wallet: wallet(7), cumulative: 1_234_567n };
    const tree = buildPayoutTree([entry]);
    // A single-leaf tree's root is the leaf itself.
    const leaf = keccak256(
      keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'uint256' }], [entry.wallet, entry.cumulative])),
    );
    expect(tree.root).toBe(leaf);
  });

  it('every proof verifies, for every wallet, whatever the entries (property)', () => {
    fc.assert(
      fc.property(arbEntries, (entries) => {
        const tree = buildPayoutTree(entries);
        expect(tree.size).toBe(entries.length);
        expect(tree.totalCumulative).toBe(entries.reduce((s, e) => s + e.cumulative, 0n));
        for (const e of entries) {
          const p = tree.proof(e.wallet)!;
          expect(p.cumulative).toBe(e.cumulative);
          expect(verifyPayoutProof(tree.root, e, p.proof)).toBe(true);
          expect(verifyPayoutProof(tree.root, { ...e, cumulative: e.cumulative + 1n }, p.proof)).toBe(false);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('gives the same root and dump for the same entries in any order (property)', () => {
    fc.assert(
      fc.property(
        arbEntries.chain((entries) =>
          fc.tuple(
            fc.constant(entries),
            fc.shuffledSubarray(entries, { minLength: entries.length, maxLength: entries.length }),
          ),
        ),
        ([entries, shuffled]) => {
          const a = buildPayoutTree(entries);
          const b = buildPayoutTree(shuffled);
          expect(b.root).toBe(a.root);
          expect(JSON.stringify(b.dump())).toBe(JSON.stringify(a.dump()));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('looks wallets up case-insensitively and answers undefined for a stranger', () => {
    const tree = buildPayoutTree([
      { wallet: wallet(1), cumulative: 5n },
      { wallet: wallet(2), cumulative: 6n },
    ]);
    expect(tree.proof(wallet(2).toLowerCase() as Address)?.cumulative).toBe(6n);
    expect(tree.proof(wallet(3))).toBeUndefined();
    const proofFor1 = tree.proof(wallet(1))!.proof;
    expect(verifyPayoutProof(tree.root, { wallet: wallet(2), cumulative: 5n }, proofFor1)).toBe(false);
  });

  it('survives a JSON round trip of its dump and still proves', () => {
    const entries: PayoutEntry[] = Array.from({ length: 33 }, (_, i) => ({
      wallet: wallet(i),
      cumulative: BigInt(i) * 10n ** 30n,
    }));
    const tree = buildPayoutTree(entries);
    const loaded = loadPayoutTree(JSON.parse(JSON.stringify(tree.dump())));
    expect(loaded.root).toBe(tree.root);
    expect(loaded.totalCumulative).toBe(tree.totalCumulative);
    expect(loaded.entries()).toEqual(
      [...entries].sort((a, b) => (a.wallet.toLowerCase() < b.wallet.toLowerCase() ? -1 : 1)),
    );
    expect(loaded.proof(wallet(20))).toEqual(tree.proof(wallet(20)));
  });

  it('refuses a tampered dump, a receipts dump, duplicates, bad input and emptiness', () => {
    const dump = buildPayoutTree([
      { wallet: wallet(1), cumulative: 5n },
      { wallet: wallet(2), cumulative: 6n },
    ]).dump();
    const tampered = JSON.parse(JSON.stringify(dump));
    tampered.values[0].value[1] = '500';
    expect(() => loadPayoutTree(tampered)).toThrow();
    expect(() => loadPayoutTree(buildReceiptsTree([hash(1)]).dump() as never)).toThrow(/leaf encoding/);
    expect(() =>
      buildPayoutTree([
        { wallet: wallet(1), cumulative: 5n },
        { wallet: wallet(1).toLowerCase() as Address, cumulative: 6n },
      ]),
    ).toThrow(/duplicate/);
    expect(() => buildPayoutTree([{ wallet: '0x1234' as Address, cumulative: 5n }])).toThrow(/address/);
    expect(() => buildPayoutTree([{ wallet: wallet(1), cumulative: -1n }])).toThrow(/negative/);
    expect(() => buildPayoutTree([])).toThrow(/at least one/);
  });
});

describe('receipts tree', () => {
  it('proves every receipt by hash and by input index, and survives a round trip', () => {
    const hashes = Array.from({ length: 21 }, (_, i) => hash(i));
    const tree = buildReceiptsTree(hashes);
    const loaded = loadReceiptsTree(JSON.parse(JSON.stringify(tree.dump())));
    expect(loaded.root).toBe(tree.root);
    hashes.forEach((h, i) => {
      const byHash = loaded.proof(h)!;
      expect(byHash.index).toBe(i);
      expect(loaded.proof(i)).toEqual(byHash);
      expect(verifyReceiptProof(tree.root, h, byHash.proof)).toBe(true);
    });
    expect(verifyReceiptProof(tree.root, hash(99), tree.proof(0)!.proof)).toBe(false);
    expect(tree.proof(hash(99))).toBeUndefined();
    expect(tree.proof(21)).toBeUndefined();
  });

  it('has the root independent of input order, and refuses duplicates and non-hashes', () => {
    const hashes = [hash(1), hash(2), hash(3)];
    expect(buildReceiptsTree([...hashes].reverse()).root).toBe(buildReceiptsTree(hashes).root);
    expect(() => buildReceiptsTree([hash(1), hash(1).toUpperCase().replace('0X', '0x') as Hex])).toThrow(/duplicate/);
    expect(() => buildReceiptsTree(['0x1234'])).toThrow(/32-byte/);
  });
});
