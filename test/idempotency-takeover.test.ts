import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openPg } from '../shared/db/pg.ts';
import type { Services } from '../shared/services/container.ts';
import { STALE_AFTER_SECONDS, hashRequest } from '../shared/services/idempotency.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { DOCS } from './fixtures.ts';
import { createWorld, httpClient, type Client } from './http.ts';
import { postgresInstalled } from './postgres-server.ts';
import { createTestServices, testDatabaseUrl } from './services.ts';

// An Idempotency-Key claimed by a process that then dies with SIGKILL (no release, no cleanup): the
// key is taken over once the dead claimant's lease lapses (seconds), the retry does the work and is
// charged once — not a 409 for minutes. Two real processes on the real PostgreSQL.
describe.skipIf(!postgresInstalled())('an Idempotency-Key whose claimant was SIGKILLed', () => {
  let url: string;
  let services: Services;
  let client: Client;
  let world: Awaited<ReturnType<typeof createWorld>>;

  beforeAll(async () => {
    url = await testDatabaseUrl();
    services = await createTestServices({}, { db: openPg(url, { max: 5 }) });
    client = httpClient(services);
    world = await createWorld(services, { credits: '100000', price: '1000' });
    expect(
      (
        await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, {
          key: world.ada.key,
          json: DOCS.tides,
        })
      ).status,
    ).toBe(201);
  });
  afterAll(async () => services?.db.close());

  it('is taken over within the lease after the claimant dies, and the retry is charged once', async () => {
    const body = { query: 'what causes spring tides', topK: 2 };
    const holder = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        'test/claim-holder.ts',
        url,
        world.consumer.id,
        'killed-claimant',
        hashRequest('POST', '/v1/retrieve', body),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    holder.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await vi.waitFor(() => expect(out).toContain('claimed'), { timeout: 60_000, interval: 50 });
    const claim = await services.db.query<{ claimant: string }>(
      `SELECT claimant FROM idempotency_claims WHERE key = 'killed-claimant'`,
    );
    expect(claim.rows).toHaveLength(1);

    const exited = new Promise((resolve) => holder.once('exit', resolve));
    holder.kill('SIGKILL');
    await exited;

    // The retry waits (bounded) while the dead claim is still fresh, then takes it over.
    const startedAt = performance.now();
    const r = await client.call('POST', '/v1/retrieve', {
      key: world.consumer.key,
      json: body,
      headers: { 'idempotency-key': 'killed-claimant' },
    });
    const tookMs = performance.now() - startedAt;
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.headers.get('idempotent-replayed')).toBeNull();
    const charged = BigInt(r.body.usage.charged);
    expect(charged).toBeGreaterThan(0n);
    // Once: a replay of the same key charges nothing more.
    const again = await client.call('POST', '/v1/retrieve', {
      key: world.consumer.key,
      json: body,
      headers: { 'idempotency-key': 'killed-claimant' },
    });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const usage = await client.call('GET', '/v1/usage', { key: world.consumer.key });
    expect(BigInt(usage.body.balance)).toBe(100_000n - charged);
    expect((await checkLedger(services.db)).filter((c) => !c.ok)).toEqual([]);
    console.info(
      `takeover after SIGKILL: the retry succeeded ${tookMs.toFixed(0)} ms after the kill (lease ${STALE_AFTER_SECONDS} s)`,
    );
  });
});
