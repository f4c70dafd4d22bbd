// npx tsx bench/lab/query.ts CORPUS DIR — adds to CORPUS.dump.json, per question: the selected
// query terms with their idf, the lexical and field lists of the query without question-phrasing words,
// and lexical lists over more of the query's terms (postings cap 4000, and every term).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BM25_B, BM25_K1, selectQueryTerms } from '../../shared/core/bm25.ts';
import { openPglite } from '../../shared/db/pglite.ts';
import { chunkBm25, fieldSearch, termStats } from '../../shared/store/lexical.ts';

export const PHRASING = [
  'want',
  'need',
  'way',
  'possibl',
  'someth',
  'someon',
  'anyth',
  'anyon',
  'everyth',
  'thing',
  'tell',
  'know',
  'realli',
  'actual',
  'wonder',
  'tri',
  'help',
  'pleas',
  'better',
  'best',
  'simplest',
  'easiest',
  'instead',
];
const [name, dir] = process.argv.slice(2);
const { datanetId } = JSON.parse(readFileSync(join(dir!, `${name}.meta.json`), 'utf8'));
const file = join(dir!, `${name}.dump.json`);
const dump = JSON.parse(readFileSync(file, 'utf8'));
const db = await openPglite(join(dir!, name!));
for (const x of dump.questions) {
  const stats = await termStats(db, x.q.question, [datanetId]);
  const terms = selectQueryTerms(stats);
  x.terms = { chunkCount: stats.chunkCount, all: stats.terms, selected: terms };
  const kept = { ...stats, terms: stats.terms.filter((t) => !PHRASING.includes(t.lexeme)) };
  const sel = selectQueryTerms(kept).map((t) => ({ lexeme: t.lexeme, weight: t.idf }));
  x.c.candidates.lexicalStop = await chunkBm25(db, sel, stats.averageLength, 100, [datanetId]);
  const q = x.qlex.filter((l: string) => !PHRASING.includes(l)).join(' ');
  x.c.candidates.fieldsStop = await fieldSearch(db, q, 50, [datanetId], undefined, { k1: BM25_K1, b: BM25_B });
  for (const maxPostings of [4000, Number.MAX_SAFE_INTEGER]) {
    const more = selectQueryTerms(stats, { maxPostings }).map((t) => ({ lexeme: t.lexeme, weight: t.idf }));
    x.c.candidates[`lexical${maxPostings === 4000 ? 4000 : 'All'}`] = await chunkBm25(
      db,
      more,
      stats.averageLength,
      100,
      [datanetId],
    );
  }
  x.removed = x.qlex.filter((l: string) => PHRASING.includes(l));
}
writeFileSync(file, JSON.stringify(dump));
console.log(`${name}: query variants added`);
await db.close();
process.exit(0);
