import { serve, type ServerType } from '@hono/node-server';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../functions/api/app.ts';
import { openPg } from '../shared/db/pg.ts';
import type { Services } from '../shared/services/container.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { buildEdgeWorker } from './edge/build.ts';
import { startEdgeWorker, type EdgeWorker } from './edge/worker.ts';
import { DOCS } from './fixtures.ts';
import { createWorld, httpClient, type Client as HttpClient } from './http.ts';
import { createTestServices, testDatabaseUrl } from './services.ts';

// The MCP server of the built edge Worker, in workerd (as test/edge.test.ts runs it), through the
// official SDK client: the Worker serves the retrieval tool, billed once like REST.
describe.skipIf(!inject('postgresUrl'))('MCP on the edge Worker in workerd', () => {
  let services: Services;
  let node: HttpClient;
  let server: ServerType;
  let edge: EdgeWorker;
  let world: Awaited<ReturnType<typeof createWorld>>;
  let client: Client;

  beforeAll(async () => {
    const databaseUrl = await testDatabaseUrl();
    services = await createTestServices({}, { db: openPg(databaseUrl, { max: 5 }) });
    node = httpClient(services);
    world = await createWorld(services, { credits: '1000000' });
    await node.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, { key: world.bob.key, json: DOCS.bikes });
    const operator = await node.call('POST', '/v1/admin/accounts', {
      key: world.admin,
      json: { kind: 'consumer', name: 'Edge operator', credits: '1000000' },
    });
    const port = await new Promise<number>((resolve) => {
      server = serve({ fetch: createApp(services).fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
        resolve(info.port),
      );
    });
    const built = await buildEdgeWorker('node_modules/.cache/citepay-test/edge-mcp');
    edge = await startEdgeWorker({
      bundle: built.file,
      databaseUrl,
      embedder: {
        url: `http://127.0.0.1:${port}/v1`,
        apiKey: operator.body.apiKey.key,
        model: services.embedder.modelId,
        dimension: services.embedder.dimension,
      },
    });
    client = new Client({ name: 'citepay-edge-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL('http://edge.local/mcp'), {
        fetch: (url, init) => edge.fetch(new URL(String(url)).pathname, init as RequestInit),
        requestInit: { headers: { authorization: `Bearer ${world.consumer.key}` } },
      }),
    );
  }, 180_000);

  afterAll(async () => {
    await client?.close();
    await edge?.dispose();
    server?.close();
    await services?.db.close();
  });

  it('lists the retrieval tool the Worker serves', async () => {
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['search']);
  });

  it('search is billed once, as the same request through REST', async () => {
    const r = await client.callTool({
      name: 'search',
      arguments: { query: 'how do I repair a punctured bicycle tyre?', topK: 1 },
    });
    expect(r.isError).toBeFalsy();
    const body = r.structuredContent as any;
    expect(body.sources[0]).toMatchObject({
      title: DOCS.bikes.title,
      contributor: { wallet: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' },
    });
    expect(body.usage.charged).toBe('1000');
    const txs = await services.db.query<{ id: string }>(`SELECT id FROM ledger_transactions WHERE request_id = $1`, [
      body.requestId,
    ]);
    expect(txs.rows).toHaveLength(1);
    expect((await checkLedger(services.db)).filter((c) => !c.ok)).toEqual([]);
  });

  it('bad arguments and a bad key are tool errors, not 5xx', async () => {
    const bad = await client.callTool({ name: 'search', arguments: { query: 'tyre', topK: 500 } });
    expect(bad.isError).toBe(true);
    expect((bad.content as { text: string }[])[0]!.text).toMatch(/^BAD_REQUEST: topK/);
    const res = await edge.fetch('/mcp', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: 'Bearer cp_live_nope',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'search', arguments: { query: 'tyre' } },
      }),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('UNAUTHORIZED: invalid or revoked API key');
  });
});
