import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createApp } from '../functions/api/app.ts';
import { openPg } from '../shared/db/pg.ts';
import type { Services } from '../shared/services/container.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { buildEdgeWorker, type BuiltWorker } from './edge/build.ts';
import { startFakePinecone, type FakePinecone } from './fake-pinecone.ts';
import { startEdgeWorker, type EdgeWorker } from './edge/worker.ts';
import { DOCS } from './fixtures.ts';
import { createWorld, httpClient, type Client } from './http.ts';
import { createTestServices, testDatabaseUrl } from './services.ts';

// The edge build (functions/edge/worker.ts bundled as SST bundles it) running in workerd against
// the real PostgreSQL server, with query vectors from the Node API's own /v1/embeddings. The same
// request through the Worker and through the Node API must find the same sources, charge the
// same, and write receipts and errors of the same form; the ledger stays balanced. Vectors come
// from pgvector over the request's connection, or from Pinecone over fetch (the named fake).

describe.skipIf(!inject('postgresUrl')).each(['pgvector', 'pinecone'] as const)(
  'edge Worker in workerd, vectors in %s',
  (vectorIndex) => {
    let built: BuiltWorker;
    let pinecone: FakePinecone | undefined;
    let services: Services;
    let node: Client;
    let server: ServerType;
    let edge: EdgeWorker;
    let world: Awaited<ReturnType<typeof createWorld>>;

    beforeAll(async () => {
      const databaseUrl = await testDatabaseUrl();
      if (vectorIndex === 'pinecone') pinecone = await startFakePinecone({ dimension: 512 });
      const vectorVars: Record<string, string> = pinecone
        ? { VECTOR_INDEX: 'pinecone', PINECONE_API_KEY: pinecone.apiKey, PINECONE_INDEX_HOST: pinecone.host }
        : {};
      services = await createTestServices(vectorVars, { db: openPg(databaseUrl, { max: 5 }) });
      node = httpClient(services);
      world = await createWorld(services, { credits: '1000000' });
      for (const doc of [DOCS.bread, DOCS.tides])
        await node.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: doc });
      await node.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, { key: world.bob.key, json: DOCS.bikes });
      // The Worker's own key for the embeddings endpoint: an operator account that pays per token.
      const operator = await node.call('POST', '/v1/admin/accounts', {
        key: world.admin,
        json: { kind: 'consumer', name: 'Edge operator', credits: '1000000' },
      });

      const port = await new Promise<number>((resolve) => {
        server = serve({ fetch: createApp(services).fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
          resolve(info.port),
        );
      });
      built = await buildEdgeWorker(`node_modules/.cache/citepay-test/edge-${vectorIndex}`);
      edge = await startEdgeWorker({
        bundle: built.file,
        databaseUrl,
        embedder: {
          url: `http://127.0.0.1:${port}/v1`,
          apiKey: operator.body.apiKey.key,
          model: services.embedder.modelId,
          dimension: services.embedder.dimension,
        },
        vars: vectorVars,
      });
    }, 180_000);

    afterAll(async () => {
      await edge?.dispose();
      server?.close();
      await services?.db.close();
      await pinecone?.close();
    });

    const viaEdge = async (method: string, path: string, opts: { key?: string; json?: unknown } = {}) => {
      const res = await edge.fetch(path, {
        method,
        headers: {
          ...(opts.key ? { authorization: `Bearer ${opts.key}` } : {}),
          ...(opts.json !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(opts.json !== undefined ? { body: JSON.stringify(opts.json) } : {}),
      });
      return { status: res.status, body: (await res.json()) as any, headers: res.headers };
    };
    const withoutIds = (body: any) => JSON.parse(JSON.stringify(body, (k, v) => (k === 'requestId' ? '<id>' : v)));

    it('stays within Cloudflare limits (10 MB gzipped) and answers /healthz with the remote embedder', async () => {
      expect(built.gzipBytes).toBeLessThan(10 * 1024 * 1024);
      // The edge ingests nothing: PDF and Word readers (pdf.js, mammoth) stay out of its bundle.
      expect(built.inputs.some((f) => f.startsWith('shared/services/'))).toBe(true);
      expect(built.inputs.filter((f) => /unpdf|pdfjs|mammoth|document-readers\/(?!index)/.test(f))).toEqual([]);
      const health = await viaEdge('GET', '/healthz');
      expect(health.status).toBe(200);
      expect(health.body.checks).toMatchObject({
        database: 'ok (pg)',
        embedder: `${services.embedder.modelId} (512d)`,
        vectorIndex,
      });
    });

    it('retrieves the same sources for the same charge, with a receipt of the same form', async () => {
      const request = { query: 'how do I repair a punctured bicycle tyre?', topK: 3 };
      const fromNode = await node.call('POST', '/v1/retrieve', { key: world.consumer.key, json: request });
      const pineconeCalls = pinecone?.requests.length ?? 0;
      const fromEdge = await viaEdge('POST', '/v1/retrieve', { key: world.consumer.key, json: request });
      // with Pinecone, the Worker itself queried it (chunks and documents) over fetch
      if (pinecone)
        expect(pinecone.requests.slice(pineconeCalls).filter((r) => r.path === '/query').length).toBeGreaterThanOrEqual(
          2,
        );
      expect(fromNode.status).toBe(200);
      expect(fromEdge.status).toBe(200);
      expect(fromEdge.body.sources.length).toBeGreaterThan(0);
      expect(fromEdge.body.sources[0].title).toBe(DOCS.bikes.title);
      const sourceKeys = (b: any) =>
        b.sources.map((s: any) => ({ documentId: s.documentId, chunkId: s.chunkId, text: s.text, score: s.score }));
      expect(sourceKeys(fromEdge.body)).toEqual(sourceKeys(fromNode.body));
      const { balance: nodeBalance, ...nodeUsage } = fromNode.body.usage;
      const { balance: edgeBalance, ...edgeUsage } = fromEdge.body.usage;
      expect(edgeUsage).toEqual(nodeUsage);
      expect(BigInt(edgeBalance)).toBe(BigInt(nodeBalance) - BigInt(nodeUsage.charged)); // one more call, one more charge
      const { receiptId: _e, ...edgeAttribution } = fromEdge.body.attribution;
      const { receiptId: _n, ...nodeAttribution } = fromNode.body.attribution;
      expect(edgeAttribution).toEqual(nodeAttribution); // weights, amounts, signals, formula version
      // the receipt: same fields and shapes; only its ids, times and request ids differ
      const shape = (v: unknown): unknown =>
        Array.isArray(v)
          ? v.map(shape)
          : v && typeof v === 'object'
            ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x)]))
            : typeof v;
      expect(shape(fromEdge.body.receipt)).toEqual(shape(fromNode.body.receipt));
    });

    it('bills the call to the key, visible in /v1/usage through either runtime', async () => {
      const before = await node.call('GET', '/v1/usage', { key: world.consumer.key });
      const paid = await viaEdge('POST', '/v1/retrieve', {
        key: world.consumer.key,
        json: { query: 'sourdough starter feeding', topK: 2 },
      });
      expect(paid.status).toBe(200);
      const charged = BigInt(paid.body.usage.charged);
      expect(charged).toBeGreaterThan(0n);
      const afterNode = await node.call('GET', '/v1/usage', { key: world.consumer.key });
      const afterEdge = await viaEdge('GET', '/v1/usage', { key: world.consumer.key });
      expect(afterEdge.body).toEqual(afterNode.body);
      expect(BigInt(afterNode.body.balance)).toBe(BigInt(before.body.balance) - charged);
      expect(afterNode.body.calls).toBe(before.body.calls + 1);
    });

    it('answers bad keys, an empty balance and bad input with the same error bodies', async () => {
      const broke = await node.call('POST', '/v1/admin/accounts', {
        key: world.admin,
        json: { kind: 'consumer', name: 'Broke', credits: '0' },
      });
      const cases: [string, string, { key?: string; json?: unknown }][] = [
        ['no key', '/v1/retrieve', { json: { query: 'tides' } }],
        [
          'revoked-looking key',
          '/v1/retrieve',
          { key: 'cp_live_notarealkey000000000000000', json: { query: 'tides' } },
        ],
        ['contributor key', '/v1/retrieve', { key: world.ada.key, json: { query: 'tides' } }],
        ['empty balance', '/v1/retrieve', { key: broke.body.apiKey.key, json: { query: 'why are there tides' } }],
        ['empty query', '/v1/retrieve', { key: world.consumer.key, json: { query: '  ' } }],
        ['unknown field', '/v1/retrieve', { key: world.consumer.key, json: { query: 'tides', top: 3 } }],
        [
          'unknown datanet',
          '/v1/retrieve',
          { key: world.consumer.key, json: { query: 'tides', datanets: ['dn_doesnotexist'] } },
        ],
      ];
      for (const [name, path, opts] of cases) {
        const a = await node.call('POST', path, opts);
        const b = await viaEdge('POST', path, opts);
        expect(a.status, name).toBeGreaterThanOrEqual(400);
        expect([b.status, withoutIds(b.body)], name).toEqual([a.status, withoutIds(a.body)]);
      }
      const notMounted = await viaEdge('POST', `/v1/datanets/${world.ada.datanet}/documents`, {
        key: world.ada.key,
        json: DOCS.bread,
      });
      expect(notMounted.status).toBe(404);
      expect(notMounted.body.error.code).toBe('NOT_FOUND');
    });

    it('shares rate limits with the Node API: one window counted by both runtimes, the same 429 and headers', async () => {
      const limited = await node.call('POST', '/v1/admin/accounts', {
        key: world.admin,
        json: { kind: 'consumer', name: 'Limited', credits: '1000000' },
      });
      await node.call('PUT', `/v1/admin/accounts/${limited.body.account.id}/limits`, {
        key: world.admin,
        json: { keyRequestsPerMinute: 2 },
      });
      const key = limited.body.apiKey.key;
      const first = await node.call('GET', '/v1/usage', { key });
      const second = await viaEdge('GET', '/v1/usage', { key });
      const third = await viaEdge('GET', '/v1/usage', { key });
      expect([first.status, second.status, third.status]).toEqual([200, 200, 429]);
      expect(second.headers.get('ratelimit-policy')).toBe(first.headers.get('ratelimit-policy'));
      expect(second.headers.get('ratelimit')).toMatch(/^"key";r=0;/);
      expect(third.headers.get('retry-after')).toBeTruthy();
      const fromNode = await node.call('GET', '/v1/usage', { key });
      expect([fromNode.status, withoutIds(fromNode.body).error.code]).toEqual([429, withoutIds(third.body).error.code]);
    });

    it('keeps the ledger balanced after calls through both runtimes', async () => {
      const failed = (await checkLedger(services.db)).filter((c) => !c.ok);
      expect(failed).toEqual([]);
    });
  },
);
