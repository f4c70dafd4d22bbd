import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../shared/config.ts';
import type { Services } from '../shared/services/container.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { openDatabase } from '../shared/services/create.ts';
import { createTestServices } from './services.ts';
import { createWorld, httpClient, type Client } from './http.ts';
import { DOCS } from './fixtures.ts';
import { createGenerationServices, startWorker, type WorkerHandle } from './generation.ts';
import { createDatabase, postgresInstalled, startPostgres, type PostgresServer } from './postgres-server.ts';

// A PostgreSQL restart (failover, upgrade, crash) while the API serves: the process must not die
// (an idle pooled connection closed by the server is an 'error' event), clients get 503 +
// Retry-After while it is down, and the API recovers by itself. This file has its own server:
// stopping the shared one would break every other file running on it.
describe.skipIf(!postgresInstalled())('the API while PostgreSQL restarts', () => {
  let server: PostgresServer;
  let services: Services;
  let client: Client;
  let world: Awaited<ReturnType<typeof createWorld>>;

  beforeAll(async () => {
    server = await startPostgres();
    const url = await createDatabase(server.url);
    // Through the production composition (openDatabase: pool size, idle-error handler).
    const db = await openDatabase(loadConfig({ DATABASE_URL: url, LOG_LEVEL: 'silent' }));
    services = await createTestServices({}, { db });
    client = httpClient(services);
    world = await createWorld(services, { credits: '1000000', price: '1000' });
    const r = await client.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, {
      key: world.bob.key,
      json: DOCS.bikes,
    });
    expect(r.status).toBe(201);
  });
  afterAll(async () => {
    await services?.db.close();
    await server?.stop();
  });

  const retrieve = () =>
    client.call('POST', '/v1/retrieve', {
      key: world.consumer.key,
      json: { query: 'fix a bicycle puncture', topK: 1 },
    });

  it('answers 503 with Retry-After while the server is down, recovers without a restart, and bills each success once', async () => {
    expect((await retrieve()).status).toBe(200);
    // Load running across the stop and the start: every reply is either a success or a clean 503.
    let running = true;
    const replies: { status: number; code?: string; retryAfter: string | null }[] = [];
    const load = (async () => {
      while (running) {
        const r = await retrieve();
        replies.push({ status: r.status, code: r.body?.error?.code, retryAfter: r.headers.get('retry-after') });
      }
    })();
    await vi.waitFor(() => expect(replies.filter((r) => r.status === 200).length).toBeGreaterThan(2), {
      timeout: 10_000,
    });
    await server.halt();

    const down = await retrieve();
    expect(down.status).toBe(503);
    expect(down.headers.get('retry-after')).toBe('1');
    expect(down.body.error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', requestId: expect.any(String) });
    expect(down.body.error.message).not.toMatch(/ECONNREFUSED|terminat|postgres/i);

    const restartedAt = performance.now();
    await server.start();
    await vi.waitFor(async () => expect((await retrieve()).status).toBe(200), { timeout: 15_000, interval: 50 });
    const recoveredMs = performance.now() - restartedAt;
    running = false;
    await load;

    for (const r of replies) {
      expect([200, 503]).toContain(r.status);
      if (r.status === 503) expect(r).toMatchObject({ code: 'SERVICE_UNAVAILABLE', retryAfter: '1' });
    }
    // Money: the balance moved by exactly one price per success; every transaction balances.
    const successes = replies.filter((r) => r.status === 200).length + 2; // + the first and the recovery probe
    const usage = await client.call('GET', '/v1/usage', { key: world.consumer.key });
    expect(BigInt(usage.body.balance)).toBe(1_000_000n - 1000n * BigInt(successes));
    expect((await checkLedger(services.db)).filter((c) => !c.ok)).toEqual([]); // the whole-database checker
    console.info(
      `postgres outage: ${replies.length} calls during the run, ${replies.filter((r) => r.status === 503).length} got 503; recovered ${recoveredMs.toFixed(0)} ms after the server started`,
    );
  });
});

// The money rule under an outage: an error response means nothing was charged, ever. An answer whose
// row committed is answered with its id (it will run and be billed once); one that could not be
// recorded never runs. An Idempotency-Key whose claimant lost the database is free again within seconds.
describe.skipIf(!postgresInstalled())('answers while PostgreSQL restarts', () => {
  let server: PostgresServer;
  let services: Services;
  let client: Client;
  let world: Awaited<ReturnType<typeof createWorld>>;
  let worker: WorkerHandle | undefined;
  let stopConsumer: () => Promise<void>;

  beforeAll(async () => {
    server = await startPostgres();
    const db = await openDatabase(loadConfig({ DATABASE_URL: await createDatabase(server.url), LOG_LEVEL: 'silent' }));
    const env = await createGenerationServices({ ANSWER_WAIT_SECONDS: '8', LOG_LEVEL: 'silent' }, { db });
    services = env.services;
    stopConsumer = env.consumer.stop;
    client = httpClient(services);
    world = await createWorld(services, { credits: '1000000', price: '1000' });
    expect(
      (
        await client.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, {
          key: world.bob.key,
          json: DOCS.bikes,
        })
      ).status,
    ).toBe(201);
  });
  afterAll(async () => {
    await worker?.stop();
    await stopConsumer?.();
    await services?.db.close();
    await server?.stop();
  });

  const ask = (query: string, key: string, mode = 'wait') =>
    client.call('POST', '/v1/answers', {
      key: world.consumer.key,
      json: { query, topK: 1, mode },
      headers: { 'idempotency-key': key },
    });
  const chargedFor = async (requestId: string) =>
    (
      await services.db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM ledger_transactions WHERE request_id = $1`,
        [requestId],
      )
    ).rows[0]!.n;

  it('answers a committed answer with its id (202), never runs one it could not record, and frees its keys within seconds', async () => {
    // A second request holds its key while its retrieval is paused; the database goes down under it.
    let resume!: () => void;
    const gate = new Promise<void>((r) => (resume = r));
    const embed = services.embedder.embed.bind(services.embedder);
    const spy = vi.spyOn(services.embedder, 'embed').mockImplementation(async (texts) => {
      if (texts.some((t) => t.includes('(claimed)'))) await gate;
      return embed(texts);
    });
    const claimed = ask('how do I fix a bicycle puncture? (claimed)', 'outage-claimed');
    await vi.waitFor(
      async () => {
        const r = await services.db.query(`SELECT 1 FROM idempotency_claims WHERE key = 'outage-claimed'`);
        expect(r.rows).toHaveLength(1);
      },
      { timeout: 30_000, interval: 50 },
    );

    // No worker yet: this answer stays queued while the database goes away under its wait.
    const waiting = ask('how do I fix a bicycle puncture? (waiting)', 'outage-wait');
    await vi.waitFor(
      async () => {
        const r = await services.db.query(`SELECT id FROM answers WHERE query LIKE '%(waiting)'`);
        expect(r.rows).toHaveLength(1);
      },
      { timeout: 30_000, interval: 50 },
    );

    await server.halt();
    worker = await startWorker(services); // generates while the database is down; the results wait in their queue
    resume();
    const lost = await claimed;
    expect(lost.status).toBe(503);
    const refused = await ask('how do I fix a bicycle puncture? (refused)', 'outage-refused');
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBeTruthy();
    // The waiting answer committed before the outage: its caller gets its id, not an error.
    const accepted = await waiting;
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    expect(accepted.body.id).toMatch(/^ans_/);

    await server.start();
    spy.mockRestore();
    // It runs and is billed exactly once.
    await vi.waitFor(
      async () =>
        expect(
          (await client.call('GET', `/v1/answers/${accepted.body.id}`, { key: world.consumer.key })).body.status,
        ).toBe('succeeded'),
      { timeout: 60_000, interval: 200 },
    );
    const done = await client.call('GET', `/v1/answers/${accepted.body.id}`, { key: world.consumer.key });
    expect(await chargedFor(accepted.headers.get('x-request-id')!)).toBe(1);

    // The key whose claimant lost the database is taken over within seconds: the retry does the work.
    const retriedAt = performance.now();
    const retried = await ask('how do I fix a bicycle puncture? (claimed)', 'outage-claimed', 'async');
    const retryMs = performance.now() - retriedAt;
    expect(retried.status, JSON.stringify(retried.body)).not.toBe(409);
    // The same key and body as the waiting request replays its answer.
    const replay = await ask('how do I fix a bicycle puncture? (waiting)', 'outage-wait');
    expect(replay.status).toBe(200);
    expect(replay.body.id).toBe(accepted.body.id);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');

    // The answers refused with 503 never ran: no row, no charge, once everything queued has drained.
    await vi.waitFor(
      async () =>
        expect((await services.db.query(`SELECT id FROM answers WHERE status IN ('queued', 'running')`)).rows).toEqual(
          [],
        ),
      { timeout: 60_000, interval: 200 },
    );
    for (const r of [lost, refused]) {
      expect(await chargedFor(r.body.error.requestId)).toBe(0);
      expect(
        (await services.db.query(`SELECT id FROM answers WHERE request_id = $1`, [r.body.error.requestId])).rows,
      ).toEqual([]);
    }
    const charged = BigInt(done.body.usage.charged) + (retried.status === 202 ? await settled(retried.body.id) : 0n);
    const usage = await client.call('GET', '/v1/usage', { key: world.consumer.key });
    expect(BigInt(usage.body.balance)).toBe(1_000_000n - charged);
    expect((await checkLedger(services.db)).filter((c) => !c.ok)).toEqual([]);
    console.info(
      `answers across an outage: the key's retry took ${retryMs.toFixed(0)} ms after the database came back`,
    );
  });

  async function settled(id: string): Promise<bigint> {
    let charged = 0n;
    await vi.waitFor(
      async () => {
        const a = await client.call('GET', `/v1/answers/${id}`, { key: world.consumer.key });
        expect(a.body.status).toBe('succeeded');
        charged = BigInt(a.body.usage.charged);
      },
      { timeout: 60_000, interval: 200 },
    );
    return charged;
  }
});
