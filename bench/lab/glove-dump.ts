// npx tsx bench/lab/glove-dump.ts CORPUS DIR — from the persisted lab database (bench/lab/ingest.ts):
// each question's production candidate lists and each document's fields and body as lower-case words
// (not lexemes: GloVe has vectors for surface words), for the GloVe variants in bench/lab/glove.ts.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../shared/config.ts';
import { documentFields } from '../../shared/core/document-fields.ts';
import { openPglite } from '../../shared/db/pglite.ts';
import { createServices, openEmbedder } from '../../shared/services/create.ts';
import { gatherCandidates } from '../../shared/services/retrieval.ts';
import { findDatanet } from '../../shared/store/datanets.ts';
import { LAB_CORPORA } from './corpora.ts';

export const words = (text: string) => text.toLowerCase().match(/[a-z]+/g) ?? [];
const [name, dir] = process.argv.slice(2);
const corpus = LAB_CORPORA.find((c) => c.name === name)!;
const { datanetId } = JSON.parse(readFileSync(join(dir!, `${name}.meta.json`), 'utf8'));
const embedder = await openEmbedder();
const config = loadConfig({
  CITEPAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'citepay-lab-')),
  LOG_LEVEL: 'error',
  LOG_REQUESTS: 'false',
});
const db = await openPglite(join(dir!, name!));
const services = await createServices(config, { db, embedder });
const source = new Map(corpus.documents().map((d) => [d.id, d]));
const docs = (
  await db.query<{ id: string; title: string; corpus_id: string }>(
    `SELECT id, title, metadata->>'corpusId' AS corpus_id FROM documents WHERE datanet_id = $1`,
    [datanetId],
  )
).rows;
const documents: Record<string, unknown> = {};
for (const d of docs) {
  const chunks = (
    await db.query<{ text: string; heading_path: string[] }>(
      `SELECT text, heading_path FROM chunks WHERE document_id = $1 ORDER BY ordinal`,
      [d.id],
    )
  ).rows.map((r) => ({ text: r.text, headingPath: r.heading_path }));
  const f = documentFields(d.title, source.get(d.corpus_id)!.text, chunks);
  documents[d.id] = {
    corpusId: d.corpus_id,
    fields: words(`${f.title}\n${f.summary}\n${f.headings.join('\n')}`),
    body: chunks.flatMap((c) => words(c.text)),
  };
}
const datanet = (await findDatanet(db, datanetId))!;
const questions = [];
for (const q of corpus.questions()) {
  const { candidates } = await gatherCandidates(services, [datanet], q.question);
  questions.push({ q, c: { ...candidates, chunks: Object.fromEntries(candidates.chunks) } });
}
writeFileSync(join(dir!, `${name}.glove-dump.json`), JSON.stringify({ documents, questions }));
console.log(`${name}: dumped ${questions.length} questions, ${docs.length} documents`);
await db.close();
process.exit(0);
