import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitDataFee } from './data-fee.ts';
import { PPM } from './money.ts';

const row = fc.record({
  pricePerSource: fc.bigInt({ min: 0n, max: 10n ** 7n }),
  weightPpm: fc.oneof(fc.constant(0n), fc.bigInt({ min: 0n, max: PPM })),
});

describe('splitDataFee', () => {
  it('charges nothing for a source of weight 0', () => {
    const s = splitDataFee(
      [
        { pricePerSource: 1000n, weightPpm: 1_000_000n },
        { pricePerSource: 1000n, weightPpm: 0n },
      ],
      1000,
    );
    expect(s).toEqual({ gross: 1000n, protocolFee: 100n, dataFee: 900n, charged: [true, false], credits: [900n, 0n] });
  });

  it('drops a source the rounding leaves without a credit, and splits again', () => {
    // 1 micro-USD over weights 999 999 : 1 credits the second source 0: its price is not charged.
    const s = splitDataFee(
      [
        { pricePerSource: 0n, weightPpm: 999_999n },
        { pricePerSource: 1n, weightPpm: 1n },
      ],
      0,
    );
    expect(s).toEqual({ gross: 0n, protocolFee: 0n, dataFee: 0n, charged: [true, false], credits: [0n, 0n] });
  });

  it('data fee == Σ credits, gross == data fee + protocol fee, and only sources that credit someone are charged (property)', () => {
    fc.assert(
      fc.property(fc.array(row, { maxLength: 12 }), fc.integer({ min: 0, max: 10_000 }), (sources, feeBps) => {
        const s = splitDataFee(sources, feeBps);
        expect(s.credits.reduce((a, b) => a + b, 0n)).toBe(s.dataFee);
        expect(s.dataFee + s.protocolFee).toBe(s.gross);
        expect(s.gross).toBe(sources.reduce((a, src, i) => (s.charged[i] ? a + src.pricePerSource : a), 0n));
        sources.forEach((src, i) => {
          if (src.weightPpm === 0n) expect([s.charged[i], s.credits[i]]).toEqual([false, 0n]);
          if (!s.charged[i]) expect(s.credits[i]).toBe(0n);
          // A charged price always reaches a contributor through this source.
          if (s.charged[i] && s.gross > 0n) expect(s.credits[i]! > 0n).toBe(true);
        });
      }),
      { numRuns: 1000 },
    );
  });
});
