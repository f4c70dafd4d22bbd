import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { contentTokens } from '../../shared/core/citations.ts';
import {
  DEFAULT_SELECTION,
  SENTENCE_ONLY_SELECTION,
  selectSentences,
  titleWords,
  type Candidate,
} from './sentence-selection.ts';

// Pure: vectors are made by hand, so each case states exactly how close every sentence is to the question.
/** A unit vector at cosine `cos` to the question; `turn` sets it apart from the other sentences (so none is a near-repeat). */
const unit = (cos: number, turn = 0) => {
  const sin = Math.sqrt(1 - cos * cos);
  return Float32Array.from([cos, sin * Math.cos(turn), sin * Math.sin(turn)]);
};
const Q = Float32Array.from([1, 0, 0]);
const candidate = (number: number, text: string): Candidate => ({ number, text, words: contentTokens(text) });

describe('sentence selection: source evidence', () => {
  // Source 1 holds the one sentence most like the question; source 2's sentences state more of
  // the question between them, and its title names what was asked.
  const question = 'how do I remove untracked build files from my working tree';
  const candidates = [
    candidate(1, 'Build files can be listed in the ignore file of the working tree.'),
    candidate(2, 'Remove untracked files from the working tree.'),
    candidate(2, 'Build products are removed with the same option.'),
  ];
  const vectors = [unit(0.62, 0), unit(0.58, 2), unit(0.4, 4)];
  const sources = [
    { number: 1, title: 'gitignore(5)' },
    { number: 2, title: 'git-clean(1)' },
  ];

  it('without it, the single most similar sentence decides which source is quoted first (and paid)', () => {
    const picked = selectSentences(question, Q, candidates, vectors, sources, [], SENTENCE_ONLY_SELECTION);
    expect(picked[0]!.number).toBe(1);
  });

  it('with it, the source whose sentences and title cover the question is quoted first', () => {
    const picked = selectSentences(question, Q, candidates, vectors, sources, [], DEFAULT_SELECTION);
    expect(picked[0]!.number).toBe(2);
    expect(picked[0]!.text).toBe('Remove untracked files from the working tree.');
  });

  it('keeps the honest "not covered": evidence never lifts a sentence below the content floor', () => {
    const weak = [unit(0.1), unit(0.1), unit(0.1)];
    const picked = selectSentences('what is the capital of France', Q, candidates, weak, sources, [], {
      ...DEFAULT_SELECTION,
      sourceCoverage: 1,
      titleCoverage: 1,
    });
    expect(picked).toEqual([]);
  });

  it('a new source must add enough of the question when newSourceMinGain asks for it', () => {
    const near = [unit(0.62, 0), unit(0.61, 2), unit(0.6, 4)];
    const two = selectSentences(question, Q, candidates, near, sources, [], SENTENCE_ONLY_SELECTION);
    expect(new Set(two.map((c) => c.number)).size).toBe(2);
    const one = selectSentences(question, Q, candidates, near, sources, [], {
      ...SENTENCE_ONLY_SELECTION,
      newSourceMinGain: 0.9,
    });
    expect(new Set(one.map((c) => c.number)).size).toBe(1);
  });

  it('titles are read as words', () => {
    expect(titleWords('git-clean(1)').trim()).toBe('git clean');
    expect(contentTokens(titleWords('npm-install'))).toEqual(new Set(['npm', 'install']));
  });

  it('property: every pick is a candidate, quoted once, grouped by source, at most maxSentences', () => {
    const texts = ['alpha beta gamma delta.', 'beta gamma epsilon zeta.', 'gamma delta eta theta.', 'iota kappa beta.'];
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            n: fc.integer({ min: 1, max: 4 }),
            t: fc.integer({ min: 0, max: 3 }),
            cos: fc.double({ min: -1, max: 1, noNaN: true }),
          }),
          {
            minLength: 1,
            maxLength: 8,
          },
        ),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (rows, w) => {
          const cands = rows.map((r, i) => candidate(r.n, `${texts[r.t]} ${i}`));
          const vecs = rows.map((r, i) => unit(r.cos, i));
          const srcs = [1, 2, 3, 4].map((number) => ({ number, title: `title ${number}` }));
          const picked = selectSentences('alpha gamma theta kappa', Q, cands, vecs, srcs, [], {
            ...DEFAULT_SELECTION,
            sourceCoverage: w,
            titleCoverage: w,
          });
          expect(picked.length).toBeLessThanOrEqual(DEFAULT_SELECTION.maxSentences);
          expect(new Set(picked).size).toBe(picked.length);
          for (const p of picked) expect(cands).toContain(p);
          const order = picked.map((p) => p.number);
          const groups = order.filter((n, i) => i === 0 || n !== order[i - 1]);
          expect(new Set(groups).size).toBe(groups.length); // each source's sentences are together
        },
      ),
    );
  });
});
