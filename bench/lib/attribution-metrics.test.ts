import { describe, expect, it } from 'vitest';
import {
  assignDatanets,
  attributionFigures,
  goldOnlyFee,
  paidByDocument,
  type CallOutcome,
} from './attribution-metrics.ts';

// A tiny labelled corpus: documents a (gold for q1), b (gold for q2), c (never gold); prices 1000/1500/2500.
const price = { a: 1000, b: 1500, c: 2500 } as const;
const shown = (...docs: (keyof typeof price)[]) => docs.map((doc) => ({ doc, price: price[doc] }));
const q1: CallOutcome = {
  gold: ['a'],
  shown: shown('a', 'c', 'a'),
  paid: { a: 1800, c: 200 },
  cited: ['a'],
  latencyMs: 10,
};
const q2: CallOutcome = {
  gold: ['b'],
  shown: shown('c', 'b'),
  paid: { c: 2500, b: 1500 },
  cited: ['c'],
  latencyMs: 30,
};
const q3: CallOutcome = { gold: ['a'], shown: [], paid: {}, cited: [], latencyMs: 20 };

describe('bench:attribution metrics', () => {
  it('recall at the document level, over distinct documents in the order shown', () => {
    const f = attributionFigures([q1, q2, q3]);
    expect(f.recallAt1).toBeCloseTo(1 / 3);
    expect(f.recallAt5).toBeCloseTo(2 / 3);
    expect(f.empty).toBeCloseTo(1 / 3);
  });

  it('pay precision pools fees over questions; a call paying nothing counts for nothing', () => {
    expect(attributionFigures([q1, q2, q3]).payPrecision).toBeCloseTo((1800 + 1500) / 6000);
    expect(attributionFigures([q3]).payPrecision).toBeNaN();
  });

  it('citing gold, citing gold when it was in the top 5, paying a non-gold document', () => {
    const f = attributionFigures([q1, q2, q3]);
    expect(f.citesGold).toBeCloseTo(1 / 3);
    expect(f.citesGoldWhenInTop5).toBeCloseTo(1 / 2);
    expect(f.paysNonGold).toBeCloseTo(2 / 3);
  });

  it('the gold-only fee lists each gold source shown once per use; the ratio is over calls that showed gold', () => {
    expect(goldOnlyFee(q1)).toBe(2000);
    expect(goldOnlyFee(q2)).toBe(1500);
    const f = attributionFigures([q1, q2, q3]);
    expect(f.feeOverGoldOnly).toBeCloseTo(6000 / 3500);
    expect(f.meanGoldOnlyFee).toBeCloseTo(1750);
    expect(f.p50Ms).toBe(20);
  });

  it('amounts per corpus document, and a deterministic round-robin split into datanets', () => {
    expect(
      paidByDocument(
        [
          { documentId: 'doc_1', amount: '10' },
          { documentId: 'doc_2', amount: '5' },
          { documentId: 'doc_1', amount: '1' },
        ],
        (id) => ({ doc_1: 'a', doc_2: 'b' })[id]!,
      ),
    ).toEqual({ a: 11, b: 5 });
    const parts = assignDatanets([{ id: 'd' }, { id: 'a' }, { id: 'c' }, { id: 'b' }], 3);
    expect(parts.map((p) => p.map((d) => d.id))).toEqual([['a', 'd'], ['b'], ['c']]);
  });
});
