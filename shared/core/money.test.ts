import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PPM, bpsOf, parseMicros, splitByWeights, toPpmWeights } from './money.ts';

describe('splitByWeights', () => {
  it('splits exactly with largest remainder', () => {
    expect(splitByWeights(100n, [1n, 1n, 1n])).toEqual([34n, 33n, 33n]);
    expect(splitByWeights(10n, [5n, 3n, 2n])).toEqual([5n, 3n, 2n]);
    expect(splitByWeights(7n, [0n, 0n])).toEqual([4n, 3n]);
    expect(splitByWeights(1n, [1n, 3n])).toEqual([0n, 1n]);
  });

  it('rejects impossible splits', () => {
    expect(() => splitByWeights(5n, [])).toThrow();
    expect(() => splitByWeights(-1n, [1n])).toThrow();
    expect(() => splitByWeights(5n, [1n, -1n])).toThrow();
  });

  it('always sums to the total and each part is within one unit of its exact share', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.array(fc.bigInt({ min: 0n, max: 10n ** 9n }), { minLength: 1, maxLength: 40 }),
        (total, weights) => {
          const parts = splitByWeights(total, weights);
          expect(parts.reduce((a, b) => a + b, 0n)).toBe(total);
          const ws = weights.every((w) => w === 0n) ? weights.map(() => 1n) : weights;
          const sum = ws.reduce((a, b) => a + b, 0n);
          parts.forEach((p, i) => {
            const floor = (total * ws[i]!) / sum;
            expect(p === floor || p === floor + 1n).toBe(true);
          });
        },
      ),
    );
  });
});

describe('toPpmWeights', () => {
  it('normalizes real scores into ppm that sum to exactly one million', () => {
    fc.assert(
      fc.property(fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 50 }), (scores) => {
        const ppm = toPpmWeights(scores);
        expect(ppm.reduce((a, b) => a + b, 0n)).toBe(PPM);
      }),
    );
  });
  it('keeps proportions', () => {
    expect(toPpmWeights([3, 1])).toEqual([750_000n, 250_000n]);
  });
});

describe('bpsOf / parseMicros', () => {
  it('rounds fees down', () => expect(bpsOf(999n, 1000)).toBe(99n));
  it('parses only plain digit strings', () => {
    expect(parseMicros('1500000')).toBe(1_500_000n);
    for (const bad of ['-1', '1.5', '1e6', '', ' 1']) expect(() => parseMicros(bad)).toThrow();
  });
});
