import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadNpmDocs, loadNpmDocsQuestions } from '../bench/corpora/npm-docs.ts';
import { loadSotu, loadSotuQuestions } from '../bench/corpora/sotu.ts';
import { ingestCorpus } from '../bench/lib/quality.ts';
import type { Db } from '../shared/db/index.ts';
import { createAccount } from '../shared/services/accounts.ts';
import type { Services } from '../shared/services/container.ts';
import { retrieve, type RetrieveInput } from '../shared/services/retrieval.ts';
import { insertDatanet } from '../shared/store/datanets.ts';
import { createTestServices } from './services.ts';

// Issue 18: with pgvector, retrieve() gathers its data in three statements (shared/store/search.ts)
// instead of going through the VectorIndex port call by call. Both must return the same sources:
// the port's path (what Pinecone takes) is the reference, run on the same database.
const NPM_PAGES = ['npm-ci', 'npm-install', 'npm-link', 'npm-audit', 'npm-version', 'npm-outdated'];

let services: Services;
let viaPort: Services;
const datanet: Record<'npm' | 'sotu', string> = { npm: '', sotu: '' };

beforeAll(async () => {
  services = await createTestServices();
  expect(services.vectorIndex.inDatabase).toBeDefined();
  viaPort = { ...services, vectorIndex: { ...services.vectorIndex, inDatabase: undefined } };
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
      const fast = await retrieve({ ...services, db: counted.db }, input);
      const reference = await retrieve(viaPort, input);
      expect(fast, input.query).toEqual(reference);
      expect(counted.statements(), input.query).toBeLessThanOrEqual(3);
      sources += fast.length;
    }
    expect(sources).toBeGreaterThan(inputs.length); // the comparisons were not all of empty lists
  });

  it('answers an unknown datanet 404 as before', async () => {
    await expect(retrieve(services, { query: 'x', topK: 1, datanetIds: ['dn_nope'] })).rejects.toMatchObject({
      kind: 'not_found',
      resource: 'datanet',
      id: 'dn_nope',
    });
  });
});
