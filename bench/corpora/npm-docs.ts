/**
 * npm CLI documentation corpus (technical documentation with YAML front matter).
 *
 * Source: the Markdown pages npm 11.19.1 ships in `docs/content` (commands, configuring-npm,
 * using-npm; 91 pages), copied unchanged into bench/corpora/npm-docs/ so every machine and every
 * later npm gets the same documents. The pages are npm's, under npm's Artistic License 2.0
 * (bench/corpora/npm-docs/LICENSE). Each page starts with front matter (`title`, `section`,
 * `description`) that citepay should read as document fields, not as passage text.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type CorpusDocument, type GoldQuestion, loadQuestionFile } from './corpus.ts';

export const NPM_DOCS_VERSION = '11.19.1';
const ROOT = join(dirname(fileURLToPath(import.meta.url)), 'npm-docs');

function markdownFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? markdownFiles(join(dir, e.name)) : e.name.endsWith('.md') ? [join(dir, e.name)] : [],
  );
}

/** Every page, sorted by path; id = file name without .md ("npm-install", "package-json"). */
export function loadNpmDocs(): CorpusDocument[] {
  const seen = new Set<string>();
  return markdownFiles(ROOT)
    .sort()
    .map((file) => {
      const id = basename(file, '.md');
      if (seen.has(id)) throw new Error(`two npm docs pages named ${id}`);
      seen.add(id);
      const text = readFileSync(file, 'utf8');
      const title = /^title:\s*(.+)$/m.exec(text)?.[1]?.trim() ?? id;
      return { id, title, text, contentType: 'text/markdown' as const, metadata: { path: relative(ROOT, file) } };
    });
}

/** Hand-written questions (bench/corpora/npm-docs-questions.json), written before any tuning on this corpus. */
export function loadNpmDocsQuestions(): GoldQuestion[] {
  return loadQuestionFile('npm-docs-questions.json');
}
