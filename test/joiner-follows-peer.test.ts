import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ANVIL_SETTLER_KEY, isAlive } from '../shared/chain/anvil.ts';
import { createSettlementChain } from '../shared/chain/distributor.ts';
import type { Db } from '../shared/db/index.ts';
import { openPg } from '../shared/db/pg.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { readSetting } from '../shared/store/deployment.ts';
import type { RecordedChain, RecordedQueues } from '../functions/local/shared-services.ts';
import { http, startApiProcess, type ApiProcess } from './api-process.ts';
import { postgresInstalled } from './postgres-server.ts';
import { testDatabaseUrl } from './services.ts';

// Issue 17 item 8, across real `npm start` processes on one PostgreSQL database: B joins A's queue
// server and chain; A stops and a new A comes back on other ports (a new queue server, the chain
// restarted from the same state folder). B, still running, must follow the record to them — its
// answers, settlements and claims work again — and the chain-aware ledger check stays green.
const ADMIN = 'cp_live_joinerfollowspeeradminkey000001';

describe.skipIf(!postgresInstalled())('a joiner follows its peer when the peer comes back on other ports', () => {
  let dbUrl: string;
  let db: Db;
  let a: ApiProcess;
  let b: ApiProcess;
  const wallet: Address = privateKeyToAccount(generatePrivateKey()).address;
  let consumerKey: string;

  const queues = async () => (await readSetting<RecordedQueues>(db, 'local.queues'))!;
  const chain = async () => (await readSetting<RecordedChain>(db, 'local.chain'))!;

  beforeAll(async () => {
    dbUrl = await testDatabaseUrl();
    db = openPg(dbUrl, { max: 2 });
    // A runs the worker (extractive answers); B joins and runs none.
    a = await startApiProcess({ DATABASE_URL: dbUrl, CITEPAY_ADMIN_KEY: ADMIN }, 600_000);
    b = await startApiProcess({ DATABASE_URL: dbUrl, CITEPAY_ADMIN_KEY: ADMIN, START_WORKER: 'false' }, 600_000);
    expect(b.lines.some((l) => l.includes('joined the services of another process'))).toBe(true);
    const contributor = await http(a.url, 'POST', '/v1/admin/accounts', {
      key: ADMIN,
      json: { kind: 'contributor', name: 'Ada', wallet },
    });
    const dn = await http(a.url, 'POST', '/v1/datanets', {
      key: contributor.body.apiKey.key,
      json: { name: 'Tides', pricePerSource: '4000' },
    });
    const doc = await http(a.url, 'POST', `/v1/datanets/${dn.body.id}/documents`, {
      key: contributor.body.apiKey.key,
      json: {
        title: 'Tides',
        content: 'Tides are caused by the gravity of the Moon and the Sun pulling on the oceans of the Earth.',
      },
    });
    expect(doc.status).toBe(201);
    const consumer = await http(a.url, 'POST', '/v1/admin/accounts', {
      key: ADMIN,
      json: { kind: 'consumer', name: 'Acme', credits: '100000000' },
    });
    consumerKey = consumer.body.apiKey.key;
  }, 900_000);

  afterAll(async () => {
    const dir = db ? (await readSetting<RecordedChain>(db, 'local.chain').catch(() => null))?.dir : undefined;
    for (const p of [b, a]) await p?.stop();
    // A node left running by a test that failed half-way (it outlives its owner by design): end it.
    const nodeFile = dir ? join(dir, 'node.json') : undefined;
    if (nodeFile && existsSync(nodeFile)) {
      const pid = (JSON.parse(readFileSync(nodeFile, 'utf8')) as { pid: number }).pid;
      if (isAlive(pid)) process.kill(pid, 'SIGTERM');
    }
    await db?.close();
  }, 300_000);

  it('B answers, settles and relays claims on the services A records after its restart', async () => {
    // An answer asked on B, followed to its end (a loaded machine may outlast the call's own wait: 202).
    const answer = async (base: string) => {
      const asked = await http(base, 'POST', '/v1/answers', {
        key: consumerKey,
        json: { query: 'What causes the tides?' },
      });
      expect([200, 202]).toContain(asked.status);
      await vi.waitFor(
        async () =>
          expect(
            (await http(base, 'GET', `/v1/answers/${asked.body.id}?wait=5`, { key: consumerKey })).body.status,
          ).toBe('succeeded'),
        { timeout: 180_000, interval: 100 },
      );
    };
    // Before: B works on A's services.
    await answer(b.url);
    const queuesBefore = await queues();
    const chainBefore = await chain();

    // A stops (its queue server and its chain with it) and comes back: new ports, same chain state.
    await a.stop();
    a = await startApiProcess({ DATABASE_URL: dbUrl, CITEPAY_ADMIN_KEY: ADMIN }, 600_000);
    const queuesAfter = await queues();
    const chainAfter = await chain();
    expect(queuesAfter.endpoint).not.toBe(queuesBefore.endpoint);
    expect(chainAfter.rpcUrl).not.toBe(chainBefore.rpcUrl);
    expect(chainAfter.distributor).toBe(chainBefore.distributor); // the same chain, restarted

    // B, never restarted, moves to both.
    await vi.waitFor(
      () => {
        expect(b.lines.some((l) => l.includes('the queue server of this database moved'))).toBe(true);
        expect(b.lines.some((l) => l.includes('the chain of this database moved'))).toBe(true);
      },
      { timeout: 120_000, interval: 100 },
    );
    expect(b.child.exitCode).toBeNull();

    // The queue path: B enqueues on A's new queue server, A's worker answers.
    await answer(b.url);
    // The chain path: B settles and relays a claim on the chain at its new address.
    const settled = await http(b.url, 'POST', '/v1/admin/settlements', { key: ADMIN });
    expect(settled.body.status).toBe('confirmed');
    const claim = await http(b.url, 'POST', `/v1/payouts/${wallet}/claim`, { key: consumerKey });
    expect(claim.status).toBe(200);
    expect(BigInt(claim.body.paid)).toBeGreaterThan(0n);
    const onChain = createSettlementChain({
      rpcUrl: chainAfter.rpcUrl,
      settlerKey: ANVIL_SETTLER_KEY,
      distributor: chainAfter.distributor,
      token: chainAfter.token,
    });
    expect(await onChain.tokenBalance(wallet)).toBe(BigInt(claim.body.paid));
    expect((await checkLedger(db, { chain: onChain })).filter((c) => !c.ok)).toEqual([]);
  }, 900_000);
});
