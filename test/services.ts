import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inject } from 'vitest';
import { loadConfig } from '../shared/config.ts';
import { openPglite } from '../shared/db/pglite.ts';
import { openPg } from '../shared/db/pg.ts';
import type { Db } from '../shared/db/index.ts';
import { createDatabase } from './postgres-server.ts';
import type { Embedder } from '../shared/embedder/index.ts';
import { createUseLiteEmbedder } from '../shared/embedder/use-lite.ts';
import type { Services } from '../shared/services/container.ts';
import { createServices } from '../shared/services/create.ts';
import { TEST_BUCKET } from './global-setup.ts';

let embedder: Promise<Embedder> | undefined;
/** The real USE-lite model, loaded once per test file. */
export const sharedEmbedder = () => (embedder ??= createUseLiteEmbedder());

export type DbKind = 'pglite' | 'pg';

/**
 * The database this test file runs on. vitest.config.ts runs the database-touching files twice:
 * project "pglite" (embedded, in memory) and project "postgres" (CITEPAY_TEST_DB=pg: a fresh
 * database on the real server started by test/global-setup.ts), through the same code.
 */
export const TEST_DB: DbKind = process.env.CITEPAY_TEST_DB === 'pg' ? 'pg' : 'pglite';

/** A new, empty database of that kind: in-memory PGlite, or a fresh database on the real server. */
export async function openTestDb(kind: DbKind = TEST_DB, options: { max?: number } = {}): Promise<Db> {
  if (kind === 'pglite') return openPglite();
  return openPg(await testDatabaseUrl(), { max: options.max ?? 5 });
}

/** The URL of a fresh database on the real server (for processes that connect by themselves). */
export function testDatabaseUrl(): Promise<string> {
  const server = inject('postgresUrl');
  if (!server) throw new Error('no real PostgreSQL server in this run (see test/global-setup.ts)');
  return createDatabase(server);
}

/** Real adapters: in-memory PGlite (or the real server) with pgvector, fauxqs S3, the real embedder. */
export async function createTestServices(
  env: Record<string, string> = {},
  overrides: Partial<Services> = {},
  options: { db?: DbKind } = {},
): Promise<Services> {
  const config = loadConfig({
    CITEPAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'citepay-test-')),
    OBJECT_STORE: 's3',
    S3_ENDPOINT: inject('awsEndpoint'),
    S3_BUCKET: TEST_BUCKET,
    LOG_LEVEL: 'error',
    LOG_REQUESTS: 'false',
    PUBLIC_URL: 'http://localhost', // app.request('/path') is http://localhost/path
    ...env,
  });
  return createServices(config, {
    db: overrides.db ?? (await openTestDb(options.db)),
    embedder: await sharedEmbedder(),
    ...overrides,
  });
}
