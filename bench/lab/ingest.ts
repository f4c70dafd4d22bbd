// npx tsx bench/lab/ingest.ts CORPUS DIR — ingest one bench corpus into a persisted PGlite at DIR/CORPUS
// (once), so ranking experiments (bench/lab/rank.ts) can rerun queries without re-ingesting.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../shared/config.ts';
import { openPglite } from '../../shared/db/pglite.ts';
import { createAccount } from '../../shared/services/accounts.ts';
import { createServices, openEmbedder } from '../../shared/services/create.ts';
import { insertDatanet } from '../../shared/store/datanets.ts';
import { LAB_CORPORA } from './corpora.ts';
import { ingestCorpus } from '../lib/quality.ts';

const [name = '', dir = ''] = process.argv.slice(2);
const corpus = LAB_CORPORA.find((c) => c.name === name);
if (!corpus || !dir) throw new Error('usage: ingest.ts CORPUS DIR');
mkdirSync(dir, { recursive: true });
const embedder = await openEmbedder();
const config = loadConfig({
  CITEPAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'citepay-lab-')),
  LOG_LEVEL: 'error',
  LOG_REQUESTS: 'false',
});
const db = await openPglite(join(dir, name));
const services = await createServices(config, { db, embedder });
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
  embeddingModel: embedder.modelId,
  embeddingDim: embedder.dimension,
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
