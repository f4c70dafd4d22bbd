import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../shared/services/container.ts';
import { makeDocx, makeEncryptedPdf, makePdf } from '../document-files.ts';
import { createWorld, httpClient, type Client } from '../http.ts';
import { createTestServices } from '../services.ts';
import { browserSession } from './session.ts';

// The owner's datanet pages in-process: create a datanet, upload several files at once (the form
// without script) and one at a time (the script's JSON path), statuses and earnings, delete with a
// confirmation; every form redirects (PRG); other tenants see nothing.
let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;

beforeAll(async () => {
  services = await createTestServices();
  client = httpClient(services);
  world = await createWorld(services, { credits: '100000000', price: '1000' });
});
afterAll(() => services.db.close());

const PDF = 'application/pdf';
const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
const countDocs = async (datanet: string) =>
  Number(
    (
      await services.db.query<{ n: bigint }>(
        `SELECT count(*)::bigint AS n FROM documents WHERE datanet_id = $1 AND deleted_at IS NULL`,
        [datanet],
      )
    ).rows[0]!.n,
  );

async function owner() {
  const s = browserSession(client.app);
  await s.signInWithKey(world.ada.key);
  return s;
}

async function upload(s: ReturnType<typeof browserSession>, datanet: string, files: File[], json = false) {
  const page = await s.get(`/dashboard/owner/datanets/${datanet}`);
  const form = new FormData();
  form.set('_csrf', s.csrfOf(page.text));
  for (const f of files) form.append('file', f);
  return s.request('POST', `/dashboard/owner/datanets/${datanet}/documents`, {
    multipart: form,
    headers: json ? { accept: 'application/json' } : {},
  });
}

describe('owner datanet pages', () => {
  let datanet: string;

  it('creates a datanet from a form, priced in dollars, and redirects to it', async () => {
    const s = await owner();
    const r = await s.submit('/dashboard/owner/datanets', '/dashboard/owner/datanets', {
      name: 'Field guides',
      price: '0.0025',
      description: '',
    });
    expect(r.status).toBe(303);
    datanet = r.location!.match(/datanets\/(dn_[A-Za-z0-9]+)/)![1]!;
    const api = (await client.call('GET', `/v1/datanets/${datanet}`, { key: world.ada.key })).body;
    expect(api).toMatchObject({ name: 'Field guides', pricePerSource: '2500', ownerAccountId: world.ada.id });
    const page = await s.get(r.location!);
    expect(page.text).toContain('Datanet created');
    expect(page.text).toContain('$0.002500 per retrieved source');
    const bad = await s.submit('/dashboard/owner/datanets', '/dashboard/owner/datanets', {
      name: 'x',
      price: '0.0000001',
    });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('up to 6 decimals');
  });

  it('uploads several files in one form post: indexed, duplicate and refused counted, nothing half-written', async () => {
    const s = await owner();
    const pdf = await makePdf([['Alpine flowers bloom in June.'], ['Edelweiss grows on limestone.']], {
      title: 'Alpine flora',
    });
    const files = [
      new File([pdf], 'alpine.pdf', { type: PDF }),
      new File([await makeDocx()], 'greenhouse.docx', { type: DOCX }),
      new File([pdf], 'alpine-copy.pdf', { type: PDF }),
      new File([await makeEncryptedPdf()], 'locked.pdf', { type: PDF }),
    ];
    const r = await upload(s, datanet, files);
    expect(r.status).toBe(303);
    expect(r.location).toContain('indexed=2&duplicates=1&refused=1');
    expect(await countDocs(datanet)).toBe(2);
    const page = (await s.get(r.location!)).text;
    expect(page).toContain('Upload finished: 2 indexed, 1 already here, 1 refused');
    expect(page).toContain('Alpine flora');
    expect(page).toContain('greenhouse');
    expect(page.match(/class="status-indexed">Indexed/g)).toHaveLength(2);
  });

  it("answers the script's one-file requests as JSON, errors included", async () => {
    const s = await owner();
    const ok = await upload(
      s,
      datanet,
      [
        new File(['# Moss\n\nMoss grows on the north side of trees in damp forests.'], 'moss.md', {
          type: 'text/markdown',
        }),
      ],
      true,
    );
    expect(ok.status).toBe(201);
    expect(JSON.parse(ok.text)).toMatchObject({ duplicate: false, document: { title: 'moss', chunkCount: 1 } });
    const refused = await upload(s, datanet, [new File([await makeEncryptedPdf()], 'locked.pdf', { type: PDF })], true);
    expect(refused.status).toBe(422);
    expect(JSON.parse(refused.text).error.message).toMatch(/encrypted/);
    const noCsrf = new FormData();
    noCsrf.append('file', new File(['text'], 'a.txt', { type: 'text/plain' }));
    expect(
      (await s.request('POST', `/dashboard/owner/datanets/${datanet}/documents`, { multipart: noCsrf })).status,
    ).toBe(403);
  });

  it('shows earnings per document once a call pays for it', async () => {
    const r = await client.call('POST', '/v1/retrieve', {
      key: world.consumer.key,
      json: { query: 'where does moss grow on trees', datanets: [datanet], topK: 1 },
    });
    expect(r.status).toBe(200);
    const earned = r.body.attribution.sources[0].amount;
    const page = (await (await owner()).get(`/dashboard/owner/datanets/${datanet}`)).text;
    const row = page.slice(page.indexOf(`data-document="${r.body.sources[0].documentId}"`));
    expect(row).toMatch(new RegExp(`data-micros="${earned}"`));
    const list = (await (await owner()).get('/dashboard/owner/datanets')).text;
    expect(list).toContain('Field guides');
  });

  it('deletes a document after a confirmation naming it', async () => {
    const s = await owner();
    const docs = (await client.call('GET', `/v1/datanets/${datanet}/documents`, { key: world.ada.key })).body.data;
    const moss = docs.find((d: { title: string }) => d.title === 'moss');
    const confirm = await s.get(`/dashboard/owner/documents/${moss.id}/delete`);
    expect(confirm.text).toContain('Delete <strong>“moss”</strong>?');
    const r = await s.submit(
      `/dashboard/owner/documents/${moss.id}/delete`,
      `/dashboard/owner/documents/${moss.id}/delete`,
      {},
    );
    expect(r.status).toBe(303);
    expect((await s.get(r.location!)).text).toContain('Deleted “moss”');
    expect(
      (await client.call('GET', `/v1/documents/${moss.id}`, { key: world.ada.key })).body.deletedAt,
    ).not.toBeNull();
  });

  it("keeps tenants apart: another owner's datanet and documents look missing; consumers get 403", async () => {
    const bob = browserSession(client.app);
    await bob.signInWithKey(world.bob.key);
    expect((await bob.get(`/dashboard/owner/datanets/${datanet}`)).status).toBe(404);
    expect((await bob.get('/dashboard/owner/datanets')).text).not.toContain(`data-datanet="${datanet}"`);
    const docs = (await client.call('GET', `/v1/datanets/${datanet}/documents`, { key: world.ada.key })).body.data;
    expect(
      (await bob.submit('/dashboard/owner/datanets', `/dashboard/owner/documents/${docs[0].id}/delete`, {})).status,
    ).toBe(404);
    const before = await countDocs(datanet);
    const page = await bob.get('/dashboard/owner/datanets');
    const form = new FormData();
    form.set('_csrf', bob.csrfOf(page.text));
    form.append('file', new File(['intruder text here'], 'x.txt', { type: 'text/plain' }));
    expect(
      (await bob.request('POST', `/dashboard/owner/datanets/${datanet}/documents`, { multipart: form })).status,
    ).toBe(404);
    expect(await countDocs(datanet)).toBe(before);
    const consumer = browserSession(client.app);
    await consumer.signInWithKey(world.consumer.key);
    expect((await consumer.get('/dashboard/owner/datanets')).status).toBe(403);
  });
});

describe('webhooks page', () => {
  it('adds an endpoint (secret shown once after the redirect), lists deliveries, replays one, removes it', async () => {
    const s = browserSession(client.app);
    await s.signInWithKey(world.consumer.key);
    const page = await s.get('/dashboard/webhooks');
    expect(page.text).toContain('value="balance.low"');
    expect(page.text).not.toContain('value="earnings.settled"');
    const csrf = s.csrfOf(page.text);
    // The threshold is today's balance, in dollars: the next charge crosses it.
    const balance = BigInt((await client.call('GET', '/v1/usage', { key: world.consumer.key })).body.balance);
    const dollars = `${balance / 1_000_000n}.${(balance % 1_000_000n).toString().padStart(6, '0')}`;
    const form = new URLSearchParams([
      ['_csrf', csrf],
      ['url', 'https://consumer.example/hooks'],
      ['events', 'balance.low'],
      ['events', 'answer.completed'],
      ['threshold', dollars],
    ]);
    const created = await client.app.request('http://localhost/dashboard/webhooks', {
      method: 'POST',
      body: form.toString(),
      redirect: 'manual',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        cookie: [...s.jar].map(([k, v]) => `${k}=${v}`).join('; '),
      },
    });
    expect(created.status).toBe(303);
    for (const c of created.headers.getSetCookie())
      s.jar.set(c.split(';')[0]!.split('=')[0]!, c.split(';')[0]!.split('=').slice(1).join('='));
    const shown = await s.get('/dashboard/webhooks');
    expect(shown.text).toMatch(/id="new-secret">whsec_/);
    expect((await s.get('/dashboard/webhooks')).text).not.toMatch(/whsec_/);
    const api = (await client.call('GET', '/v1/webhooks', { key: world.consumer.key })).body.data;
    expect(api).toHaveLength(1);
    expect(api[0]).toMatchObject({
      events: ['balance.low', 'answer.completed'],
      balanceLowThreshold: balance.toString(),
    });
    // A charge takes the balance below it: one balance.low delivery in the log, replayable.
    expect(
      (
        await client.call('POST', '/v1/retrieve', {
          key: world.consumer.key,
          json: { query: 'alpine flowers', topK: 1 },
        })
      ).status,
    ).toBe(200);
    const log = await s.get('/dashboard/webhooks');
    const event = log.text.match(/data-event="(msg_[0-9a-f]{32})"/)![1]!;
    expect(log.text).toContain('balance.low');
    const replay = await s.submit(
      '/dashboard/webhooks',
      `/dashboard/webhooks/${api[0].id}/deliveries/${event}/replay`,
      {},
    );
    expect(replay.status).toBe(303);
    expect((await s.get(replay.location!)).text).toContain('Replay queued');
    const bob = browserSession(client.app);
    await bob.signInWithKey(world.bob.key);
    expect((await bob.submit('/dashboard/webhooks', `/dashboard/webhooks/${api[0].id}/delete`, {})).status).toBe(404);
    const removed = await s.submit('/dashboard/webhooks', `/dashboard/webhooks/${api[0].id}/delete`, {});
    expect(removed.status).toBe(303);
    expect((await client.call('GET', '/v1/webhooks', { key: world.consumer.key })).body.data).toEqual([]);
  });
});
