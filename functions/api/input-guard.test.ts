import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Services } from '../../shared/services/container.ts';
import { createTestServices } from '../../test/services.ts';
import { createWorld, httpClient, type Client } from '../../test/http.ts';
import { LIMITS, jsonTooDeep } from './input-guard.ts';

// Bad input as a class: any NUL or lone surrogate, anywhere, and JSON deeper than the limit get
// a 400 naming the field before a route does any work; a failed upload leaves nothing behind.
let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;

beforeAll(async () => {
  services = await createTestServices();
  client = httpClient(services);
  world = await createWorld(services);
});
afterAll(() => services.db.close());

const count = async (table: string) =>
  Number((await services.db.query<{ n: bigint }>(`SELECT count(*)::bigint AS n FROM ${table}`)).rows[0]!.n);
const expect400 = (r: { status: number; body: any }, message: RegExp) => {
  expect(r.status, JSON.stringify(r.body)).toBe(400);
  expect(r.body.error.code).toBe('BAD_REQUEST');
  expect(r.body.error.message).toMatch(message);
};

describe('text PostgreSQL cannot store', () => {
  it('is refused with the field named on every route the trial found (and any other)', async () => {
    const nul = 'a\u0000b';
    const dn = world.ada.datanet;
    const cases: [string, string, string, unknown, RegExp][] = [
      ['POST', '/v1/datanets', world.ada.key, { name: nul, pricePerSource: '1' }, /^name: .*U\+0000/],
      ['POST', `/v1/datanets/${dn}/documents`, world.ada.key, { title: 't', content: nul }, /^content: /],
      [
        'POST',
        `/v1/datanets/${dn}/documents`,
        world.ada.key,
        { title: 't', content: 'ok text', metadata: { [nul]: 1 } },
        /^metadata\.\(key\): /,
      ],
      ['POST', '/v1/retrieve', world.consumer.key, { query: nul }, /^query: /],
      [
        'POST',
        '/v1/retrieve',
        world.consumer.key,
        { query: 'x', filter: { metadata: { a: [nul] } } },
        /^filter\.metadata\.a\.0: /,
      ],
      ['POST', '/v1/admin/accounts', world.admin, { kind: 'consumer', name: nul }, /^name: /],
      ['POST', `/v1/admin/accounts/${world.consumer.id}/keys`, world.admin, { name: nul }, /^name: /],
      [
        'POST',
        '/v1/adapters',
        world.admin,
        { name: 'a', baseModel: nul, objectKey: 'k', sha256: 'a'.repeat(64), shareBps: 1 },
        /^baseModel: /,
      ],
      [
        'POST',
        '/v1/chat/completions',
        world.consumer.key,
        { model: 'extractive', messages: [{ role: 'user', content: nul }] },
        /^messages\.0\.content: /,
      ],
      [
        'POST',
        '/v1/datanets',
        world.ada.key,
        { name: 'lone \ud800 surrogate', pricePerSource: '1' },
        /^name: .*surrogate/,
      ],
    ];
    for (const [method, path, key, json, message] of cases)
      expect400(await client.call(method, path, { key, json }), message);
    expect400(
      await client.call('GET', `/v1/datanets/${dn}/documents?after=%00`, { key: world.ada.key }),
      /^after \(in query\): /,
    );
    expect400(await client.call('GET', '/v1/usage?accountId=%00', { key: world.admin }), /^accountId \(in query\): /);
    expect400(
      await client.call('GET', `/v1/usage?accountId=${'a'.repeat(LIMITS.queryValueChars + 1)}`, { key: world.admin }),
      /longer than/,
    );
  });

  it('is refused in multipart fields and in uploaded file bytes', async () => {
    const send = (parts: Record<string, string | Blob>) => {
      const form = new FormData();
      for (const [k, v] of Object.entries(parts)) form.append(k, v);
      return client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, body: form });
    };
    const file = (text: string) => new File([text], 'notes.txt', { type: 'text/plain' });
    expect400(await send({ file: file('fine text'), title: 'a\u0000' }), /^title: /);
    expect400(await send({ file: file('fine text'), metadata: '{"a":"\\u0000"}' }), /^metadata\.a: /);
    expect400(
      await send({ file: file('fine text'), metadata: `{"a":${'['.repeat(100)}${']'.repeat(100)}}` }),
      /^metadata: JSON nested deeper/,
    );
    expect400(await send({ file: file('has a \u0000 inside') }), /^content: /);
  });
});

describe('JSON depth', () => {
  it('is checked on the text, before parsing, against the documented limit', async () => {
    const nested = (n: number) => `{"title":"t","content":"deep","metadata":{"a":${'['.repeat(n)}${']'.repeat(n)}}}`;
    for (const n of [LIMITS.jsonDepth, 100_000]) {
      const r = await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, {
        key: world.ada.key,
        body: nested(n),
        headers: { 'content-type': 'application/json' },
      });
      expect400(r, /^body: JSON nested deeper than 32 levels/);
    }
    const ok = await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, {
      key: world.ada.key,
      body: nested(LIMITS.jsonDepth - 3),
      headers: { 'content-type': 'application/json' },
    });
    expect(ok.status).toBe(201);
    expect(jsonTooDeep('{"a":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\""}', 2)).toBe(false);
    expect(jsonTooDeep('[[[]]]', 2)).toBe(true);
  });
});

describe('405', () => {
  it('answers a known path asked with the wrong method, with Allow, in the one error shape', async () => {
    const r = await client.call('PUT', `/v1/documents/doc_abc`, { key: world.admin });
    expect(r.status).toBe(405);
    expect(r.body.error).toMatchObject({ code: 'METHOD_NOT_ALLOWED', requestId: r.headers.get('x-request-id') });
    expect(r.headers.get('allow')!.split(', ').sort()).toEqual(['DELETE', 'GET', 'HEAD']);
    expect((await client.call('DELETE', '/v1/retrieve')).headers.get('allow')).toBe('POST');
    expect((await client.call('PATCH', '/v1/nowhere')).status).toBe(404);
    expect((await client.call('GET', '/docs/assets/nope.js')).status).toBe(404);
  });
});

describe('a failed upload', () => {
  const content = 'A document whose upload fails after its bytes were stored.';
  const key = () => `documents/${world.ada.datanet}/${createHash('sha256').update(content).digest('hex')}`;

  for (const [where, fail] of [
    [
      'embedding',
      async () =>
        vi
          .spyOn(await services.embedders.get(services.embedders.defaultModel), 'embed')
          .mockRejectedValueOnce(new Error('embedder exploded')),
    ],
    [
      'the database transaction',
      async () => vi.spyOn(services.vectorIndex, 'upsert').mockRejectedValueOnce(new Error('index exploded')),
    ],
  ] as const) {
    it(`leaves no stored object and no rows when ${where} fails`, async () => {
      const before = { documents: await count('documents'), chunks: await count('chunks') };
      const spy = await fail();
      const r = await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, {
        key: world.ada.key,
        json: { title: 'Doomed', content },
      });
      spy.mockRestore();
      expect(r.status).toBe(500);
      expect(r.body.error.message).not.toMatch(/exploded/);
      expect(await services.objectStore.get(key())).toBeNull();
      expect({ documents: await count('documents'), chunks: await count('chunks') }).toEqual(before);
      // And the same upload succeeds afterwards, bytes and all.
      const again = await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, {
        key: world.ada.key,
        json: { title: 'Doomed', content },
      });
      expect(again.status).toBe(201);
      expect(await services.objectStore.get(key())).not.toBeNull();
      expect(
        (await client.call('DELETE', `/v1/documents/${again.body.document.id}`, { key: world.ada.key })).status,
      ).toBe(200);
    });
  }
});

describe('list paging', () => {
  it('takes limit as plain digits within 1–200 and after as an id of the listed kind', async () => {
    const list = (qs: string) =>
      client.call('GET', `/v1/datanets/${world.bob.datanet}/documents${qs}`, { key: world.bob.key });
    for (const body of ['One page of Bob.', 'Another page of Bob.', 'A third page of Bob.'])
      expect(
        (
          await client.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, {
            key: world.bob.key,
            json: { title: body, content: body },
          })
        ).status,
      ).toBe(201);
    const first = await list('?limit=2');
    expect(first.body.data).toHaveLength(2);
    const second = await list(`?limit=2&after=${first.body.next}`);
    expect(second.body.data).toHaveLength(1);
    expect(second.body.next).toBeNull();
    for (const qs of ['?limit=0', '?limit=201', '?limit=0x10', '?limit=1e1', '?limit=%205', '?limit=', '?limit=-1'])
      expect400(await list(qs), /^limit: /);
    expect400(await list('?after=dn_abc'), /^after: must be a doc_… id/);
  });
});
