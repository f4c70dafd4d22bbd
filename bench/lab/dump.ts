// npx tsx bench/lab/dump.ts CORPUS DIR — from the persisted lab database (bench/lab/ingest.ts): each
// question's production candidate lists, each document's fields as lexemes, and WordNet synonyms
// of its title and summary words as lexemes, to measure field variants in pure JS (bench/lab/fields.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openWordNet } from './wordnet.ts';
import { gatherCandidates } from '../../shared/services/retrieval.ts';
import { findDatanet } from '../../shared/store/datanets.ts';
import { labDocuments, openLab } from './open.ts';

const [name = '', dir = ''] = process.argv.slice(2);
const { corpus, db, services } = await openLab(name, dir);
const { datanetId } = JSON.parse(readFileSync(join(dir, `${name}.meta.json`), 'utf8'));
const lex = async (texts: string[]) =>
  (
    await db.query<{ a: string[] }>(
      `SELECT tsvector_to_array(to_tsvector('english', t)) AS a FROM unnest($1::text[]) WITH ORDINALITY x(t, i) ORDER BY i`,
      [texts],
    )
  ).rows.map((r) => r.a);
const tokens = async (text: string) =>
  (
    await db.query<{ t: string }>(
      `SELECT t FROM unnest(string_to_array(lower(regexp_replace($1, '[^A-Za-z]+', ' ', 'g')), ' ')) t`,
      [text],
    )
  ).rows
    .map((r) => r.t)
    .filter((t) => t.length >= 3);
const docs = await labDocuments(db, datanetId, corpus);
const wn = openWordNet();
const documents: Record<string, unknown> = {};
for (const { id, corpusId, fields: f } of docs) {
  const words = [...new Set([...(await tokens(f.title)), ...(await tokens(f.summary))])];
  const syn: Record<string, string[][]> = {};
  for (const senses of [1, 2, 3]) {
    const s = [...new Set(words.flatMap((w) => wn.synonyms(w, senses)))];
    syn[senses] = await lex(s);
  }
  const [title, summary, headings] = await lex([f.title, f.summary, f.headings.join('\n')]);
  documents[id] = { corpusId, title, summary, headings, syn, summaryText: f.summary };
}
const datanet = (await findDatanet(db, datanetId))!;
const questions = [];
for (const q of corpus.questions()) {
  const { candidates } = await gatherCandidates(services, [datanet], q.question);
  const [qlex] = await lex([q.question]);
  questions.push({ q, qlex, c: { candidates: { ...candidates, chunks: Object.fromEntries(candidates.chunks) } } });
}
writeFileSync(join(dir, `${name}.dump.json`), JSON.stringify({ documents, questions }));
console.log(`${name}: dumped ${questions.length} questions, ${docs.length} documents`);
await db.close();
process.exit(0);
