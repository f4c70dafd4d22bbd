import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateKeyToAccount } from 'viem/accounts';
import { createSiweMessage } from 'viem/siwe';
import { ANVIL_DEV_ACCOUNTS } from '../../shared/chain/anvil.ts';
import type { Services } from '../../shared/services/container.ts';
import { DOCS } from '../fixtures.ts';
import { createWorld, httpClient, type Client } from '../http.ts';
import { createTestServices } from '../services.ts';
import { browserSession, field } from './session.ts';

// The dashboards in-process (app.request): sign-in both ways, CSRF, CSP, figures equal to the API's,
// keys, statement CSV, and isolation between accounts. The browser suite (browser.test.ts) drives Chromium.

const ADA_KEY = ANVIL_DEV_ACCOUNTS[1].privateKey; // WALLETS.ada

let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;

beforeAll(async () => {
  services = await createTestServices({ CHAIN_ID: '1' }); // no chain here: wallets sign for the configured id
  client = httpClient(services);
  world = await createWorld(services, { credits: '100000000', price: '10000' });
  await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: DOCS.bread });
  await client.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, { key: world.bob.key, json: DOCS.bikes });
  for (const query of ['how long should bread dough rise?', 'fix a flat tyre', 'sourdough starter feeding'])
    expect(
      (await client.call('POST', '/v1/retrieve', { key: world.consumer.key, json: { query, topK: 2 } })).status,
    ).toBe(200);
});
afterAll(() => services.db.close());

async function siwe(
  s: ReturnType<typeof browserSession>,
  key: `0x${string}`,
  over: { domain?: string; nonce?: string } = {},
) {
  const page = await s.get('/dashboard/sign-in');
  const csrf = s.csrfOf(page.text);
  const { nonce } = JSON.parse((await s.get('/dashboard/sign-in/nonce')).text) as { nonce: string };
  const account = privateKeyToAccount(key);
  const message = createSiweMessage({
    address: account.address,
    chainId: 1,
    domain: over.domain ?? 'localhost',
    nonce: over.nonce ?? nonce,
    uri: 'http://localhost',
    version: '1',
    issuedAt: new Date(),
  });
  const signature = await account.signMessage({ message });
  return s.request('POST', '/dashboard/sign-in/siwe', {
    json: { message, signature },
    headers: { 'x-csrf-token': csrf },
  });
}

describe('dashboard sign-in and sessions', () => {
  it('serves the sign-in page with a strict CSP and no inline script', async () => {
    const s = browserSession(client.app);
    expect((await s.get('/dashboard')).location).toBe('/dashboard/sign-in');
    const page = await s.get('/dashboard/sign-in');
    expect(page.status).toBe(200);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.text).not.toMatch(/<script(?![^>]*src=)/);
    expect(page.headers.get('set-cookie')).toMatch(/cp_login=.*HttpOnly.*SameSite=Strict/i);
    expect((await s.get('/dashboard/consumer')).location).toBe('/dashboard/sign-in');
  });

  it('exchanges an API key for an HttpOnly session cookie and signs out', async () => {
    const s = browserSession(client.app);
    const r = await s.signInWithKey(world.consumer.key);
    expect(r.location).toBe('/dashboard/consumer');
    expect(r.headers.getSetCookie().join('\n')).toMatch(/cp_session=[^;]+;.*HttpOnly.*SameSite=Lax/i);
    expect(r.headers.getSetCookie().join('\n')).not.toContain(world.consumer.key);
    const page = await s.get('/dashboard/consumer');
    expect(page.status).toBe(200);
    expect(page.text).not.toContain(world.consumer.key);
    const out = await s.request('POST', '/dashboard/sign-out', { form: { _csrf: s.csrfOf(page.text) } });
    expect(out.location).toBe('/dashboard/sign-in');
    expect((await s.get('/dashboard/consumer')).location).toBe('/dashboard/sign-in');
  });

  it('marks the cookie Secure over HTTPS', async () => {
    const s = browserSession(client.app, 'https://dash.example');
    const r = await s.signInWithKey(world.consumer.key);
    expect(r.headers.getSetCookie().join('\n')).toMatch(/cp_session=.*Secure/);
  });

  it('refuses a wrong key, an admin key, and a POST without the CSRF token or from another origin', async () => {
    const s = browserSession(client.app);
    const bad = await s.submit('/dashboard/sign-in', '/dashboard/sign-in/key', {
      key: 'cp_live_000000000000000000000000',
    });
    expect(bad.location).toMatch(/sign-in\?error=/);
    const admin = await s.submit('/dashboard/sign-in', '/dashboard/sign-in/key', { key: world.admin });
    expect(admin.location).toMatch(/sign-in\?error=/);
    const noToken = await s.request('POST', '/dashboard/sign-in/key', { form: { key: world.consumer.key } });
    expect(noToken.status).toBe(403);
    await s.signInWithKey(world.consumer.key);
    const forged = await s.request('POST', '/dashboard/consumer/keys', { form: { name: 'evil', _csrf: 'nope' } });
    expect(forged.status).toBe(403);
    const page = await s.get('/dashboard/consumer');
    const crossOrigin = await s.request('POST', '/dashboard/consumer/keys', {
      form: { name: 'evil', _csrf: s.csrfOf(page.text) },
      headers: { origin: 'https://evil.example' },
    });
    expect(crossOrigin.status).toBe(403);
  });

  it('signs a contributor in with Ethereum (EIP-4361), once per nonce', async () => {
    const s = browserSession(client.app);
    const r = await siwe(s, ADA_KEY);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text).next).toBe('/dashboard/owner');
    expect((await s.get('/dashboard/owner')).status).toBe(200);
    // Replayed nonce, wrong domain: refused. A wallet with no account signs up as a consumer (self-serve).
    const t = browserSession(client.app);
    const first = await siwe(t, ANVIL_DEV_ACCOUNTS[2].privateKey);
    expect(first.status).toBe(200);
    const message = await siwe(browserSession(client.app), ADA_KEY, { domain: 'evil.example' });
    expect(message.status).toBe(401);
    const newcomer = await siwe(browserSession(client.app), ANVIL_DEV_ACCOUNTS[3].privateKey);
    expect(newcomer.status).toBe(200);
    expect(JSON.parse(newcomer.text).next).toBe('/dashboard/consumer');
    expect((await siwe(browserSession(client.app), ADA_KEY, { nonce: 'abcdefgh12345678' })).status).toBe(401);
  });
});

describe('dashboard figures', () => {
  it("shows the consumer's usage exactly as GET /v1/usage", async () => {
    const s = browserSession(client.app);
    await s.signInWithKey(world.consumer.key);
    const page = (await s.get('/dashboard/consumer')).text;
    const usage = (await client.call('GET', '/v1/usage', { key: world.consumer.key })).body;
    expect(field(page, 'balance')).toBe(usage.balance);
    expect(field(page, 'spend')).toBe(usage.spend);
    expect(field(page, 'credited')).toBe(usage.credited);
    expect(field(page, 'calls')).toBe(String(usage.calls));
    const parts = ['split-data', 'split-tokens', 'split-adapter', 'split-protocol'].map((f) => BigInt(field(page, f)!));
    expect(parts.reduce((a, b) => a + b, 0n)).toBe(BigInt(usage.spend));
    expect(field(page, 'split-total')).toBe(usage.spend);
  });

  it("shows the owner's earnings by status as GET /v1/earnings and /v1/payouts, and the funnel down to passages", async () => {
    const s = browserSession(client.app);
    await s.signInWithKey(world.ada.key);
    const page = (await s.get('/dashboard/owner')).text;
    const earnings = (await client.call('GET', '/v1/earnings', { key: world.ada.key })).body;
    expect(field(page, 'unsettled')).toBe(earnings.unsettled);
    expect(field(page, 'total')).toBe(earnings.total);
    expect(page).toContain('Ada notes');
    expect(page).not.toContain('Bob notes');
    const doc = earnings.byDocument[0];
    const dn = await s.get(`/dashboard/owner?level=document&parent=${world.ada.datanet}`);
    expect(dn.text).toContain(doc.title);
    const passages = await s.get(`/dashboard/owner?level=passage&parent=${doc.documentId}&sort=retrieved`);
    expect(passages.status).toBe(200);
    expect(passages.text).toMatch(/chk_/);
  });

  it("answers a malformed overview query with the dashboard's 400 page, naming the parameter", async () => {
    const s = browserSession(client.app);
    await s.signInWithKey(world.ada.key);
    for (const [query, param] of [
      ['level=chapter', 'level'],
      ['sort=price', 'sort'],
      ['page=0', 'page'],
      ['page=two', 'page'],
    ]) {
      const bad = await s.get(`/dashboard/owner?${query}`);
      expect(bad.status, query).toBe(400);
      expect(bad.text, query).toContain('Something went wrong');
      expect(bad.text, query).toContain(`${param}:`);
    }
    expect((await s.get('/dashboard/owner?level=document')).status).toBe(400); // parent required below datanets
    expect((await s.get('/dashboard/owner?level=datanet&sort=name&page=2')).status).toBe(200);
  });

  it('exports a statement whose rows equal GET /v1/earnings', async () => {
    const s = browserSession(client.app);
    await s.signInWithKey(world.ada.key);
    const csv = await s.get('/dashboard/owner/statement.csv');
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const earnings = (await client.call('GET', '/v1/earnings', { key: world.ada.key })).body;
    const lines = csv.text
      .trim()
      .split('\r\n')
      .map((l) => l.split(','));
    expect(lines.find((l) => l[0] === 'total' && l[1] === 'earned')?.[6]).toBe(earnings.total);
    for (const d of earnings.byDocument)
      expect(lines.find((l) => l[0] === 'document' && l[1] === d.documentId)?.[6]).toBe(d.earned);
  });
});

describe('page details', () => {
  it('serves a favicon and links it from every page', async () => {
    for (const path of ['/favicon.ico', '/dashboard/assets/favicon.svg']) {
      const r = await client.app.request(path);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toBe('image/svg+xml');
    }
    expect((await browserSession(client.app).get('/dashboard/sign-in')).text).toContain(
      'rel="icon" href="/dashboard/assets/favicon.svg"',
    );
  });

  it('labels passages without Markdown marks, cut at a word boundary, and shows amounts in dollars with micro-units on hover', async () => {
    const s = browserSession(client.app);
    await s.signInWithKey(world.ada.key);
    const earnings = (await client.call('GET', '/v1/earnings', { key: world.ada.key })).body;
    const page = (await s.get(`/dashboard/owner?level=passage&parent=${earnings.byDocument[0].documentId}`)).text;
    const labels = [...page.matchAll(/<span title="chk_[A-Za-z0-9]+">([^<]*)<\/span>/g)].map((m) => m[1]!);
    expect(labels.length).toBeGreaterThan(0);
    for (const label of labels) {
      expect(label).not.toMatch(/#/);
      if (label.endsWith('…'))
        expect(DOCS.bread.content.replace(/#+ /g, '').replace(/\s+/g, ' ')).toMatch(
          new RegExp(`${label.slice(0, -1).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[ ,.;:]`),
        );
    }
    expect(page).not.toMatch(/micro-units</);
    expect(page).toMatch(/title="\d+ micro-USD">\$\d/);
  });
});

describe('keys and isolation', () => {
  it('creates a key shown once, renames it, revokes it, and the API refuses it', async () => {
    const s = browserSession(client.app);
    await s.signInWithKey(world.consumer.key);
    const keysOf = async () =>
      Number(
        (
          await services.db.query<{ n: bigint }>(`SELECT count(*)::bigint AS n FROM api_keys WHERE account_id = $1`, [
            world.consumer.id,
          ])
        ).rows[0]!.n,
      );
    const before = await keysOf();
    // Post/Redirect/Get: the POST redirects; the GET it leads to shows the key once.
    const created = await s.submit('/dashboard/consumer', '/dashboard/consumer/keys', { name: 'ci runner' });
    expect(created.status).toBe(303);
    expect(created.location).toBe('/dashboard/consumer#new-key');
    expect(created.text).not.toMatch(/cp_live_/);
    const shown = await s.get('/dashboard/consumer');
    const key = shown.text.match(/id="new-key">(cp_live_[A-Za-z0-9]+)</)![1]!;
    expect(shown.text).toContain('“ci runner”');
    expect((await client.call('GET', '/v1/usage', { key })).status).toBe(200);
    // A reload shows it no more and creates nothing.
    const again = (await s.get('/dashboard/consumer')).text;
    expect(again).not.toContain(key);
    expect(await keysOf()).toBe(before + 1);
    const keyId = again
      .match(/data-key-row="(key_[A-Za-z0-9]+)"/g)!
      .map((m) => m.slice(14, -1))
      .pop()!;
    const renamed = await s.submit('/dashboard/consumer', `/dashboard/consumer/keys/${keyId}/rename`, {
      name: 'renamed runner',
    });
    expect(renamed.status).toBe(303);
    expect((await s.get(renamed.location!)).text).toMatch(/Key renamed to “renamed runner” \(cp_live_/);
    // Revoke asks first, naming the key; the confirmation's form does the POST.
    const confirm = await s.get(`/dashboard/consumer/keys/${keyId}/revoke`);
    expect(confirm.status).toBe(200);
    expect(confirm.text).toMatch(/Revoke the key <strong>“renamed runner” \(cp_live_/);
    expect(confirm.text).toContain(`action="/dashboard/consumer/keys/${keyId}/revoke"`);
    const revoked = await s.submit(
      `/dashboard/consumer/keys/${keyId}/revoke`,
      `/dashboard/consumer/keys/${keyId}/revoke`,
      {},
    );
    expect(revoked.status).toBe(303);
    expect((await s.get(revoked.location!)).text).toMatch(/Key “renamed runner” \(cp_live_[A-Za-z0-9]+…\) revoked/);
    expect((await client.call('GET', '/v1/usage', { key })).status).toBe(401);
    // A revoked key no longer opens a dashboard session either.
    await expect(browserSession(client.app).signInWithKey(key)).rejects.toThrow();
  });

  it("never reaches another account's data", async () => {
    const other = await client.call('POST', '/v1/admin/accounts', {
      key: world.admin,
      json: { kind: 'consumer', name: 'Other', credits: '5' },
    });
    const s = browserSession(client.app);
    await s.signInWithKey(other.body.apiKey.key);
    // Another consumer's key cannot be revoked or renamed.
    const revoke = await s.submit('/dashboard/consumer', `/dashboard/consumer/keys/${world.consumer.keyId}/revoke`, {});
    expect(revoke.status).toBe(404);
    expect((await client.call('GET', '/v1/usage', { key: world.consumer.key })).status).toBe(200);
    // A consumer cannot open owner pages; a contributor cannot read another's receipt pages.
    expect((await s.get('/dashboard/owner')).status).toBe(403);
    const bob = browserSession(client.app);
    await bob.signInWithKey(world.bob.key);
    const adaPage = browserSession(client.app);
    await adaPage.signInWithKey(world.ada.key);
    // Bob may open a receipt of Ada's only when a source of his was in it (even at $0), exactly as the API decides.
    const adas = [
      ...new Set(
        [...(await adaPage.get('/dashboard/owner')).text.matchAll(/receipts\/(rcpt_[A-Za-z0-9]+)/g)].map((m) => m[1]!),
      ),
    ];
    const adaOnly = (
      await client.call('POST', '/v1/retrieve', {
        key: world.consumer.key,
        json: { query: 'bread dough', datanets: [world.ada.datanet], topK: 1 },
      })
    ).body.attribution.receiptId;
    for (const rcpt of [...adas, adaOnly]) {
      expect((await adaPage.get(`/dashboard/owner/receipts/${rcpt}`)).status).toBe(200);
      const api = (await client.call('GET', `/v1/receipts/${rcpt}`, { key: world.bob.key })).status;
      expect((await bob.get(`/dashboard/owner/receipts/${rcpt}`)).status).toBe(api === 404 ? 404 : 200);
    }
    expect((await bob.get(`/dashboard/owner/receipts/${adaOnly}`)).status).toBe(404);
  });
});

describe('test mode', () => {
  it('a cp_test_ key opens a test-mode session that shows test money only, as GET /v1/usage does for that key', async () => {
    const created = await client.call('POST', '/v1/admin/accounts', {
      key: world.admin,
      json: { kind: 'consumer', name: 'Tester', credits: '777', keyMode: 'test' },
    });
    expect(created.status).toBe(201);
    const testKey = created.body.apiKey.key as string;
    expect(testKey).toMatch(/^cp_test_/);
    const s = browserSession(client.app);
    await s.signInWithKey(testKey);
    const page = (await s.get('/dashboard/consumer')).text;
    expect(page).toContain('Test mode');
    const usage = (await client.call('GET', '/v1/usage', { key: testKey })).body;
    expect(usage.livemode).toBe(false);
    expect(field(page, 'balance')).toBe(usage.balance);
    expect(field(page, 'balance')).toBe('777');
    // Keys made in a test session are test keys.
    const made = await s.submit('/dashboard/consumer', '/dashboard/consumer/keys', { name: 'another test key' });
    expect(made.status).toBe(303);
    expect((await s.get('/dashboard/consumer')).text).toMatch(/id="new-key">cp_test_/);
  });
});
