import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_INDEX_SETTINGS, rankDocuments, type Candidates } from '../../shared/core/document-ranking.ts';
import { rankVariant } from './fusion.ts';
import { openWordNet } from './wordnet.ts';

// The lab's figures are only worth reading if its re-stated fusion ranks as production does.
describe('lab fusion', () => {
  const docs = ['A', 'B', 'C', 'D', 'E'];
  const chunkIds = docs.flatMap((d) => [`${d}1`, `${d}2`, `${d}3`]);
  const hits = fc.uniqueArray(
    fc.record({ chunkId: fc.constantFrom(...chunkIds), score: fc.double({ min: 0.01, max: 20, noNaN: true }) }),
    { selector: (h) => h.chunkId, maxLength: 12 },
  );
  const docHits = fc.uniqueArray(
    fc.record({ documentId: fc.constantFrom(...docs), score: fc.double({ min: 0.01, max: 1, noNaN: true }) }),
    { selector: (h) => h.documentId, maxLength: 5 },
  );
  const sortDesc = <T extends { score: number }>(l: T[]) => [...l].sort((a, b) => b.score - a.score);

  it('with no variant, ranks exactly as rankDocuments (score fusion)', () => {
    fc.assert(
      fc.property(
        hits,
        hits,
        docHits,
        docHits,
        fc.integer({ min: 1, max: 3 }),
        (lexical, dense, fields, docDense, copies) => {
          const c: Candidates = {
            lexical: sortDesc(lexical),
            dense: [sortDesc(dense)],
            fields: sortDesc(fields),
            docDense: [sortDesc(docDense)],
            chunks: new Map(
              chunkIds.map((id, i) => [id, { documentId: id[0]!, copies: i % 4 === 0 ? copies : 1, chunkCount: 3 }]),
            ),
          };
          expect(rankVariant(c, DEFAULT_INDEX_SETTINGS)).toEqual(
            rankDocuments(c, DEFAULT_INDEX_SETTINGS).map((d) => d.documentId),
          );
        },
      ),
    );
  });
});

describe('WordNet reader', () => {
  const wn = openWordNet();
  it('gives single-word synonyms of a word and of its inflected forms', () => {
    expect(wn.synonyms('tag', 1)).toContain('label');
    expect(wn.synonyms('deletes', 2)).toContain('erase');
    expect(wn.synonyms('tag', 1)).not.toContain('tag');
  });
  it('gives nothing for a word WordNet does not hold', () => {
    expect(wn.synonyms('npmrc', 3)).toEqual([]);
  });
});
