import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { reciprocalRankFusion } from './rank-fusion.ts';

describe('reciprocalRankFusion', () => {
  it('rewards ids that both lists rank well', () => {
    const fused = reciprocalRankFusion([
      { name: 'dense', ids: ['a', 'b', 'c'] },
      { name: 'lexical', ids: ['b', 'c', 'd'] },
    ]);
    expect(fused.map((r) => r.id)).toEqual(['b', 'c', 'a', 'd']);
    expect(fused[0]!.ranks).toEqual({ dense: 2, lexical: 1 });
    expect(fused[0]!.score).toBeCloseTo(1 / 62 + 1 / 61, 12);
  });

  it('honours list weights', () => {
    const fused = reciprocalRankFusion([
      { name: 'dense', ids: ['a'], weight: 0.1 },
      { name: 'lexical', ids: ['b'], weight: 1 },
    ]);
    expect(fused.map((r) => r.id)).toEqual(['b', 'a']);
  });

  it('ignores repeats inside one list', () => {
    const fused = reciprocalRankFusion([{ name: 'x', ids: ['a', 'a', 'b'] }]);
    expect(fused.find((r) => r.id === 'a')!.score).toBeCloseTo(1 / 61, 12);
  });

  it('returns each id once, sorted by score, with a score from every list holding it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uniqueArray(fc.constantFrom(...'abcdefghij'), { maxLength: 10 }), { minLength: 1, maxLength: 4 }),
        (lists) => {
          const fused = reciprocalRankFusion(lists.map((ids, i) => ({ name: `l${i}`, ids })));
          const all = new Set(lists.flat());
          expect(fused.map((r) => r.id).sort()).toEqual([...all].sort());
          for (let i = 1; i < fused.length; i++) expect(fused[i - 1]!.score).toBeGreaterThanOrEqual(fused[i]!.score);
          for (const r of fused) expect(Object.keys(r.ranks).length).toBe(lists.filter((l) => l.includes(r.id)).length);
        },
      ),
    );
  });
});
