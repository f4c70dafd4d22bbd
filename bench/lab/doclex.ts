// npx tsx bench/lab/doclex.ts CORPUS DIR — adds a whole-document BM25 list (store/lexical.ts
// documentBm25, over the terms lexicalSearch selects, and over every query term) to CORPUS.dump.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BM25_B, BM25_K1, selectQueryTerms } from '../../shared/core/bm25.ts';
import { openPglite } from '../../shared/db/pglite.ts';
import type { Queryable } from '../../shared/db/index.ts';
import { termStats } from '../../shared/store/lexical.ts';

/**
 * BM25 over whole documents: a document's term frequencies are its chunks' postings summed, its
 * length its text length in characters against the datanet's mean (measured here, not shipped).
 */
async function documentBm25(
  db: Queryable,
  terms: { lexeme: string; weight: number }[],
  k: number,
  datanetIds: string[],
  p: { k1: number; b: number },
) {
  if (terms.length === 0) return [];
  const r = await db.query<{ document_id: string; score: number }>(
    `WITH n AS (SELECT avg(text_length)::float8 AS avglen FROM documents WHERE datanet_id = ANY($3::text[]) AND deleted_at IS NULL),
          tf AS (SELECT c.document_id, q.w, sum(t.tf)::float8 AS tf
                   FROM unnest($1::text[], $2::float8[]) AS q(lexeme, w)
                   JOIN chunk_terms t ON t.lexeme = q.lexeme AND t.datanet_id = ANY($3::text[])
                   JOIN chunks c ON c.id = t.chunk_id
                  GROUP BY c.document_id, q.lexeme, q.w)
     SELECT tf.document_id,
            sum(tf.w * tf.tf * ${p.k1 + 1} / (tf.tf + ${p.k1} * (1 - ${p.b} + ${p.b} * d.text_length / greatest(n.avglen, 1))))::float8 AS score
       FROM tf JOIN documents d ON d.id = tf.document_id AND d.deleted_at IS NULL CROSS JOIN n
      GROUP BY tf.document_id ORDER BY score DESC, tf.document_id LIMIT $4`,
    [terms.map((t) => t.lexeme), terms.map((t) => t.weight), datanetIds, k],
  );
  return r.rows.map((row) => ({ documentId: row.document_id, score: Number(row.score) }));
}

const [name, dir] = process.argv.slice(2);
const { datanetId } = JSON.parse(readFileSync(join(dir!, `${name}.meta.json`), 'utf8'));
const file = join(dir!, `${name}.dump.json`);
const dump = JSON.parse(readFileSync(file, 'utf8'));
const db = await openPglite(join(dir!, name!));
const ms: number[] = [];
for (const x of dump.questions) {
  const stats = await termStats(db, x.q.question, [datanetId]);
  const selected = selectQueryTerms(stats).map((t) => ({ lexeme: t.lexeme, weight: t.idf }));
  const all = selectQueryTerms(stats, { maxPostings: Number.MAX_SAFE_INTEGER }).map((t) => ({
    lexeme: t.lexeme,
    weight: t.idf,
  }));
  const t = performance.now();
  x.c.candidates.documentLexical = await documentBm25(db, selected, 50, [datanetId], { k1: BM25_K1, b: BM25_B });
  ms.push(performance.now() - t);
  x.c.candidates.documentLexicalAll = await documentBm25(db, all, 50, [datanetId], { k1: BM25_K1, b: BM25_B });
}
writeFileSync(file, JSON.stringify(dump));
ms.sort((a, b) => a - b);
console.log(`${name}: documentBm25 p50 ${ms[ms.length >> 1]!.toFixed(1)} ms`);
await db.close();
process.exit(0);
