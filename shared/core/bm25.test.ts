import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { idf, selectQueryTerms } from './bm25.ts';

describe('bm25 term selection', () => {
  it('weighs rare terms above common ones', () => {
    expect(idf(1000, 1)).toBeGreaterThan(idf(1000, 500));
    expect(idf(1000, 1000)).toBeGreaterThan(0);
  });

  it('keeps the rarest terms and drops the ones that would flood the candidates', () => {
    const chosen = selectQueryTerms(
      {
        chunkCount: 10_000,
        terms: [
          { lexeme: 'speech', df: 5000 },
          { lexeme: 'evil', df: 80 },
          { lexeme: 'coalit', df: 120 },
          { lexeme: 'countri', df: 3000 },
        ],
      },
      { maxPostings: 2000 },
    );
    expect(chosen.map((t) => t.lexeme)).toEqual(['evil', 'coalit']);
  });

  it('always keeps minTerms, and never exceeds the postings budget beyond them', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(
          fc.record({ lexeme: fc.string({ minLength: 1, maxLength: 6 }), df: fc.integer({ min: 1, max: 5000 }) }),
          { selector: (t) => t.lexeme, maxLength: 12 },
        ),
        (terms) => {
          const chosen = selectQueryTerms({ chunkCount: 10_000, terms }, { maxPostings: 2000, minTerms: 2 });
          expect(chosen.length).toBeGreaterThanOrEqual(Math.min(2, terms.length));
          const dfs = chosen.map((c) => terms.find((t) => t.lexeme === c.lexeme)!.df);
          if (chosen.length > 2) expect(dfs.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2000);
        },
      ),
    );
  });
});
