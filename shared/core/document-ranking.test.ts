import { describe, expect, it } from 'vitest';
import {
  DEFAULT_INDEX_SETTINGS,
  rankDocuments,
  resolveIndexSettings,
  type Candidates,
  type ChunkInfo,
  type IndexSettings,
} from './document-ranking.ts';

const chunks = (entries: Record<string, Partial<ChunkInfo> & { documentId: string }>) =>
  new Map(Object.entries(entries).map(([id, c]) => [id, { copies: 1, chunkCount: 1, ...c }]));
/** Equal weights, RRF, no down-weighting: each test turns on what it checks (independent of the shipped defaults). */
const BASE: IndexSettings = {
  weights: { lexical: 1, dense: 1, fields: 1, docDense: 1 },
  method: 'rrf',
  rrfK: 60,
  boilerplate: 0,
  lengthPenalty: 0,
  evidence: 0,
  adaptive: 0,
  perDocument: 1,
  floor: { relative: 0, similarity: 0 },
};
const settings = (
  s: Partial<Omit<IndexSettings, 'weights'>> & { weights?: Partial<IndexSettings['weights']> } = {},
): IndexSettings => ({
  ...BASE,
  ...s,
  weights: { ...BASE.weights, ...s.weights },
});
const empty: Candidates = { lexical: [], dense: [], fields: [], docDense: [], chunks: new Map() };

describe('rankDocuments', () => {
  it('ranks documents, not chunks: a long document with many hits takes one place, its passages best first', () => {
    const c: Candidates = {
      ...empty,
      lexical: [
        { chunkId: 'a1', score: 9 },
        { chunkId: 'a2', score: 8 },
        { chunkId: 'a3', score: 7 },
        { chunkId: 'b1', score: 6 },
      ],
      chunks: chunks({
        a1: { documentId: 'A' },
        a2: { documentId: 'A' },
        a3: { documentId: 'A' },
        b1: { documentId: 'B' },
      }),
    };
    const r = rankDocuments(c, settings());
    expect(r.map((d) => d.documentId)).toEqual(['A', 'B']);
    expect(r[0]!.chunks.map((x) => x.chunkId)).toEqual(['a1', 'a2', 'a3']);
    expect(r[0]!.chunks[1]!.ranks).toEqual({ lexical: 2 });
    expect(r[0]!.score).toBe(1); // first in the only non-empty list
    expect(r[1]!.score).toBeLessThan(1);
  });

  it('down-weights text repeated across many documents (boilerplate)', () => {
    const c: Candidates = {
      ...empty,
      lexical: [
        { chunkId: 'x', score: 10 },
        { chunkId: 'y', score: 6 },
      ],
      chunks: chunks({ x: { documentId: 'X', copies: 50 }, y: { documentId: 'Y' } }),
    };
    expect(rankDocuments(c, settings({ boilerplate: 0 }))[0]!.documentId).toBe('X');
    expect(rankDocuments(c, settings({ boilerplate: 1 }))[0]!.documentId).toBe('Y');
  });

  it('fuses document lists with their weights, and keeps documents only they found (without passages)', () => {
    const c: Candidates = {
      ...empty,
      lexical: [{ chunkId: 'a1', score: 3 }],
      fields: [{ documentId: 'F', score: 5 }],
      docDense: [
        [
          { documentId: 'F', score: 0.8 },
          { documentId: 'A', score: 0.5 },
        ],
      ],
      chunks: chunks({ a1: { documentId: 'A' } }),
    };
    const equal = rankDocuments(c, settings());
    expect(equal.map((d) => d.documentId)).toEqual(['F', 'A']);
    expect(equal[0]!.chunks).toEqual([]);
    const lexicalHeavy = rankDocuments(c, settings({ weights: { lexical: 3, fields: 0.25, docDense: 0.25 } }));
    expect(lexicalHeavy[0]!.documentId).toBe('A');
  });

  it('drops chunks it knows nothing about (deleted since indexing) and can penalise long documents', () => {
    const c: Candidates = {
      ...empty,
      dense: [
        [
          { chunkId: 'gone', score: 0.9 },
          { chunkId: 'l1', score: 0.8 },
          { chunkId: 's1', score: 0.79 },
        ],
      ],
      chunks: chunks({ l1: { documentId: 'Long', chunkCount: 300 }, s1: { documentId: 'Short', chunkCount: 3 } }),
    };
    expect(rankDocuments(c, settings({ method: 'score' })).map((d) => d.documentId)).toEqual(['Long', 'Short']);
    expect(rankDocuments(c, settings({ method: 'score', lengthPenalty: 0.1 })).map((d) => d.documentId)).toEqual([
      'Short',
      'Long',
    ]);
    expect(rankDocuments(empty, settings())).toEqual([]);
  });

  it('gives each document its best cosine similarity from the dense lists (null when none held it), for the relevance floor', () => {
    const c: Candidates = {
      ...empty,
      lexical: [{ chunkId: 'x1', score: 5 }],
      dense: [
        [
          { chunkId: 'a1', score: 0.41 },
          { chunkId: 'a2', score: 0.38 },
        ],
      ],
      docDense: [[{ documentId: 'A', score: 0.47 }]],
      chunks: chunks({ a1: { documentId: 'A' }, a2: { documentId: 'A' }, x1: { documentId: 'X' } }),
    };
    const bySim = Object.fromEntries(rankDocuments(c, settings()).map((d) => [d.documentId, d.similarity]));
    expect(bySim).toEqual({ A: 0.47, X: null });
  });

  it('can credit a document for several matching passages (evidence)', () => {
    const c: Candidates = {
      ...empty,
      lexical: [
        { chunkId: 'a1', score: 10 },
        { chunkId: 'b1', score: 9 },
        { chunkId: 'b2', score: 8 },
      ],
      chunks: chunks({ a1: { documentId: 'A' }, b1: { documentId: 'B' }, b2: { documentId: 'B' } }),
    };
    expect(rankDocuments(c, settings({ method: 'score' }))[0]!.documentId).toBe('A');
    expect(rankDocuments(c, settings({ method: 'score', evidence: 0.5 }))[0]!.documentId).toBe('B');
  });
});

describe('resolveIndexSettings', () => {
  it('fills in defaults and ignores values of the wrong type or range', () => {
    expect(resolveIndexSettings({})).toEqual(DEFAULT_INDEX_SETTINGS);
    expect(resolveIndexSettings(null)).toEqual(DEFAULT_INDEX_SETTINGS);
    const s = resolveIndexSettings({
      weights: { lexical: 2, dense: -1, fields: 'x' },
      method: 'score',
      rrfK: 0,
      perDocument: 3.7,
    });
    expect(s.weights).toEqual({ ...DEFAULT_INDEX_SETTINGS.weights, lexical: 2 });
    expect(s).toMatchObject({ method: 'score', rrfK: DEFAULT_INDEX_SETTINGS.rrfK, perDocument: 3 });
    expect(resolveIndexSettings({ floor: { relative: 0.4, similarity: 7 } }).floor).toEqual({
      relative: 0.4,
      similarity: 1,
    });
    expect(resolveIndexSettings({ floor: { relative: -1 } }).floor).toEqual(DEFAULT_INDEX_SETTINGS.floor);
  });
});
