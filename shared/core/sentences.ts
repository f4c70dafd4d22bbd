/**
 * The sentence splitter: one scanner, two rule sets side by side. Answer parsing, support checks
 * and the extractive generator use ANSWER_RULES (splitSentences, sentenceSpans); chunking breaks
 * over-long paragraphs with DOCUMENT_RULES. Pure, no I/O; spans index the original string.
 *
 * A sentence ends after terminal punctuation plus closing quotes/brackets (and, in answers, any
 * citation markers written after it) when whitespace follows and the next word may start a
 * sentence; a "." after an abbreviation, an initial or a dotted word ("U.S.") does not; "3.5"
 * never does. Why two rule sets: the answer rules on documents would move 88 of 466 SOTU and git
 * chunkings (document × chunk size) — sentences starting at "(", "[", "--", "<" — and with them
 * the retrieval figures; the document rules on answers would lose markers and CJK stops.
 */
import { BRACKET } from './citation-markers.ts';

export interface Sentence {
  start: number;
  end: number;
  text: string;
}

export interface Span {
  start: number;
  end: number;
}

export interface SentenceRules {
  /** terminal punctuation and closers; group 1, when present, the citation markers after them */
  end: RegExp;
  /** terminal punctuation that ends a sentence with no whitespace after it (CJK full stops) */
  endsWithoutSpace: RegExp | null;
  /** whether the text at `at` (after the whitespace) may begin the next sentence; `at` may be the end */
  startsSentence(text: string, at: number): boolean;
  /** a terminal run after which the word before it is checked for an abbreviation */
  abbreviationCandidate: RegExp;
  /** characters that end a word when scanning back from the "." (besides whitespace) */
  wordStops: ReadonlySet<string>;
  abbreviations: ReadonlySet<string>;
  /** a single letter before "." that is an initial ("John F. Kennedy") */
  initial: RegExp;
}

const LEADING_PUNCT = /^[^\p{L}\p{N}]+/u;
const DOTTED = /^(?:\p{L}\.)+\p{L}$/u; // "U.S", "e.g", "i.e" (the final "." is the match)
const LOWERCASE = /\p{Ll}/u;

export const ANSWER_RULES: SentenceRules = {
  // Terminal punctuation, closing quotes/brackets, then any citation markers the writer put
  // after the period: "… end. [2] Next" — the marker belongs to "end.".
  // Markers after a claim with no full stop also end it when the next word may start a sentence
  // (startsSentence): "Restoring a branch [1] To undo … [2]" is two claims, each citing its own
  // source (group 2), while "Paris [1] is" stays one.
  end: new RegExp(
    String.raw`[.?!…。！？]+["'”’»)）]*((?:\s*(?:[,;]\s*)?(?:${BRACKET}))*)|(?<=\S[ \t]*)((?:${BRACKET})(?:\s*(?:[,;]\s*)?(?:${BRACKET}))*)(?=\s+[^\s[【.,;:!?…。！？])`,
    'giu',
  ),
  // CJK full stops are not followed by a space, so they end a sentence without one.
  endsWithoutSpace: /[。！？]$/u,
  // A lowercase continuation means the punctuation was not a full stop ("et al. [3] found",
  // "wait... what"), markers or not.
  startsSentence: (text, at) => !LOWERCASE.test(text[at] ?? ''),
  abbreviationCandidate: /^\.["'”’»)）]*$/u,
  // a glued marker ("[1]U.S.") is no part of the word
  wordStops: new Set([']', '】']),
  // "etc." is left out on purpose: it usually does end a sentence, and the lowercase rule
  // catches "etc. and so on".
  abbreviations: new Set([
    'mr',
    'mrs',
    'ms',
    'dr',
    'prof',
    'sr',
    'jr',
    'st',
    'mt',
    'vs',
    'cf',
    'al',
    'approx',
    'fig',
    'figs',
    'vol',
    'dept',
    'inc',
    'ltd',
    'co',
    'corp',
    'gen',
    'gov',
    'sen',
    'rep',
    'rev',
    'col',
    'lt',
    'capt',
    'sgt',
    'jan',
    'feb',
    'mar',
    'apr',
    'jun',
    'jul',
    'aug',
    'sep',
    'sept',
    'oct',
    'nov',
    'dec',
  ]),
  initial: /^\p{Lu}$/u,
};

const DOCUMENT_SENTENCE_START = /^[\p{Lu}\p{Nd}"'“‘«]/u;

export const DOCUMENT_RULES: SentenceRules = {
  end: /[.?!]+["'”’)\]]*/gu,
  endsWithoutSpace: null,
  // something that plausibly starts a sentence: a capital, a digit or an opening quote
  startsSentence: (text, at) => DOCUMENT_SENTENCE_START.test(text.slice(at, at + 2)),
  abbreviationCandidate: /^\.(?!\.)/u,
  wordStops: new Set(),
  abbreviations: new Set([
    'mr',
    'mrs',
    'ms',
    'dr',
    'prof',
    'sr',
    'jr',
    'st',
    'mt',
    'ft',
    'vs',
    'etc',
    'cf',
    'al',
    'no',
    'nos',
    'vol',
    'fig',
    'figs',
    'approx',
    'dept',
    'inc',
    'ltd',
    'co',
    'corp',
    'gen',
    'gov',
    'sen',
    'rep',
    'rev',
    'hon',
    'col',
    'lt',
    'sgt',
    'capt',
    'adm',
    'jan',
    'feb',
    'mar',
    'apr',
    'jun',
    'jul',
    'aug',
    'sep',
    'sept',
    'oct',
    'nov',
    'dec',
  ]),
  initial: /^\p{L}$/u,
};

function isAbbreviation(word: string, rules: SentenceRules): boolean {
  const w = word.replace(LEADING_PUNCT, '');
  return rules.abbreviations.has(w.toLowerCase()) || rules.initial.test(w) || DOTTED.test(w);
}

function isSpace(ch: string | undefined): boolean {
  return ch !== undefined && /\s/u.test(ch);
}

// A list item or Markdown heading at the start of a line begins a new block;
// the prefix itself is not part of any sentence. Numbered items stop at three
// digits so a year opening a line ("2019. It rained.") is still a sentence.
const LINE_PREFIX = /^[^\S\n]*(?:#{1,6}|[-*+•]|\d{1,3}[.)])[^\S\n]+/u;

/**
 * Sentences of `text`, trimmed, in order, with spans into `text`. Blank lines,
 * list items and headings always end a sentence; a single newline inside a
 * paragraph (soft wrap) does not. List/heading prefixes ("- ", "1. ", "## ")
 * are left out of the spans.
 */
export function splitSentences(text: string): Sentence[] {
  const out: Sentence[] = [];
  for (const block of blocks(text)) {
    for (const s of sentenceSpans(text, block.start, block.end)) {
      // Trim: spans never start or end with whitespace and are never empty.
      let { start, end } = s;
      while (start < end && isSpace(text[start])) start++;
      while (end > start && isSpace(text[end - 1])) end--;
      if (end > start) out.push({ start, end, text: text.slice(start, end) });
    }
  }
  return out;
}

/** Paragraphs, list items and headings: spans that no sentence crosses. */
function blocks(text: string): Span[] {
  const out: Span[] = [];
  let open: Span | null = null;
  let afterHeading = false;
  for (let lineStart = 0; lineStart <= text.length; ) {
    const nl = text.indexOf('\n', lineStart);
    const lineEnd = nl < 0 ? text.length : nl;
    const line = text.slice(lineStart, lineEnd);
    const prefix = LINE_PREFIX.exec(line);
    const blank = line.trim() === '';
    if (open && (blank || prefix || afterHeading)) {
      out.push(open);
      open = null;
    }
    if (!blank) {
      if (!open) open = { start: lineStart + (prefix ? prefix[0].length : 0), end: lineEnd };
      open.end = lineEnd;
    }
    afterHeading = prefix !== null && prefix[0].trimStart().startsWith('#');
    lineStart = lineEnd + 1;
  }
  if (open) out.push(open);
  return out;
}

/**
 * Sentence spans of `text` between `start` and `end` (one paragraph, list item or heading),
 * untrimmed and covering the whole range. The last sentence ends at `end`.
 */
export function sentenceSpans(text: string, start: number, end: number, rules: SentenceRules = ANSWER_RULES): Span[] {
  const sub = text.slice(start, end);
  const spans: Span[] = [];
  let from = 0;
  const re = rules.end;
  re.lastIndex = 0;
  for (let m = re.exec(sub); m; m = re.exec(sub)) {
    const cut = m.index + m[0].length;
    if (cut >= sub.length) break; // the range's end closes the last sentence anyway
    const markers = m[1] ?? m[2] ?? '';
    const term = m[0].slice(0, m[0].length - markers.length);
    // "3.5", "e.g.," and "end.Next" are not boundaries; CJK full stops need no space.
    if (!isSpace(sub[cut]) && !rules.endsWithoutSpace?.test(term)) continue;
    let next = cut;
    while (isSpace(sub[next])) next++;
    if (!rules.startsSentence(sub, next)) continue;
    if (markers === '' && rules.abbreviationCandidate.test(term)) {
      let w = m.index; // back to the start of the word
      while (w > 0 && !isSpace(sub[w - 1]) && !rules.wordStops.has(sub[w - 1]!)) w--;
      if (isAbbreviation(sub.slice(w, m.index), rules)) continue;
    }
    spans.push({ start: start + from, end: start + cut });
    from = cut;
  }
  spans.push({ start: start + from, end });
  return spans;
}

/** Sentence spans of one over-long document paragraph, for chunking (DOCUMENT_RULES). */
export function documentSentenceSpans(text: string, start: number, end: number): Span[] {
  return sentenceSpans(text, start, end, DOCUMENT_RULES);
}
