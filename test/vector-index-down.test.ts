import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../shared/services/container.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { createWorld, httpClient, type Client } from './http.ts';
import { createTestServices } from './services.ts';

// Pinecone unreachable (the real client, through its real network path, to a port nobody listens on):
// retrieval answers 503 + Retry-After and charges nothing — never a 500.
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('the vector index is down (Pinecone unreachable)', () => {
  let services: Services;
  let client: Client;
  let world: Awaited<ReturnType<typeof createWorld>>;

  beforeAll(async () => {
    services = await createTestServices({
      VECTOR_INDEX: 'pinecone',
      PINECONE_API_KEY: 'test-key',
      PINECONE_INDEX_HOST: `http://127.0.0.1:${await closedPort()}`,
    });
    client = httpClient(services);
    world = await createWorld(services, { credits: '100000', price: '1000' });
  });
  afterAll(async () => services?.db.close());

  it('answers a retrieve 503 with Retry-After, charging nothing, and the ledger stays balanced', async () => {
    const r = await client.call('POST', '/v1/retrieve', {
      key: world.consumer.key,
      json: { query: 'how do tides work', topK: 2 },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(503);
    expect(r.body.error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', requestId: expect.stringMatching(/^req_/) });
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    const usage = await client.call('GET', '/v1/usage', { key: world.consumer.key });
    expect(usage.body.balance).toBe('100000');
    expect(
      (await services.db.query(`SELECT id FROM ledger_transactions WHERE request_id = $1`, [r.body.error.requestId]))
        .rows,
    ).toEqual([]);
    expect((await checkLedger(services.db)).filter((c) => !c.ok)).toEqual([]);
  });
});
