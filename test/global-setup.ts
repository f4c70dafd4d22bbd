import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startFauxqs } from 'fauxqs';
import { startAnvil } from '../shared/chain/anvil.ts';

// Real local servers for the whole run: fauxqs speaks S3 (and SQS) to the real AWS SDK clients;
// one anvil (OP-Stack mode) is shared by every test file, each deploying its own contracts (test/chain.ts).
export const TEST_BUCKET = 'citepay-test';

export default async function setup(project: TestProject) {
  // Every temporary folder the tests make (databases, object stores, adapter caches) lands in one
  // folder for this run, removed at the end; test files run in forks that inherit TMPDIR.
  const runTmp = mkdtempSync(join(tmpdir(), 'citepay-test-run-'));
  process.env.TMPDIR = runTmp;
  const fauxqs = await startFauxqs({ port: 0, logger: false });
  fauxqs.createBucket(TEST_BUCKET);
  project.provide('awsEndpoint', fauxqs.address);
  const anvil = await startAnvil({ port: 0, silent: true });
  project.provide('chainRpcUrl', anvil.rpcUrl);
  return async () => {
    await fauxqs.stop();
    await anvil.stop();
    rmSync(runTmp, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    awsEndpoint: string;
    /** JSON-RPC URL of the shared anvil. */
    chainRpcUrl: string;
  }
}
