import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNpmDocs, loadNpmDocsQuestions } from '../bench/corpora/npm-docs.ts';
import { loadSotu, loadSotuQuestions } from '../bench/corpora/sotu.ts';
import { ingestCorpus } from '../bench/lib/quality.ts';
import { createAccount } from '../shared/services/accounts.ts';
import type { Services } from '../shared/services/container.ts';
import { retrieve } from '../shared/services/retrieval.ts';
import { insertDatanet } from '../shared/store/datanets.ts';
import { createTestServices } from './services.ts';

// The relevance floor (README, Retrieval quality): topK is a maximum. Two unrelated datanets —
// npm's CLI docs (12 pages) and three State of the Union addresses — searched together: a question
// one of them covers gets no source from the other, and its gold page still comes first.
const NPM_PAGES = [
  'npm-ci',
  'npm-install',
  'npm-link',
  'npm-audit',
  'npm-version',
  'npm-outdated',
  'npm-cache',
  'npm-publish',
  'npm-deprecate',
  'npm-prune',
  'npm-ls',
  'package-json',
];
const SOTU_YEARS = { fromYear: 2019, toYear: 2021 };

let services: Services;
const datanet: Record<'npm' | 'sotu', string> = { npm: '', sotu: '' };

beforeAll(async () => {
  services = await createTestServices();
  const owner = await createAccount(services.db, {
    kind: 'contributor',
    name: 'floor',
    wallet: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  });
  const principal = { accountId: owner.account.id, keyId: 'key_floor', role: 'contributor' as const, livemode: true };
  for (const [name, docs] of [
    ['npm', loadNpmDocs().filter((d) => NPM_PAGES.includes(d.id))],
    ['sotu', loadSotu(SOTU_YEARS)],
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
afterAll(() => services.db.close());

const ask = (query: string) => retrieve(services, { query, datanetIds: [datanet.npm, datanet.sotu], topK: 5 });

describe('relevance floor', () => {
  it('an npm question over both datanets: no State of the Union source, the gold page first', async () => {
    const questions = loadNpmDocsQuestions().filter((q) => q.gold.every((g) => NPM_PAGES.includes(g)));
    expect(questions.length).toBeGreaterThanOrEqual(10);
    let first = 0;
    for (const q of questions) {
      const sources = await ask(q.question);
      expect(
        sources.filter((s) => s.datanetId === datanet.sotu).map((s) => s.title),
        q.question,
      ).toEqual([]);
      if (q.gold.includes(String(sources[0]?.metadata.corpusId))) first++;
    }
    expect(first / questions.length).toBeGreaterThanOrEqual(0.5);
  });

  it('a State of the Union question over both datanets: no npm source', async () => {
    const questions = loadSotuQuestions().filter((q) => q.gold.every((g) => /^sotu-(2019|2020|2021)-/.test(g)));
    expect(questions.length).toBeGreaterThanOrEqual(5);
    for (const q of questions) {
      const sources = await ask(q.question);
      expect(sources.length, q.question).toBeGreaterThan(0);
      expect(
        sources.filter((s) => s.datanetId === datanet.npm).map((s) => s.title),
        q.question,
      ).toEqual([]);
    }
  });

  it('topK is a maximum: a State of the Union question gets at most its three addresses, not five sources', async () => {
    const q = loadSotuQuestions().find((x) => x.gold.every((g) => g.startsWith('sotu-2020-')))!;
    const sources = await ask(q.question);
    expect(sources.length).toBeGreaterThan(0);
    expect(sources.length).toBeLessThan(5);
    expect(new Set(sources.map((s) => s.datanetId))).toEqual(new Set([datanet.sotu]));
  });
});
