import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { privateKeyToAccount } from 'viem/accounts';
import { createSiweMessage } from 'viem/siwe';
import { localChainIdentity } from '../../functions/local/shared-services.ts';
import { ANVIL_DEV_ACCOUNTS } from '../../shared/chain/anvil.ts';
import { createSettlementChain } from '../../shared/chain/distributor.ts';
import { loadConfig, type Config } from '../../shared/config.ts';
import type { Services } from '../../shared/services/container.ts';
import { DOCS } from '../fixtures.ts';
import { createWorld, httpClient, type Client } from '../http.ts';
import { createTestServices } from '../services.ts';
import { browserSession } from './session.ts';

// Issue #19, probed as an attacker would, in process (app.request) on both databases: sessions that
// end with their credential, sign-in bound to the configured origin and chain, the test-mode wall in
// the dashboard, and the small leaks (another owner's titles, dev keys, notices from the URL, HSTS, /docs).

const ADA_KEY = ANVIL_DEV_ACCOUNTS[1].privateKey; // WALLETS.ada
const CY = ANVIL_DEV_ACCOUNTS[3];

let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;
let liveReceipt: string;
let adaDoc: { id: string; title: string };

beforeAll(async () => {
  services = await createTestServices({ CHAIN_ID: '31337' });
  client = httpClient(services);
  world = await createWorld(services, { credits: '100000000', price: '10000' });
  const up = await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, {
    key: world.ada.key,
    json: DOCS.bread,
  });
  adaDoc = { id: up.body.document.id, title: DOCS.bread.title };
  await client.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, { key: world.bob.key, json: DOCS.bikes });
  const r = await client.call('POST', '/v1/retrieve', {
    key: world.consumer.key,
    json: { query: 'how long should bread dough rise?', topK: 2 },
  });
  expect(r.status).toBe(200);
  liveReceipt = r.body.attribution.receiptId;
});
afterAll(() => services.db.close());

/** Runs `fn` with some configuration changed, as another deployment would have it. */
async function withConfig<T>(patch: (c: Config) => Config, fn: () => Promise<T>): Promise<T> {
  const saved = services.config;
  services.config = patch(saved);
  try {
    return await fn();
  } finally {
    services.config = saved;
  }
}

const newKey = async (accountId: string, mode: 'live' | 'test', name?: string) => {
  const r = await client.call('POST', `/v1/admin/accounts/${accountId}/keys`, {
    key: world.admin,
    json: { mode, ...(name ? { name } : {}) },
  });
  expect(r.status).toBe(201);
  return r.body as { id: string; key: string };
};
const newConsumer = async (name: string) => {
  const r = await client.call('POST', '/v1/admin/accounts', {
    key: world.admin,
    json: { kind: 'consumer', name, credits: '1000' },
  });
  expect(r.status).toBe(201);
  return { id: r.body.account.id as string, key: r.body.apiKey.key as string, keyId: r.body.apiKey.id as string };
};
const sessionRows = async (where: string, value: string) =>
  Number(
    (
      await services.db.query<{ n: string }>(`SELECT count(*)::text AS n FROM dashboard_sessions WHERE ${where} = $1`, [
        value,
      ])
    ).rows[0]!.n,
  );

type Browser = ReturnType<typeof browserSession>;

interface SiweOptions {
  domain?: string;
  uri?: string;
  chainId?: number;
  issuedAt?: Date;
  raw?: (message: string) => string;
}
async function siwe(s: Browser, key: `0x${string}`, o: SiweOptions = {}, headers: Record<string, string> = {}) {
  const page = await s.get('/dashboard/sign-in?notice=fresh');
  const csrf = s.csrfOf(page.text);
  const nonceReply = await s.get('/dashboard/sign-in/nonce');
  const nonce = nonceReply.status === 200 ? (JSON.parse(nonceReply.text).nonce as string) : 'abcdefgh12345678';
  const account = privateKeyToAccount(key);
  let message = createSiweMessage({
    address: account.address,
    chainId: o.chainId ?? 31337,
    domain: o.domain ?? 'localhost',
    nonce,
    uri: o.uri ?? 'http://localhost',
    version: '1',
    issuedAt: o.issuedAt ?? new Date(),
  });
  if (o.raw) message = o.raw(message);
  const signature = await account.signMessage({ message });
  return s.request('POST', '/dashboard/sign-in/siwe', {
    json: { message, signature },
    headers: { 'x-csrf-token': csrf, ...headers },
  });
}

describe('a session ends with the credential that opened it', () => {
  it('revoking the key (DELETE /v1/keys/{id}, by another key) ends its dashboard session at once: no page, no new keys', async () => {
    const acme = await newConsumer('Leaky');
    const other = await newKey(acme.id, 'live', 'ops');
    const s = browserSession(client.app);
    await s.signInWithKey(acme.key);
    const page = await s.get('/dashboard/consumer');
    expect(page.status).toBe(200);
    expect(await sessionRows('key_id', acme.keyId)).toBe(1);

    expect((await client.call('DELETE', `/v1/keys/${acme.keyId}`, { key: other.key })).status).toBe(200);
    expect(await sessionRows('key_id', acme.keyId)).toBe(0); // deleted with the revocation
    expect((await s.get('/dashboard/consumer')).location).toBe('/dashboard/sign-in');
    const mint = await s.request('POST', '/dashboard/consumer/keys', {
      form: { name: 'backdoor', _csrf: s.csrfOf(page.text) },
    });
    expect(mint.status).not.toBe(200);
    expect(mint.text).not.toMatch(/cp_live_/);
    const keys = (await client.call('GET', '/v1/keys', { key: other.key })).body.data as { name: string }[];
    expect(keys.map((k) => k.name)).not.toContain('backdoor');
  });

  it("a contributor's key session ends too: owner page and statement refused", async () => {
    const spare = await newKey(world.bob.id, 'live');
    const s = browserSession(client.app);
    await s.signInWithKey(spare.key);
    expect((await s.get('/dashboard/owner')).status).toBe(200);
    expect((await client.call('DELETE', `/v1/keys/${spare.id}`, { key: world.bob.key })).status).toBe(200);
    expect((await s.get('/dashboard/owner')).location).toBe('/dashboard/sign-in');
    const csv = await s.get('/dashboard/owner/statement.csv');
    expect(csv.status).not.toBe(200);
    expect(csv.text).not.toContain('earned');
  });

  it('disabling an account ends its wallet and key sessions, refuses its keys and its wallet; enabling lets keys work again', async () => {
    const created = await client.call('POST', '/v1/admin/accounts', {
      key: world.admin,
      json: { kind: 'contributor', name: 'Cy', wallet: CY.address },
    });
    expect(created.status).toBe(201);
    const cy = { id: created.body.account.id as string, key: created.body.apiKey.key as string };
    const wallet = browserSession(client.app);
    expect((await siwe(wallet, CY.privateKey)).status).toBe(200);
    const byKey = browserSession(client.app);
    await byKey.signInWithKey(cy.key);
    expect((await wallet.get('/dashboard/owner')).status).toBe(200);

    const testAdmin = (
      await newKey(
        (
          await services.db.query<{ account_id: string }>(
            `SELECT account_id FROM api_keys WHERE role = 'admin' LIMIT 1`,
          )
        ).rows[0]!.account_id,
        'test',
      )
    ).key;
    expect((await client.call('POST', `/v1/admin/accounts/${cy.id}/disable`, { key: testAdmin })).status).toBe(403);
    const disabled = await client.call('POST', `/v1/admin/accounts/${cy.id}/disable`, { key: world.admin });
    expect(disabled.status).toBe(200);
    expect(disabled.body.disabledAt).not.toBeNull();
    expect(await sessionRows('account_id', cy.id)).toBe(0);
    expect((await wallet.get('/dashboard/owner')).location).toBe('/dashboard/sign-in');
    expect((await byKey.get('/dashboard/owner')).location).toBe('/dashboard/sign-in');
    expect((await client.call('GET', '/v1/earnings', { key: cy.key })).status).toBe(401);
    const again = await siwe(browserSession(client.app), CY.privateKey);
    expect(again.status).toBe(401);
    expect(JSON.parse(again.text).error.message).toMatch(/disabled/);

    expect(
      (await client.call('POST', `/v1/admin/accounts/${cy.id}/enable`, { key: world.admin })).body.disabledAt,
    ).toBeNull();
    expect((await client.call('GET', '/v1/earnings', { key: cy.key })).status).toBe(200);
    expect((await wallet.get('/dashboard/owner')).location).toBe('/dashboard/sign-in'); // ended sessions stay ended
  });

  it('lists the sessions of the account; one can be ended from another browser, and "sign out everywhere" ends all', async () => {
    const multi = await newConsumer('Multi');
    const a = browserSession(client.app);
    const b = browserSession(client.app);
    await a.signInWithKey(multi.key);
    await b.signInWithKey(multi.key);
    const list = await a.get('/dashboard/sessions');
    expect(list.status).toBe(200);
    const ids = [...list.text.matchAll(/data-session-row="(ses_[A-Za-z0-9]+)"/g)].map((m) => m[1]!);
    expect(ids).toHaveLength(2);
    expect(list.text).toContain('(this browser)');
    const bId = (
      await services.db.query<{ id: string }>(
        `SELECT id FROM dashboard_sessions WHERE account_id = $1 ORDER BY created_at DESC LIMIT 1`,
        [multi.id],
      )
    ).rows[0]!.id;
    // Another account cannot end them.
    const stranger = browserSession(client.app);
    await stranger.signInWithKey(world.consumer.key);
    expect((await stranger.submit('/dashboard/sessions', `/dashboard/sessions/${bId}/end`, {})).status).toBe(404);
    expect((await b.get('/dashboard/consumer')).status).toBe(200);

    const ended = await a.submit('/dashboard/sessions', `/dashboard/sessions/${bId}/end`, {});
    expect(ended.location).toBe('/dashboard/sessions');
    expect((await a.get('/dashboard/sessions')).text).toContain('Session ended');
    expect((await b.get('/dashboard/consumer')).location).toBe('/dashboard/sign-in');
    await b.signInWithKey(multi.key);
    const all = await a.submit('/dashboard/sessions', '/dashboard/sessions/end-all', {});
    expect(all.location).toBe('/dashboard/sign-in');
    expect((await a.get('/dashboard/consumer')).location).toBe('/dashboard/sign-in');
    expect((await b.get('/dashboard/consumer')).location).toBe('/dashboard/sign-in');
    expect(await sessionRows('account_id', multi.id)).toBe(0);
  });

  it("creating a key needs a sign-in within 10 minutes; signing in again replaces this browser's session", async () => {
    const fresh = await newConsumer('Fresh');
    const s = browserSession(client.app);
    await s.signInWithKey(fresh.key);
    await services.db.query(
      `UPDATE dashboard_sessions SET created_at = now() - interval '11 minutes' WHERE account_id = $1`,
      [fresh.id],
    );
    const stale = await s.submit('/dashboard/consumer', '/dashboard/consumer/keys', { name: 'late' });
    expect(stale.status).toBe(303);
    expect(stale.location).toBe('/dashboard/sign-in?notice=fresh');
    const page = await s.get('/dashboard/sign-in?notice=fresh');
    expect(page.status).toBe(200);
    expect(page.text).toContain('recent sign-in');
    expect((await client.call('GET', '/v1/keys', { key: fresh.key })).body.data).toHaveLength(1);

    const again = await s.request('POST', '/dashboard/sign-in/key', {
      form: { key: fresh.key, _csrf: s.csrfOf(page.text) },
    });
    expect(again.location).toBe('/dashboard/consumer');
    expect(await sessionRows('account_id', fresh.id)).toBe(1);
    const made = await s.submit('/dashboard/consumer', '/dashboard/consumer/keys', { name: 'now' });
    expect(made.location).toBe('/dashboard/consumer#new-key'); // Post/Redirect/Get: the key is shown by the GET
    expect((await s.get('/dashboard/consumer')).text).toMatch(/id="new-key">cp_live_/);
  });
});

describe('sign-in with Ethereum is bound to the configured origin and chain', () => {
  it('refuses a message signed for another domain even when the Host header says that domain', async () => {
    const evil = browserSession(client.app, 'http://evil.example');
    const r = await siwe(evil, ADA_KEY, { domain: 'evil.example', uri: 'http://evil.example' });
    expect(r.status).toBe(401);
    expect(evil.jar.has('cp_session')).toBe(false);
    // The Origin check also compares against PUBLIC_URL, not the Host.
    const withOrigin = await siwe(
      browserSession(client.app, 'http://evil.example'),
      ADA_KEY,
      { domain: 'evil.example', uri: 'http://evil.example' },
      { origin: 'http://evil.example' },
    );
    expect(withOrigin.status).toBe(403);
    // The configured origin signs in.
    expect((await siwe(browserSession(client.app), ADA_KEY)).status).toBe(200);
  });

  it('the nonce endpoint names the configured domain, URI and chain; other chains are refused', async () => {
    const nonce = JSON.parse(
      (await browserSession(client.app, 'http://evil.example').get('/dashboard/sign-in/nonce')).text,
    );
    expect(nonce).toMatchObject({ domain: 'localhost', uri: 'http://localhost', chainId: 31337 });
    for (const chainId of [999999, 5, 1])
      expect((await siwe(browserSession(client.app), ADA_KEY, { chainId })).status).toBe(401);
  });

  it('with the chain unreachable, checks the configured CHAIN_ID; with neither, refuses (503) instead of skipping the check', async () => {
    const down = createSettlementChain({
      rpcUrl: 'http://127.0.0.1:9',
      settlerKey: ANVIL_DEV_ACCOUNTS[1].privateKey,
      distributor: '0x0000000000000000000000000000000000000001',
      token: '0x0000000000000000000000000000000000000002',
    });
    services.chain = down;
    try {
      expect(JSON.parse((await browserSession(client.app).get('/dashboard/sign-in/nonce')).text).chainId).toBe(31337);
      expect((await siwe(browserSession(client.app), ADA_KEY, { chainId: 999999 })).status).toBe(401);
      expect((await siwe(browserSession(client.app), ADA_KEY, { chainId: 31337 })).status).toBe(200);
      await withConfig(
        (c) => ({ ...c, chain: { ...c.chain, chainId: undefined } }),
        async () => {
          expect((await browserSession(client.app).get('/dashboard/sign-in/nonce')).status).toBe(503);
          expect((await siwe(browserSession(client.app), ADA_KEY, { chainId: 5 })).status).toBe(503);
        },
      );
    } finally {
      services.chain = undefined;
    }
  });

  it('malformed messages are 400, not 500; an issuedAt in the future is refused', async () => {
    const urlBroken = await siwe(browserSession(client.app), ADA_KEY, {
      raw: (m) => m.replace(/^URI: .*$/m, 'URI: not a url'),
    });
    expect(urlBroken.status).toBe(400);
    expect(JSON.parse(urlBroken.text).error.code).toBeDefined();
    const badDate = await siwe(browserSession(client.app), ADA_KEY, {
      raw: (m) => m.replace(/^Issued At: .*$/m, 'Issued At: yesterday'),
    });
    expect(badDate.status).toBe(400);
    const noNonce = await siwe(browserSession(client.app), ADA_KEY, { raw: (m) => m.replace(/^Nonce: .*$/m, '') });
    expect(noNonce.status).toBe(400);
    const future = await siwe(browserSession(client.app), ADA_KEY, {
      issuedAt: new Date(Date.now() + 24 * 3600 * 1000),
    });
    expect(future.status).toBe(401);
    expect(JSON.parse(future.text).error.message).toMatch(/future/);
  });

  it('without PUBLIC_URL, wallet sign-in and cross-site form posts are refused rather than trusting the Host', async () => {
    await withConfig(
      (c) => ({ ...c, publicUrl: undefined }),
      async () => {
        expect((await browserSession(client.app).get('/dashboard/sign-in/nonce')).status).toBe(503);
        const s = browserSession(client.app);
        const page = await s.get('/dashboard/sign-in');
        const post = await s.request('POST', '/dashboard/sign-in/key', {
          form: { key: world.consumer.key, _csrf: s.csrfOf(page.text) },
          headers: { origin: 'http://localhost' },
        });
        expect(post.status).toBe(403);
      },
    );
  });
});

describe('the sign-in page offers anvil development keys only on the local chain npm start runs', () => {
  const devKey = ANVIL_DEV_ACCOUNTS[0].privateKey.slice(2);

  it('never for a chain that merely reports id 31337 (custom CHAIN_RPC_URL or configured settler key)', async () => {
    const page = await browserSession(client.app).get('/dashboard/sign-in');
    expect(page.status).toBe(200);
    expect(page.text).not.toContain(devKey);
    await withConfig(
      (c) => ({ ...c, chain: { ...c.chain, devAccounts: true } }),
      async () => {
        expect((await browserSession(client.app).get('/dashboard/sign-in')).text).toContain(devKey);
      },
    );
  });

  it('npm start marks its own chain as a dev chain only without a configured SETTLER_PRIVATE_KEY', () => {
    expect(localChainIdentity(loadConfig({}))).toEqual({ chainId: 31337, devAccounts: true });
    expect(localChainIdentity(loadConfig({ SETTLER_PRIVATE_KEY: `0x${'ab'.repeat(32)}` })).devAccounts).toBe(false);
    expect(loadConfig({}).chain.devAccounts).toBe(false); // a configured chain (or none) never is
  });
});

describe('the test-mode wall in the dashboard', () => {
  it('a test session neither lists nor revokes nor renames live keys', async () => {
    const testKey = await newKey(world.consumer.id, 'test');
    const s = browserSession(client.app);
    await s.signInWithKey(testKey.key);
    const page = await s.get('/dashboard/consumer');
    expect(page.text).not.toContain(`data-key-row="${world.consumer.keyId}"`);
    expect(page.text).toContain(`data-key-row="${testKey.id}"`);
    expect(
      (await s.submit('/dashboard/consumer', `/dashboard/consumer/keys/${world.consumer.keyId}/revoke`, {})).status,
    ).toBe(404);
    expect(
      (
        await s.submit('/dashboard/consumer', `/dashboard/consumer/keys/${world.consumer.keyId}/rename`, {
          name: 'pwned',
        })
      ).status,
    ).toBe(404);
    const live = await client.call('GET', '/v1/keys', { key: world.consumer.key });
    expect(live.body.data.find((k: { id: string }) => k.id === world.consumer.keyId)).toMatchObject({
      revokedAt: null,
      name: 'default',
    });
  });

  it("a contributor's test session cannot open a live receipt or claim", async () => {
    const testKey = await newKey(world.ada.id, 'test');
    const live = browserSession(client.app);
    await live.signInWithKey(world.ada.key);
    expect((await live.get(`/dashboard/owner/receipts/${liveReceipt}`)).status).toBe(200);
    const s = browserSession(client.app);
    await s.signInWithKey(testKey.key);
    const receipt = await s.get(`/dashboard/owner/receipts/${liveReceipt}`);
    expect(receipt.status).toBe(404);
    expect((await s.submit('/dashboard/owner', '/dashboard/owner/claim', {})).status).toBe(403);
  });
});

describe('small leaks', () => {
  it("never names another owner's document, nor a deleted one", async () => {
    const bob = browserSession(client.app);
    await bob.signInWithKey(world.bob.key);
    const peek = await bob.get(`/dashboard/owner?level=passage&parent=${adaDoc.id}`);
    expect(peek.status).toBe(404);
    expect(peek.text).not.toContain(adaDoc.title);
    expect((await bob.get(`/dashboard/owner?level=document&parent=${world.ada.datanet}`)).status).toBe(404);

    const ada = browserSession(client.app);
    await ada.signInWithKey(world.ada.key);
    const own = await ada.get(`/dashboard/owner?level=passage&parent=${adaDoc.id}`);
    expect(own.status, own.text.slice(-800)).toBe(200);
    expect(own.text).toContain(adaDoc.title);
    const gone = await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, {
      key: world.ada.key,
      json: DOCS.tides,
    });
    expect((await client.call('DELETE', `/v1/documents/${gone.body.document.id}`, { key: world.ada.key })).status).toBe(
      200,
    );
    const deleted = await ada.get(`/dashboard/owner?level=passage&parent=${gone.body.document.id}`);
    expect(deleted.status).toBe(404);
    expect(deleted.text).not.toContain(DOCS.tides.title);
  });

  it('notices come from server state, never from the query string', async () => {
    const s = browserSession(client.app);
    await s.signInWithKey(world.consumer.key);
    expect((await s.get('/dashboard/consumer?revoked=Send%20your%20key%20to%20evil.example')).text).not.toContain(
      'evil.example',
    );
    const owner = browserSession(client.app);
    await owner.signInWithKey(world.ada.key);
    const spoof = await owner.get('/dashboard/owner?claimed=999999999&tx=evil.example');
    expect(spoof.text).not.toContain('999999999');
    expect(spoof.text).not.toContain('evil.example');

    await s.submit('/dashboard/consumer', '/dashboard/consumer/keys', { name: 'to revoke' });
    const made = await s.get('/dashboard/consumer');
    const keyId = [...made.text.matchAll(/data-key-row="(key_[A-Za-z0-9]+)"/g)].map((m) => m[1]!).pop()!;
    const revoked = await s.submit('/dashboard/consumer', `/dashboard/consumer/keys/${keyId}/revoke`, {});
    expect(revoked.location).toBe('/dashboard/consumer#keys');
    const once = await s.get('/dashboard/consumer');
    expect(once.text).toContain('“to revoke”');
    expect(once.text).toMatch(/revoked: it is refused/);
    expect((await s.get('/dashboard/consumer')).text).not.toMatch(/revoked: it is refused/);
  });

  it('sends HSTS behind HTTPS (PUBLIC_URL https, or a TLS-terminating proxy), not over plain HTTP', async () => {
    expect((await client.app.request('/healthz')).headers.get('strict-transport-security')).toBeNull();
    const proxied = await client.app.request('/healthz', { headers: { 'x-forwarded-proto': 'https' } });
    expect(proxied.headers.get('strict-transport-security')).toMatch(/max-age=\d{7,}/);
    await withConfig(
      (c) => ({ ...c, publicUrl: 'https://citepay.example' }),
      async () => {
        expect((await client.app.request('/dashboard/sign-in')).headers.get('strict-transport-security')).toMatch(
          /max-age=/,
        );
      },
    );
  });

  it('/docs has no inline script and sends CSP and framing headers', async () => {
    const docs = await client.app.request('/docs');
    const html = await docs.text();
    expect(html).not.toMatch(/<script(?![^>]*src=)/);
    expect(docs.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    expect(docs.headers.get('content-security-policy')).toMatch(/frame-ancestors 'none'/);
    expect(docs.headers.get('x-frame-options')).toBe('DENY');
    for (const src of html.matchAll(/<script src="([^"]+)"/g))
      expect((await client.app.request(src[1]!)).status).toBe(200);
  });
});
