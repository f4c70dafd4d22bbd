/**
 * Structure-aware document chunker for retrieval. Pure and linear-time.
 *
 * Pipeline: split the document into sections (Markdown headings), each section
 * into blocks (heading / paragraph / fenced code), break any block longer than
 * maxChars into units (sentences → lines → whitespace-separated tokens), then
 * greedily pack units into chunks. Every span is trimmed and taken from the
 * original string, so `text.slice(start, end) === chunk.text` always holds and
 * only whitespace ever falls between chunks (and a Markdown document's leading YAML
 * front matter before the first: it is document fields, see front-matter.ts).
 */

import { frontMatter } from './front-matter.ts';
import { documentSentenceSpans } from './sentences.ts';

export type ChunkableType = 'text/plain' | 'text/markdown';

export interface Chunk {
  ordinal: number;
  start: number;
  end: number;
  text: string;
  headingPath: string[];
}

export interface ChunkOptions {
  targetChars?: number;
  maxChars?: number;
  minChars?: number;
}

interface Span {
  start: number;
  end: number;
}

/** Where splitting of an over-long block starts; each level falls back to the next. */
type Level = 'sentence' | 'line' | 'word';

interface Block extends Span {
  level: Level;
}

interface Section {
  path: string[];
  blocks: Block[];
}

interface Limits {
  target: number;
  max: number;
  min: number;
}

export function chunkDocument(text: string, contentType: ChunkableType, options: ChunkOptions = {}): Chunk[] {
  const limits = resolveLimits(options);
  const chunks: Chunk[] = [];
  for (const section of parseSections(text, contentType === 'text/markdown')) {
    const packer = new Packer(limits);
    for (const b of section.blocks) splitSpan(text, b.start, b.end, b.level, packer);
    for (const { start, end } of packer.finish()) {
      chunks.push({
        ordinal: chunks.length,
        start,
        end,
        text: text.slice(start, end),
        headingPath: [...section.path],
      });
    }
  }
  return chunks;
}

function resolveLimits(o: ChunkOptions): Limits {
  const target = o.targetChars ?? 800;
  // When only targetChars is given, keep the default proportions (800/1200/200).
  const max = o.maxChars ?? Math.max(1200, Math.ceil(target * 1.5));
  const min = o.minChars ?? Math.min(200, Math.floor(target / 4));
  for (const [name, v, lo] of [
    ['targetChars', target, 1],
    ['maxChars', max, 1],
    ['minChars', min, 0],
  ] as const) {
    if (!Number.isFinite(v) || v < lo) throw new RangeError(`chunkDocument: invalid ${name}: ${v}`);
  }
  const t = Math.min(target, max);
  return { target: t, max, min: Math.min(min, t) };
}

// ---------------------------------------------------------------------------
// Sections and blocks

const ATX = /^ {0,3}(#{1,6})(?=[ \t\r]|$)([^]*)$/;
const FENCE_OPEN = /^ {0,3}(?:(`{3,})[^`]*|(~{3,})[^]*)$/;
const FENCE_CLOSE = /^ {0,3}(`{3,}|~{3,})\s*$/;
const SETEXT = /^ {0,3}(=+|-+)\s*$/;
// A list item or quote followed by `---` is a list/rule in CommonMark, not a heading.
const NOT_SETEXT_TITLE = /^ {0,3}(?:[-*+>]|\d{1,9}[.)])(?:\s|$)/;
const BLANK = /^\s*$/;

function headingTitle(raw: string): string {
  const t = raw.trim();
  // "## ##" is an empty heading; otherwise drop an optional closing "###" run.
  return /^#+$/.test(t) ? '' : t.replace(/\s+#+$/, '').trim();
}

/**
 * One pass over the lines. Fences are tracked so that `#` inside code is never
 * a heading and a fence always stays one block inside one section.
 */
function parseSections(text: string, markdown: boolean): Section[] {
  const sections: Section[] = [{ path: [], blocks: [] }];
  const stack: { level: number; title: string }[] = [];
  let para: { start: number; end: number; lines: number } | null = null;
  let fence: { start: number; ch: string; len: number } | null = null;

  const current = () => sections[sections.length - 1]!;
  const flushPara = () => {
    if (para) current().blocks.push({ start: para.start, end: para.end, level: 'sentence' });
    para = null;
  };
  const openSection = (level: number, title: string, start: number, end: number) => {
    while (stack.length > 0 && stack[stack.length - 1]!.level >= level) stack.pop();
    stack.push({ level, title });
    sections.push({ path: stack.map((h) => h.title), blocks: [{ start, end, level: 'sentence' }] });
  };

  // Front matter describes the document (document fields), it is no passage of it.
  for (let ls = markdown ? frontMatter(text).end : 0; ls <= text.length; ) {
    let le = text.indexOf('\n', ls);
    if (le === -1) le = text.length;
    const line = text.slice(ls, le);
    const next = le + 1;

    if (fence) {
      const m = FENCE_CLOSE.exec(line);
      if (m && m[1]![0] === fence.ch && m[1]!.length >= fence.len) {
        current().blocks.push({ start: fence.start, end: le, level: 'line' });
        fence = null;
      }
      ls = next;
      continue;
    }
    if (BLANK.test(line)) {
      flushPara();
      ls = next;
      continue;
    }
    const f = FENCE_OPEN.exec(line);
    if (f) {
      flushPara();
      const run = f[1] ?? f[2]!;
      fence = { start: ls, ch: run[0]!, len: run.length };
      ls = next;
      continue;
    }
    if (markdown) {
      const h = ATX.exec(line);
      if (h) {
        flushPara();
        openSection(h[1]!.length, headingTitle(h[2]!), ls, le);
        ls = next;
        continue;
      }
      const s = para && para.lines === 1 ? SETEXT.exec(line) : null;
      if (s && para) {
        const title = text.slice(para.start, para.end);
        if (!NOT_SETEXT_TITLE.test(title)) {
          const start = para.start;
          para = null;
          openSection(s[1]![0] === '=' ? 1 : 2, title.trim(), start, le);
          ls = next;
          continue;
        }
      }
    }
    if (para) {
      para.end = le;
      para.lines++;
    } else {
      para = { start: ls, end: le, lines: 1 };
    }
    ls = next;
  }
  flushPara();
  // An unclosed fence runs to the end of the document, as in CommonMark.
  if (fence) current().blocks.push({ start: fence.start, end: text.length, level: 'line' });
  return sections;
}

// ---------------------------------------------------------------------------
// Splitting over-long blocks into units

/** Same set as JS `\s` / String#trim, by char code to keep the hot loops allocation-free. */
function isWs(text: string, i: number): boolean {
  const c = text.charCodeAt(i);
  if (c <= 32) return c === 32 || (c >= 9 && c <= 13);
  if (c < 160) return false;
  return (
    c === 160 ||
    c === 5760 ||
    (c >= 8192 && c <= 8202) ||
    c === 8232 ||
    c === 8233 ||
    c === 8239 ||
    c === 8287 ||
    c === 12288 ||
    c === 65279
  );
}

/** Feeds trimmed, non-empty units ≤ max (unless a single token is longer) to the packer. */
function splitSpan(text: string, start: number, end: number, level: Level, out: Packer): void {
  while (start < end && isWs(text, start)) start++;
  while (end > start && isWs(text, end - 1)) end--;
  if (start >= end) return;
  if (end - start <= out.max) {
    out.add(start, end);
    return;
  }
  if (level === 'sentence') {
    for (const s of documentSentenceSpans(text, start, end)) splitSpan(text, s.start, s.end, 'line', out);
  } else if (level === 'line') {
    for (let ls = start; ls < end; ) {
      let le = text.indexOf('\n', ls);
      if (le === -1 || le > end) le = end;
      splitSpan(text, ls, le, 'word', out);
      ls = le + 1;
    }
  } else {
    const re = /\S+/g;
    const sub = text.slice(start, end);
    for (let m = re.exec(sub); m; m = re.exec(sub)) {
      out.add(start + m.index, start + m.index + m[0].length);
    }
  }
}

// ---------------------------------------------------------------------------
// Packing

/**
 * Greedy packing up to `target`; a chunk still under `min` may grow up to `max`
 * so a heading or short lead-in is not stranded. A tiny final chunk folds back
 * into its predecessor when that stays within `max`. Units stream in as plain
 * numbers because pathological inputs (1 MB of one-word lines) yield ~10^6 units.
 */
class Packer {
  readonly max: number;
  private readonly limits: Limits;
  private readonly out: Span[] = [];
  private start = -1; // current chunk; -1 while none is open
  private end = -1;

  constructor(limits: Limits) {
    this.limits = limits;
    this.max = limits.max;
  }

  add(start: number, end: number): void {
    const { target, max, min } = this.limits;
    if (this.start >= 0) {
      const merged = end - this.start;
      if (merged <= target || (this.end - this.start < min && merged <= max)) {
        this.end = end;
        return;
      }
      this.out.push({ start: this.start, end: this.end });
    }
    this.start = start;
    this.end = end;
  }

  finish(): Span[] {
    const { out } = this;
    if (this.start >= 0) out.push({ start: this.start, end: this.end });
    const last = out[out.length - 1];
    const prev = out[out.length - 2];
    if (last && prev && last.end - last.start < this.limits.min && last.end - prev.start <= this.max) {
      prev.end = last.end;
      out.pop();
    }
    return out;
  }
}
