import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../shared/config.ts';
import { documentFields } from '../../shared/core/document-fields.ts';
import type { Queryable } from '../../shared/db/index.ts';
import { openPglite } from '../../shared/db/pglite.ts';
import { createServices, openEmbedder } from '../../shared/services/create.ts';
import { LAB_CORPORA } from './corpora.ts';

// What the lab scripts that ingest (ingest.ts) and dump (dump.ts, glove-dump.ts) share: the
// persisted PGlite database of one corpus under DIR, with the production services over it.

export async function openLab(name: string, dir: string) {
  const corpus = LAB_CORPORA.find((c) => c.name === name);
  if (!corpus || !dir)
    throw new Error(`usage: CORPUS DIR (CORPUS one of ${LAB_CORPORA.map((c) => c.name).join(', ')})`);
  const embedder = await openEmbedder();
  const config = loadConfig({
    CITEPAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'citepay-lab-')),
    LOG_LEVEL: 'error',
    LOG_REQUESTS: 'false',
  });
  const db = await openPglite(join(dir, name));
  const services = await createServices(config, { db, embedder });
  return { corpus, db, services };
}

/** Each document of the datanet: its corpus id, its chunks in order, and its fields as ingestion derives them. */
export async function labDocuments(db: Queryable, datanetId: string, corpus: (typeof LAB_CORPORA)[number]) {
  const source = new Map(corpus.documents().map((d) => [d.id, d]));
  const docs = (
    await db.query<{ id: string; title: string; corpus_id: string }>(
      `SELECT id, title, metadata->>'corpusId' AS corpus_id FROM documents WHERE datanet_id = $1`,
      [datanetId],
    )
  ).rows;
  const out = [];
  for (const d of docs) {
    const chunks = (
      await db.query<{ text: string; heading_path: string[] }>(
        `SELECT text, heading_path FROM chunks WHERE document_id = $1 ORDER BY ordinal`,
        [d.id],
      )
    ).rows.map((r) => ({ text: r.text, headingPath: r.heading_path }));
    out.push({
      id: d.id,
      corpusId: d.corpus_id,
      chunks,
      fields: documentFields(d.title, source.get(d.corpus_id)!.text, chunks),
    });
  }
  return out;
}
