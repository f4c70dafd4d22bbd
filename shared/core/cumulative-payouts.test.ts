import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cumulativePayouts } from './cumulative-payouts.ts';
import { verifyPayoutProof } from './merkle.ts';

const wallet = fc.uint8Array({ minLength: 20, maxLength: 20 }).map((b) => `0x${Buffer.from(b).toString('hex')}`);
const settledAndPayable = fc.tuple(
  fc.uniqueArray(fc.tuple(wallet, fc.bigInt({ min: 0n, max: 10n ** 12n })), { selector: ([w]) => w, maxLength: 8 }),
  fc.uniqueArray(
    fc.record({ wallet, amount: fc.bigInt({ min: 1n, max: 10n ** 9n }), accountId: fc.constant('acct') }),
    { selector: (p) => p.wallet, maxLength: 8 },
  ),
  fc.boolean(),
);

describe('cumulativePayouts', () => {
  it('adds this epoch to each payee’s settled total, keeps everyone else’s, and proves every leaf', () => {
    fc.assert(
      fc.property(settledAndPayable, ([settledList, payable, overlap]) => {
        // half the time pay wallets that were paid before
        const settled = new Map(
          overlap ? settledList.map(([w, c], i) => [payable[i]?.wallet ?? w, c] as const) : settledList,
        );
        const result = cumulativePayouts(settled, payable);
        expect(result.amount).toBe(payable.reduce((a, p) => a + p.amount, 0n));
        for (const p of result.payouts) expect(p.cumulative).toBe((settled.get(p.wallet) ?? 0n) + p.amount);
        expect(result.payouts.map((p) => p.accountId)).toEqual(payable.map((p) => p.accountId));
        const settledTotal = [...settled.values()].reduce((a, b) => a + b, 0n);
        if (settled.size === 0 && payable.length === 0) {
          expect(result.tree).toBeNull();
          return;
        }
        const tree = result.tree!;
        expect(tree.totalCumulative).toBe(settledTotal + result.amount);
        expect(tree.size).toBe(new Set([...settled.keys(), ...payable.map((p) => p.wallet)]).size);
        for (const entry of tree.entries()) {
          const paid = result.payouts.find((p) => p.wallet === entry.wallet.toLowerCase());
          expect(entry.cumulative).toBe(paid ? paid.cumulative : settled.get(entry.wallet.toLowerCase()));
          expect(verifyPayoutProof(tree.root, entry, tree.proof(entry.wallet)!.proof)).toBe(true);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('gives the same root whatever order the wallets come in, and leaves its inputs alone', () => {
    fc.assert(
      fc.property(settledAndPayable, ([settledList, payable]) => {
        const settled = new Map(settledList);
        const a = cumulativePayouts(settled, payable);
        const b = cumulativePayouts(new Map([...settledList].reverse()), [...payable].reverse());
        expect(b.tree?.root).toBe(a.tree?.root);
        expect(settled).toEqual(new Map(settledList));
      }),
      { numRuns: 50 },
    );
  });
});
