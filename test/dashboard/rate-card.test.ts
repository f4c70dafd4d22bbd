import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../shared/services/container.ts';
import { createWorld, httpClient, type Client } from '../http.ts';
import { createTestServices } from '../services.ts';
import { browserSession } from './session.ts';

// The rate-card form in-process: CSRF, Post/Redirect/Get, a refused form shown as typed, other
// tenants and consumers kept out, and a test-mode session refused (live calls are charged by it).
let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;

beforeAll(async () => {
  services = await createTestServices();
  client = httpClient(services);
  world = await createWorld(services, { credits: '1000000', price: '1000' });
});
afterAll(() => services.db.close());

const signedIn = async (key: string) => {
  const s = browserSession(client.app);
  await s.signInWithKey(key);
  return s;
};
const page = (dn: string) => `/dashboard/owner/datanets/${dn}/rate-card`;
const FORM = { retrieval: '0.002', answer: '0.003', minimum: '0', test: 'excluded', testRetrieval: '', testAnswer: '' };
const version = async () =>
  (await client.call('GET', `/v1/datanets/${world.ada.datanet}/rate-card`, { key: world.ada.key })).body.version;

describe('dashboard rate card', () => {
  it('saves a version with Post/Redirect/Get; the same terms again add none', async () => {
    const s = await signedIn(world.ada.key);
    const get = await s.get(page(world.ada.datanet));
    expect(get.status).toBe(200);
    expect(get.text).toContain('Save as version 2');
    expect(get.text).toContain(`/v1/datanets/${world.ada.datanet}/license.xml`);
    const r = await s.submit(page(world.ada.datanet), page(world.ada.datanet), FORM);
    expect(r.status).toBe(303);
    expect(r.location).toBe(`${page(world.ada.datanet)}?saved=2`);
    expect((await s.get(r.location!)).text).toContain('version 2 is in force');
    const api = (await client.call('GET', `/v1/datanets/${world.ada.datanet}/rate-card`, { key: world.ada.key })).body;
    expect(api).toMatchObject({
      version: 2,
      prices: { retrieval: '2000', answer: '3000' },
      test: { mode: 'excluded' },
    });
    const again = await s.submit(page(world.ada.datanet), page(world.ada.datanet), FORM);
    expect(again.location).toBe(`${page(world.ada.datanet)}?saved=same`);
    expect(await version()).toBe(2);
  });

  it('shows a refused form as typed, with the reason, and saves nothing', async () => {
    const s = await signedIn(world.ada.key);
    const r = await s.submit(page(world.ada.datanet), page(world.ada.datanet), {
      ...FORM,
      answer: '0.0000001',
      test: 'price',
      testRetrieval: '0.001',
    });
    expect(r.status).toBe(400);
    expect(r.text).toContain('Not saved.');
    expect(r.text).toMatch(/value="0\.0000001"/);
    const missing = await s.submit(page(world.ada.datanet), page(world.ada.datanet), { ...FORM, test: 'price' });
    expect(missing.status).toBe(400);
    expect(missing.text).toContain('give both test prices');
    expect(await version()).toBe(2);
  });

  it('refuses a post without the CSRF token, other owners, consumers and test-mode sessions', async () => {
    const s = await signedIn(world.ada.key);
    const forged = await s.request('POST', page(world.ada.datanet), { form: FORM });
    expect(forged.status).toBe(403);
    const bob = await signedIn(world.bob.key);
    expect((await bob.get(page(world.ada.datanet))).status).toBe(404);
    expect((await bob.submit(page(world.bob.datanet), page(world.ada.datanet), FORM)).status).toBe(404);
    const consumer = await signedIn(world.consumer.key);
    expect((await consumer.get(page(world.ada.datanet))).status).toBe(403);
    const testKey = (
      await client.call('POST', `/v1/admin/accounts/${world.ada.id}/keys`, { key: world.admin, json: { mode: 'test' } })
    ).body.key as string;
    const test = await signedIn(testKey);
    const shown = await test.get(page(world.ada.datanet));
    expect(shown.text).toContain('test-mode session');
    const refused = await test.submit(page(world.ada.datanet), page(world.ada.datanet), { ...FORM, retrieval: '9' });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('test mode cannot change a rate card');
    expect(await version()).toBe(2);
  });
});
