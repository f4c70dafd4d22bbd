import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide } from '../shared/core/rate-limit.ts';
import type { Services } from '../shared/services/container.ts';
import { DOCS } from './fixtures.ts';
import { createGenerationServices } from './generation.ts';
import { createWorld, httpClient, type Client } from './http.ts';
import { createTestServices, openTestDb, TEST_DB, testDatabaseUrl } from './services.ts';
import { openPg } from '../shared/db/pg.ts';

// Requests per window per key and per account, concurrent answers, admin overrides, the 429 and
// the IETF RateLimit headers, and one limit holding across two API processes sharing a database.
// A long window, so no reset happens while a test counts.
const LIMITS = { RATE_LIMIT_WINDOW_SECONDS: '3600', RATE_LIMIT_KEY_REQUESTS: '3', RATE_LIMIT_ACCOUNT_REQUESTS: '5' };

describe('requests per window', () => {
  let services: Services;
  let client: Client;
  let world: Awaited<ReturnType<typeof createWorld>>;
  beforeAll(async () => {
    services = await createTestServices(LIMITS);
    client = httpClient(services);
    world = await createWorld(services);
  });
  afterAll(() => services?.db.close());

  it('admits a key up to its limit with RateLimit headers, then answers 429 with Retry-After in the one error shape', async () => {
    const seen = [];
    for (let i = 0; i < 4; i++) seen.push(await client.call('GET', '/v1/usage', { key: world.consumer.key }));
    expect(seen.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(seen[0]!.headers.get('ratelimit-policy')).toBe('"key";q=3;w=3600, "account";q=5;w=3600');
    expect(seen[0]!.headers.get('ratelimit')).toMatch(/^"key";r=2;t=\d+, "account";r=4;t=\d+$/);
    const refused = seen[3]!;
    expect(refused.headers.get('ratelimit')).toMatch(/^"key";r=0;t=\d+, "account";r=1;t=\d+$/);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.body).toEqual({
      error: {
        code: 'RATE_LIMITED',
        message: expect.stringMatching(/rate limit of the key reached: 3 requests per 3600 s/),
        requestId: expect.any(String),
        docs: '/docs',
        details: { policy: 'key', retryAfterSeconds: Number(refused.headers.get('retry-after')) },
      },
    });
  });

  it("counts the account across its keys: a second key gets the account's remainder", async () => {
    const second = await client.call('POST', `/v1/admin/accounts/${world.consumer.id}/keys`, {
      key: world.admin,
      json: {},
    });
    expect(second.status).toBe(201);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await client.call('GET', '/v1/usage', { key: second.body.key })).status);
    expect(statuses).toEqual([200, 429, 429]); // 4 of the account's 5 were used by the first key (the refused one counts too)
  });

  it("lets an admin raise, lower or lift an account's limits; admins themselves are not limited", async () => {
    const fresh = await client.call('POST', `/v1/admin/accounts/${world.ada.id}/keys`, { key: world.admin, json: {} });
    const ada = { id: world.ada.id, key: fresh.body.key as string };
    const put = await client.call('PUT', `/v1/admin/accounts/${ada.id}/limits`, {
      key: world.admin,
      json: { keyRequestsPerMinute: 1 },
    });
    expect(put.status).toBe(200);
    expect(put.body.effective).toMatchObject({ keyRequestsPerMinute: 1, requestsPerMinute: 5 });
    expect((await client.call('GET', '/v1/earnings', { key: ada.key })).status).toBe(200);
    expect((await client.call('GET', '/v1/earnings', { key: ada.key })).status).toBe(429);
    await client.call('PUT', `/v1/admin/accounts/${ada.id}/limits`, {
      key: world.admin,
      json: { keyRequestsPerMinute: 0, requestsPerMinute: 0 },
    });
    const lifted = await client.call('GET', '/v1/earnings', { key: ada.key });
    expect(lifted.status).toBe(200);
    expect(lifted.headers.get('ratelimit')).toBeNull(); // nothing limits this caller now
    for (let i = 0; i < 8; i++)
      expect((await client.call('GET', `/v1/admin/accounts/${ada.id}`, { key: world.admin })).status).toBe(200);
    expect(
      (
        await client.call('PUT', `/v1/admin/accounts/${ada.id}/limits`, {
          key: world.admin,
          json: { keyRequestsPerMinute: -1 },
        })
      ).status,
    ).toBe(400);
  });
});

describe('one limit across two API processes on one database', () => {
  it('admits exactly the limit among racing requests spread over both', async () => {
    // Two containers with their own connection pools (on PostgreSQL: separate connections, as two processes have).
    const url = TEST_DB === 'pg' ? await testDatabaseUrl() : undefined;
    const dbA = url ? openPg(url, { max: 5 }) : await openTestDb();
    const dbB = url ? openPg(url, { max: 5 }) : dbA;
    const a = await createTestServices(
      { ...LIMITS, RATE_LIMIT_KEY_REQUESTS: '10', RATE_LIMIT_ACCOUNT_REQUESTS: '0' },
      { db: dbA },
    );
    const b = await createTestServices(
      { ...LIMITS, RATE_LIMIT_KEY_REQUESTS: '10', RATE_LIMIT_ACCOUNT_REQUESTS: '0' },
      { db: dbB },
    );
    try {
      const world = await createWorld(a);
      const [ca, cb] = [httpClient(a), httpClient(b)];
      const replies = await Promise.all(
        Array.from({ length: 24 }, (_, i) => (i % 2 ? ca : cb).call('GET', '/v1/usage', { key: world.consumer.key })),
      );
      expect(replies.filter((r) => r.status === 200)).toHaveLength(10);
      expect(replies.filter((r) => r.status === 429)).toHaveLength(14);
    } finally {
      await a.db.close();
      if (dbB !== dbA) await b.db.close();
    }
  });
});

describe('answers at once', () => {
  let env: Awaited<ReturnType<typeof createGenerationServices>>;
  let client: Client;
  let world: Awaited<ReturnType<typeof createWorld>>;
  beforeAll(async () => {
    // No worker: answers stay queued, so they count as open.
    env = await createGenerationServices({ RATE_LIMIT_KEY_ANSWERS: '2', RATE_LIMIT_ACCOUNT_ANSWERS: '3' });
    client = httpClient(env.services);
    world = await createWorld(env.services);
    await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: DOCS.tides });
  });
  afterAll(async () => {
    await env?.consumer.stop();
    await env?.services.db.close();
  });

  it('refuses a key its third open answer and the account its fourth, charging and holding nothing for them', async () => {
    const ask = (key: string) =>
      client.call('POST', '/v1/answers', { key, json: { query: 'what causes tides?', mode: 'async' } });
    const first = [await ask(world.consumer.key), await ask(world.consumer.key), await ask(world.consumer.key)];
    expect(first.map((r) => r.status)).toEqual([202, 202, 429]);
    expect(first[2]!.body.error).toMatchObject({ code: 'RATE_LIMITED', details: { policy: 'key_answers' } });
    const other = await client.call('POST', `/v1/admin/accounts/${world.consumer.id}/keys`, {
      key: world.admin,
      json: {},
    });
    expect((await ask(other.body.key)).status).toBe(202);
    const fourth = await ask(other.body.key);
    expect(fourth.status).toBe(429);
    expect(fourth.body.error.details.policy).toBe('account_answers');
    const open = await env.services.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM answers WHERE account_id = $1`,
      [world.consumer.id],
    );
    expect(open.rows[0]!.n).toBe(3);
  });
});

describe('RateLimit header arithmetic', () => {
  it('lists only limited policies, never a negative remainder, and resets at the window end', () => {
    const d = decide(
      [
        { policy: 'key', limit: 3, count: 5 },
        { policy: 'account', limit: 0, count: 9 },
      ],
      60,
      59.2,
    );
    expect(d).toEqual({
      allowed: false,
      resetSeconds: 1,
      policyHeader: '"key";q=3;w=60',
      rateLimitHeader: '"key";r=0;t=1',
    });
    expect(decide([{ policy: 'key', limit: 3, count: 3 }], 60, 10).allowed).toBe(true);
  });
});
