// npx tsx bench/lab/retrieve-paths.ts [DIR] — retrieve() on PGlite over the npm-docs corpus (three
// datanets, as bench:attribution splits it), timed per path: the in-database search
// (shared/store/search.ts) and the port-by-port search, alternating, with each statement's p50
// (the adapter's own vector statements are not in the list: they use the undecorated Db).
// The corpus is ingested once into a persisted PGlite at DIR (default /tmp/citepay-retrieve-paths).
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../shared/config.ts';
import type { Db } from '../../shared/db/index.ts';
import { openPglite } from '../../shared/db/pglite.ts';
import { createAccount } from '../../shared/services/accounts.ts';
import { createServices, openEmbedder } from '../../shared/services/create.ts';
import { retrieve } from '../../shared/services/retrieval.ts';
import { insertDatanet } from '../../shared/store/datanets.ts';
import { loadNpmDocs, loadNpmDocsQuestions } from '../corpora/npm-docs.ts';
import { ingestCorpus } from '../lib/quality.ts';

const dir = process.argv[2] ?? '/tmp/citepay-retrieve-paths';
const fresh = !existsSync(join(dir, 'PG_VERSION'));
const embedder = await openEmbedder();
const config = loadConfig({
  CITEPAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'citepay-paths-')),
  LOG_LEVEL: 'error',
  LOG_REQUESTS: 'false',
});
const db = await openPglite(dir);
const services = await createServices(config, { db, embedder });
if (fresh) {
  const docs = loadNpmDocs().sort((a, b) => a.id.localeCompare(b.id));
  for (let i = 0; i < 3; i++) {
    const owner = await createAccount(db, {
      kind: 'contributor',
      name: `o${i}`,
      wallet: `0x${String(i + 1).repeat(40)}`,
    });
    const d = await insertDatanet(db, {
      ownerAccountId: owner.account.id,
      name: `npm-${i}`,
      description: null,
      pricePerSource: BigInt([1000, 1500, 2500][i]!),
      embeddingModel: embedder.modelId,
      embeddingDim: embedder.dimension,
    });
    await ingestCorpus(
      services,
      { accountId: owner.account.id, keyId: `key_${i}`, role: 'contributor', livemode: true },
      d.id,
      docs.filter((_, j) => j % 3 === i),
    );
  }
  console.log('ingested');
}

const timed: { sql: string; ms: number }[] = [];
const timing = (inner: Db): Db => ({
  ...inner,
  async query(sql, params) {
    const t = performance.now();
    try {
      return await inner.query(sql, params);
    } finally {
      timed.push({ sql, ms: performance.now() - t });
    }
  },
});
const timedServices = { ...services, db: timing(db) };
const questions = loadNpmDocsQuestions().map((q) => q.question);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
for (const q of questions.slice(0, 3)) await retrieve(timedServices, { query: q, topK: 5 }, 'in-database'); // warm
const all: Record<string, number[]> = { 'in-database': [], port: [] };
const runs = ['in-database', 'port', 'in-database', 'port', 'in-database', 'port'] as const;
for (const [i, path] of runs.entries()) {
  const name = `${path} ${Math.floor(i / 2) + 1}`;
  const ms: number[] = [];
  timed.length = 0;
  for (const q of questions) {
    const t = performance.now();
    await retrieve(timedServices, { query: q, topK: 5 }, path);
    ms.push(performance.now() - t);
  }
  const bySql = new Map<string, number[]>();
  for (const x of timed) {
    const key = x.sql.replace(/\s+/g, ' ').slice(0, 60);
    bySql.set(key, [...(bySql.get(key) ?? []), x.ms]);
  }
  console.log(`${name}: p50 ${median(ms).toFixed(1)} ms over ${ms.length}`);
  for (const [k, v] of bySql) console.log(`   ${v.length}× p50 ${median(v).toFixed(1)} ms  ${k}`);
  all[path]!.push(...ms);
}
const [folded, port] = [median(all['in-database']!), median(all.port!)];
console.log(
  `all runs: in-database p50 ${folded.toFixed(1)} ms, port ${port.toFixed(1)} ms (${(folded / port).toFixed(2)}×)`,
);
await db.close();
process.exit(0);
