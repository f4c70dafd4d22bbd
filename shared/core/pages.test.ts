import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunkDocument } from './chunking.ts';
import { joinPages, pageAt } from './pages.ts';

describe('joinPages / pageAt', () => {
  it('maps every character of every page back to that page', () => {
    fc.assert(
      fc.property(fc.array(fc.string({ maxLength: 40 }), { minLength: 1, maxLength: 12 }), (pages) => {
        const { text, pageStarts } = joinPages(pages);
        pages.forEach((page, i) => {
          expect(text.slice(pageStarts[i], pageStarts[i]! + page.length)).toBe(page);
          for (let k = 0; k < page.length; k++) expect(pageAt(pageStarts, pageStarts[i]! + k)).toBe(i + 1);
        });
      }),
    );
  });

  it('gives each chunk of a paged text the page its span starts on', () => {
    const pages = Array.from({ length: 4 }, (_, i) => `Page ${i + 1} says ${'word '.repeat(120 + i * 40)}`.trim());
    const { text, pageStarts } = joinPages(pages);
    const chunks = chunkDocument(text, 'text/plain');
    const firstPages = chunks.map((c) => pageAt(pageStarts, c.start));
    expect(new Set(firstPages)).toEqual(new Set([1, 2, 3, 4]));
    for (const c of chunks) {
      const m = /^Page (\d+)/.exec(c.text);
      if (m) expect(pageAt(pageStarts, c.start)).toBe(Number(m[1]));
    }
  });
});
