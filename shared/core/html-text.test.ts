import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chunkDocument } from './chunking.ts';
import { htmlToMarkdownText } from './html-text.ts';

const text = (html: string) => htmlToMarkdownText(html).text;

describe('htmlToMarkdownText', () => {
  it('turns nested headings into ATX lines that the chunker turns into heading paths', () => {
    const html = `<html><body>
      <h1>Guide</h1><p>Welcome.</p>
      <section><h2>Install <small>v2</small></h2><p>Get it.</p>
        <h3>On   Linux</h3><p>Use apt.</p></section>
      <h2>Usage</h2><p>Run it.</p></body></html>`;
    const out = text(html);
    expect(out).toBe(
      '# Guide\n\nWelcome.\n\n## Install v2\n\nGet it.\n\n### On Linux\n\nUse apt.\n\n## Usage\n\nRun it.',
    );
    const paths = chunkDocument(out, 'text/markdown').map((c) => c.headingPath);
    expect(paths).toEqual([
      ['Guide'],
      ['Guide', 'Install v2'],
      ['Guide', 'Install v2', 'On Linux'],
      ['Guide', 'Usage'],
    ]);
  });

  it('keeps a heading on one line even with <br> or block children', () => {
    expect(text('<h2>Part<br>one <div>and two</div></h2><p>x</p>')).toBe('## Part one and two\n\nx');
  });

  it('renders lists as "- item", nested lists indented', () => {
    const html = '<p>Intro</p><ul><li>One<ul><li>Nested</li></ul></li><li><p>Two</p></li></ul><ol><li>First</li></ol>';
    expect(text(html)).toBe('Intro\n\n- One\n  - Nested\n- Two\n\n- First');
  });

  it('decodes entities, including ones split across text nodes by comments', () => {
    expect(text('<p>Fish &amp; chips&nbsp;&mdash; it&#39;s &lt;b&gt; &#x263A; &copy</p>')).toBe(
      "Fish & chips — it's <b> ☺ ©",
    );
    expect(text('<p>a&amp;b<!-- c -->d</p>')).toBe('a&bd');
  });

  it('collapses whitespace in normal text and breaks lines at block elements', () => {
    const html = '<div>  one\n\t two  </div><div>three<br>four</div><p>five <b>six</b>seven</p>';
    expect(text(html)).toBe('one two\nthree\nfour\n\nfive sixseven');
  });

  it('drops script, style, noscript, template and head content', () => {
    const html = `<html><head><title>T</title><meta charset="utf-8"><style>.a{}</style></head>
      <body><script>document.write("<p>evil</p>")</script><noscript>Enable JS</noscript>
      <template><p>hidden</p></template><p>Visible</p><style>p { color: red }</style></body></html>`;
    expect(text(html)).toBe('Visible');
  });

  it('keeps <pre> verbatim inside a code fence the chunker will not split mid-line', () => {
    const code = 'def f(x):\n    # not a heading\n    return x  &lt;&lt; 2\n';
    const out = text(`<p>Example:</p><pre><code>${code}</code></pre><p>After.</p>`);
    expect(out).toBe('Example:\n\n```\ndef f(x):\n    # not a heading\n    return x  << 2\n```\n\nAfter.');
    expect(chunkDocument(out, 'text/markdown').every((c) => c.headingPath.length === 0)).toBe(true);
  });

  it('uses a longer fence when <pre> content contains backticks', () => {
    const out = text('<pre>```\ninner\n```</pre>');
    expect(out).toBe('````\n```\ninner\n```\n````');
  });

  it('escapes text that would otherwise become a heading or fence', () => {
    const out = text('<p># not a heading</p><p>``` not a fence</p>');
    expect(out).toBe('\\# not a heading\n\n\\``` not a fence');
    expect(chunkDocument(out, 'text/markdown').every((c) => c.headingPath.length === 0)).toBe(true);
  });

  it('separates table cells and rows', () => {
    const html = '<table><tr><th>Name</th><th>Age</th></tr>\n<tr><td>Ann</td> <td>30</td></tr></table>';
    expect(text(html)).toBe('Name | Age\nAnn | 30');
  });

  it('takes the title from <title>, else the first non-empty <h1>, else null', () => {
    expect(htmlToMarkdownText('<title> A &amp;  B </title><h1>H</h1>').title).toBe('A & B');
    expect(htmlToMarkdownText('<h1></h1><h1>First <i>real</i></h1><h1>Second</h1>').title).toBe('First real');
    expect(htmlToMarkdownText('<svg><title>icon</title></svg><h1>Page</h1>').title).toBe('Page');
    expect(htmlToMarkdownText('<p>no title</p>').title).toBeNull();
  });

  it('does not emit a dangling prefix for empty headings or list items', () => {
    expect(text('<h2></h2><ul><li></li></ul><p>x</p>')).toBe('x');
  });

  it('survives malformed HTML', () => {
    expect(text('<p>one<p>two<div>three</span>')).toBe('one\n\ntwo\n\nthree');
  });

  it('always yields text the chunker can cover exactly (property)', () => {
    const tag = fc.constantFrom('p', 'div', 'h1', 'h3', 'li', 'ul', 'pre', 'script', 'b', 'td', 'tr', 'br');
    const node = fc.oneof(
      fc.string({ maxLength: 20 }),
      tag.map((t) => `<${t}>`),
      tag.map((t) => `</${t}>`),
      fc.constantFrom('&amp;', '&nbsp;', '&#39;', '&lt;', '# ', '```'),
    );
    fc.assert(
      fc.property(fc.array(node, { maxLength: 40 }), (parts) => {
        const { text: out } = htmlToMarkdownText(parts.join(''));
        expect(out).toBe(out.trim());
        const chunks = chunkDocument(out, 'text/markdown', { targetChars: 40, maxChars: 60, minChars: 5 });
        expect(
          chunks
            .map((c) => c.text)
            .join('')
            .replace(/\s/g, ''),
        ).toBe(out.replace(/\s/g, ''));
      }),
      { numRuns: 300 },
    );
  });
});
