import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSotu, loadSotuClassicQuestions } from '../bench/corpora/sotu.ts';
import { evaluate, ingestCorpus, type QualityReport } from '../bench/lib/quality.ts';
import type { Services } from '../shared/services/container.ts';
import { createAccount } from '../shared/services/accounts.ts';
import { insertDatanet } from '../shared/store/datanets.ts';
import { createTestServices } from './services.ts';

// The quality bench's dev questions on one of its corpora (State of the Union 1961–2000, 41
// addresses), answered by the shipped retrieve() with the default index settings. The figures are
// the bench's "default" row for this corpus and split (npm run bench:quality, bench/results/);
// update them together with the default settings, never to make a worse figure pass.
const COMMITTED = { recallAt5: 0.818, recallAt1: 0.591 };
const MARGIN = 0.03;

let services: Services;
let report: QualityReport;

beforeAll(async () => {
  services = await createTestServices();
  const owner = await createAccount(services.db, { kind: 'contributor', name: 'sotu', wallet: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' });
  const datanet = await insertDatanet(services.db, {
    ownerAccountId: owner.account.id, name: 'State of the Union 1961–2000', description: null, pricePerSource: 1n,
    embeddingModel: services.embedder.modelId, embeddingDim: services.embedder.dimension,
  });
  await ingestCorpus(services, { accountId: owner.account.id, keyId: 'key_quality', role: 'contributor' }, datanet.id, loadSotu({ fromYear: 1961, toYear: 2000 }));
  report = await evaluate(services, datanet.id, loadSotuClassicQuestions().filter((q) => q.split === 'dev'));
  const { misses: _misses, ...figures } = report;
  console.info('retrieval regression (SOTU 1961–2000, dev):', figures);
});
afterAll(() => services.db.close());

describe('retrieval quality regression on the bench dev questions', () => {
  it('keeps document recall@5 (and recall@1) within a small margin of the committed figures', () => {
    expect(report.questions).toBe(44);
    expect(report.recallAt5, JSON.stringify(report.misses, null, 1)).toBeGreaterThanOrEqual(COMMITTED.recallAt5 - MARGIN);
    expect(report.recallAt1).toBeGreaterThanOrEqual(COMMITTED.recallAt1 - MARGIN);
  });
});
