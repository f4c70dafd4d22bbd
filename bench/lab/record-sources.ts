// npx tsx bench/lab/record-sources.ts [--corpus git --out /tmp/answer-sources.json]
// (engineer h16b's bench:answer-sources, kept here for bench/lab/answers.ts; its output at 05aac2b is
// bench/results/answer-sources-05aac2b-2026-12-07T19-57.json)
// Records what the extractive composer is shown for every labelled question: one `npm start` of
// this checkout, the corpora uploaded as bench:attribution does (three datanets per corpus, prices
// 1000/1500/2500), and per question the sources /v1/retrieve returns with topK 5 — the same call
// an answer makes. bench/lab/answers.ts replays the composer, the support check and the pricing
// on this file in seconds, so the composer can be tuned on the dev halves without re-uploading.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { getAddress, keccak256, toHex } from 'viem';
import { http } from '../../test/api-process.ts';
import { loadGitManual, loadGitQuestions } from '../corpora/git.ts';
import { loadNpmDocs, loadNpmDocsQuestions } from '../corpora/npm-docs.ts';
import { loadSotu, loadSotuClassicQuestions } from '../corpora/sotu.ts';
import type { CorpusDocument, GoldQuestion } from '../corpora/corpus.ts';
import { startApiAt } from '../lib/api-at.ts';
import { assignDatanets } from '../lib/attribution-metrics.ts';

const { values: args } = parseArgs({
  options: {
    corpus: { type: 'string', multiple: true },
    out: { type: 'string', default: '/tmp/answer-sources.json' },
  },
});
const CORPORA: { name: string; documents: () => CorpusDocument[]; questions: () => GoldQuestion[] }[] = [
  { name: 'git', documents: loadGitManual, questions: loadGitQuestions },
  {
    name: 'sotu-1961-2000',
    documents: () => loadSotu({ fromYear: 1961, toYear: 2000 }),
    questions: loadSotuClassicQuestions,
  },
  { name: 'npm-docs', documents: loadNpmDocs, questions: loadNpmDocsQuestions },
];
const PRICES = [1000, 1500, 2500];
const chosen = args.corpus ? CORPORA.filter((c) => args.corpus!.includes(c.name)) : CORPORA;

async function call(base: string, key: string, path: string, json: unknown) {
  const r = await http(base, 'POST', path, { key, json }).catch(() => http(base, 'POST', path, { key, json }));
  if (r.status >= 300) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
  return r.body;
}

const admin = `cp_live_${randomBytes(18).toString('hex')}`;
const api = await startApiAt(process.cwd(), { CITEPAY_ADMIN_KEY: admin });
const out: Record<string, unknown>[] = [];
try {
  const consumer = await call(api.url, admin, '/v1/admin/accounts', {
    kind: 'consumer',
    name: 'bench',
    credits: '1000000000000',
  });
  for (const corpus of chosen) {
    const corpusOf = new Map<string, string>();
    const priceOf = new Map<string, number>();
    const ids: string[] = [];
    for (const [i, part] of assignDatanets(corpus.documents(), PRICES.length).entries()) {
      const name = `${corpus.name} owner ${i + 1}`;
      const owner = await call(api.url, admin, '/v1/admin/accounts', {
        kind: 'contributor',
        name,
        wallet: getAddress(`0x${keccak256(toHex(name)).slice(-40)}`),
      });
      const datanet = await call(api.url, owner.apiKey.key, '/v1/datanets', {
        name: `${corpus.name} ${i + 1}`,
        pricePerSource: String(PRICES[i]),
      });
      ids.push(datanet.id);
      priceOf.set(datanet.id, PRICES[i]!);
      for (const doc of part) {
        const r = await call(api.url, owner.apiKey.key, `/v1/datanets/${datanet.id}/documents`, {
          title: doc.title,
          content: doc.text,
          contentType: doc.contentType ?? 'text/plain',
          metadata: { ...doc.metadata, corpusId: doc.id },
        });
        corpusOf.set(r.document.id, doc.id);
      }
    }
    console.log(`${corpus.name}: uploaded`);
    for (const q of corpus.questions()) {
      const r = await call(api.url, consumer.apiKey.key, '/v1/retrieve', { query: q.question, datanets: ids, topK: 5 });
      out.push({
        corpus: corpus.name,
        question: q.question,
        gold: q.gold,
        split: q.split,
        sources: (r.sources as any[]).map((s) => ({
          documentId: s.documentId,
          doc: corpusOf.get(s.documentId),
          price: priceOf.get(s.datanetId),
          text: s.text,
          score: s.score,
          similarity: s.similarity,
        })),
      });
    }
    console.log(`${corpus.name}: ${corpus.questions().length} questions retrieved`);
    writeFileSync(args.out!, JSON.stringify(out));
  }
} finally {
  await api.stop();
}
console.log(`saved ${args.out}`);
