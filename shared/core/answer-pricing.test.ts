import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { priceAnswer } from './answer-pricing.ts';
import { sumEntries } from './ledger.ts';

describe('priceAnswer (answer-v1, kept to recompute old receipts)', () => {
  const base = { consumerAccountId: 'c', protocolAccountId: 'p', feeBps: 1000, formula: 'answer-v1' };
  const src = (i: number, price: bigint, weightPpm: bigint) => ({
    contributorAccountId: `k${i}`,
    datanetId: 'dn',
    documentId: `d${i}`,
    pricePerSource: price,
    weightPpm,
    used: weightPpm > 0n,
  });

  it('splits tokens, data fee, adapter share and protocol fee', () => {
    const c = priceAnswer({
      ...base,
      tokenCharge: 100n,
      cap: 10_000n,
      adapter: { ownerAccountId: 'a', shareBps: 3000 },
      sources: [src(0, 1000n, 750_000n), src(1, 1000n, 250_000n)],
    });
    expect(c).toMatchObject({
      total: 2100n,
      dataFee: 1800n,
      tokenCharge: 100n,
      adapterFee: 30n,
      protocolFee: 270n,
      credits: [1350n, 450n],
    });
    expect(sumEntries(c.entries)).toBe(0n);
  });

  it('charges nothing for a source of weight 0: its price would credit no one', () => {
    const c = priceAnswer({
      ...base,
      tokenCharge: 0n,
      cap: 10_000n,
      adapter: null,
      sources: [src(0, 1000n, 1_000_000n), src(1, 5000n, 0n)],
    });
    expect(c).toMatchObject({ total: 1000n, dataFee: 900n, protocolFee: 100n, credits: [900n, 0n] });
  });

  it('never charges more than the hold', () => {
    const c = priceAnswer({
      ...base,
      tokenCharge: 5000n,
      cap: 2500n,
      adapter: null,
      sources: [src(0, 2000n, 1_000_000n)],
    });
    expect(c.total).toBe(2500n);
    expect(c.tokenCharge).toBe(500n);
  });

  it('is always a balanced transaction within the cap (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 9n }),
        fc.bigInt({ min: 0n, max: 10n ** 10n }),
        fc.array(fc.tuple(fc.bigInt({ min: 0n, max: 10n ** 6n }), fc.bigInt({ min: 0n, max: 10n ** 6n })), {
          maxLength: 8,
        }),
        fc.option(fc.integer({ min: 0, max: 10_000 })),
        fc.integer({ min: 0, max: 10_000 }),
        (tokenCharge, extra, rows, shareBps, feeBps) => {
          const sources = rows.map(([price, w], i) => src(i, price, w));
          const dataFee = sources.reduce((a, s) => a + s.pricePerSource, 0n);
          const cap = dataFee + extra;
          const c = priceAnswer({
            ...base,
            feeBps,
            tokenCharge,
            cap,
            adapter: shareBps === null ? null : { ownerAccountId: 'a', shareBps },
            sources,
          });
          expect(sumEntries(c.entries)).toBe(0n);
          expect(c.total).toBeLessThanOrEqual(cap);
          expect(c.credits.reduce((a, b) => a + b, 0n) + c.protocolFee + c.adapterFee).toBe(c.total);
        },
      ),
    );
  });
});
