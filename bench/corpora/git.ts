/**
 * Git reference manual corpus for the retrieval-quality benchmark.
 *
 * Source: Debian's `git-man` package (the pages git ships, written by the git project),
 * rendered by Debian's `groff` (package `groff-base`) exactly as `man` would, but with
 * one very long line per paragraph and no overstriking. The rendered page becomes
 * Markdown-ish text: `.SH` sections (column 0) → `# NAME`, `.SS` subsections (column 3)
 * → `## …`, body dedented by man's 7-column margin; the page header, footer and the
 * `.TH` date are dropped. The page list comes from `dpkg -L git-man`, so pages from other
 * packages (git-lfs, gitk, …) never slip in and every machine with the same git-man
 * version gets the same documents. Both packages are in the project's Debian image; a
 * fresh machine without them needs `apt-get install git-man groff-base`.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { type CorpusDocument, type GoldQuestion, loadQuestionFile } from './corpus.ts';

const INSTALL_HINT =
  'the git corpus needs Debian packages git-man and groff-base: apt-get install -y git-man groff-base';

/** Man pages of git-man in sections 1, 5 and 7 (the Perl module page Git.3pm is not a git manual). */
const PAGE = /^\/usr\/share\/man\/man[157]\/([^/]+)\.([157])(\.gz)?$/;

function run(cmd: string, args: string[], input?: Buffer): string {
  try {
    return execFileSync(cmd, args, { input, encoding: 'utf8', maxBuffer: 64 << 20, stdio: ['pipe', 'pipe', 'ignore'] });
  } catch (err) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${(err as Error).message.split('\n')[0]}); ${INSTALL_HINT}`);
  }
}

/** The installed git-man version, recorded with benchmark results. */
export function gitManVersion(): string {
  return run('dpkg-query', ['-W', '-f=${Version}', 'git-man']).trim();
}

/** Render one man page (roff source) to Markdown-ish text with `#`/`##` headings. */
export function renderManPage(roff: Buffer): string {
  const out = run('groff', ['-t', '-Tutf8', '-man', '-rLL=10000n', '-rHY=0', '-P-cbou'], roff);
  const lines = out.split('\n').map((l) => l.trimEnd());
  // Drop the running header ("GIT-RESET(1)  Git Manual  GIT-RESET(1)") and footer (version, date, name).
  const first = lines.findIndex((l) => l !== '');
  let last = lines.length - 1;
  while (last > first && lines[last] === '') last--;
  const body = lines.slice(first + 1, last);
  const md: string[] = [];
  for (const line of body) {
    if (line === '') {
      if (md.length > 0 && md[md.length - 1] !== '') md.push('');
      continue;
    }
    const indent = line.length - line.trimStart().length;
    if (indent === 0) md.push(`# ${line}`);
    else if (indent < 7) md.push(`## ${line.trim()}`);
    else {
      const text = line.slice(7);
      // Keep body lines from reading as Markdown headings or fences ("# comment", "--", "```").
      md.push(/^ {0,3}(#|=+\s*$|-+\s*$|```|~~~)/.test(text) ? `\\${text}` : text);
    }
  }
  return md.join('\n').trim() + '\n';
}

function pageFiles(): string[] {
  const files = run('dpkg', ['-L', 'git-man'])
    .split('\n')
    .filter((f) => PAGE.test(f))
    .sort();
  if (files.length === 0) throw new Error(`dpkg lists no git man pages; ${INSTALL_HINT}`);
  return files;
}

/** All git-man pages (≈185), sorted by path; id = page name ("git-reset", "gitignore"). */
export function loadGitManual(): CorpusDocument[] {
  const docs: CorpusDocument[] = [];
  const seen = new Set<string>();
  for (const file of pageFiles()) {
    const [, name, section] = PAGE.exec(file)!;
    if (seen.has(name!)) throw new Error(`two git man pages named ${name}`);
    seen.add(name!);
    const raw = readFileSync(file);
    const roff = file.endsWith('.gz') ? gunzipSync(raw) : raw;
    docs.push({
      id: name!,
      title: `${name}(${section})`,
      text: renderManPage(roff),
      contentType: 'text/markdown',
      metadata: { page: basename(file), section: Number(section) },
    });
  }
  return docs;
}

/** Hand-written questions with their gold pages (bench/corpora/git-questions.json). */
export function loadGitQuestions(): GoldQuestion[] {
  return loadQuestionFile('git-questions.json');
}
