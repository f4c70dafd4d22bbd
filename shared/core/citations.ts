/**
 * Citation handling for generated answers. Pure functions, no I/O.
 *
 * The model (or the extractive composer) answers from numbered sources [1]..[n]
 * and marks sentences with markers such as `[1]`, `[1, 3]`, `[2-4]`, `[1][3]`,
 * `【2】` or `[^2]`. `parseAnswer` turns that raw text into clean text where every
 * cited sentence ends in canonical markers (`…France.[1][3]`) plus a list of
 * citations whose spans index the clean text. Markers naming no real source are
 * removed and reported, never shown to the user.
 */

import { MARKER, MARKER_GROUP, isMarker, markerPattern } from './citation-markers.ts';
import { splitSentences, type Sentence } from './sentences.ts';

export { isMarker, markerPattern, splitSentences, type Sentence };

// ---------------------------------------------------------------------------
// Parsing an answer

export interface ParsedCitation {
  sentenceIndex: number; // index of the sentence among the sentences of the output text
  sentence: { start: number; end: number; text: string }; // the claim, markers excluded
  sourceNumbers: number[]; // 1-based, deduped, in order of appearance
}

export interface InvalidMarker {
  marker: string; // the marker as written, e.g. "[7]" or "[3-1]"
  number: number;
  reason: 'out_of_range' | 'malformed';
}

export interface ParsedAnswer {
  text: string;
  citations: ParsedCitation[];
  invalid: InvalidMarker[];
}

// No space between a claim and its markers after closing punctuation
// ("France.[1]"), one space after a word ("Paris [1]").
const TIGHT_BEFORE_MARKER = /[.!?…。！？"'”’»)）]$/u;
const HAS_CONTENT = /[\p{L}\p{N}]/u;

interface Item {
  gap: string; // raw text between the previous sentence and this one (whitespace, list prefix)
  claim: string;
  numbers: number[];
}

/**
 * Split `raw` into sentences, strip every citation marker, and re-append the
 * valid ones in canonical form at the end of the sentence that carried them.
 * A sentence without words (e.g. nothing but markers) gives its sources to
 * the sentence before it (or, before the first one, the one after).
 */
export function parseAnswer(raw: string, sourceCount: number): ParsedAnswer {
  const text = raw.replace(/\r\n?/g, '\n');
  const invalid: InvalidMarker[] = [];
  const items: Item[] = [];
  let pending: number[] = []; // sources seen before the first claim
  let lastClaim: Item | null = null;
  let prevEnd = 0;
  for (const s of splitSentences(text)) {
    const gap = text.slice(prevEnd, s.start);
    prevEnd = s.end;
    const { claim, numbers, hadMarkers } = stripMarkers(s.text, sourceCount, invalid);
    if (HAS_CONTENT.test(claim)) {
      lastClaim = { gap, claim, numbers: union(pending, numbers) };
      items.push(lastClaim);
      pending = [];
      continue;
    }
    // No words: a stray "[2]." or a "---" line is no claim. Its sources go to
    // the nearest claim; markers-only fragments vanish, anything else stays.
    if (lastClaim) lastClaim.numbers = union(lastClaim.numbers, numbers);
    else pending = union(pending, numbers);
    if (!hadMarkers) items.push({ gap, claim, numbers: [] });
  }

  let out = '';
  const citations: ParsedCitation[] = [];
  items.forEach((item, i) => {
    out += normaliseGap(item.gap, i === 0);
    const start = out.length;
    out += item.claim;
    const end = out.length;
    if (item.numbers.length === 0) return;
    out += (TIGHT_BEFORE_MARKER.test(item.claim) ? '' : ' ') + item.numbers.map((n) => `[${n}]`).join('');
    citations.push({ sentenceIndex: i, sentence: { start, end, text: item.claim }, sourceNumbers: item.numbers });
  });
  return { text: out, citations, invalid };
}

/**
 * Remove all markers from one sentence, collecting valid numbers in order and
 * reporting bad ones. Repeats until no marker is left, because removing one can
 * join its neighbours into another ("[[7]1]" → "[1]").
 */
function stripMarkers(
  sentence: string,
  sourceCount: number,
  invalid: InvalidMarker[],
): { claim: string; numbers: number[]; hadMarkers: boolean } {
  let numbers: number[] = [];
  let s = sentence;
  let hadMarkers = false;
  for (;;) {
    let found = false;
    s = s.replace(MARKER_GROUP, (group: string, offset: number, whole: string) => {
      found = true;
      for (const m of group.matchAll(MARKER)) numbers = union(numbers, readMarker(m[0], sourceCount, invalid));
      // Keep words apart ("Paris[1]is" → "Paris is") except in scripts written without spaces.
      const before = whole[offset - 1] ?? '';
      const after = whole[offset + group.length] ?? '';
      return WORD_CHAR.test(before) && WORD_CHAR.test(after) && !CJK.test(before + after) ? ' ' : '';
    });
    s = tidy(s);
    if (!found) break;
    hadMarkers = true;
  }
  return { claim: s, numbers, hadMarkers };
}

const WORD_CHAR = /[\p{L}\p{N}]/u;
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

/** Whitespace left behind by removed markers: no runs, no space before punctuation. */
function tidy(s: string): string {
  return s
    .replace(/[^\S\n]+/g, ' ')
    .replace(/ ?\n ?/g, '\n')
    .replace(/\s+(?=[.,;:!?…)\]}。，、；：！？）](?!\d))/gu, '')
    .trim();
}

/** Between sentences: keep line structure and list prefixes, drop stray blanks. */
// A gap is blank lines, then on its last line any indentation and the list or
// heading prefix of the next sentence; on a single line it is only blanks.
function normaliseGap(gap: string, first: boolean): string {
  const lines = gap.split('\n');
  const last = (lines.pop() ?? '').replace(/(?<=\S)\s+/gu, ' '); // "-   Paris" → "- Paris"
  if (first) return last.trimStart();
  if (lines.length === 0) return gap === '' ? '' : ' '; // '' only between CJK sentences
  return (lines.length >= 2 ? '\n\n' : '\n') + last;
}

const DASHES = /[^\S\n]*[-–—][^\S\n]*/g;

/** Valid source numbers named by one marker token; the rest go to `invalid`. */
export function readMarker(marker: string, sourceCount: number, invalid: InvalidMarker[]): number[] {
  const inner = marker
    .replace(/^[[【]|[\]】]$/g, '')
    .replace(/†.*$/su, '')
    .replace(/^[^\d]*/u, '') // caret or "Source:" label
    .replace(DASHES, '-');
  const valid: number[] = [];
  const inRange = (n: number) => n >= 1 && n <= sourceCount;
  for (const item of inner.split(/[\s,;]+/)) {
    if (item === '' || !/\d/.test(item)) continue; // stray separators carry no number
    const single = /^\d+$/.exec(item);
    const range = /^(\d+)-(\d+)$/.exec(item);
    if (single) {
      const n = Number(item);
      if (inRange(n)) valid.push(n);
      else invalid.push({ marker, number: n, reason: 'out_of_range' });
    } else if (range && Number(range[1]) <= Number(range[2])) {
      // Only the part of the range inside 1..sourceCount is expanded, so
      // "[1-999999]" costs nothing; each side outside is reported once.
      const lo = Number(range[1]);
      const hi = Number(range[2]);
      if (lo < 1) invalid.push({ marker, number: lo, reason: 'out_of_range' });
      for (let n = Math.max(lo, 1); n <= Math.min(hi, sourceCount); n++) valid.push(n);
      if (hi > sourceCount) invalid.push({ marker, number: Math.max(lo, sourceCount + 1), reason: 'out_of_range' });
    } else {
      // "[3-1]", "[1-]", "[1-2-3]": a citation was meant but cannot be read.
      invalid.push({ marker, number: Number(/\d+/.exec(item)?.[0] ?? Number.NaN), reason: 'malformed' });
    }
  }
  return valid;
}

function union(a: readonly number[], b: readonly number[]): number[] {
  const out = [...a];
  for (const n of b) if (!out.includes(n)) out.push(n);
  return out;
}

// ---------------------------------------------------------------------------
// Support checks

export interface SupportCheckInput {
  sentence: string;
  sourceText: string;
  similarity: number; // cosine similarity between the sentence and the source embeddings
}

/**
 * Cosine similarity below which a cited source is taken NOT to support the
 * sentence. Tunable: it depends on the embedder (0.3 suits small sentence
 * encoders such as USE-lite, where unrelated text scores ~0.0–0.2); recalibrate
 * on labelled pairs when the embedder changes.
 */
export const SUPPORT_THRESHOLD = 0.3;

export function isSupported(similarity: number, threshold: number = SUPPORT_THRESHOLD): boolean {
  return Number.isFinite(similarity) && similarity >= threshold;
}

/**
 * Share of the sentence's content words the source passage contains. Embedding similarity alone
 * credits a passage on the same topic for a sentence taken from another one (USE-lite scores two
 * git passages ≥ 0.3 whatever they say); a supporting passage also states most of its words.
 */
export const MIN_WORD_COVERAGE = 0.5;

export function wordCoverage(sentence: string, sourceText: string): number {
  const words = contentTokens(sentence.replace(MARKER_GROUP, ' '));
  if (words.size === 0) return 0;
  const source = contentTokens(sourceText);
  let shared = 0;
  for (const w of words) if (source.has(w)) shared++;
  return shared / words.size;
}

/** The support check: close in meaning to the passage's best-matching sentence, and mostly its words. */
export function supports(similarity: number, coverage: number): boolean {
  return isSupported(similarity) && coverage >= MIN_WORD_COVERAGE;
}

// A small stopword list: enough to stop "the"/"is" from making any two
// sentences look related, short enough to keep negations' neighbours.
const STOPWORDS = new Set([
  'a',
  'an',
  'and',
  'are',
  'as',
  'at',
  'be',
  'been',
  'but',
  'by',
  'for',
  'from',
  'has',
  'have',
  'had',
  'he',
  'her',
  'his',
  'i',
  'in',
  'is',
  'it',
  'its',
  'of',
  'on',
  'or',
  'she',
  'that',
  'the',
  'their',
  'them',
  'they',
  'this',
  'to',
  'was',
  'were',
  'which',
  'who',
  'will',
  'with',
  'do',
  'does',
  'did',
  'can',
  'could',
  'would',
  'should',
  'than',
  'then',
  'there',
  'these',
  'those',
  'we',
  'you',
  'your',
  'our',
  'what',
  'when',
  'where',
  'how',
  'also',
  'into',
  'about',
]);

/** Lowercased content words, with a naive plural "s" stripped so "capitals" meets "capital". */
export function contentTokens(text: string): Set<string> {
  const out = new Set<string>();
  for (const m of text.toLowerCase().matchAll(/[\p{L}\p{N}]+(?:['’]\p{L}+)?/gu)) {
    const w = m[0];
    if (STOPWORDS.has(w)) continue;
    out.add(w.length > 3 && w.endsWith('s') && !w.endsWith('ss') ? w.slice(0, -1) : w);
  }
  return out;
}

/**
 * The sentence of `sourceText` that best matches `sentence`, by token-set
 * Jaccard similarity of content words — the exact text to quote as evidence.
 * Earliest wins ties; null when no source sentence shares a content word.
 */
export function bestSupportingSpan(
  sentence: string,
  sourceText: string,
): { start: number; end: number; text: string } | null {
  const query = contentTokens(sentence.replace(MARKER_GROUP, ' '));
  if (query.size === 0) return null;
  let best: Sentence | null = null;
  let bestScore = 0;
  for (const s of splitSentences(sourceText)) {
    const tokens = contentTokens(s.text);
    let shared = 0;
    for (const t of tokens) if (query.has(t)) shared++;
    const score = shared / (query.size + tokens.size - shared);
    if (score > bestScore) {
      best = s;
      bestScore = score;
    }
  }
  return best ? { start: best.start, end: best.end, text: best.text } : null;
}

// ---------------------------------------------------------------------------
// Source de-duplication

function normaliseForDedupe(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').trim();
}

/**
 * Drop sources that would waste prompt space or split citations: a later
 * source whose normalised text equals an earlier one (any document), or one
 * from the same document whose text is contained in an earlier one (overlapping
 * chunks). First occurrence wins; order is kept.
 */
export function dedupeSources<T extends { documentId: string; text: string }>(sources: readonly T[]): T[] {
  const kept: { documentId: string; norm: string }[] = [];
  const seen = new Set<string>();
  const out: T[] = [];
  for (const source of sources) {
    const norm = normaliseForDedupe(source.text);
    if (seen.has(norm)) continue;
    if (kept.some((k) => k.documentId === source.documentId && k.norm.includes(norm))) continue;
    seen.add(norm);
    kept.push({ documentId: source.documentId, norm });
    out.push(source);
  }
  return out;
}
