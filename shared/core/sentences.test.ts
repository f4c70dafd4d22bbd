import { describe, expect, it } from 'vitest';
import { documentSentenceSpans, sentenceSpans, splitSentences } from './sentences.ts';

const texts = (t: string) => splitSentences(t).map((s) => s.text);
const documentTexts = (t: string) => documentSentenceSpans(t, 0, t.length).map((s) => t.slice(s.start, s.end).trim());

describe('answer rules (splitSentences)', () => {
  it('keeps abbreviations, initials, dotted words and decimals inside a sentence', () => {
    expect(
      texts('Mr. Smith met Dr. Jones at 3.5 p.m. on Monday. John F. Kennedy spoke in the U.S. Senate. Then it ended.'),
    ).toEqual([
      'Mr. Smith met Dr. Jones at 3.5 p.m. on Monday.',
      'John F. Kennedy spoke in the U.S. Senate.',
      'Then it ended.',
    ]);
  });

  it('takes closing quotes and brackets along, and does not split before a lowercase word', () => {
    expect(texts('He said "stop." She left (quietly.) Wait... what? Yes!')).toEqual([
      'He said "stop."',
      'She left (quietly.)',
      'Wait... what?',
      'Yes!',
    ]);
  });

  it('gives markers written after the full stop to the sentence they follow', () => {
    expect(texts('Paris is the capital. [1] It is large.[2][3] Et al. [4] found more.')).toEqual([
      'Paris is the capital. [1]',
      'It is large.[2][3]',
      'Et al. [4] found more.',
    ]);
  });

  it('ends sentences at CJK full stops without a space', () => {
    expect(texts('東京は首都です。大阪は大きい！本当？')).toEqual(['東京は首都です。', '大阪は大きい！', '本当？']);
  });

  it('splits at blank lines, list items and headings, leaving their prefixes out', () => {
    expect(texts('# Title\nFirst line\nwraps here. Second.\n\n- item one\n2. item two')).toEqual([
      'Title',
      'First line\nwraps here.',
      'Second.',
      'item one',
      'item two',
    ]);
  });

  it('gives spans into the original text, which sentenceSpans covers without gaps', () => {
    const t = '  One. Two!  Three?';
    for (const s of splitSentences(t)) expect(t.slice(s.start, s.end)).toBe(s.text);
    const spans = sentenceSpans(t, 0, t.length);
    expect(spans[0]!.start).toBe(0);
    expect(spans.at(-1)!.end).toBe(t.length);
    for (let i = 1; i < spans.length; i++) expect(spans[i]!.start).toBe(spans[i - 1]!.end);
  });
});

describe('document rules (documentSentenceSpans, for chunking)', () => {
  it('keeps abbreviations, any-case initials, dotted words and decimals inside a sentence', () => {
    expect(documentTexts('Approx. 3.5 ft. of snow fell, etc. Then No. 5 won in the U.S. Senate. Next one.')).toEqual([
      'Approx. 3.5 ft. of snow fell, etc. Then No. 5 won in the U.S. Senate.',
      'Next one.',
    ]);
  });

  it('starts a sentence only at an uppercase letter, a digit or an opening quote', () => {
    expect(documentTexts('It ended. (For a while.) It went on. [Applause] "Yes." 2020 came. --flag too.')).toEqual([
      'It ended. (For a while.)',
      'It went on. [Applause] "Yes."',
      '2020 came. --flag too.',
    ]);
  });

  it('differs from the answer rules where chunk boundaries depend on it', () => {
    const t = 'It ended. (For a while.) It went on.';
    expect(documentTexts(t)).toHaveLength(2);
    expect(texts(t)).toHaveLength(3);
  });

  it('covers its range without gaps, offsets relative to the whole text', () => {
    const t = 'xx One. Two. Three yy';
    const spans = documentSentenceSpans(t, 3, 18);
    expect(spans.map((s) => t.slice(s.start, s.end))).toEqual(['One.', ' Two.', ' Three']);
  });
});
