import { createServer, type IncomingMessage, type Server } from 'node:http';
import { z } from 'zod';

// A FAKE of Pinecone's data plane — Pinecone has no local emulator — for the VectorIndex conformance
// suite and the Pinecone adapter's tests. It implements only the subset the adapter uses (upsert,
// query with metadata filters, fetch, delete by ids / filter / all, describe_index_stats, list by
// prefix), with exact (brute-force cosine) search, and it is strict: a request whose path, headers
// or body do not have the shape the real client sends (checked against test/fixtures/
// pinecone-requests.json by pinecone.test.ts) is answered 400, so a wire-format change fails loudly.
export const PINECONE_API_VERSION = '2026-04';

export interface RecordedRequest {
  method: string;
  path: string;
  /** names of the query parameters */
  query: string[];
  /** top-level keys of the JSON body */
  body: string[];
  apiVersion: string | undefined;
}

interface Row {
  values: number[];
  metadata: Record<string, unknown>;
}

type Filter = Record<string, unknown>;

const Metadata = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]));
const Upsert = z
  .object({
    vectors: z
      .array(
        z
          .object({ id: z.string().min(1).max(512), values: z.array(z.number()), metadata: Metadata.optional() })
          .strict(),
      )
      .min(1)
      .max(1000),
    namespace: z.string(),
  })
  .strict();
const Query = z
  .object({
    namespace: z.string(),
    topK: z.number().int().min(1).max(10_000),
    vector: z.array(z.number()),
    filter: z.record(z.string(), z.unknown()).optional(),
    includeValues: z.boolean().optional(),
    includeMetadata: z.boolean().optional(),
  })
  .strict();
const Delete = z.union([
  z.object({ ids: z.array(z.string()).min(1).max(1000), namespace: z.string() }).strict(),
  z.object({ filter: z.record(z.string(), z.unknown()), namespace: z.string() }).strict(),
  z.object({ deleteAll: z.literal(true), namespace: z.string() }).strict(),
]);
const Stats = z.object({ filter: z.record(z.string(), z.unknown()).optional() }).strict();

export interface FakePinecone {
  host: string;
  apiKey: string;
  requests: RecordedRequest[];
  /** namespaces and their records (for assertions) */
  namespaces: Map<string, Map<string, Row>>;
  close(): Promise<void>;
}

export async function startFakePinecone(options: { dimension: number; apiKey?: string }): Promise<FakePinecone> {
  const apiKey = options.apiKey ?? 'pc-fake-key';
  const namespaces = new Map<string, Map<string, Row>>();
  const requests: RecordedRequest[] = [];
  const ns = (name: string) => namespaces.get(name) ?? namespaces.set(name, new Map()).get(name)!;

  const handle = async (req: IncomingMessage): Promise<[number, unknown]> => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const raw = await readBody(req);
    const json = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    const apiVersion = header(req, 'x-pinecone-api-version');
    requests.push({
      method: req.method ?? '',
      path: url.pathname,
      query: [...new Set(url.searchParams.keys())].sort(),
      body: Object.keys(json).sort(),
      apiVersion,
    });
    if (header(req, 'api-key') !== apiKey) return [401, { code: 16, message: 'Invalid API Key' }];
    if (apiVersion !== PINECONE_API_VERSION)
      return [400, { message: `unexpected X-Pinecone-Api-Version ${apiVersion}` }];
    if (req.method === 'POST' && !header(req, 'content-type')?.startsWith('application/json'))
      return [400, { message: 'JSON body expected' }];
    const route = `${req.method} ${url.pathname}`;

    if (route === 'POST /vectors/upsert') {
      const body = Upsert.parse(json);
      for (const v of body.vectors) {
        if (v.values.length !== options.dimension)
          return [
            400,
            {
              message: `Vector dimension ${v.values.length} does not match the dimension of the index ${options.dimension}`,
            },
          ];
        ns(body.namespace).set(v.id, { values: v.values, metadata: v.metadata ?? {} });
      }
      return [200, { upsertedCount: body.vectors.length }];
    }
    if (raw.length > 2 * 1024 * 1024) return [413, { message: 'request body over 2 MB' }];
    if (route === 'POST /query') {
      const body = Query.parse(json);
      if ((body.includeValues || body.includeMetadata) && body.topK > 1000)
        return [400, { message: 'topK over 1000 with values or metadata included' }];
      if (body.vector.length !== options.dimension) return [400, { message: 'query vector dimension mismatch' }];
      const rows = [...(namespaces.get(body.namespace) ?? new Map<string, Row>())].filter(
        ([, row]) => !body.filter || matches(row.metadata, body.filter),
      );
      const scored = rows
        .map(([id, row]) => ({ id, score: cosine(body.vector, row.values), row }))
        .sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1))
        .slice(0, body.topK);
      return [
        200,
        {
          namespace: body.namespace,
          matches: scored.map((m) => ({
            id: m.id,
            score: m.score,
            values: body.includeValues ? m.row.values : [],
            ...(body.includeMetadata ? { metadata: m.row.metadata } : {}),
          })),
        },
      ];
    }
    if (route === 'GET /vectors/fetch') {
      const name = url.searchParams.get('namespace') ?? '';
      const ids = url.searchParams.getAll('ids');
      if (ids.length === 0 || ids.length > 1000) return [400, { message: 'ids: 1 to 1000' }];
      const found = Object.fromEntries(
        ids.flatMap((id) => {
          const row = namespaces.get(name)?.get(id);
          return row ? [[id, { id, values: row.values, metadata: row.metadata }]] : [];
        }),
      );
      return [200, { vectors: found, namespace: name }];
    }
    if (route === 'POST /vectors/delete') {
      const body = Delete.parse(json);
      const rows = namespaces.get(body.namespace);
      if ('deleteAll' in body) namespaces.delete(body.namespace);
      else if ('ids' in body) for (const id of body.ids) rows?.delete(id);
      else for (const [id, row] of rows ?? []) if (matches(row.metadata, body.filter)) rows!.delete(id);
      return [200, {}];
    }
    if (route === 'POST /describe_index_stats') {
      Stats.parse(json);
      const counts = Object.fromEntries(
        [...namespaces].filter(([, rows]) => rows.size > 0).map(([name, rows]) => [name, { vectorCount: rows.size }]),
      );
      return [
        200,
        {
          namespaces: counts,
          dimension: options.dimension,
          indexFullness: 0,
          totalVectorCount: Object.values(counts).reduce((a, c) => a + c.vectorCount, 0),
        },
      ];
    }
    if (route === 'GET /vectors/list') {
      const name = url.searchParams.get('namespace') ?? '';
      const prefix = url.searchParams.get('prefix') ?? '';
      const limit = Number(url.searchParams.get('limit') ?? 100);
      const start = Number(url.searchParams.get('paginationToken') ?? 0);
      const ids = [...(namespaces.get(name)?.keys() ?? [])].filter((id) => id.startsWith(prefix)).sort();
      const page = ids.slice(start, start + limit);
      return [
        200,
        {
          vectors: page.map((id) => ({ id })),
          namespace: name,
          ...(start + limit < ids.length ? { pagination: { next: String(start + limit) } } : {}),
        },
      ];
    }
    return [404, { message: `the fake does not implement ${route}` }];
  };

  const server: Server = createServer((req, res) => {
    handle(req)
      .catch((err: Error) => [400, { message: `bad request: ${err.message.slice(0, 300)}` }] as [number, unknown])
      .then(([status, body]) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    host: `http://127.0.0.1:${port}`,
    apiKey,
    requests,
    namespaces,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => resolve(data));
    req.on('error', reject);
  });
}

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0,
    na = 0,
    nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

/** Pinecone's metadata filter language: $eq $ne $gt $gte $lt $lte $in $nin $exists $and $or; a list field matches if any element does. */
export function matches(metadata: Record<string, unknown>, filter: Filter): boolean {
  return Object.entries(filter).every(([key, cond]) => {
    if (key === '$and') return (cond as Filter[]).every((f) => matches(metadata, f));
    if (key === '$or') return (cond as Filter[]).some((f) => matches(metadata, f));
    const ops =
      cond !== null && typeof cond === 'object' && !Array.isArray(cond)
        ? (cond as Record<string, unknown>)
        : { $eq: cond };
    const value = metadata[key];
    const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
    return Object.entries(ops).every(([op, arg]) => {
      switch (op) {
        case '$eq':
          return values.some((v) => v === arg);
        case '$ne':
          return !values.some((v) => v === arg);
        case '$in':
          return values.some((v) => (arg as unknown[]).includes(v));
        case '$nin':
          return !values.some((v) => (arg as unknown[]).includes(v));
        case '$gt':
          return values.some((v) => typeof v === 'number' && v > (arg as number));
        case '$gte':
          return values.some((v) => typeof v === 'number' && v >= (arg as number));
        case '$lt':
          return values.some((v) => typeof v === 'number' && v < (arg as number));
        case '$lte':
          return values.some((v) => typeof v === 'number' && v <= (arg as number));
        case '$exists':
          return (value !== undefined) === arg;
        default:
          throw new Error(`unsupported filter operator ${op}`);
      }
    });
  });
}
