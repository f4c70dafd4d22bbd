import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { priceRetrieval } from './pricing.ts';
import { toPpmWeights } from './money.ts';
import { assertBalanced, sumEntries } from './ledger.ts';

const source = (i: number, price: bigint, weightPpm: bigint) => ({
  contributorAccountId: `acct_c${i % 3}`,
  datanetId: `dn_${i % 2}`,
  documentId: `doc_${i}`,
  pricePerSource: price,
  weightPpm,
});

describe('priceRetrieval', () => {
  it('charges listed prices, keeps the fee, splits the rest by score', () => {
    const charge = priceRetrieval({
      consumerAccountId: 'acct_consumer',
      protocolAccountId: 'acct_protocol',
      feeBps: 1000,
      sources: [source(0, 1000n, 750_000n), source(1, 1000n, 250_000n)],
    });
    expect(charge.total).toBe(2000n);
    expect(charge.protocolFee).toBe(200n);
    expect(charge.sources.map((s) => s.credited)).toEqual([1350n, 450n]);
    expect(charge.sources.map((s) => s.weightPpm)).toEqual([750_000n, 250_000n]);
    assertBalanced(charge);
  });

  it('makes no entries when nothing is billable', () => {
    const charge = priceRetrieval({ consumerAccountId: 'a', protocolAccountId: 'p', feeBps: 500, sources: [] });
    expect(charge.total).toBe(0n);
    expect(charge.entries).toEqual([]);
  });

  it('every priced call is a balanced transaction whose credits equal the data share', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 9n }), fc.double({ min: 0, max: 10, noNaN: true })), {
          minLength: 1,
          maxLength: 20,
        }),
        fc.integer({ min: 0, max: 10_000 }),
        (rows, feeBps) => {
          const charge = priceRetrieval({
            consumerAccountId: 'acct_consumer',
            protocolAccountId: 'acct_protocol',
            feeBps,
            sources: rows.map(([price], i) => source(i, price, toPpmWeights(rows.map((r) => r[1]))[i]!)),
          });
          expect(sumEntries(charge.entries)).toBe(0n);
          expect(charge.sources.reduce((a, s) => a + s.credited, 0n)).toBe(charge.dataShare);
          expect(charge.protocolFee + charge.dataShare).toBe(charge.total);
        },
      ),
    );
  });
});
