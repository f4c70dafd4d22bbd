// What a document says about itself beyond its body: title, a one-paragraph summary and its
// headings. Pure. Used for the document-level field index and vector, and to give each chunk
// its context (title and heading path) when it is embedded.

import { frontMatter } from './front-matter.ts';

export interface FieldChunk {
  text: string;
  headingPath: readonly string[];
}

export interface DocumentFields {
  title: string;
  summary: string;
  headings: string[];
}

const SUMMARY_MAX = 400;
/** Sections that describe the whole document, best first (man pages: NAME). */
const SUMMARY_SECTIONS = ['name', 'summary', 'abstract', 'tl;dr', 'tldr', 'overview', 'description', 'introduction'];
const FRONT_MATTER_KEYS = ['description', 'summary', 'abstract'];

export function documentFields(title: string, text: string, chunks: readonly FieldChunk[]): DocumentFields {
  const headings = [
    ...new Set(
      chunks
        .flatMap((c) => c.headingPath)
        .map((h) => h.trim())
        .filter(Boolean),
    ),
  ].slice(0, 200);
  return { title, summary: clip(summaryOf(text, chunks)), headings };
}

function summaryOf(text: string, chunks: readonly FieldChunk[]): string {
  const { fields } = frontMatter(text);
  const described = FRONT_MATTER_KEYS.map((k) => fields[k]).find((v) => v !== undefined && v !== '');
  if (described) return described;
  for (const name of SUMMARY_SECTIONS) {
    const hit = chunks.find(
      (c) => c.headingPath.length > 0 && c.headingPath[c.headingPath.length - 1]!.trim().toLowerCase() === name,
    );
    if (hit) return firstParagraph(hit.text);
  }
  const first = chunks.find((c) => frontMatter(c.text).end === 0);
  return first ? firstParagraph(first.text) : '';
}

function firstParagraph(text: string): string {
  const paragraphs = text
    .split(/\n\s*\n/)
    .map((p) => p.replace(/^#{1,6}\s.*$/gm, '').trim())
    .filter(Boolean);
  return (paragraphs[0] ?? '').replace(/\s+/g, ' ');
}

function clip(s: string): string {
  if (s.length <= SUMMARY_MAX) return s;
  const cut = s.slice(0, SUMMARY_MAX);
  const space = cut.lastIndexOf(' ');
  return space > SUMMARY_MAX / 2 ? cut.slice(0, space) : cut;
}

/** The text a document's vector is made from. */
export function documentVectorText(fields: DocumentFields): string {
  return fields.summary ? `${fields.title}\n${fields.summary}` : fields.title;
}

/**
 * A chunk as embedded: the document title and heading path first, so a passage that never names
 * its subject (a year, a command) still carries it. The stored text and span stay the original.
 */
export function contextualText(title: string, headingPath: readonly string[], text: string): string {
  const path = headingPath.filter((h) => h.trim() !== '').join(' › ');
  return `${title}${path ? `\n${path}` : ''}\n\n${text}`;
}
