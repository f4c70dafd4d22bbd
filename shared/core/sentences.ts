/**
 * Sentence splitting, in one place: answer parsing, support checks and the extractive generator
 * use the answer rules (splitSentences, sentenceSpans); chunking breaks over-long paragraphs with
 * the document rules (documentSentenceSpans, below). Pure, no I/O; spans index the original string.
 *
 * Answer rules: terminal punctuation (. ? ! … and the CJK 。！？) plus closing quotes/brackets and any
 * citation markers written after it ends a sentence when whitespace follows (CJK stops need
 * none) and the next word does not start lowercase; a "." after an abbreviation, an initial
 * or a dotted word ("U.S.") does not; "3.5" never does.
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

// A list item or Markdown heading at the start of a line begins a new block;
// the prefix itself is not part of any sentence. Numbered items stop at three
// digits so a year opening a line ("2019. It rained.") is still a sentence.
const LINE_PREFIX = /^[^\S\n]*(?:#{1,6}|[-*+•]|\d{1,3}[.)])[^\S\n]+/u;

// Terminal punctuation, closing quotes/brackets, then any citation markers the
// writer put after the period: "… end. [2] Next" — the marker belongs to "end.".
const SENTENCE_END = new RegExp(String.raw`[.?!…。！？]+["'”’»)）]*((?:\s*(?:[,;]\s*)?(?:${BRACKET}))*)`, 'giu');
// CJK full stops are not followed by a space, so they end a sentence without one.
const CJK_END = /[。！？]$/u;

// Words that end in "." without ending the sentence. "etc." is left out on
// purpose: it usually does end one, and the lowercase rule below catches
// "etc. and so on".
const ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'mt', 'vs', 'cf', 'al', 'approx',
  'fig', 'figs', 'vol', 'dept', 'inc', 'ltd', 'co', 'corp', 'gen', 'gov', 'sen', 'rep',
  'rev', 'col', 'lt', 'capt', 'sgt', 'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug',
  'sep', 'sept', 'oct', 'nov', 'dec',
]);
const LEADING_PUNCT = /^[^\p{L}\p{N}]+/u;
const INITIAL = /^\p{Lu}$/u; // "John F. Kennedy"
const DOTTED = /^(?:\p{L}\.)+\p{L}$/u; // "U.S", "e.g", "i.e" (the final "." is the match)
const LOWERCASE = /\p{Ll}/u;

function isAbbreviation(word: string): boolean {
  const w = word.replace(LEADING_PUNCT, '');
  return ABBREVIATIONS.has(w.toLowerCase()) || INITIAL.test(w) || DOTTED.test(w);
}

function isSpace(ch: string | undefined): boolean {
  return ch !== undefined && /\s/u.test(ch);
}

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
export function sentenceSpans(text: string, start: number, end: number): Span[] {
  const block = { start, end };
  const sub = text.slice(block.start, block.end);
  const spans: Span[] = [];
  let from = 0;
  SENTENCE_END.lastIndex = 0;
  for (let m = SENTENCE_END.exec(sub); m; m = SENTENCE_END.exec(sub)) {
    const cut = m.index + m[0].length;
    if (cut >= sub.length) break; // the block's end closes the last sentence anyway
    const term = m[0].slice(0, m[0].length - (m[1]?.length ?? 0));
    // "3.5", "e.g.," and "end.Next" are not boundaries; CJK full stops need no space.
    if (!isSpace(sub[cut]) && !CJK_END.test(term)) continue;
    let next = cut;
    while (isSpace(sub[next])) next++;
    // A lowercase continuation means the punctuation was not a full stop
    // ("et al. [3] found", "wait... what"), markers or not.
    if (LOWERCASE.test(sub[next] ?? '')) continue;
    const hasMarkers = (m[1] ?? '') !== '';
    if (!hasMarkers && /^\.["'”’»)）]*$/u.test(term)) {
      let w = m.index; // back to the start of the word; a glued marker ("[1]U.S.") is no part of it
      while (w > 0 && !isSpace(sub[w - 1]) && sub[w - 1] !== ']' && sub[w - 1] !== '】') w--;
      if (isAbbreviation(sub.slice(w, m.index))) continue;
    }
    spans.push({ start: block.start + from, end: block.start + cut });
    from = cut;
  }
  spans.push({ start: block.start + from, end: block.end });
  return spans;
}

// ---------------------------------------------------------------------------
// Document rules (chunking)
//
// Chunk boundaries depend on these, and the retrieval figures on the chunks: on the SOTU and
// git corpora the answer rules above would move 88 of 466 chunkings (document × chunk size),
// mostly by starting sentences at "(", "[", "--" and "<". So documents keep their stricter rules,
// beside the answer rules, sharing the abbreviation shape tests.

// Terminal punctuation (plus closing quotes/brackets), then whitespace and something that
// plausibly starts a sentence.
const DOCUMENT_SENTENCE_END = /[.?!]+["'”’)\]]*(?=\s+[\p{Lu}\p{Nd}"'“‘«])/gu;

const DOCUMENT_ABBREVIATIONS = new Set([
  'mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'mt', 'ft', 'vs', 'etc', 'cf', 'al',
  'no', 'nos', 'vol', 'fig', 'figs', 'approx', 'dept', 'inc', 'ltd', 'co', 'corp',
  'gen', 'gov', 'sen', 'rep', 'rev', 'hon', 'col', 'lt', 'sgt', 'capt', 'adm',
  'jan', 'feb', 'mar', 'apr', 'jun', 'jul', 'aug', 'sep', 'sept', 'oct', 'nov', 'dec',
]);

/** True if `word` (the text before a single ".") is an abbreviation, not a sentence end. */
function isDocumentAbbreviation(word: string): boolean {
  const w = word.replace(LEADING_PUNCT, '');
  if (w.length > 8 && !w.includes('.')) return false;
  return (
    DOCUMENT_ABBREVIATIONS.has(w.toLowerCase()) ||
    ANY_CASE_INITIAL.test(w) || // "John F. Kennedy"
    DOTTED.test(w) // "U.S.", "e.g.", "i.e.", "a.m."
  );
}
const ANY_CASE_INITIAL = /^\p{L}$/u;

/**
 * Sentence spans of one over-long document paragraph, for chunking: untrimmed, covering
 * `start`..`end`. Stricter than the answer rules: the next sentence must start with an
 * uppercase letter, a digit or an opening quote (so "(For …", "--flag", "[Applause]" never start
 * one), no markers or CJK stops, and its own abbreviation list.
 */
export function documentSentenceSpans(text: string, start: number, end: number): Span[] {
  const sub = text.slice(start, end);
  const spans: Span[] = [];
  let from = 0;
  DOCUMENT_SENTENCE_END.lastIndex = 0;
  for (let m = DOCUMENT_SENTENCE_END.exec(sub); m; m = DOCUMENT_SENTENCE_END.exec(sub)) {
    const cut = m.index + m[0].length;
    if (m[0][0] === '.' && m[0][1] !== '.') {
      let w = m.index;
      while (w > from && !isSpace(sub[w - 1])) w--;
      if (isDocumentAbbreviation(sub.slice(w, m.index))) continue;
    }
    spans.push({ start: start + from, end: start + cut });
    from = cut;
  }
  spans.push({ start: start + from, end });
  return spans;
}

