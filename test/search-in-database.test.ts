import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNpmDocs, loadNpmDocsQuestions } from '../bench/corpora/npm-docs.ts';
import { loadSotu, loadSotuQuestions } from '../bench/corpora/sotu.ts';
import { ingestCorpus } from '../bench/lib/quality.ts';
import type { Db } from '../shared/db/index.ts';
import { createAccount } from '../shared/services/accounts.ts';
import type { Services } from '../shared/services/container.ts';
import { retrieve, searchPath, type RetrieveInput } from '../shared/services/retrieval.ts';
import { insertDatanet } from '../shared/store/datanets.ts';
import { createTestServices, TEST_DB } from './services.ts';

// Issue 18: with pgvector, retrieve() can gather its data in three statements (shared/store/search.ts)
// instead of going through the VectorIndex port call by call. Both must return the same sources:
// the port's path (what Pinecone takes) is the reference, run on the same database. Both paths run
// on both databases here, whichever one retrieve() picks by default (searchPath).
const NPM_PAGES = ['npm-ci', 'npm-install', 'npm-link', 'npm-audit', 'npm-version', 'npm-outdated'];

let services: Services;
const datanet: Record<'npm' | 'sotu', string> = { npm: '', sotu: '' };

beforeAll(async () => {
  services = await createTestServices();
  expect(services.vectorIndex.inDatabase).toBeDefined();
  const owner = await createAccount(services.db, {
    kind: 'contributor',
    name: 'search',
    wallet: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  });
  const principal = { accountId: owner.account.id, keyId: 'key_search', role: 'contributor' as const, livemode: true };
  for (const [name, docs] of [
    ['npm', loadNpmDocs().filter((d) => NPM_PAGES.includes(d.id))],
    ['sotu', loadSotu({ fromYear: 2019, toYear: 2020 })],
  ] as const) {
    const d = await insertDatanet(services.db, {
      ownerAccountId: owner.account.id,
      name,
      description: null,
      pricePerSource: 1000n,
      embeddingModel: services.embedder.modelId,
      embeddingDim: services.embedder.dimension,
    });
    datanet[name] = d.id;
    await ingestCorpus(services, principal, d.id, docs);
  }
}, 600_000);
afterAll(() => services?.db.close());

function counting(db: Db): { db: Db; statements: () => number } {
  let n = 0;
  return {
    db: {
      ...db,
      query: (sql, params) => (n++, db.query(sql, params)),
      exec: (sql) => (n++, db.exec(sql)),
      transaction: (fn) => ((n += 2), db.transaction(fn)),
    },
    statements: () => n,
  };
}

describe('retrieve() with pgvector in the database', () => {
  it('returns exactly what the port-by-port search returns, in three statements', async () => {
    const questions = [
      ...loadNpmDocsQuestions()
        .filter((q) => q.gold.every((g) => NPM_PAGES.includes(g)))
        .slice(0, 6)
        .map((q) => q.question),
      ...loadSotuQuestions()
        .slice(0, 6)
        .map((q) => q.question),
    ];
    const inputs: RetrieveInput[] = [
      ...questions.map((query) => ({ query, topK: 5 })),
      ...questions.slice(0, 4).map((query) => ({ query, topK: 8, perDocument: 3, datanetIds: [datanet.sotu] })),
      { query: questions[0]!, topK: 5, datanetIds: [datanet.npm, datanet.sotu] },
      { query: 'the state of the union economy', topK: 5, metadata: { corpusId: 'npm-ci' } },
      { query: 'zzqx unknownword', topK: 5 },
    ];
    let sources = 0;
    for (const input of inputs) {
      const counted = counting(services.db);
      const fast = await retrieve({ ...services, db: counted.db }, input, 'in-database');
      const reference = await retrieve(services, input, 'port');
      expect(fast, input.query).toEqual(reference);
      expect(counted.statements(), input.query).toBeLessThanOrEqual(3);
      sources += fast.length;
    }
    expect(sources).toBeGreaterThan(inputs.length); // the comparisons were not all of empty lists
  });

  it('answers an unknown datanet 404 as before, on either path', async () => {
    for (const path of ['in-database', 'port'] as const)
      await expect(retrieve(services, { query: 'x', topK: 1, datanetIds: ['dn_nope'] }, path)).rejects.toMatchObject({
        kind: 'not_found',
        resource: 'datanet',
        id: 'dn_nope',
      });
  });

  it('is the default on PostgreSQL; PGlite (in process, no round trips) takes the port path', () => {
    expect(searchPath(services)).toBe(TEST_DB === 'pg' ? 'in-database' : 'port');
    const pinecone = { ...services, vectorIndex: { ...services.vectorIndex, inDatabase: undefined } };
    expect(searchPath(pinecone)).toBe('port');
  });

  // The search statement calls the SQL functions with arguments from its other CTEs, so PostgreSQL
  // does not inline them: their bodies run as generic plans, where a query vector passed as text
  // and cast inside (`$3::vector`) is parsed again for every row compared. That made the folded
  // search ~5× slower on PGlite (issue 16's retrieve p50 55 → 236 ms; migration 0120). The query
  // arrives as `vector`, parsed once by the caller.
  it('passes the query vector to the pgvector search functions as vector, never as text', async () => {
    const r = await services.db.query<{ name: string; args: string }>(
      `SELECT p.proname AS name, pg_get_function_identity_arguments(p.oid) AS args FROM pg_proc p
        WHERE p.proname IN ('pgvector_chunk_hits', 'pgvector_document_hits', 'pgvector_nearest_chunks')
        ORDER BY p.proname`,
    );
    expect(r.rows.map((x) => x.name)).toEqual([
      'pgvector_chunk_hits',
      'pgvector_document_hits',
      'pgvector_nearest_chunks',
    ]);
    for (const { name, args } of r.rows) expect(args, name).toMatch(/(^|, )query vector(,|$)/);
  });

  // A document that only a document list found gets its nearest passage from
  // pgvector_nearest_chunks. Its generic plan once scanned every chunk vector of the database and
  // joined the few it needed (at 10k chunks, 69 of a retrieve's 105 ms; migration 0141): it must
  // read the vectors of the documents asked about, and no others.
  it("finds a document's nearest passage by reading that document's vectors only", async () => {
    const docs = (
      await services.db.query<{ id: string; chunks: number }>(
        `SELECT c.document_id AS id, count(*)::int AS chunks FROM chunks c WHERE c.datanet_id = $1
          GROUP BY c.document_id ORDER BY c.document_id LIMIT 2`,
        [datanet.sotu],
      )
    ).rows;
    const asked = docs.reduce((n, d) => n + d.chunks, 0);
    const stored = (await services.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM chunk_vectors`)).rows[0]!.n;
    expect(stored).toBeGreaterThan(3 * asked); // else reading every vector would not show
    // with the statistics autovacuum would have gathered (the planner's choice depends on them)
    await services.db.exec('ANALYZE chunks; ANALYZE chunk_vectors');
    const query = (await services.db.query<{ v: string }>(`SELECT embedding::text AS v FROM chunk_vectors LIMIT 1`))
      .rows[0]!.v;
    await services.db.transaction(async (tx) => {
      // this transaction's own reads of the table, so far (sequential and through indexes)
      const reads = async () =>
        (
          await tx.query<{ n: number }>(
            `SELECT (coalesce(sum(seq_tup_read), 0) + coalesce(sum(idx_tup_fetch), 0))::int AS n
               FROM pg_stat_xact_user_tables WHERE relname = 'chunk_vectors'`,
          )
        ).rows[0]!.n;
      const before = await reads();
      const nearest = await tx.query<{ document_id: string }>(
        `SELECT document_id FROM pgvector_nearest_chunks($1, $2, $3::vector, $4::text[], $5::text[]) ORDER BY document_id`,
        [services.embedder.modelId, services.embedder.dimension, query, docs.map((d) => d.id), [datanet.sotu]],
      );
      expect(nearest.rows.map((r) => r.document_id)).toEqual(docs.map((d) => d.id));
      const read = (await reads()) - before;
      expect(read).toBeGreaterThan(0);
      expect(read).toBeLessThanOrEqual(asked);
    });
  });
});
