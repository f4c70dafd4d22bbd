import { describe, expect, it } from 'vitest';
import { DEFAULT_INDEX_SETTINGS } from '../../shared/core/document-ranking.ts';
import { collapseToDocuments, goldRank, learnSettings, rankMetrics } from './quality.ts';

describe('document-level ranking', () => {
  it('ranks a document where its best chunk is, counting distinct documents', () => {
    const docs = collapseToDocuments(['a', 'a', 'b', 'a', 'c', 'b']);
    expect(docs).toEqual(['a', 'b', 'c']);
    expect(goldRank(docs, ['c'])).toBe(3);
    expect(goldRank(docs, ['z', 'b'])).toBe(2); // any gold document counts
    expect(goldRank(docs, ['z'])).toBe(0);
  });

  it('computes recall@k and MRR@10 from gold ranks (0 = not found)', () => {
    const m = rankMetrics([1, 2, 6, 11, 0]);
    expect(m).toEqual({ questions: 5, recallAt1: 0.2, recallAt5: 0.4, recallAt10: 0.6, mrr: (1 + 1 / 2 + 1 / 6) / 5 });
    expect(rankMetrics([]).recallAt5).toBe(0);
  });
});

describe('learnSettings', () => {
  it('climbs one setting at a time to the best grid values, and keeps the start when nothing beats it', () => {
    const learned = learnSettings(
      (s) => -Math.abs(s.weights.lexical - 2) - Math.abs(s.weights.fields - 0.5) - (s.method === 'score' ? 0 : 0.1),
      DEFAULT_INDEX_SETTINGS,
    );
    expect(learned.settings).toMatchObject({ method: 'score', weights: { lexical: 2, fields: 0.5 } });
    expect(learned.objective).toBeCloseTo(0, 9);
    expect(learnSettings(() => 1, DEFAULT_INDEX_SETTINGS).settings).toEqual(DEFAULT_INDEX_SETTINGS);
  });
});
