import { describe, expect, it } from 'vitest';
import { chunkDocument } from './chunking.ts';
import { contextualText, documentFields, documentVectorText } from './document-fields.ts';

describe('documentFields', () => {
  it("takes a man page's NAME line as its summary and lists its headings once", () => {
    const text =
      '# NAME\ngit-clone - Clone a repository into a new directory\n\n# DESCRIPTION\nClones a repository.\n\n# OPTIONS\n--bare\n\n# DESCRIPTION\nAgain.';
    const f = documentFields('git-clone(1)', text, chunkDocument(text, 'text/markdown'));
    expect(f.summary).toBe('git-clone - Clone a repository into a new directory');
    expect(f.headings).toEqual(['NAME', 'DESCRIPTION', 'OPTIONS']);
    expect(documentVectorText(f)).toBe('git-clone(1)\ngit-clone - Clone a repository into a new directory');
  });

  it('prefers a front-matter description, and falls back to the first paragraph (clipped at a word)', () => {
    const fm = '---\ntitle: x\ndescription: "Tides and the moon"\n---\n\n# Intro\nBody text.';
    expect(documentFields('T', fm, chunkDocument(fm, 'text/markdown')).summary).toBe('Tides and the moon');
    const plain = `${'word '.repeat(200)}\n\nSecond paragraph.`;
    const s = documentFields('T', plain, chunkDocument(plain, 'text/plain')).summary;
    expect(s.length).toBeLessThanOrEqual(400);
    expect(s.endsWith('word')).toBe(true);
    expect(documentFields('T', '', []).summary).toBe('');
  });
});

describe('contextualText', () => {
  it('puts the title and heading path before the text', () => {
    expect(contextualText('1961 State of the Union', [], 'We meet.')).toBe('1961 State of the Union\n\nWe meet.');
    expect(contextualText('git-clone(1)', ['OPTIONS', '--depth'], 'Create a shallow clone.')).toBe(
      'git-clone(1)\nOPTIONS › --depth\n\nCreate a shallow clone.',
    );
  });
});
