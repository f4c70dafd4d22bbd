import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../shared/config.ts';
import { createLogger } from '../shared/logger.ts';
import type { Services } from '../shared/services/container.ts';
import { DOCS } from './fixtures.ts';
import { createWorld, httpClient, type Client } from './http.ts';
import { createTestServices } from './services.ts';

// GET /metrics (Prometheus, admin only) and the logs: every line of a request carries its id, and
// no API key, Authorization header, settler key, Pinecone key or database password ever reaches a
// log line or an error body.

const lines: string[] = [];
let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;
let failSearch = false;
const SETTLER = `0x${'ab'.repeat(32)}`;
const DB_PASSWORD = 'hunter2-database-password';

beforeAll(async () => {
  const log = createLogger('debug', {}, (_level, line) => lines.push(line));
  services = await createTestServices({ LOG_REQUESTS: 'true' }, { log });
  // A dependency (the query's embedder) failing with secrets in its message (as drivers do: URLs, keys in request dumps).
  const embedder = await services.embedders.get(services.embedders.defaultModel);
  const embed = embedder.embed.bind(embedder);
  embedder.embed = (texts) => {
    if (failSearch)
      throw new Error(
        `embedder exploded for ${world.consumer.key} at postgres://citepay:${DB_PASSWORD}@db.internal:5432/citepay`,
      );
    return embed(texts);
  };
  client = httpClient(services);
  world = await createWorld(services, { credits: '1000000' });
  await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: DOCS.tides });
});
afterAll(() => services?.db.close());

const metric = (text: string, name: string, labels = ''): number => {
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `) || (!labels && l.startsWith(`${name} `)));
  if (!line) throw new Error(`${name}{${labels}} not in /metrics`);
  return Number(line.slice(line.lastIndexOf(' ') + 1));
};

describe('GET /metrics', () => {
  it('is not public: no key 401, a consumer key 403, an admin key 200 in the Prometheus text format', async () => {
    expect((await client.call('GET', '/metrics')).status).toBe(401);
    expect((await client.call('GET', '/metrics', { key: world.consumer.key })).status).toBe(403);
    const ok = await client.call('GET', '/metrics', { key: world.admin });
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(ok.body).toContain('# TYPE citepay_http_requests_total counter');
  });

  it('counts requests by route and status, and reads money, answers and settlement from the ledger', async () => {
    const before = (await client.call('GET', '/metrics', { key: world.admin })).body as string;
    const paid = await client.call('POST', '/v1/retrieve', {
      key: world.consumer.key,
      json: { query: 'what causes spring tides' },
    });
    expect(paid.status).toBe(200);
    const after = (await client.call('GET', '/metrics', { key: world.admin })).body as string;
    const route = 'method="POST",route="/v1/retrieve",status="200"';
    const count = (t: string) =>
      t.includes(`citepay_http_requests_total{${route}}`) ? metric(t, 'citepay_http_requests_total', route) : 0;
    expect(count(after)).toBe(count(before) + 1);
    expect(metric(after, 'citepay_http_request_duration_seconds_count', route)).toBe(count(after));
    const charged = BigInt(paid.body.usage.charged);
    expect(metric(after, 'citepay_ledger_charged_micro_usd') - metric(before, 'citepay_ledger_charged_micro_usd')).toBe(
      Number(charged),
    );
    const usage = (await client.call('GET', '/v1/usage', { key: world.consumer.key })).body;
    expect(metric(after, 'citepay_ledger_charged_micro_usd')).toBe(Number(usage.spend)); // the only consumer in this database
    expect(
      metric(after, 'citepay_ledger_credited_micro_usd', 'to="contributor"') +
        metric(after, 'citepay_ledger_credited_micro_usd', 'to="protocol"'),
    ).toBe(Number(usage.spend));
    expect(
      metric(after, 'citepay_embedder_duration_seconds_count', `model="${services.embedder.modelId}"`),
    ).toBeGreaterThan(0);
    expect(metric(after, 'citepay_answers', 'status="queued"')).toBe(0);
    expect(metric(after, 'citepay_oldest_queued_job_age_seconds')).toBe(0);
    expect(metric(after, 'citepay_settlement_epochs', 'status="confirmed"')).toBe(0);
    expect(metric(after, 'citepay_settlement_last_confirmed_age_seconds')).toBe(-1);
  });
});

describe('logs', () => {
  it('puts the request id on every line written while a request is handled, including a 500', async () => {
    failSearch = true;
    const from = lines.length;
    const r = await client.call('POST', '/v1/retrieve', {
      key: world.consumer.key,
      json: { query: 'tides and the moon' },
    });
    failSearch = false;
    expect(r.status).toBe(500);
    const requestId = r.headers.get('x-request-id');
    const written = lines.slice(from).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(written.map((l) => l.msg)).toEqual(expect.arrayContaining(['unhandled error', 'request']));
    for (const line of written) expect(line.requestId, JSON.stringify(line)).toBe(requestId);
    expect(r.body.error.requestId).toBe(requestId);
  });

  it('never writes an API key, Authorization header, settler key, Pinecone key or database password', async () => {
    const wrongKey = 'cp_live_ThisKeyDoesNotExist0000000000';
    await client.call('POST', '/v1/retrieve', { key: wrongKey, json: { query: 'x' } });
    await client.call('GET', '/v1/usage', {
      headers: { authorization: `Bearer ${world.consumer.key}`, 'x-api-key': world.admin },
    });
    failSearch = true;
    const failed = await client.call('POST', '/v1/retrieve', { key: world.consumer.key, json: { query: 'tides' } });
    failSearch = false;
    // what a careless log call could do with the whole config and a request's headers
    const config = loadConfig({
      SETTLER_PRIVATE_KEY: SETTLER,
      VECTOR_INDEX: 'pinecone',
      PINECONE_API_KEY: 'pcsk_secret_pinecone_key',
      PINECONE_INDEX_HOST: 'idx.pinecone.io',
      DATABASE_URL: `postgres://citepay:${DB_PASSWORD}@db/citepay`,
    });
    services.log.warn('diagnostics', {
      config,
      headers: { authorization: `Bearer ${world.consumer.key}`, 'x-api-key': world.admin },
    });

    const everything = [...lines, JSON.stringify(failed.body)].join('\n');
    for (const secret of [
      world.consumer.key,
      world.admin,
      world.ada.key,
      wrongKey,
      SETTLER,
      'pcsk_secret_pinecone_key',
      DB_PASSWORD,
    ])
      expect(everything.includes(secret), `leaked ${secret.slice(0, 12)}…`).toBe(false);
    expect(everything).toContain('[redacted]'); // the diagnostics line was written, masked
  });
});
