// npx tsx bench/lab/ingest.ts CORPUS DIR — ingest one bench corpus into a persisted PGlite at DIR/CORPUS
// (once), so ranking experiments (bench/lab/rank.ts) can rerun queries without re-ingesting.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAccount } from '../../shared/services/accounts.ts';
import { insertDatanet } from '../../shared/store/datanets.ts';
import { ingestCorpus } from '../lib/quality.ts';
import { openLab } from './open.ts';

const [name = '', dir = ''] = process.argv.slice(2);
if (dir) mkdirSync(dir, { recursive: true });
const { corpus, services } = await openLab(name, dir);
const owner = await createAccount(services.db, {
  kind: 'contributor',
  name,
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
const t = performance.now();
await ingestCorpus(
  services,
  { accountId: owner.account.id, keyId: 'key_lab', role: 'contributor', livemode: true },
  datanet.id,
  corpus.documents(),
);
await services.db.exec('ANALYZE');
writeFileSync(join(dir, `${name}.meta.json`), JSON.stringify({ datanetId: datanet.id }));
console.log(`${name}: ingested in ${((performance.now() - t) / 1000).toFixed(0)} s`);
await services.db.close();
process.exit(0);
