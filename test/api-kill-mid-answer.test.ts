import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ANVIL_SETTLER_KEY, isAlive } from '../shared/chain/anvil.ts';
import { createSettlementChain } from '../shared/chain/distributor.ts';
import type { Db } from '../shared/db/index.ts';
import { openPg } from '../shared/db/pg.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { readSetting } from '../shared/store/deployment.ts';
import type { RecordedChain } from '../functions/local/shared-services.ts';
import { http, startApiProcess, type ApiProcess } from './api-process.ts';
import { DOCS } from './fixtures.ts';
import { FAKE_BASE_MODEL, startFakeEngine, type FakeEngine } from './fake-engine.ts';
import { postgresInstalled } from './postgres-server.ts';
import { testDatabaseUrl } from './services.ts';

// Issue 17: an API process killed with SIGKILL in the middle of an answer loses no money. Real
// `npm start` processes on one PostgreSQL database: A runs the queue server, the chain and the worker
// (relaying to a FAKE engine that holds each answer's end until the test lets it go); B joins them.
// 1. B, which took the call and holds the consumer's money, dies mid-answer: the answer completes
//    through A and is charged exactly once; the hold is released.
// 2. A, which ran the queue server (its queued job dies with it) and the worker, dies mid-answer: the
//    answer can never finish; past its deadline B's sweep expires it, releasing the hold, charging nothing.
// Each ends with the chain-aware ledger check green.
const ADMIN = 'cp_live_apikillmidansweradminkey0000001';
const MODELS = JSON.stringify([
  { id: FAKE_BASE_MODEL, inputPricePerMillion: '1000000', outputPricePerMillion: '2000000' },
]);
const CREDITS = 100_000_000n;

describe.skipIf(!postgresInstalled())('an API process killed with SIGKILL mid-answer', () => {
  let dbUrl: string;
  let db: Db;
  let engine: FakeEngine;
  let a: ApiProcess;
  let b: ApiProcess;
  let consumer: { id: string; key: string };
  let openGate = () => {};
  let gate = new Promise<void>((resolve) => (openGate = resolve));

  const chain = async () => {
    const r = (await readSetting<RecordedChain>(db, 'local.chain'))!;
    return createSettlementChain({
      rpcUrl: r.rpcUrl,
      settlerKey: ANVIL_SETTLER_KEY,
      distributor: r.distributor,
      token: r.token,
    });
  };
  const ledgerGreen = async () =>
    expect((await checkLedger(db, { chain: await chain() })).filter((c) => !c.ok)).toEqual([]);
  const money = async () => {
    const r = await db.query<{ balance: string; held: string }>(
      `SELECT balance::text, held::text FROM account_balances WHERE account_id = $1 AND livemode`,
      [consumer.id],
    );
    return { balance: BigInt(r.rows[0]!.balance), held: BigInt(r.rows[0]!.held) };
  };
  const answerRow = async (query: string) =>
    (
      await db.query<{ id: string; request_id: string; status: string; hold: string }>(
        `SELECT id, request_id, status, hold::text FROM answers WHERE account_id = $1 AND query = $2`,
        [consumer.id, query],
      )
    ).rows;
  const charges = async (requestId: string) =>
    (await db.query(`SELECT id FROM ledger_transactions WHERE request_id = $1`, [requestId])).rows.length;
  /** Sends an answer to `p` without waiting for it (the process will die under it). */
  const ask = (p: ApiProcess, query: string) =>
    fetch(`${p.url}/v1/answers`, {
      method: 'POST',
      headers: { authorization: `Bearer ${consumer.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query, model: FAKE_BASE_MODEL }),
    }).then(
      (r) => r.status,
      () => 'connection lost' as const,
    );
  const kill = async (p: ApiProcess) => {
    const exited = new Promise((resolve) => p.child.once('exit', resolve));
    p.child.kill('SIGKILL');
    await exited;
  };

  beforeAll(async () => {
    dbUrl = await testDatabaseUrl();
    db = openPg(dbUrl, { max: 2 });
    engine = await startFakeEngine({ delayMsPerToken: 5, holdBeforeFinish: () => gate });
    const common = { DATABASE_URL: dbUrl, CITEPAY_ADMIN_KEY: ADMIN, ENGINE_MODELS: MODELS };
    // A's answers expire 20 s after they are asked (case 2); B's keep the default two minutes.
    a = await startApiProcess({ ...common, GENERATOR_ENGINE_URL: engine.url, ANSWER_DEADLINE_SECONDS: '20' }, 600_000);
    b = await startApiProcess({ ...common, START_WORKER: 'false' }, 600_000);
    const ada = await http(a.url, 'POST', '/v1/admin/accounts', {
      key: ADMIN,
      json: { kind: 'contributor', name: 'Ada', wallet: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' },
    });
    const dn = await http(a.url, 'POST', '/v1/datanets', {
      key: ada.body.apiKey.key,
      json: { name: 'Tides', pricePerSource: '1000' },
    });
    const doc = await http(a.url, 'POST', `/v1/datanets/${dn.body.id}/documents`, {
      key: ada.body.apiKey.key,
      json: DOCS.tides,
    });
    expect(doc.status).toBe(201);
    const c = await http(a.url, 'POST', '/v1/admin/accounts', {
      key: ADMIN,
      json: { kind: 'consumer', name: 'Acme', credits: CREDITS.toString() },
    });
    consumer = { id: c.body.account.id, key: c.body.apiKey.key };
    expect(consumer.id).toBeTruthy();
  }, 900_000);

  afterAll(async () => {
    openGate();
    const dir = db ? (await readSetting<RecordedChain>(db, 'local.chain').catch(() => null))?.dir : undefined;
    for (const p of [b, a]) await p?.stop(); // returns at once for a process already killed
    // The chain outlives a SIGKILLed owner by design: end it here.
    const nodeFile = dir ? join(dir, 'node.json') : undefined;
    if (nodeFile && existsSync(nodeFile)) {
      const pid = (JSON.parse(readFileSync(nodeFile, 'utf8')) as { pid: number }).pid;
      if (isAlive(pid)) process.kill(pid, 'SIGTERM');
    }
    await engine?.stop();
    await db?.close();
  }, 300_000);

  it('the process that took the call dies: the answer completes through the other, charged exactly once, hold released', async () => {
    const query = 'What causes the tides? (B dies)';
    const reply = ask(b, query);
    // Mid-answer: the engine is generating it (and holds its end), the consumer's money is held.
    await vi.waitFor(
      async () => {
        expect(engine.requests['/v1/chat/completions'].length).toBeGreaterThanOrEqual(1);
        expect((await answerRow(query))[0]?.status).toBe('running');
      },
      { timeout: 120_000, interval: 100 },
    );
    const [row] = await answerRow(query);
    expect(BigInt(row!.hold)).toBeGreaterThan(0n);
    expect((await money()).held).toBe(BigInt(row!.hold));

    await kill(b);
    expect(await reply).toBe('connection lost');
    await b.stop(); // a process killed by a signal: stop() returns at once (it used to hang)
    openGate();

    await vi.waitFor(async () => expect((await answerRow(query))[0]?.status).toBe('succeeded'), {
      timeout: 120_000,
      interval: 200,
    });
    expect(await charges(row!.request_id)).toBe(1);
    const after = await money();
    expect(after.held).toBe(0n);
    expect(after.balance).toBeLessThan(CREDITS);
    await ledgerGreen();
  }, 600_000);

  it('the process running the queue server and the worker dies: the answer expires uncharged, hold released', async () => {
    gate = new Promise<void>((resolve) => (openGate = resolve));
    b = await startApiProcess(
      { DATABASE_URL: dbUrl, CITEPAY_ADMIN_KEY: ADMIN, ENGINE_MODELS: MODELS, START_WORKER: 'false' },
      600_000,
    );
    const before = await money();
    const generations = engine.requests['/v1/chat/completions'].length;
    const query = 'What causes the tides? (A dies)';
    const reply = ask(a, query);
    await vi.waitFor(
      async () => {
        expect(engine.requests['/v1/chat/completions'].length).toBeGreaterThan(generations);
        expect((await answerRow(query))[0]?.status).toBe('running');
      },
      { timeout: 120_000, interval: 100 },
    );
    const [row] = await answerRow(query);
    expect((await money()).held).toBe(BigInt(row!.hold));

    await kill(a); // its in-memory queue server and its worker die with it
    expect(await reply).toBe('connection lost');
    openGate();

    // Past its deadline (20 s), B's sweep closes it: nothing charged, nothing held.
    await vi.waitFor(async () => expect((await answerRow(query))[0]?.status).toBe('expired'), {
      timeout: 180_000,
      interval: 500,
    });
    expect(await charges(row!.request_id)).toBe(0);
    expect(await money()).toEqual({ balance: before.balance, held: 0n });
    await ledgerGreen();
  }, 600_000);
});
