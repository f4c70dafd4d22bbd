import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { loadConfig } from '../shared/config.ts';
import { openPglite } from '../shared/db/pglite.ts';
import type { Embedder } from '../shared/embedder/index.ts';
import { createUseLiteEmbedder } from '../shared/embedder/use-lite.ts';
import type { Services } from '../shared/services/container.ts';
import { createServices } from '../shared/services/create.ts';
import { TEST_BUCKET } from './global-setup.ts';

let embedder: Promise<Embedder> | undefined;
/** The real USE-lite model, loaded once per test file. */
export const sharedEmbedder = () => (embedder ??= createUseLiteEmbedder());

/** Real adapters: in-memory PGlite with pgvector, fauxqs S3, the real embedder. */
export async function createTestServices(env: Record<string, string> = {}, overrides: Partial<Services> = {}): Promise<Services> {
  const config = loadConfig({
    CITEPAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'citepay-test-')),
    OBJECT_STORE: 's3',
    S3_ENDPOINT: inject('awsEndpoint'),
    S3_BUCKET: TEST_BUCKET,
    LOG_LEVEL: 'error',
    LOG_REQUESTS: 'false',
    ...env,
  });
  return createServices(config, { db: await openPglite(), embedder: await sharedEmbedder(), ...overrides });
}
