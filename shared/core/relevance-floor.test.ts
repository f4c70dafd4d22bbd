import { describe, expect, it } from 'vitest';
import { aboveFloor } from './relevance-floor.ts';

const docs = [
  { id: 'a', score: 0.9, similarity: 0.62 },
  { id: 'b', score: 0.5, similarity: null },
  { id: 'c', score: 0.3, similarity: 0.55 },
  { id: 'd', score: 0.2, similarity: 0.18 },
];
const ids = (xs: { id: string }[]) => xs.map((x) => x.id);

describe('aboveFloor', () => {
  it('keeps everything when off', () => {
    expect(ids(aboveFloor(docs, { relative: 0, similarity: 0 }))).toEqual(['a', 'b', 'c', 'd']);
  });

  it('drops documents far below the best one (relative to the question)', () => {
    expect(ids(aboveFloor(docs, { relative: 0.5, similarity: 0 }))).toEqual(['a', 'b']);
  });

  it('drops documents whose nearest passage is not similar enough; unknown similarity passes', () => {
    expect(ids(aboveFloor(docs, { relative: 0, similarity: 0.3 }))).toEqual(['a', 'b', 'c']);
  });

  it('returns nothing when nothing clears the absolute floor (an uncovered question)', () => {
    expect(
      aboveFloor(
        [
          { score: 1, similarity: 0.1 },
          { score: 0.8, similarity: 0.12 },
        ],
        { relative: 0.3, similarity: 0.3 },
      ),
    ).toEqual([]);
    expect(aboveFloor([], { relative: 0.3, similarity: 0.3 })).toEqual([]);
  });
});
