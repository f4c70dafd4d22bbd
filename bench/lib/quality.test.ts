import { describe, expect, it } from 'vitest';
import { collapseToDocuments, goldRank, rankMetrics } from './quality.ts';

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
