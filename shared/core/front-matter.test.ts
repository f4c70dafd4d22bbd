import { describe, expect, it } from 'vitest';
import { frontMatter } from './front-matter.ts';

describe('frontMatter', () => {
  it('reads flat keys of a leading YAML block and says where the body starts', () => {
    const text = '---\ntitle: npm-install\nsection: 1\ndescription: "Install a package"\n---\n\n### Synopsis\n';
    const fm = frontMatter(text);
    expect(fm.fields).toEqual({ title: 'npm-install', section: '1', description: 'Install a package' });
    expect(text.slice(fm.end)).toBe('\n### Synopsis\n');
  });

  it('is nothing when the document does not start with one (a later rule or a setext underline)', () => {
    expect(frontMatter('Intro\n---\ntitle: x\n---\n')).toEqual({ end: 0, fields: {} });
    expect(frontMatter('no front matter')).toEqual({ end: 0, fields: {} });
  });

  it('accepts `...` as the closing line and CRLF line ends', () => {
    const fm = frontMatter('---\r\ndescription: Summary here\r\n...\r\nBody');
    expect(fm.fields.description).toBe('Summary here');
    expect(fm.end).toBe('---\r\ndescription: Summary here\r\n...\r\n'.length);
  });
});
