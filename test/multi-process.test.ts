import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSettlementChain } from '../shared/chain/distributor.ts';
import { ANVIL_SETTLER_KEY } from '../shared/chain/anvil.ts';
import type { Db } from '../shared/db/index.ts';
import { openPg } from '../shared/db/pg.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { SETTLED_ACCOUNT_ID } from '../shared/store/accounts.ts';
import { readSetting } from '../shared/store/deployment.ts';
import { balanceOf } from '../shared/store/ledger.ts';
import { http, startApiProcess, type ApiProcess } from './api-process.ts';
import { DOCS } from './fixtures.ts';
import { WALLETS } from './http.ts';
import { postgresInstalled } from './postgres-server.ts';
import { testDatabaseUrl } from './services.ts';

// Two real `npm start` processes on one real PostgreSQL database, as a user would run them: the
// second joins the first's queue server, chain and object store; money stays exact under races
// that cross processes; one settler at a time. The whole-database ledger check closes the run.
const ADMIN = 'cp_live_multiprocessadminkey0000000001';

describe.skipIf(!postgresInstalled())('several API processes on one PostgreSQL database', () => {
  let a: ApiProcess;
  let b: ApiProcess;
  let db: Db;
  let contributor: { key: string; datanet: string };
  let dbUrl: string;

  beforeAll(async () => {
    const url = (dbUrl = await testDatabaseUrl());
    db = openPg(url, { max: 2 });
    a = await startApiProcess({ DATABASE_URL: url, CITEPAY_ADMIN_KEY: ADMIN, LOG_LEVEL: 'info' });
    b = await startApiProcess({
      DATABASE_URL: url,
      CITEPAY_ADMIN_KEY: ADMIN,
      LOG_LEVEL: 'info',
      START_WORKER: 'false',
    });
    const ada = await http(a.url, 'POST', '/v1/admin/accounts', {
      key: ADMIN,
      json: { kind: 'contributor', name: 'Ada', wallet: WALLETS.ada },
    });
    expect(ada.status).toBe(201);
    const dn = await http(a.url, 'POST', '/v1/datanets', {
      key: ada.body.apiKey.key,
      json: { name: 'Ada notes', pricePerSource: '1000' },
    });
    contributor = { key: ada.body.apiKey.key, datanet: dn.body.id };
  });
  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await db?.close();
  });

  const consumer = async (credits: string) => {
    const r = await http(a.url, 'POST', '/v1/admin/accounts', {
      key: ADMIN,
      json: { kind: 'consumer', name: `c${credits}`, credits },
    });
    expect(r.status).toBe(201);
    return r.body.apiKey.key as string;
  };
  const upload = async (base: string, doc: (typeof DOCS)[keyof typeof DOCS]) => {
    const r = await http(base, 'POST', `/v1/datanets/${contributor.datanet}/documents`, {
      key: contributor.key,
      json: doc,
    });
    expect(r.status).toBe(201);
    return r.body.document.id as string;
  };

  it("the second process joins the first one's queue server, chain and object store instead of starting its own", () => {
    const joined = b.lines.find((l) => l.includes('joined the services of another process'));
    expect(joined).toBeDefined();
    expect(JSON.parse(joined!).joined).toEqual([
      expect.stringMatching(/^queues at /),
      expect.stringMatching(/^chain at /),
      expect.stringMatching(/^object store in /),
    ]);
    expect(b.lines.some((l) => l.includes('local chain ready'))).toBe(false);
  });

  it("refuses a third process whose explicit OBJECT_STORE_DIR is not the database's document folder", async () => {
    const root = (await readSetting<{ root: string }>(db, 'local.objectStore'))!.root;
    const started = startApiProcess({
      DATABASE_URL: dbUrl,
      CITEPAY_ADMIN_KEY: ADMIN,
      START_WORKER: 'false',
      OBJECT_STORE_DIR: `${root}-elsewhere`,
    });
    await expect(started).rejects.toThrow(/OBJECT_STORE_DIR=.*-elsewhere, but this database's documents are in /);
  });

  it('shares documents: uploaded through A, read and deleted through B, gone for A', async () => {
    const id = await upload(a.url, DOCS.bread);
    const content = await http(b.url, 'GET', `/v1/documents/${id}/content`, { key: contributor.key });
    expect(content.status).toBe(200);
    expect(content.body).toBe(DOCS.bread.content);
    expect((await http(b.url, 'DELETE', `/v1/documents/${id}`, { key: contributor.key })).status).toBe(200);
    expect((await http(a.url, 'GET', `/v1/documents/${id}`, { key: contributor.key })).body.deletedAt).not.toBeNull();
    expect((await http(a.url, 'GET', `/v1/documents/${id}/content`, { key: contributor.key })).status).toBe(404);
  });

  it('a 10-call balance gives exactly 10 successes under 60 calls racing across both processes', async () => {
    await upload(b.url, DOCS.bikes);
    const key = await consumer('10000'); // 10 × 1000 (one source at 1000)
    const replies = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        http(i % 2 ? a.url : b.url, 'POST', '/v1/retrieve', {
          key,
          json: { query: 'fix a bicycle puncture', topK: 1 },
        }),
      ),
    );
    const statuses = replies.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(10);
    expect(statuses.filter((s) => s === 402)).toHaveLength(50);
    expect((await http(a.url, 'GET', '/v1/usage', { key })).body.balance).toBe('0');
  });

  it('an Idempotency-Key racing across processes: one charge, every other reply a marked replay of it', async () => {
    const key = await consumer('1000000');
    const replies = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        http(i % 2 ? a.url : b.url, 'POST', '/v1/retrieve', {
          key,
          json: { query: 'patch an inner tube', topK: 1 },
          headers: { 'idempotency-key': 'cross-process-1' },
        }),
      ),
    );
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(new Set(replies.map((r) => r.body.requestId)).size).toBe(1);
    expect(replies.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(5);
    const charges = await db.query(`SELECT 1 FROM ledger_transactions WHERE request_id = $1`, [
      replies[0]!.body.requestId,
    ]);
    expect(charges.rows).toHaveLength(1);
  });

  it('an answer created on B (no worker of its own) is generated through the shared queue', async () => {
    const key = await consumer('1000000');
    const created = await http(b.url, 'POST', '/v1/answers', {
      key,
      json: { query: 'How do I find the hole in an inner tube?', mode: 'async' },
    });
    expect(created.status).toBe(202);
    await vi.waitFor(
      async () => {
        const r = await http(b.url, 'GET', `/v1/answers/${created.body.id}?wait=5`, { key });
        expect(r.body.status).toBe('succeeded');
      },
      { timeout: 90_000, interval: 200 },
    );
  });

  it('settlers racing on both processes publish each epoch once and pay nobody twice', async () => {
    const key = await consumer('1000000');
    const recorded = (await readSetting<{ rpcUrl: string; distributor: `0x${string}`; token: `0x${string}` }>(
      db,
      'local.chain',
    ))!;
    const chain = createSettlementChain({
      rpcUrl: recorded.rpcUrl,
      settlerKey: ANVIL_SETTLER_KEY,
      distributor: recorded.distributor,
      token: recorded.token,
    });
    for (let round = 1; round <= 2; round++) {
      expect(
        (await http(a.url, 'POST', '/v1/retrieve', { key, json: { query: 'inflate a tyre', topK: 1 } })).status,
      ).toBe(200);
      const runs = await Promise.all(
        [a, b, a, b].map((p) => http(p.url, 'POST', '/v1/admin/settlements', { key: ADMIN })),
      );
      expect(runs.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      // Calls on one process share its settlement in flight; across processes the lock lets one in.
      const confirmed = runs.filter((r) => r.body.status === 'confirmed');
      expect(confirmed.length).toBeGreaterThan(0);
      expect(new Set(confirmed.map((r) => r.body.epoch.epoch))).toEqual(new Set([round]));
      for (const r of runs) expect(['confirmed', 'busy', 'idle']).toContain(r.body.status);
      const state = await chain.readState();
      expect(state.epoch).toBe(BigInt(round));
      const settled = await balanceOf(db, SETTLED_ACCOUNT_ID, true);
      expect(state.totalCumulative).toBe(settled); // published exactly what the ledger moved
      expect(await chain.tokenBalance(recorded.distributor)).toBe(settled); // funded exactly once (nothing claimed yet)
    }
  });

  it('leaves a database the ledger checker passes', async () => {
    expect((await checkLedger(db)).filter((c) => !c.ok)).toEqual([]);
  });
});
