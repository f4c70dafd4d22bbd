/**
 * HTML → Markdown-like text for the chunker (`chunkDocument(..., 'text/markdown')`).
 * Only structure that helps retrieval survives: headings become ATX lines,
 * blocks become line/paragraph breaks, list items "- item", <pre> a code fence.
 */
import { Parser } from 'htmlparser2';
import { decodeHTML } from 'entities';

/** Elements whose content is never document text. */
const SKIP = new Set(['script', 'style', 'noscript', 'head', 'template', 'svg', 'iframe', 'object']);
const PARAGRAPH = new Set([
  'p',
  'ul',
  'ol',
  'dl',
  'table',
  'blockquote',
  'section',
  'article',
  'header',
  'footer',
  'main',
  'nav',
  'aside',
  'figure',
  'form',
  'fieldset',
  'address',
  'details',
  'hr',
]);
const LINE = new Set(['div', 'li', 'tr', 'dt', 'dd', 'figcaption', 'caption', 'summary', 'body']);
const HEADING = /^h([1-6])$/;

/** Accumulates output, deferring breaks/spaces so that none are doubled or left dangling. */
class Writer {
  private readonly parts: string[] = [];
  private empty = true;
  private atLineStart = true;
  private breaks = 0; // newlines owed before the next word (0–2)
  private sep = ''; // owed before the next word on the same line: ' ' or ' | '
  prefix = ''; // owed at the start of the next line: "## " or "- "
  inHeading = false;

  lineBreak(n: 1 | 2): void {
    // A heading must stay on one line or the chunker would lose its title.
    if (this.inHeading) this.space();
    else this.breaks = Math.max(this.breaks, n);
  }

  br(): void {
    if (this.inHeading) this.space();
    else this.breaks = Math.min(2, this.breaks + 1);
  }

  space(sep = ' '): void {
    if (!this.atLineStart && this.sep !== ' | ') this.sep = sep;
  }

  /** Normal flow text: runs of whitespace (incl. &nbsp;) collapse to one space. */
  text(s: string): void {
    const re = /\S+/g;
    let last = 0;
    for (let m = re.exec(s); m; m = re.exec(s)) {
      if (m.index > last) this.space();
      this.word(m[0]);
      last = m.index + m[0].length;
    }
    if (s.length > last) this.space();
  }

  /** Preformatted text, emitted verbatim inside a fence the content cannot close. */
  pre(s: string): void {
    const body = s
      .replace(/\r\n?/g, '\n')
      .replace(/\u00a0/g, ' ')
      .replace(/^\n/, '')
      .trimEnd();
    if (body.trim() === '') return;
    const longestRun = Math.max(0, ...(body.match(/`+/g) ?? []).map((r) => r.length));
    const fence = '`'.repeat(Math.max(3, longestRun + 1));
    this.lineBreak(2);
    this.prefix = '';
    this.word(`${fence}\n${body}\n${fence}`, false);
    this.lineBreak(2);
  }

  private word(w: string, escapeMarkup = true): void {
    if (this.breaks > 0 && !this.empty) {
      this.parts.push('\n'.repeat(this.breaks));
      this.atLineStart = true;
    }
    this.breaks = 0;
    if (this.atLineStart) {
      // Text that merely looks like a heading or fence must not become one.
      if (escapeMarkup && this.prefix === '' && /^(?:#{1,6}$|```|~~~)/.test(w)) w = `\\${w}`;
      this.parts.push(this.prefix);
      this.prefix = '';
    } else if (this.sep) {
      this.parts.push(this.sep);
    }
    this.parts.push(w);
    this.sep = '';
    this.atLineStart = false;
    this.empty = false;
  }

  toString(): string {
    return this.parts.join('');
  }
}

const collapse = (s: string) => s.replace(/\s+/g, ' ').trim();

export function htmlToMarkdownText(html: string): { text: string; title: string | null } {
  const out = new Writer();
  let raw = ''; // text is buffered until the next tag so entities split across chunks decode
  let skip = 0;
  let svg = 0;
  let preDepth = 0;
  let preBuf = '';
  let listDepth = 0;
  let titleBuf: string | null = null; // non-null while inside <title>
  let title: string | null = null;
  let h1Buf: string | null = null; // non-null while inside the first non-empty <h1>
  let h1Title: string | null = null;

  const flush = () => {
    if (raw === '') return;
    const s = decodeHTML(raw);
    raw = '';
    if (titleBuf !== null) titleBuf += s;
    else if (skip > 0) return;
    else if (preDepth > 0) preBuf += s;
    else {
      if (h1Buf !== null) h1Buf += s;
      out.text(s);
    }
  };

  const parser = new Parser(
    {
      ontext(data) {
        raw += data;
      },
      onopentag(name) {
        flush();
        if (name === 'title') {
          if (title === null && svg === 0) titleBuf = '';
          return;
        }
        if (name === 'svg') svg++;
        if (SKIP.has(name)) skip++;
        if (skip > 0) return;
        if (preDepth > 0) {
          if (name === 'br') preBuf += '\n';
          if (name === 'pre') preDepth++;
          return;
        }
        const h = HEADING.exec(name);
        if (h) {
          out.lineBreak(2);
          out.prefix = `${'#'.repeat(Number(h[1]))} `;
          out.inHeading = true;
          if (name === 'h1' && h1Title === null) h1Buf = '';
        } else if (name === 'pre') {
          preDepth = 1;
          preBuf = '';
        } else if (name === 'br') {
          out.br();
        } else if (name === 'td' || name === 'th') {
          out.space(' | ');
        } else if (name === 'ul' || name === 'ol') {
          listDepth++;
          out.lineBreak(listDepth > 1 ? 1 : 2);
        } else if (name === 'li') {
          out.lineBreak(1);
          out.prefix = `${'  '.repeat(Math.max(0, listDepth - 1))}- `;
        } else if (PARAGRAPH.has(name)) {
          out.lineBreak(listDepth > 0 ? 1 : 2); // keep <li><p>…</p></li> lists tight
        } else if (LINE.has(name)) {
          out.lineBreak(1);
        }
      },
      onclosetag(name) {
        flush();
        if (name === 'title') {
          if (titleBuf !== null) title = collapse(titleBuf) || null;
          titleBuf = null;
          return;
        }
        const wasSkipping = skip > 0;
        if (name === 'svg') svg--;
        if (SKIP.has(name)) skip--;
        if (wasSkipping) return;
        if (preDepth > 0) {
          if (name === 'pre' && --preDepth === 0) out.pre(preBuf);
          return;
        }
        if (HEADING.test(name)) {
          out.inHeading = false;
          out.prefix = ''; // an empty heading must not prefix the next line
          out.lineBreak(2);
          if (h1Buf !== null) {
            h1Title = collapse(h1Buf) || null;
            h1Buf = null;
          }
        } else if (name === 'ul' || name === 'ol') {
          listDepth--;
          out.lineBreak(listDepth > 0 ? 1 : 2);
        } else if (name === 'li') {
          out.prefix = '';
          out.lineBreak(1);
        } else if (PARAGRAPH.has(name)) {
          out.lineBreak(listDepth > 0 ? 1 : 2);
        } else if (LINE.has(name)) {
          out.lineBreak(1);
        }
      },
      onend() {
        flush();
      },
    },
    { decodeEntities: false },
  );
  parser.write(html);
  parser.end();
  return { text: out.toString(), title: title ?? h1Title };
}
