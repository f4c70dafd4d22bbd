import fc from 'fast-check';
import { ERROR_STATUS, ErrorBody } from '../../functions/api/errors.ts';
import { LIMITS } from '../../functions/api/input-guard.ts';
import {
  mutantValue,
  oddString,
  poisoned,
  validValue,
  type Components,
  type FileValue,
  type Schema,
} from './schema-arbitraries.ts';

// A property-based fuzzer generated from the OpenAPI document: for every operation, requests of
// the documented shape and mutated ones, sent in-process to the real app. A response fails the
// property when it is a 5xx (other than a 503 the world is known to answer), or a non-2xx whose
// body is not the one error shape with the response's own request id.

export interface Operation {
  id: string; // "POST /v1/retrieve"
  method: string;
  path: string; // OpenAPI template, /v1/documents/{id}
  params: { name: string; in: 'path' | 'query' | 'header'; required: boolean; schema: Schema }[];
  /** The document says it needs an API key. */
  secured: boolean;
  body?: { required: boolean; json?: Schema; form?: Schema };
}

export function operations(doc: { paths?: Record<string, Record<string, any>> }): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths ?? {}))
    for (const [method, op] of Object.entries(item)) {
      const content = op.requestBody?.content ?? {};
      ops.push({
        id: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        params: (op.parameters ?? []).map((p: any) => ({
          name: p.name,
          in: p.in,
          required: !!p.required,
          schema: p.schema ?? {},
        })),
        secured: Array.isArray(op.security) && op.security.length > 0,
        ...(op.requestBody
          ? {
              body: {
                required: !!op.requestBody.required,
                json: content['application/json']?.schema,
                form: content['multipart/form-data']?.schema,
              },
            }
          : {}),
      });
    }
  return ops;
}

/** Real keys and ids of the world the fuzzer runs in, so valid requests get past auth and lookups. */
export interface FuzzWorld {
  keys: string[];
  /** Known ids by prefix (dn, doc, acct, key, rcpt, req, ans, wallet). Sacrificial ones only for destructive routes. */
  ids: Record<string, string[]>;
}

export interface FuzzRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body?: string | { form: Record<string, string | FileValue> };
  note: string;
}

/** Percent-encodes a path segment; a lone surrogate goes as the invalid UTF-8 bytes a careless client would send. */
const encodePathSegment = (v: string) =>
  v
    .split(/([\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff])/)
    .map((part, i) => (i % 2 ? '%ED%A0%80' : encodeURIComponent(part)))
    .join('');

const latin1 = (max: number) =>
  fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: max });

function pathValue(name: string, schema: Schema, world: FuzzWorld): fc.Arbitrary<{ raw: boolean; value: string }> {
  const pattern: string | undefined = schema.pattern;
  const known = Object.values(world.ids)
    .flat()
    .filter((id) => (pattern ? new RegExp(pattern).test(id) : name === 'wallet' ? id.startsWith('0x') : true));
  const encoded = (arb: fc.Arbitrary<string>) => arb.map((value) => ({ raw: false, value }));
  return fc.oneof(
    { weight: 6, arbitrary: encoded(known.length ? fc.constantFrom(...known) : fc.constant('x')) },
    { weight: 2, arbitrary: encoded(pattern ? fc.stringMatching(new RegExp(pattern)) : fc.string({ maxLength: 42 })) },
    {
      weight: 2,
      arbitrary: encoded(
        fc.oneof(
          oddString(),
          fc.constantFrom(
            `${known[0] ?? 'x'}x`.repeat(5),
            'x'.repeat(5000),
            '0x' + 'f'.repeat(40),
            '0x' + 'G'.repeat(40),
          ),
        ),
      ),
    },
    // Sent as written: malformed percent-escapes, dots, encoded slashes.
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('%', '%zz', '%00', '%E0%A4%A', '..', '.', '%2F', '%2e%2e', '%C0%AF')
        .map((value) => ({ raw: true, value })),
    },
  );
}

const queryValue = (schema: Schema, components: Components) =>
  fc.oneof(
    { weight: 4, arbitrary: validValue(schema, components).map(String) },
    {
      weight: 2,
      arbitrary: mutantValue(schema, components).map((v) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''))),
    },
    { weight: 2, arbitrary: poisoned(validValue(schema, components).map(String)).map(String) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        '0',
        '-1',
        '1e3',
        '0x10',
        ' 5',
        '5 ',
        '1.5',
        '201',
        '99999999999999999999',
        'x'.repeat(LIMITS.queryValueChars + 1),
      ),
    },
  );

function bodyArbitrary(
  op: Operation,
  components: Components,
): fc.Arbitrary<Pick<FuzzRequest, 'body' | 'headers' | 'note'>> {
  const json = 'application/json';
  const variants: fc.WeightedArbitrary<Pick<FuzzRequest, 'body' | 'headers' | 'note'>>[] = [];
  const schema = op.body?.json;
  if (schema) {
    variants.push(
      {
        weight: 12,
        arbitrary: mutantValue(schema, components).map((v) => ({
          body: JSON.stringify(v) ?? 'null',
          headers: { 'content-type': json },
          note: 'json',
        })),
      },
      {
        weight: 10,
        arbitrary: poisoned(validValue(schema, components)).map((v) => ({
          body: JSON.stringify(v) ?? 'null',
          headers: { 'content-type': json },
          note: 'json, odd characters',
        })),
      },
      {
        weight: 2,
        arbitrary: fc
          .constantFrom(
            '',
            '{',
            '{"a":',
            'null',
            '[]',
            '"text"',
            '1e999',
            '\ufeff{}',
            '{"a":1}{"b":2}',
            '{"__proto__":{"polluted":1}}',
            '{"query":"\\ud800"}',
            '{"a":"\\u0000"}',
            '{"a":1,"a":2}',
          )
          .map((text) => ({ body: text, headers: { 'content-type': json }, note: 'malformed json' })),
      },
      {
        weight: 2,
        arbitrary: fc.integer({ min: LIMITS.jsonDepth - 2, max: 5000 }).map((d) => ({
          body: `{"x":${'['.repeat(d)}${']'.repeat(d)}}`,
          headers: { 'content-type': json },
          note: `depth ${d}`,
        })),
      },
    );
  }
  if (op.body?.form) {
    variants.push({
      weight: 8,
      arbitrary: fc
        .oneof(mutantValue(op.body.form, components), poisoned(validValue(op.body.form, components)))
        .map((v) => {
          const form: Record<string, string | FileValue> = {};
          if (v && typeof v === 'object' && !Array.isArray(v))
            for (const [k, x] of Object.entries(v))
              form[k] =
                x && typeof x === 'object' && 'file' in x
                  ? (x as FileValue)
                  : typeof x === 'string'
                    ? x
                    : (JSON.stringify(x) ?? '');
          return { body: { form }, headers: {}, note: 'multipart' };
        }),
    });
  }
  if (op.method !== 'GET' && op.method !== 'HEAD') {
    variants.push(
      { weight: 2, arbitrary: fc.constant({ headers: {}, note: 'no body' }) },
      {
        weight: 2,
        arbitrary: fc
          .tuple(
            fc.constantFrom(
              'text/plain',
              'application/x-www-form-urlencoded',
              'multipart/form-data',
              'multipart/form-data; boundary=x',
              'application/json; charset=utf-16',
              'APPLICATION/JSON',
              'application/vnd.api+json',
              'application/json; boundary=',
              '',
            ),
            schema ? validValue(schema, components).map((v) => JSON.stringify(v) ?? '') : fc.constant('{}'),
          )
          .map(([type, body]) => ({ body, headers: { 'content-type': type }, note: `content-type ${type}` })),
      },
    );
    if (schema)
      variants.push({
        weight: 1,
        arbitrary: fc.constant({
          body: JSON.stringify({ x: 'x'.repeat(LIMITS.jsonBodyBytes) }),
          headers: { 'content-type': json },
          note: 'oversized',
        }),
      });
  }
  return variants.length ? fc.oneof(...variants) : fc.constant({ headers: {}, note: 'no body' });
}

/** Requests for one operation: valid-shaped ones, mutated ones and odd headers. */
export function requestArbitrary(
  op: Operation,
  components: Components,
  world: FuzzWorld,
  authorized: readonly string[] = world.keys,
): fc.Arbitrary<FuzzRequest> {
  const pathParams = op.params.filter((p) => p.in === 'path');
  const queryParams = op.params.filter((p) => p.in === 'query');
  const headerParams = op.params.filter((p) => p.in === 'header');
  const auth = fc.oneof(
    { weight: 12, arbitrary: fc.constantFrom(...authorized).map((k) => ({ authorization: `Bearer ${k}` })) },
    { weight: 2, arbitrary: fc.constantFrom(...world.keys).map((k) => ({ authorization: `Bearer ${k}` })) },
    { weight: 1, arbitrary: fc.constantFrom(...world.keys).map((k) => ({ 'x-api-key': k })) },
    { weight: 1, arbitrary: fc.constant({}) },
    {
      weight: 1,
      arbitrary: fc
        .oneof(
          latin1(80),
          fc.constantFrom(
            'Bearer',
            'Bearer ',
            'Basic dXNlcjpwYXNz',
            `Bearer cp_live_${'x'.repeat(40)}`,
            'Bearer cp_test_',
            `bearer ${world.keys[0]}`,
            `Bearer ${world.keys[0]} extra`,
            `Bearer ${'k'.repeat(8000)}`,
          ),
        )
        .map((v) => ({ authorization: v })),
    },
  );
  const oddHeaders = fc.oneof(
    { weight: 6, arbitrary: fc.constant({}) },
    {
      weight: 1,
      arbitrary: fc.dictionary(
        fc.constantFrom(
          'accept',
          'accept-encoding',
          'x-request-id',
          'x-forwarded-for',
          'origin',
          'range',
          'if-none-match',
          'expect',
          'content-language',
          'x-http-method-override',
        ),
        latin1(100),
        { maxKeys: 3 },
      ),
    },
  );
  return fc
    .record({
      path: fc.tuple(...pathParams.map((p) => pathValue(p.name, p.schema, world))),
      query: fc.tuple(
        ...queryParams.map((p) => fc.option(queryValue(p.schema, components), { nil: undefined, freq: 3 })),
      ),
      extraQuery: fc.option(
        fc.tuple(
          fc.constantFrom('limit', 'after', 'x', '', '__proto__', 'wait'),
          fc.oneof(oddString(), fc.string({ maxLength: 10 })),
        ),
        { nil: undefined, freq: 4 },
      ),
      headerValues: fc.tuple(
        ...headerParams.map((p) =>
          fc.option(fc.oneof(validValue(p.schema, components).map(String), latin1(300)), { nil: undefined }),
        ),
      ),
      auth,
      oddHeaders,
      body: bodyArbitrary(op, components),
    })
    .map(({ path, query, extraQuery, headerValues, auth, oddHeaders, body }) => {
      let url = op.path;
      pathParams.forEach((p, i) => {
        const v = path[i]!;
        url = url.replace(`{${p.name}}`, v.raw ? v.value : encodePathSegment(v.value));
      });
      const search = new URLSearchParams();
      queryParams.forEach((p, i) => query[i] !== undefined && search.append(p.name, query[i]!));
      if (extraQuery) search.append(extraQuery[0], extraQuery[1]);
      const qs = search.toString();
      const headers: Record<string, string> = { ...oddHeaders, ...auth, ...body.headers };
      headerParams.forEach((p, i) => headerValues[i] !== undefined && (headers[p.name] = headerValues[i]!));
      return {
        method: op.method,
        url: qs ? `${url}?${qs}` : url,
        headers,
        ...(body.body !== undefined ? { body: body.body } : {}),
        note: body.note,
      };
    });
}

export interface Verdict {
  status: number;
  problem: string | null;
}

type Fetcher = { request: (input: string, init: RequestInit) => Response | Promise<Response> };

function toInit(req: FuzzRequest): RequestInit {
  const headers = new Headers();
  for (const [k, v] of Object.entries(req.headers)) headers.set(k, v);
  if (req.body === undefined) return { method: req.method, headers };
  if (typeof req.body === 'string') return { method: req.method, headers, body: req.body };
  const form = new FormData();
  for (const [k, v] of Object.entries(req.body.form))
    form.append(k, typeof v === 'string' ? v : new File([v.file.text], v.file.name, { type: v.file.type }));
  return { method: req.method, headers, body: form };
}

/** Sends one request and judges the answer. `unavailable` lists operations allowed to answer 503 in this world. */
export async function judge(
  app: Fetcher,
  req: FuzzRequest,
  op: Operation,
  unavailable: ReadonlySet<string>,
  timeoutMs = 15_000,
): Promise<Verdict> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)),
  );
  let res: Response;
  let text: string;
  try {
    res = await Promise.race([app.request(req.url, toInit(req)), timeout]);
    text = await Promise.race([res.text(), timeout]);
  } catch (err) {
    return { status: 0, problem: `threw: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    clearTimeout(timer);
  }
  const status = res.status;
  if (status < 400) return { status, problem: null };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { status, problem: `non-JSON error body: ${text.slice(0, 200)}` };
  }
  const parsed = ErrorBody.strict().safeParse(body);
  if (!parsed.success) return { status, problem: `error body not in the one shape: ${text.slice(0, 300)}` };
  const { code, requestId } = parsed.data.error;
  if (ERROR_STATUS[code] !== status) return { status, problem: `code ${code} with status ${status}` };
  if (requestId !== res.headers.get('x-request-id'))
    return { status, problem: `requestId ${requestId} is not the x-request-id header` };
  if (status === 405 && !res.headers.get('allow')) return { status, problem: '405 without Allow' };
  if (status === 503 && unavailable.has(op.id) && code === 'SERVICE_UNAVAILABLE') return { status, problem: null };
  if (status >= 500) return { status, problem: `${status} ${code}: ${parsed.data.error.message}` };
  return { status, problem: null };
}

export interface OperationReport {
  op: string;
  runs: number;
  statuses: Record<number, number>;
  failure?: { seed: number; path: string; request: FuzzRequest; problem: string };
}

export const describeRequest = (r: FuzzRequest) => {
  const body = r.body === undefined ? '' : typeof r.body === 'string' ? r.body : JSON.stringify(r.body);
  return `${r.method} ${r.url.slice(0, 300)}\n  headers ${JSON.stringify(r.headers).slice(0, 300)}\n  body (${r.note}) ${body.slice(0, 400)}${body.length > 400 ? `… (${body.length} chars)` : ''}`;
};

/** The operation's path with a known id of the right kind in each parameter. */
export function knownUrl(op: Operation, world: FuzzWorld): string {
  let url = op.path;
  for (const p of op.params.filter((x) => x.in === 'path')) {
    const known = Object.values(world.ids)
      .flat()
      .find((id) => (p.schema.pattern ? new RegExp(p.schema.pattern).test(id) : id.startsWith('0x')));
    url = url.replace(`{${p.name}}`, encodeURIComponent(known ?? 'x'));
  }
  return url;
}

/** The world's keys whose role the operation accepts (not 401/403 on a valid-shaped request), so most cases get past auth. */
async function authorizedKeys(app: Fetcher, op: Operation, world: FuzzWorld): Promise<string[]> {
  const accepted: string[] = [];
  // No body and no query: the role check runs before validation, and nothing trips the input guard.
  const url = knownUrl(op, world);
  for (const key of world.keys) {
    const res = await app.request(url, { method: op.method, headers: { authorization: `Bearer ${key}` } });
    await res.arrayBuffer();
    if (res.status !== 401 && res.status !== 403) accepted.push(key);
  }
  return accepted.length ? accepted : [...world.keys];
}

/** Runs `numRuns` requests against one operation; on a failure fast-check shrinks it to a small reproducer. */
export async function fuzzOperation(
  app: Fetcher,
  op: Operation,
  components: Components,
  world: FuzzWorld,
  options: { numRuns: number; seed: number; unavailable: ReadonlySet<string> },
): Promise<OperationReport> {
  const statuses: Record<number, number> = {};
  const problems = new WeakMap<FuzzRequest, string>();
  let runs = 0;
  const authorized = await authorizedKeys(app, op, world);
  const result = await fc.check(
    fc.asyncProperty(requestArbitrary(op, components, world, authorized), async (req) => {
      const verdict = await judge(app, req, op, options.unavailable);
      runs++;
      statuses[verdict.status] = (statuses[verdict.status] ?? 0) + 1;
      if (verdict.problem) problems.set(req, verdict.problem);
      return verdict.problem === null;
    }),
    { numRuns: options.numRuns, seed: options.seed, maxSkipsPerRun: 0, markInterruptAsFailure: true },
  );
  const report: OperationReport = { op: op.id, runs, statuses };
  if (result.failed && result.counterexample) {
    const request = result.counterexample[0];
    report.failure = {
      seed: result.seed,
      path: result.counterexamplePath ?? '',
      request,
      problem: problems.get(request) ?? String(result.errorInstance ?? 'failed'),
    };
  }
  return report;
}

/** Request strings without maxLength/pattern/enum and arrays without maxItems, as "where" paths. */
export function unboundedFields(doc: {
  paths?: Record<string, Record<string, any>>;
  components?: { schemas?: Components };
}): string[] {
  const components = doc.components?.schemas ?? {};
  const out: string[] = [];
  const walk = (s: Schema | undefined, where: string, seen: Set<string>): void => {
    if (!s || typeof s !== 'object') return;
    if (typeof s.$ref === 'string') {
      const name = s.$ref.split('/').pop()!;
      if (!seen.has(name)) walk(components[name], where, new Set([...seen, name]));
      return;
    }
    for (const alt of s.anyOf ?? s.oneOf ?? []) walk(alt, where, seen);
    const types: unknown[] = Array.isArray(s.type) ? s.type : [s.type];
    if (types.includes('string') && s.maxLength === undefined && !s.pattern && !s.enum && s.format !== 'binary')
      out.push(`string ${where}`);
    if (types.includes('array') && s.maxItems === undefined) out.push(`array ${where}`);
    if (s.items) walk(s.items, `${where}[]`, seen);
    for (const [k, v] of Object.entries<Schema>(s.properties ?? {})) walk(v, `${where}.${k}`, seen);
    if (s.additionalProperties && typeof s.additionalProperties === 'object')
      walk(s.additionalProperties, `${where}.*`, seen);
  };
  for (const op of operations(doc)) {
    for (const p of op.params) walk(p.schema, `${op.id} ${p.in}:${p.name}`, new Set());
    if (op.body?.json) walk(op.body.json, `${op.id} json`, new Set());
    if (op.body?.form) walk(op.body.form, `${op.id} form`, new Set());
  }
  return out;
}
