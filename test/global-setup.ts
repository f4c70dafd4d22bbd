import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startFauxqs } from 'fauxqs';
import { startAnvil } from '../shared/chain/anvil.ts';
import { postgresInstalled, startPostgres } from './postgres-server.ts';

// Real local servers for the whole run: fauxqs speaks S3 (and SQS) to the real AWS SDK clients;
// one anvil (OP-Stack mode) is shared by every test file, each deploying its own contracts (test/chain.ts);
// one real PostgreSQL 15 server with pgvector, each test making its own database (test/services.ts).
export const TEST_BUCKET = 'citepay-test';

export default async function setup(project: TestProject) {
  // Every temporary folder the tests make (databases, object stores, adapter caches) lands in one
  // folder for this run, removed at the end; test files run in forks that inherit TMPDIR.
  const runTmp = mkdtempSync(join(tmpdir(), 'citepay-test-run-'));
  process.env.TMPDIR = runTmp;
  // PostgreSQL first: a missing install fails the run before anything else is left running.
  const postgres = await startRealPostgres();
  project.provide('postgresUrl', postgres?.url ?? '');
  const fauxqs = await startFauxqs({ port: 0, logger: false });
  fauxqs.createBucket(TEST_BUCKET);
  project.provide('awsEndpoint', fauxqs.address);
  const anvil = await startAnvil({ port: 0, silent: true });
  project.provide('chainRpcUrl', anvil.rpcUrl);
  return async () => {
    await fauxqs.stop();
    await anvil.stop();
    await postgres?.stop();
    rmSync(runTmp, { recursive: true, force: true });
  };
}

/** CI must test on the real server; a developer without PostgreSQL 15 still gets the PGlite half. */
async function startRealPostgres() {
  if (postgresInstalled()) {
    const server = await startPostgres();
    // The binaries without pgvector (Debian's packages alone) would fail every test on CREATE EXTENSION.
    const missing = await hasPgvector(server.url).then((ok) => !ok);
    if (missing) await server.stop();
    if (missing) throw new Error('PostgreSQL 15 is installed but pgvector is not: run `sudo bash .ci/postgres.sh`');
    return server;
  }
  const hint = 'PostgreSQL 15 with pgvector is not installed: run `sudo bash .ci/postgres.sh`';
  if (process.env.CI) throw new Error(hint);
  process.stderr.write(`\n  WARNING: ${hint}. Tests on the real server are SKIPPED; PGlite tests still run.\n\n`);
  return undefined;
}

async function hasPgvector(url: string): Promise<boolean> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'vector'`)).rows.length === 1;
  } finally {
    await client.end();
  }
}

declare module 'vitest' {
  export interface ProvidedContext {
    awsEndpoint: string;
    /** JSON-RPC URL of the shared anvil. */
    chainRpcUrl: string;
    /** superuser URL of the real PostgreSQL server ('' when it is not installed outside CI) */
    postgresUrl: string;
  }
}
