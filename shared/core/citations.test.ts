import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MIN_WORD_COVERAGE,
  SUPPORT_THRESHOLD,
  bestSupportingSpan,
  supports,
  wordCoverage,
  dedupeSources,
  isSupported,
  markerPattern,
  parseAnswer,
  splitSentences,
} from './citations.ts';
import type { ParsedAnswer } from './citations.ts';

const texts = (text: string) => splitSentences(text).map((s) => s.text);

/** The contract every parse must satisfy, whatever the input. */
function expectInvariants(out: ParsedAnswer, sourceCount: number): void {
  const { text, citations } = out;
  // Only canonical, in-range markers survive.
  for (const m of text.matchAll(markerPattern())) {
    expect(m[0]).toMatch(/^\[\d+\]$/);
    const n = Number(m[0].slice(1, -1));
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(sourceCount);
  }
  // Independent of markerPattern: no plain "[n]" out of range either.
  for (const m of text.matchAll(/\[\s*\^?\s*(\d+)\s*\]/g)) {
    const n = Number(m[1]);
    expect(n >= 1 && n <= sourceCount).toBe(true);
  }
  let prevEnd = 0;
  citations.forEach((c, i) => {
    expect(text.slice(c.sentence.start, c.sentence.end)).toBe(c.sentence.text);
    expect(c.sentence.text.trim()).toBe(c.sentence.text);
    expect(c.sentence.text).not.toBe('');
    expect(c.sentence.text).not.toMatch(markerPattern());
    expect(c.sentence.start).toBeGreaterThanOrEqual(prevEnd);
    if (i > 0) expect(c.sentenceIndex).toBeGreaterThan(citations[i - 1]!.sentenceIndex);
    expect(c.sourceNumbers.length).toBeGreaterThan(0);
    expect(new Set(c.sourceNumbers).size).toBe(c.sourceNumbers.length);
    for (const n of c.sourceNumbers) {
      expect(Number.isInteger(n)).toBe(true);
      expect(n).toBeGreaterThanOrEqual(1);
      expect(n).toBeLessThanOrEqual(sourceCount);
    }
    // The markers sit right after the claim, one per source, in order.
    const markers = c.sourceNumbers.map((n) => `[${n}]`).join('');
    expect(text.slice(c.sentence.end)).toMatch(new RegExp(`^ ?${markers.replace(/[[\]]/g, '\\$&')}(?!\\[\\d+\\])`));
    prevEnd = c.sentence.end;
  });
  // Whitespace left behind is normalised: no runs after text, nothing trailing.
  expect(text).not.toMatch(/\S[^\S\n]{2,}/);
  expect(text).not.toMatch(/[^\S\n]\n/);
  expect(text.trim()).toBe(text);
}

describe('splitSentences', () => {
  it('splits plain prose and keeps spans exact', () => {
    const text = 'Paris is big.  Berlin is bigger!   Is Rome? Yes.';
    const ss = splitSentences(text);
    expect(ss.map((s) => s.text)).toEqual(['Paris is big.', 'Berlin is bigger!', 'Is Rome?', 'Yes.']);
    for (const s of ss) expect(text.slice(s.start, s.end)).toBe(s.text);
  });

  it('does not split at abbreviations, initials or decimals', () => {
    expect(texts('Mr. Smith met Dr. Jones in the U.S. capital. It cost 3.5 million, i.e. a lot.')).toEqual([
      'Mr. Smith met Dr. Jones in the U.S. capital.',
      'It cost 3.5 million, i.e. a lot.',
    ]);
    expect(texts('John F. Kennedy spoke. Fruit, e.g. apples, etc. are sold. Then it ended.')).toEqual([
      'John F. Kennedy spoke.',
      'Fruit, e.g. apples, etc. are sold.',
      'Then it ended.',
    ]);
    expect(texts('Version 2.0 shipped at 10.30 today.')).toEqual(['Version 2.0 shipped at 10.30 today.']);
  });

  it('treats ellipses as a boundary only before a new sentence', () => {
    expect(texts('Wait... what happened? Nothing… Then rain.')).toEqual([
      'Wait... what happened?',
      'Nothing…',
      'Then rain.',
    ]);
  });

  it('attaches a marker after the period to the sentence before it', () => {
    expect(texts('Paris is big. [2] Berlin is bigger.[1][3] Rome, too [4].')).toEqual([
      'Paris is big. [2]',
      'Berlin is bigger.[1][3]',
      'Rome, too [4].',
    ]);
    expect(texts('Smith et al. [3] found it.')).toEqual(['Smith et al. [3] found it.']);
  });

  it('ends sentences at blank lines, list items and headings but not at soft wraps', () => {
    const text = '## Summary\nThe city is\nlarge\n\nKey points:\n- First point\n* Second point\n1. Third\n2) Fourth';
    expect(texts(text)).toEqual([
      'Summary',
      'The city is\nlarge',
      'Key points:',
      'First point',
      'Second point',
      'Third',
      'Fourth',
    ]);
  });

  it('splits CJK text at full-width stops', () => {
    expect(texts('巴黎是首都。人口很多！')).toEqual(['巴黎是首都。', '人口很多！']);
  });

  it('returns nothing for blank input', () => {
    expect(splitSentences('')).toEqual([]);
    expect(splitSentences(' \n\n\t ')).toEqual([]);
  });

  it('property: spans are exact, trimmed, ordered, and only whitespace or list prefixes fall between', () => {
    const unit = fc.constantFrom(
      'word ',
      'Word ',
      '. ',
      '.',
      '? ',
      '! ',
      '... ',
      '…',
      '\n',
      '\n\n',
      '- ',
      '\n- ',
      '\n1. ',
      '## ',
      'Mr. ',
      'e.g. ',
      'U.S. ',
      '3.5 ',
      '[1] ',
      '[2]',
      '【1】',
      ' ',
      '"',
      ')',
      '。',
      'X',
    );
    fc.assert(
      fc.property(fc.string({ unit, maxLength: 60 }), (text) => {
        let prevEnd = 0;
        for (const s of splitSentences(text)) {
          expect(text.slice(s.start, s.end)).toBe(s.text);
          expect(s.text).not.toBe('');
          expect(s.text.trim()).toBe(s.text);
          expect(s.start).toBeGreaterThanOrEqual(prevEnd);
          expect(text.slice(prevEnd, s.start)).toMatch(/^[\s\-*+•#\d.)]*$/);
          prevEnd = s.end;
        }
        expect(text.slice(prevEnd)).toMatch(/^[\s\-*+•#\d.)]*$/);
      }),
    );
  });
});

describe('parseAnswer', () => {
  it('reads every marker form and rewrites it canonically at the end of the sentence', () => {
    const cases: [string, number[]][] = [
      ['Paris is the capital [1].', [1]],
      ['Paris is the capital [1, 3].', [1, 3]],
      ['Paris is the capital [1; 3].', [1, 3]],
      ['Paris is the capital [1-3].', [1, 2, 3]],
      ['Paris is the capital [1 – 2].', [1, 2]],
      ['Paris is the capital [1][3].', [1, 3]],
      ['Paris is the capital [1], [3].', [1, 3]],
      ['Paris is the capital ([1], [3]).', [1, 3]],
      ['Paris is the capital【2】.', [2]],
      ['Paris is the capital【2†source】.', [2]],
      ['Paris is the capital[^2].', [2]],
      ['Paris is the capital [ 2 ].', [2]],
      ['Paris is the capital [Source 2].', [2]],
      ['Paris is the capital. [3][1]', [3, 1]],
      ['Paris is the capital [1][1, 1].', [1]],
    ];
    for (const [raw, numbers] of cases) {
      const out = parseAnswer(raw, 3);
      expect(out.invalid, raw).toEqual([]);
      expect(out.text, raw).toBe(`Paris is the capital.${numbers.map((n) => `[${n}]`).join('')}`);
      expect(out.citations, raw).toEqual([
        { sentenceIndex: 0, sentence: { start: 0, end: 21, text: 'Paris is the capital.' }, sourceNumbers: numbers },
      ]);
    }
  });

  it('removes and reports a dangling [7] when there are 3 sources', () => {
    const out = parseAnswer('Paris is the capital of France [1]. The Seine flows through it [7].', 3);
    expect(out.text).toBe('Paris is the capital of France.[1] The Seine flows through it.');
    expect(out.invalid).toEqual([{ marker: '[7]', number: 7, reason: 'out_of_range' }]);
    expect(out.citations).toHaveLength(1);
    expect(out.citations[0]!.sourceNumbers).toEqual([1]);
  });

  it('reports [0], out-of-range parts of ranges and malformed markers', () => {
    const out = parseAnswer('A claim [0]. Another [2-5]. Odd [3-1]. Open [1-]. Mixed [2, 9].', 3);
    expect(out.text).toBe('A claim. Another.[2][3] Odd. Open. Mixed.[2]');
    expect(out.invalid).toEqual([
      { marker: '[0]', number: 0, reason: 'out_of_range' },
      { marker: '[2-5]', number: 4, reason: 'out_of_range' },
      { marker: '[3-1]', number: 3, reason: 'malformed' },
      { marker: '[1-]', number: 1, reason: 'malformed' },
      { marker: '[2, 9]', number: 9, reason: 'out_of_range' },
    ]);
  });

  it('does not expand huge ranges', () => {
    const out = parseAnswer('Everything [1-999999999999].', 2);
    expect(out.text).toBe('Everything.[1][2]');
    expect(out.invalid).toEqual([{ marker: '[1-999999999999]', number: 3, reason: 'out_of_range' }]);
  });

  it('moves markers from the middle of a sentence to its end', () => {
    const out = parseAnswer('Paris [2] is, according to [1], the capital of France.', 2);
    expect(out.text).toBe('Paris is, according to, the capital of France.[2][1]');
    expect(out.citations[0]!.sentence.text).toBe('Paris is, according to, the capital of France.');
    // Between two words a removed marker leaves one space, never none.
    expect(parseAnswer('Paris[1]is big.', 1).text).toBe('Paris is big.[1]');
  });

  it('gives each sentence its own citation', () => {
    const raw =
      'Paris is the capital of France [1]. It has about 2.1 million inhabitants [2]. Dr. Hidalgo is mayor. [3]';
    const out = parseAnswer(raw, 3);
    expect(out.text).toBe(
      'Paris is the capital of France.[1] It has about 2.1 million inhabitants.[2] Dr. Hidalgo is mayor.[3]',
    );
    expect(out.citations.map((c) => [c.sentenceIndex, c.sentence.text, c.sourceNumbers])).toEqual([
      [0, 'Paris is the capital of France.', [1]],
      [1, 'It has about 2.1 million inhabitants.', [2]],
      [2, 'Dr. Hidalgo is mayor.', [3]],
    ]);
    expectInvariants(out, 3);
  });

  it('counts uncited sentences in sentenceIndex', () => {
    const out = parseAnswer('Hello there. Paris is big [1].', 1);
    expect(out.citations[0]!.sentenceIndex).toBe(1);
  });

  it('keeps list structure and cites bullets individually', () => {
    const raw =
      'Key facts:\n\n-   Paris is the capital [1]\n- It is on the Seine [2].\n  - The Seine is long [9]\n\n\n\nThat is all.';
    const out = parseAnswer(raw, 2);
    expect(out.text).toBe(
      'Key facts:\n\n- Paris is the capital [1]\n- It is on the Seine.[2]\n  - The Seine is long\n\nThat is all.',
    );
    expect(out.citations.map((c) => c.sentence.text)).toEqual(['Paris is the capital', 'It is on the Seine.']);
    expectInvariants(out, 2);
  });

  it('gives a markers-only line to the sentence before it (or after, at the start)', () => {
    expect(parseAnswer('Paris is big.\n\n[1][2]', 2).text).toBe('Paris is big.[1][2]');
    expect(parseAnswer('[2]. Paris is big [1].', 2).text).toBe('Paris is big.[2][1]');
    expect(parseAnswer('[1]', 1)).toEqual({ text: '', citations: [], invalid: [] });
  });

  it('leaves text without markers alone, apart from whitespace', () => {
    expect(parseAnswer('No sources   say this .', 3)).toEqual({
      text: 'No sources say this.',
      citations: [],
      invalid: [],
    });
    expect(parseAnswer('Arrays like [a] or [1 apple] are text.', 3).text).toBe(
      'Arrays like [a] or [1 apple] are text.',
    );
  });

  it('removes markers that removal itself creates', () => {
    const out = parseAnswer('Nested [[7]1] marker.', 3);
    expect(out.text).toBe('Nested marker.[1]');
    expect(out.invalid).toEqual([{ marker: '[7]', number: 7, reason: 'out_of_range' }]);
  });

  it('reports everything when there are no sources', () => {
    const out = parseAnswer('Paris is big [1]. Berlin [2].', 0);
    expect(out.text).toBe('Paris is big. Berlin.');
    expect(out.citations).toEqual([]);
    expect(out.invalid.map((i) => i.number)).toEqual([1, 2]);
  });

  it('handles CRLF and CJK', () => {
    expect(parseAnswer('A [1].\r\n\r\nB [1].', 1).text).toBe('A.[1]\n\nB.[1]');
    expect(parseAnswer('巴黎是首都【1】。人口很多【2】。', 2).text).toBe('巴黎是首都。[1]人口很多。[2]');
  });

  it('is stable: parsing its own output changes nothing', () => {
    const raw = 'Paris [1] is big. [2] Dr. Smith agrees [7].\n- One [1]\n- Two\n\nEnd [2-3].';
    const once = parseAnswer(raw, 3);
    const twice = parseAnswer(once.text, 3);
    expect(twice).toEqual({ ...once, invalid: [] });
  });

  // Text built from pieces that exercise every branch: marker forms (valid,
  // out of range, malformed), abbreviations, decimals, punctuation, lists.
  const piece = fc.oneof(
    fc.constantFrom(
      'Paris ',
      'is ',
      'big',
      'the ',
      'capital',
      'Dr. ',
      'e.g. ',
      'U.S. ',
      '3.5 ',
      'et al. ',
      'Smith',
      '. ',
      '.',
      '? ',
      '! ',
      '... ',
      ', ',
      ' ',
      '  ',
      '\n',
      '\n\n',
      '\n- ',
      '\n1. ',
      '(',
      ')',
      '[',
      ']',
      '【',
      '】',
      '[^',
      '-',
      ',',
      '1',
      '0',
      '9',
      'a',
      '[a]',
      '。',
      '\t',
      '\r\n',
    ),
    fc.integer({ min: 0, max: 9 }).map((n) => `[${n}]`),
    fc
      .tuple(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 9 }))
      .chain(([a, b]) =>
        fc.constantFrom(`[${a}, ${b}]`, `[${a}-${b}]`, `[${a}][${b}]`, `【${a}】`, `[^${a}]`, `([${a}], [${b}])`),
      ),
  );
  const rawArb = fc.array(piece, { maxLength: 40 }).map((ps) => ps.join(''));

  it('property: never leaves a bad marker, spans slice exactly, numbers in range', () => {
    fc.assert(
      fc.property(rawArb, fc.integer({ min: 0, max: 6 }), (raw, sourceCount) => {
        expectInvariants(parseAnswer(raw, sourceCount), sourceCount);
      }),
      { numRuns: 500 },
    );
  });

  it('property: also on arbitrary strings', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.integer({ min: 0, max: 3 }), (raw, sourceCount) => {
        expectInvariants(parseAnswer(raw, sourceCount), sourceCount);
      }),
      { numRuns: 300 },
    );
  });

  // Answers shaped like real model output: sentences of words (abbreviations
  // and decimals included), markers of every form before or after the full
  // stop or mid-sentence, separated by spaces, line breaks and list items.
  const marker = fc
    .tuple(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 8 }))
    .chain(([a, b]) => fc.constantFrom(`[${a}]`, `[${a}, ${b}]`, `[${a}-${b}]`, `[${a}][${b}]`, `【${a}】`, `[^${a}]`));
  const word = fc.constantFrom(
    'Paris',
    'is',
    'the',
    'capital',
    'Dr.',
    'e.g.',
    'U.S.',
    'etc.',
    '3.5',
    'million',
    'and',
    'It',
  );
  const sentence = fc
    .tuple(
      fc.array(fc.tuple(word, fc.option(marker, { nil: '' })), { minLength: 1, maxLength: 6 }),
      fc.constantFrom('.', '?', '!', '...', ''),
      fc.option(marker, { nil: '' }),
      fc.constantFrom('before', 'after', 'glued'),
    )
    .map(([words, stop, end, where]) => {
      const body = words.map(([w, m]) => (m ? `${w} ${m}` : w)).join(' ');
      if (!end) return body + stop;
      return where === 'before'
        ? `${body} ${end}${stop}`
        : where === 'after'
          ? `${body}${stop} ${end}`
          : `${body}${stop}${end}`;
    });
  const answerArb = fc
    .array(fc.tuple(fc.constantFrom(' ', '  ', '\n', '\n\n', '\n- ', '\n1. '), sentence), { maxLength: 6 })
    .map((parts) => parts.map(([sep, s]) => sep + s).join(''));

  it('property: realistic answers satisfy the invariants', () => {
    fc.assert(
      fc.property(answerArb, fc.integer({ min: 0, max: 6 }), (raw, sourceCount) => {
        expectInvariants(parseAnswer(raw, sourceCount), sourceCount);
      }),
      { numRuns: 500 },
    );
  });

  // Text only: an invalid marker after an abbreviation ("Dr. [9] Smith") is a
  // sentence boundary in the raw answer but not once it is gone, so sentence
  // spans may legitimately differ on a second pass.
  it('property: the output text is a fixed point', () => {
    fc.assert(
      fc.property(answerArb, fc.integer({ min: 0, max: 6 }), (raw, sourceCount) => {
        const once = parseAnswer(raw, sourceCount);
        const twice = parseAnswer(once.text, sourceCount);
        expect(twice.text).toBe(once.text);
        expect(twice.invalid).toEqual([]);
      }),
      { numRuns: 500 },
    );
  });
});

describe('support checks', () => {
  it('isSupported compares against the tunable threshold', () => {
    expect(SUPPORT_THRESHOLD).toBe(0.3);
    expect(isSupported(0.3)).toBe(true);
    expect(isSupported(0.29)).toBe(false);
    expect(isSupported(0.29, 0.2)).toBe(true);
    expect(isSupported(Number.NaN)).toBe(false);
  });

  it('bestSupportingSpan quotes the source sentence with the most overlap', () => {
    const source = 'France is in Europe. Its capital is Paris, a large city.\n\nBerlin is the capital of Germany.';
    const span = bestSupportingSpan('Paris is the capital of France [1].', source);
    expect(span).toEqual({ start: 21, end: 56, text: 'Its capital is Paris, a large city.' });
    expect(source.slice(span!.start, span!.end)).toBe(span!.text);
    const berlin = bestSupportingSpan('Germany has Berlin as its capitals.', source);
    expect(berlin?.text).toBe('Berlin is the capital of Germany.');
  });

  it('bestSupportingSpan returns null without shared content words', () => {
    expect(bestSupportingSpan('Dogs bark loudly.', 'Cats sleep all day.')).toBeNull();
    expect(bestSupportingSpan('It was this [1].', 'It was this.')).toBeNull(); // stopwords and markers only
    expect(bestSupportingSpan('Anything at all.', '')).toBeNull();
  });
});

describe('dedupeSources', () => {
  const src = (documentId: string, text: string) => ({ documentId, text });

  it('drops later exact duplicates (after normalising case and whitespace), from any document', () => {
    const a = src('d1', 'Paris is the capital.');
    const b = src('d2', '  paris IS the\n capital. ');
    const c = src('d3', 'Berlin is big.');
    expect(dedupeSources([a, b, c])).toEqual([a, c]);
  });

  it('drops a later chunk of the same document contained in an earlier one, but not across documents', () => {
    const whole = src('d1', 'Paris is the capital. It is on the Seine.');
    const part = src('d1', 'It is on the   Seine.');
    const other = src('d2', 'It is on the Seine.');
    const superset = src('d1', 'Intro. Paris is the capital. It is on the Seine. More.');
    expect(dedupeSources([whole, part, other, superset])).toEqual([whole, other, superset]);
  });

  it('keeps extra fields and order', () => {
    const items = [
      { documentId: 'b', text: 'two', score: 2 },
      { documentId: 'a', text: 'one', score: 1 },
    ];
    expect(dedupeSources(items)).toEqual(items);
  });

  it('property: idempotent, order-preserving, no duplicates left', () => {
    const arb = fc.array(
      fc.record({
        documentId: fc.constantFrom('a', 'b', 'c'),
        text: fc.string({ unit: fc.constantFrom('x', 'X', 'y', ' ', '\n'), maxLength: 6 }),
      }),
      { maxLength: 12 },
    );
    fc.assert(
      fc.property(arb, (sources) => {
        const once = dedupeSources(sources);
        expect(dedupeSources(once)).toEqual(once);
        // A subsequence of the input, same objects.
        let i = 0;
        for (const s of once) {
          while (i < sources.length && sources[i] !== s) i++;
          expect(i).toBeLessThan(sources.length);
          i++;
        }
        const norm = (t: string) => t.toLowerCase().replace(/\s+/g, ' ').trim();
        expect(new Set(once.map((s) => norm(s.text))).size).toBe(once.length);
        // Anything removed equals, or is a same-document part of, something kept before it.
        sources.forEach((s, i) => {
          if (once.includes(s)) return;
          const keptBefore = once.filter((k) => sources.indexOf(k) < i);
          expect(
            keptBefore.some(
              (k) =>
                norm(k.text) === norm(s.text) || (k.documentId === s.documentId && norm(k.text).includes(norm(s.text))),
            ),
          ).toBe(true);
        });
      }),
    );
  });
});

describe('a heading without a full stop never merges with the next sentence', () => {
  it('splits at markers followed by a sentence start, so each claim keeps its own source', () => {
    const parsed = parseAnswer(
      'Restoring a deleted branch [1] To undo the last commit, run git reset --soft HEAD~1.[2]',
      2,
    );
    expect(parsed.citations.map((c) => [c.sentence.text, c.sourceNumbers])).toEqual([
      ['Restoring a deleted branch', [1]],
      ['To undo the last commit, run git reset --soft HEAD~1.', [2]],
    ]);
    expect(parsed.text).toBe('Restoring a deleted branch [1] To undo the last commit, run git reset --soft HEAD~1.[2]');
    // A lowercase continuation is still one sentence.
    expect(parseAnswer('Paris [1] is the capital of France.', 1).citations).toHaveLength(1);
  });

  it('the support check does not credit a passage on the same topic for a sentence it does not state', () => {
    const sentence = 'To undo the last commit but keep your changes, run git reset --soft HEAD~1.';
    expect(wordCoverage(sentence, 'To undo the last commit but keep your changes, run git reset --soft HEAD~1.')).toBe(
      1,
    );
    const otherPassage =
      'Restoring a deleted branch\nA deleted branch can be restored from the reflog with git branch.';
    expect(wordCoverage(sentence, otherPassage)).toBeLessThan(MIN_WORD_COVERAGE);
    expect(supports(0.69, wordCoverage(sentence, otherPassage))).toBe(false);
    expect(supports(0.69, 1)).toBe(true);
    expect(supports(0.2, 1)).toBe(false);
  });
});
