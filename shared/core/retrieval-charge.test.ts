import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { priceRetrieval, retrievalCharge } from './retrieval-charge.ts';
import { toPpmWeights } from './money.ts';
import { assertBalanced, sumEntries } from './ledger.ts';

const source = (i: number, price: bigint, weightPpm: bigint) => ({
  contributorAccountId: `acct_c${i % 3}`,
  datanetId: `dn_${i % 2}`,
  documentId: `doc_${i}`,
  pricePerSource: price,
  weightPpm,
  used: true,
});
const V1 = 'retrieval-v1' as const;

describe('priceRetrieval (retrieval-v1, kept to recompute old receipts)', () => {
  it('charges listed prices, keeps the fee, splits the rest by score', () => {
    const charge = priceRetrieval({
      formula: V1,
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
            formula: V1,
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

describe('retrievalCharge (retrieval-v1)', () => {
  const sources = fc.array(
    fc.record({
      score: fc.double({ min: -1, max: 1, noNaN: true }),
      duplicateOf: fc.constant(null),
      contributorAccountId: fc.constantFrom('acct_a', 'acct_b'),
      datanetId: fc.constant('dn'),
      documentId: fc.constantFrom('doc_1', 'doc_2'),
      pricePerSource: fc.bigInt({ min: 0n, max: 100_000n }),
    }),
    { maxLength: 8 },
  );

  it('weighs by retrieval score and posts balanced lines: the consumer pays the prices, nobody else goes negative, same input same result', () => {
    fc.assert(
      fc.property(sources, fc.integer({ min: 0, max: 10_000 }), (list, feeBps) => {
        const params = {
          formula: V1,
          consumerAccountId: 'acct_consumer',
          protocolAccountId: 'acct_protocol',
          feeBps,
          sources: list,
        };
        const { charge, weightsPpm } = retrievalCharge(params);
        expect(sumEntries(charge.entries)).toBe(0n);
        expect(charge.total).toBe(
          list.reduce((a, s, i) => (charge.sources[i]!.charged ? a + s.pricePerSource : a), 0n),
        );
        for (const e of charge.entries)
          expect(e.accountId === 'acct_consumer' ? e.amount === -charge.total : e.amount > 0n).toBe(true);
        if (list.length > 0) expect(weightsPpm.reduce((a, b) => a + b, 0n)).toBe(1_000_000n);
        expect(retrievalCharge(structuredClone(params))).toEqual(retrievalCharge(params));
      }),
      { numRuns: 300 },
    );
  });

  it('on every call the data fee charged equals the sum credited to contributors, and a source of weight 0 (a near-duplicate) is not charged (property)', () => {
    const withDuplicates = fc.integer({ min: 0, max: 8 }).chain((n) =>
      fc.array(
        fc.record({
          score: fc.oneof(fc.constant(0), fc.double({ min: -1, max: 1, noNaN: true })),
          duplicateOf: fc.option(fc.integer({ min: 0, max: Math.max(0, n - 1) }), { nil: null }),
          contributorAccountId: fc.constantFrom('acct_a', 'acct_b'),
          datanetId: fc.constant('dn'),
          documentId: fc.constantFrom('doc_1', 'doc_2', 'doc_3'),
          pricePerSource: fc.bigInt({ min: 0n, max: 100_000n }),
        }),
        { minLength: n, maxLength: n },
      ),
    );
    fc.assert(
      fc.property(withDuplicates, fc.integer({ min: 0, max: 10_000 }), (list, feeBps) => {
        const { charge, weightsPpm } = retrievalCharge({
          formula: V1,
          consumerAccountId: 'acct_consumer',
          protocolAccountId: 'acct_protocol',
          feeBps,
          sources: list,
        });
        const toContributors = charge.entries
          .filter((e) => e.documentId !== undefined)
          .reduce((a, e) => a + e.amount, 0n);
        expect(toContributors).toBe(charge.dataShare);
        expect(charge.dataShare + charge.protocolFee).toBe(charge.total);
        list.forEach((s, i) => {
          if (weightsPpm[i] === 0n) expect(charge.sources[i]!.charged).toBe(false);
          if (charge.sources[i]!.charged && s.pricePerSource > 0n) expect(charge.sources[i]!.credited > 0n).toBe(true);
        });
        expect(charge.total).toBe(
          list.reduce((a, s, i) => (charge.sources[i]!.charged ? a + s.pricePerSource : a), 0n),
        );
      }),
      { numRuns: 500 },
    );
  });
});
