import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../../shared/services/container.ts';
import { createTestServices } from '../../../test/services.ts';
import { createWorld, httpClient, type Client } from '../../../test/http.ts';
import { DOCS } from '../../../test/fixtures.ts';

let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;

beforeAll(async () => {
  services = await createTestServices({ MAX_DOCUMENT_BYTES: '20000' });
  client = httpClient(services);
  world = await createWorld(services);
});
afterAll(() => services.db.close());

const upload = (datanet: string, key: string, json: unknown) =>
  client.call('POST', `/v1/datanets/${datanet}/documents`, { key, json });
const count = async (sql: string) => Number((await services.db.query<{ n: bigint }>(sql)).rows[0]!.n);

describe('POST /v1/datanets/{id}/documents', () => {
  it('indexes Markdown with exact spans and keeps the raw bytes in the object store', async () => {
    const r = await upload(world.ada.datanet, world.ada.key, DOCS.bread);
    expect(r.status).toBe(201);
    expect(r.body.duplicate).toBe(false);
    const doc = r.body.document;
    expect(doc).toMatchObject({
      title: DOCS.bread.title,
      contentType: 'text/markdown',
      metadata: DOCS.bread.metadata,
      textLength: DOCS.bread.content.length,
    });
    expect(doc.chunkCount).toBeGreaterThanOrEqual(3);
    const chunks = await services.db.query<{
      start_char: number;
      end_char: number;
      text: string;
      heading_path: string[];
    }>(`SELECT start_char, end_char, text, heading_path FROM chunks WHERE document_id = $1 ORDER BY ordinal`, [doc.id]);
    for (const c of chunks.rows) expect(DOCS.bread.content.slice(c.start_char, c.end_char)).toBe(c.text);
    expect(chunks.rows.some((c) => c.heading_path.join('/') === 'Sourdough/Baking')).toBe(true);
    const raw = await client.call('GET', `/v1/documents/${doc.id}/content`, { key: world.ada.key });
    expect(raw.body).toBe(DOCS.bread.content);
    const vectors = await count(
      `SELECT count(*)::bigint AS n FROM chunk_vectors v JOIN chunks c ON c.id = v.chunk_id WHERE c.document_id = '${doc.id}' AND v.model = 'use-lite-512'`,
    );
    expect(vectors).toBe(doc.chunkCount);
  });

  it('recognises the same content and does not index it twice', async () => {
    const before = await count(`SELECT count(*)::bigint AS n FROM chunks`);
    const r = await upload(world.ada.datanet, world.ada.key, { ...DOCS.bread, title: 'another title' });
    expect(r.status).toBe(200);
    expect(r.body.duplicate).toBe(true);
    expect(r.body.document.title).toBe(DOCS.bread.title);
    expect(await count(`SELECT count(*)::bigint AS n FROM chunks`)).toBe(before);
  });

  it('accepts HTML: title from <title>, scripts and styles dropped, spans into the extracted text', async () => {
    const { title: _omit, ...withoutTitle } = DOCS.tides;
    const r = await upload(world.ada.datanet, world.ada.key, withoutTitle);
    expect(r.status).toBe(201);
    expect(r.body.document.title).toBe('Tides');
    const texts = await services.db.query<{ text: string }>(`SELECT text FROM chunks WHERE document_id = $1`, [
      r.body.document.id,
    ]);
    const joined = texts.rows.map((t) => t.text).join('\n');
    expect(joined).toContain('gravitational pull of the Moon');
    expect(joined).not.toContain('<p>');
    expect(joined).not.toContain('p{}');
  });

  it('accepts a multipart file upload with metadata as JSON text', async () => {
    const form = new FormData();
    form.set('file', new File([DOCS.bikes.content], 'flat-tyre.txt', { type: 'text/plain' }));
    form.set('metadata', JSON.stringify(DOCS.bikes.metadata));
    const r = await client.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, {
      key: world.bob.key,
      body: form,
    });
    expect(r.status).toBe(201);
    expect(r.body.document).toMatchObject({
      title: 'flat-tyre',
      contentType: 'text/plain',
      metadata: DOCS.bikes.metadata,
    });
  });

  it.each([
    ['an empty body', undefined, 400, /send JSON/],
    ['a wrong type', { title: 'x', content: 42 }, 400, /content/],
    ['an unknown field', { title: 'x', content: 'y', colour: 'red' }, 400, /colour|Unrecognized/i],
    [
      'an unsupported content type',
      { title: 'x', content: 'y', contentType: 'application/zip' },
      415,
      /unsupported content type/,
    ],
    ['metadata that is not an object', { title: 'x', content: 'y', metadata: [1] }, 400, /metadata/],
    ['no title', { content: 'plain words' }, 400, /title is required/],
    ['only whitespace', { title: 'x', content: '   \n  ' }, 400, /no text/],
  ])('refuses %s with a clear 4xx', async (_name, json, status, message) => {
    const before = await count(`SELECT count(*)::bigint AS n FROM documents`);
    const r = await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, {
      key: world.ada.key,
      ...(json === undefined ? {} : { json }),
    });
    expect(r.status).toBe(status);
    expect(r.body.error.message).toMatch(message);
    expect(r.body.error.requestId).toMatch(/^req_/);
    expect(await count(`SELECT count(*)::bigint AS n FROM documents`)).toBe(before);
  });

  it('refuses malformed JSON and oversized bodies', async () => {
    const bad = await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, {
      key: world.ada.key,
      body: '{"title": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('BAD_REQUEST');
    const big = await upload(world.ada.datanet, world.ada.key, { title: 'big', content: 'word '.repeat(5000) });
    expect(big.status).toBe(413);
    expect(big.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('refuses invalid UTF-8 in a file', async () => {
    const form = new FormData();
    form.set('file', new File([new Uint8Array([0x68, 0xff, 0xfe, 0x69])], 'bad.txt', { type: 'text/plain' }));
    const r = await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, {
      key: world.ada.key,
      body: form,
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/UTF-8/);
  });

  it('keeps tenants apart: no key, consumer key, another contributor, unknown datanet', async () => {
    expect((await upload(world.ada.datanet, '', DOCS.bikes)).status).toBe(401);
    expect((await upload(world.ada.datanet, world.consumer.key, DOCS.bikes)).status).toBe(403);
    expect((await upload(world.ada.datanet, world.bob.key, DOCS.bikes)).status).toBe(404);
    expect((await upload('dn_doesnotexist', world.ada.key, DOCS.bikes)).status).toBe(404);
    expect((await upload(world.ada.datanet, world.admin, { ...DOCS.bikes, title: 'by admin' })).status).toBe(201);
  });
});

describe('GET and DELETE /v1/documents/{id}', () => {
  it('reads, lists and deletes; a deleted document stays readable with deletedAt and cannot be deleted twice', async () => {
    const created = (
      await upload(world.bob.datanet, world.bob.key, { title: 'Short note', content: 'Bees make honey from nectar.' })
    ).body.document;
    expect((await client.call('GET', `/v1/documents/${created.id}`, { key: world.bob.key })).body.id).toBe(created.id);
    expect((await client.call('GET', `/v1/documents/${created.id}`, { key: world.ada.key })).status).toBe(404);
    const list = await client.call('GET', `/v1/datanets/${world.bob.datanet}/documents`, { key: world.bob.key });
    expect(list.body.data.map((d: { id: string }) => d.id)).toContain(created.id);

    expect((await client.call('DELETE', `/v1/documents/${created.id}`, { key: world.ada.key })).status).toBe(404);
    const del = await client.call('DELETE', `/v1/documents/${created.id}`, { key: world.bob.key });
    expect(del.status).toBe(200);
    expect(del.body.deletedAt).not.toBeNull();
    expect(await count(`SELECT count(*)::bigint AS n FROM chunks WHERE document_id = '${created.id}'`)).toBe(0);
    expect((await client.call('DELETE', `/v1/documents/${created.id}`, { key: world.bob.key })).status).toBe(404);
    expect((await client.call('GET', `/v1/documents/${created.id}/content`, { key: world.bob.key })).status).toBe(404);
    const after = await client.call('GET', `/v1/datanets/${world.bob.datanet}/documents`, { key: world.bob.key });
    expect(after.body.data.map((d: { id: string }) => d.id)).not.toContain(created.id);
    // The same content may come back as a new document after deletion.
    const again = await upload(world.bob.datanet, world.bob.key, {
      title: 'Short note',
      content: 'Bees make honey from nectar.',
    });
    expect(again.status).toBe(201);
    expect(again.body.document.id).not.toBe(created.id);
  });

  it('rejects malformed ids', async () => {
    const r = await client.call('GET', '/v1/documents/not-an-id', { key: world.bob.key });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/doc_/);
  });
});
