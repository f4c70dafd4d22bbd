import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../shared/config.ts';
import type { Services } from '../shared/services/container.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { openDatabase } from '../shared/services/create.ts';
import { createTestServices } from './services.ts';
import { createWorld, httpClient, type Client } from './http.ts';
import { DOCS } from './fixtures.ts';
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
    const r = await client.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, { key: world.bob.key, json: DOCS.bikes });
    expect(r.status).toBe(201);
  });
  afterAll(async () => {
    await services?.db.close();
    await server?.stop();
  });

  const retrieve = () => client.call('POST', '/v1/retrieve', { key: world.consumer.key, json: { query: 'fix a bicycle puncture', topK: 1 } });

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
    await vi.waitFor(() => expect(replies.filter((r) => r.status === 200).length).toBeGreaterThan(2), { timeout: 10_000 });
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
    console.info(`postgres outage: ${replies.length} calls during the run, ${replies.filter((r) => r.status === 503).length} got 503; recovered ${recoveredMs.toFixed(0)} ms after the server started`);
  });
});
