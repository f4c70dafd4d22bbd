import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../functions/api/app.ts';
import type { Services } from '../../shared/services/container.ts';
import { DOCS } from '../fixtures.ts';
import { WALLETS, createWorld, httpClient } from '../http.ts';
import { createTestServices } from '../services.ts';
import {
  describeRequest,
  fuzzOperation,
  judge,
  knownUrl,
  operations,
  unboundedFields,
  type FuzzWorld,
  type Operation,
  type OperationReport,
} from './openapi-fuzz.ts';

// Every operation of /openapi.json, fuzzed in-process against real services. CI runs a bounded
// number of cases per operation; `npm run fuzz` runs many more (FUZZ_RUNS) and prints the summary.
// A failure prints the seed and the shrunk request: FUZZ_SEED=<seed> reproduces the run.
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
// This world has no job queue and no chain: these answer a documented 503 SERVICE_UNAVAILABLE.
const UNAVAILABLE = new Set([
  'POST /v1/answers',
  'POST /v1/chat/completions',
  'POST /v1/payouts/{wallet}/claim',
  'POST /v1/admin/settlements',
  'POST /v1/credits/top-up', // x402: no facilitator in this world
]);

let services: Services;
let app: ReturnType<typeof createApp>;
let doc: ReturnType<ReturnType<typeof createApp>['getOpenAPI31Document']>;
let world: FuzzWorld;
const reports: OperationReport[] = [];

beforeAll(async () => {
  // Rate limits lifted: a 429 would hide the route from most of a long run.
  services = await createTestServices({ RATE_LIMIT_ACCOUNT_REQUESTS: '0', RATE_LIMIT_KEY_REQUESTS: '0' });
  const w = await createWorld(services);
  const { call } = httpClient(services);
  app = createApp(services);
  doc = app.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 'citepay', version: 'fuzz' } });
  const docs = [];
  for (const d of [DOCS.bread, DOCS.tides])
    docs.push(
      (await call('POST', `/v1/datanets/${w.ada.datanet}/documents`, { key: w.ada.key, json: d })).body.document
        .id as string,
    );
  const retrieved = await call('POST', '/v1/retrieve', { key: w.consumer.key, json: { query: 'sourdough starter' } });
  // A key the fuzzer may revoke without locking itself out.
  const spare = await call('POST', `/v1/admin/accounts/${w.consumer.id}/keys`, {
    key: w.admin,
    json: { name: 'spare' },
  });
  world = {
    keys: [w.admin, w.consumer.key, w.ada.key, w.bob.key],
    ids: {
      dn: [w.ada.datanet, w.bob.datanet],
      doc: docs,
      acct: [w.consumer.id, w.ada.id, w.bob.id],
      key: [spare.body.id],
      rcpt: [retrieved.body.receiptId].filter(Boolean),
      req: [retrieved.headers.get('x-request-id')!],
      wallet: Object.values(WALLETS),
    },
  };
});

afterAll(async () => {
  if (reports.length) {
    const lines = reports.map(
      (r) =>
        `  ${r.op.padEnd(40)} ${String(r.runs).padStart(6)}  ${Object.entries(r.statuses)
          .map(([s, n]) => `${s}×${n}`)
          .join(' ')}${r.failure ? '  FAILED' : ''}`,
    );
    console.log(`openapi fuzz, seed ${SEED}, ${RUNS} cases per operation:\n${lines.join('\n')}`);
  }
  await services?.db.close();
});

describe('the OpenAPI fuzzer', () => {
  it('covers every documented operation', () => {
    const ops = operations(doc);
    expect(ops.length).toBeGreaterThan(30);
    expect(ops.map((o) => o.id)).toContain('POST /v1/datanets/{id}/documents');
  });

  it('flags a 500, an error outside the one shape and a wrong request id (it can fail)', async () => {
    const op: Operation = { id: 'GET /x', method: 'GET', path: '/x', params: [], secured: false };
    const req = { method: 'GET', url: '/x', headers: {}, note: '' };
    const reply = (status: number, body: unknown, requestId = 'req_1') => ({
      request: () => new Response(JSON.stringify(body), { status, headers: { 'x-request-id': requestId } }),
    });
    const shaped = (code: string) => ({ error: { code, message: 'm', requestId: 'req_1' } });
    expect((await judge(reply(500, shaped('INTERNAL')), req, op, new Set())).problem).toMatch(/^500/);
    expect((await judge(reply(400, { message: 'nope' }), req, op, new Set())).problem).toMatch(/one shape/);
    expect((await judge(reply(400, shaped('BAD_REQUEST'), 'req_2'), req, op, new Set())).problem).toMatch(/requestId/);
    expect((await judge(reply(404, shaped('BAD_REQUEST')), req, op, new Set())).problem).toMatch(
      /code BAD_REQUEST with status 404/,
    );
    expect((await judge(reply(503, shaped('SERVICE_UNAVAILABLE')), req, op, new Set(['GET /x']))).problem).toBeNull();
    expect((await judge(reply(400, shaped('BAD_REQUEST')), req, op, new Set())).problem).toBeNull();
  });

  it('asks for a key exactly where the document says so (GET /v1/models among them)', async () => {
    const ops = operations(doc);
    expect(ops.find((o) => o.id === 'GET /v1/models')?.secured).toBe(true);
    for (const op of ops) {
      const res = await app.request(knownUrl(op, world), { method: op.method });
      await res.arrayBuffer();
      if (op.secured) expect(res.status, op.id).toBe(401);
      else expect(res.status, op.id).not.toBe(401);
    }
    const models = await app.request('/v1/models', { headers: { authorization: `Bearer ${world.keys[2]}` } });
    expect(models.status).toBe(200);
  });

  it('bounds every request string and array in the document (limits are documented, then enforced by validation)', () => {
    // Document text is bounded by MAX_DOCUMENT_BYTES, a setting, and by the upload's body limit.
    expect(unboundedFields(doc)).toEqual(['string POST /v1/datanets/{id}/documents json.content']);
  });

  it('validates paging the same way on every list route', () => {
    const paged = operations(doc).filter((o) =>
      o.params.some((p) => p.in === 'query' && (p.name === 'limit' || p.name === 'after')),
    );
    expect(paged.length).toBeGreaterThan(0);
    const [first] = paged;
    const limitOf = (o: Operation) => o.params.find((p) => p.name === 'limit')?.schema;
    for (const o of paged) {
      expect(limitOf(o), o.id).toEqual(limitOf(first!));
      expect(o.params.find((p) => p.name === 'after')?.schema.pattern, o.id).toMatch(
        /^\^[a-z]+_\[A-Za-z0-9\]\{1,64\}\$$/,
      );
    }
  });

  it('answers every undocumented method on a documented path with 405 and Allow', async () => {
    const byPath = new Map<string, string[]>();
    for (const op of operations(doc)) byPath.set(op.path, [...(byPath.get(op.path) ?? []), op.method]);
    for (const [path, methods] of byPath) {
      const url = path.replace(/\{[^}]+\}/g, 'abc');
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'].filter((m) => !methods.includes(m))) {
        const res = await app.request(url, { method });
        expect(res.status, `${method} ${url}`).toBe(405);
        const allow = res.headers.get('allow')!.split(', ');
        for (const m of methods) expect(allow).toContain(m);
        expect(((await res.json()) as { error: { code: string } }).error.code).toBe('METHOD_NOT_ALLOWED');
      }
    }
  });
});

describe(`fuzzing every operation (${RUNS} cases each, seed ${SEED})`, () => {
  // Resolved when the suite runs (the document is built in beforeAll); one test per operation.
  const appForList = createApp({} as never);
  const listed = operations(
    appForList.getOpenAPI31Document({ openapi: '3.1.0', info: { title: 'citepay', version: 'fuzz' } }),
  );
  for (const { id } of listed) {
    it(id, async () => {
      const op = operations(doc).find((o) => o.id === id)!;
      const report = await fuzzOperation(app, op, (doc.components?.schemas ?? {}) as never, world, {
        numRuns: RUNS,
        seed: SEED,
        unavailable: UNAVAILABLE,
      });
      reports.push(report);
      if (report.failure)
        expect.fail(
          `${report.failure.problem}\n  ${describeRequest(report.failure.request)}\n  reproduce: FUZZ_SEED=${SEED} (fast-check seed ${report.failure.seed}, path ${report.failure.path})`,
        );
    });
  }
});
