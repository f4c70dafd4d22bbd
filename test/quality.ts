import type { CorpusDocument, GoldQuestion } from '../bench/corpora/corpus.ts';
import { evaluate, ingestCorpus, type QualityReport } from '../bench/lib/quality.ts';
import type { Services } from '../shared/services/container.ts';
import { createAccount } from '../shared/services/accounts.ts';
import { insertDatanet } from '../shared/store/datanets.ts';
import { createTestServices } from './services.ts';

/** A corpus in one datanet of a fresh citepay (the real embedder), then its questions through retrieve(). */
export async function measureQuality(
  name: string,
  docs: readonly CorpusDocument[],
  questions: readonly GoldQuestion[],
): Promise<{ services: Services; report: QualityReport }> {
  const services = await createTestServices();
  const owner = await createAccount(services.db, {
    kind: 'contributor',
    name: 'corpus',
    wallet: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  });
  const datanet = await insertDatanet(services.db, {
    ownerAccountId: owner.account.id,
    name,
    description: null,
    pricePerSource: 1n,
    embeddingModel: services.embedder.modelId,
    embeddingDim: services.embedder.dimension,
  });
  await ingestCorpus(
    services,
    { accountId: owner.account.id, keyId: 'key_quality', role: 'contributor', livemode: true },
    datanet.id,
    docs,
  );
  const report = await evaluate(services, datanet.id, questions);
  const { misses: _misses, ...figures } = report;
  console.info(`retrieval quality (${name}):`, figures);
  return { services, report };
}
