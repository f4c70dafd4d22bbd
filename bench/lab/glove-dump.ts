// npx tsx bench/lab/glove-dump.ts CORPUS DIR — from the persisted lab database (bench/lab/ingest.ts):
// each question's production candidate lists and each document's fields and body as lower-case words
// (not lexemes: GloVe has vectors for surface words), for the GloVe variants in bench/lab/glove.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatherCandidates } from '../../shared/services/retrieval.ts';
import { findDatanet } from '../../shared/store/datanets.ts';
import { labDocuments, openLab } from './open.ts';

export const words = (text: string) => text.toLowerCase().match(/[a-z]+/g) ?? [];
const [name = '', dir = ''] = process.argv.slice(2);
const { corpus, db, services } = await openLab(name, dir);
const { datanetId } = JSON.parse(readFileSync(join(dir, `${name}.meta.json`), 'utf8'));
const docs = await labDocuments(db, datanetId, corpus);
const documents: Record<string, unknown> = {};
for (const { id, corpusId, chunks, fields: f } of docs)
  documents[id] = {
    corpusId,
    fields: words(`${f.title}\n${f.summary}\n${f.headings.join('\n')}`),
    body: chunks.flatMap((c) => words(c.text)),
  };
const datanet = (await findDatanet(db, datanetId))!;
const questions = [];
for (const q of corpus.questions()) {
  const { candidates } = await gatherCandidates(services, [datanet], q.question);
  questions.push({ q, c: { ...candidates, chunks: Object.fromEntries(candidates.chunks) } });
}
writeFileSync(join(dir, `${name}.glove-dump.json`), JSON.stringify({ documents, questions }));
console.log(`${name}: dumped ${questions.length} questions, ${docs.length} documents`);
await db.close();
process.exit(0);
