import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../functions/api/app.ts';
import type { Services } from '../../shared/services/container.ts';
import { settleOnce } from '../../shared/services/settlement.ts';
import { emitWebhookEvent } from '../../shared/store/webhooks.ts';
import { ANVIL_DEV_ACCOUNTS } from '../../shared/chain/dev-accounts.ts';
import { deployTestChain, type TestChain } from '../chain.ts';
import { DOCS } from '../fixtures.ts';
import { WALLETS, createWorld, httpClient, type Client } from '../http.ts';
import { createTestServices } from '../services.ts';
import { makeDocx, makeEncryptedPdf, makePdf } from '../document-files.ts';

// End to end in Debian's Chromium (playwright-core, headless): the dashboards served by the real
// app over HTTP, settling on a real anvil. Sign-in both ways, figures equal to the API's, proof
// checks in the browser (valid, and invalid once tampered), claim, CSV, keys, and axe-core on
// every page at desktop and phone widths (screenshots in test/dashboard/screenshots/, git-ignored).

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const AXE = readFileSync(fileURLToPath(new URL('../../node_modules/axe-core/axe.min.js', import.meta.url)), 'utf8');
const VIEWPORTS = { desktop: { width: 1280, height: 900 }, phone: { width: 390, height: 844 } } as const;

let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;
let tc: TestChain;
let server: ServerType;
let base: string;
let browser: Browser;
let settledReceipt: string;

/** Serious or critical axe violations on the current page (an empty list passes). */
async function axeViolations(page: Page) {
  await page.evaluate(`${AXE}\n;0`);
  const result = await page.evaluate(async () => {
    const axe = (
      globalThis as unknown as {
        axe: {
          run: (o: unknown) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }>;
        };
      }
    ).axe;
    return axe.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21aa', 'best-practice'] } });
  });
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/** Elements wider than the viewport, at the current size (an empty list: nothing scrolls sideways). */
async function overflow(page: Page): Promise<string[]> {
  // A string, as the other in-page scripts here: the test project compiles without the DOM library.
  return page.evaluate<string[]>(`(() => {
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth <= width) return [];
    return [...document.querySelectorAll('body *')]
      .filter((el) => el.getBoundingClientRect().right > width + 0.5)
      .slice(0, 5)
      .map((el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + '.' + [...el.classList].join('.') + ' right=' + Math.round(el.getBoundingClientRect().right) + ' of ' + width);
  })()`);
}

/** The page as it stands after an action, at 390 px: no horizontal overflow. */
async function fitsPhone(page: Page, name: string) {
  await page.setViewportSize(VIEWPORTS.phone);
  expect(await overflow(page), `${name}: horizontal overflow at 390 px`).toEqual([]);
  await page.setViewportSize(VIEWPORTS.desktop);
}

/** axe at both widths, no horizontal overflow at either, and a screenshot of each. */
async function checkPage(page: Page, name: string) {
  for (const [width, size] of Object.entries(VIEWPORTS)) {
    await page.setViewportSize(size);
    expect(await axeViolations(page), `${name} at ${width}`).toEqual([]);
    expect(await overflow(page), `${name}: horizontal overflow at ${width}`).toEqual([]);
    // Short code (GET, retrieval-v1, key prefixes) never wraps mid-word; only long hashes may break.
    const wrapped = await page.evaluate<string[]>(
      `[...document.querySelectorAll('code')].filter((el) => el.textContent.length <= 24 && el.getClientRects().length > 1).map((el) => el.textContent)`,
    );
    expect(wrapped, `${name}: short code wrapped at ${width}`).toEqual([]);
    await page.screenshot({ path: `${SHOTS}${name}-${width}.png`, fullPage: true });
  }
  await page.setViewportSize(VIEWPORTS.desktop);
}

async function newPage() {
  const context = await browser.newContext({ viewport: VIEWPORTS.desktop, acceptDownloads: true });
  const page = await context.newPage();
  const cspErrors: string[] = [];
  page.on(
    'console',
    (m) => m.type() === 'error' && /Content Security Policy/i.test(m.text()) && cspErrors.push(m.text()),
  );
  page.on('pageerror', (e) => cspErrors.push(String(e)));
  return { page, cspErrors };
}

const micros = (page: Page, f: string) => page.getAttribute(`[data-field="${f}"]`, 'data-micros');

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('dashboards in Chromium', () => {
  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    tc = await deployTestChain();
    services = await createTestServices({}, { chain: tc.chain });
    client = httpClient(services);
    world = await createWorld(services, { credits: '100000000', price: '10000' });
    await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: DOCS.bread });
    await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: DOCS.tides });
    await client.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, { key: world.bob.key, json: DOCS.bikes });
    const retrieve = async (query: string) =>
      (await client.call('POST', '/v1/retrieve', { key: world.consumer.key, json: { query, topK: 2 } })).body
        .attribution.receiptId as string;
    settledReceipt = await retrieve('how long should bread dough rise?');
    await retrieve('why does the sea have tides');
    await retrieve('fix a flat bicycle tyre');
    expect(
      await settleOnce({
        db: services.db,
        chain: tc.chain,
        log: services.log,
        minPayout: 1000n,
        receiptTimeoutMs: 10_000,
      }),
    ).toMatchObject({ status: 'confirmed' });
    await retrieve('sourdough starter'); // earned after the epoch: unsettled
    const port = await new Promise<number>((resolve) => {
      server = serve({ fetch: createApp(services).fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) =>
        resolve(info.port),
      );
    });
    base = `http://127.0.0.1:${port}`;
    // What npm start does: its public URL is its listen address, and its own anvil offers the dev wallets.
    // The stablecoin too, so a self-serve account's page says where to send a top-up.
    services.config = {
      ...services.config,
      publicUrl: base,
      chain: { ...services.config.chain, devAccounts: true, token: tc.token },
    };
    // A short TMPDIR for Chromium: its singleton socket lives there, and a unix socket path is capped
    // at 108 bytes (the test run's nested temporary folders exceed it).
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu'],
      env: { ...process.env, TMPDIR: '/tmp' },
    });
  });
  afterAll(async () => {
    await browser?.close();
    server?.close();
    await services?.db.close();
  });

  it('data owner: signs in with the development wallet, sees the API figures, verifies proofs, claims, exports CSV', async () => {
    const { page, cspErrors } = await newPage();
    await page.goto(`${base}/dashboard`);
    await checkPage(page, 'sign-in');
    await page.selectOption('#dev-wallet', WALLETS.ada);
    await page.click('#dev-wallet-form button[type=submit]');
    await page.waitForURL(`${base}/dashboard/owner`);

    const earnings = (await client.call('GET', '/v1/earnings', { key: world.ada.key })).body;
    const payout = (await client.call('GET', `/v1/payouts/${WALLETS.ada}`)).body;
    expect(await micros(page, 'unsettled')).toBe(earnings.unsettled);
    expect(BigInt(earnings.unsettled)).toBeGreaterThan(0n);
    expect(await micros(page, 'unclaimed')).toBe(payout.claimable);
    expect(await micros(page, 'claimed')).toBe(payout.claimed);
    expect(await micros(page, 'total')).toBe(earnings.total);
    expect(await page.textContent('#funnel table')).toContain('Ada notes');
    await checkPage(page, 'owner');

    // The payout proof, checked in the browser against the root read from the chain; then tampered.
    await page.click('button[data-kind=payout]');
    await expect.poll(() => page.textContent('#payout-result')).toMatch(/^Valid/);
    await checkPage(page, 'owner-proof-verified');
    await page.$eval('button[data-kind=payout]', (b) =>
      b.setAttribute('data-cumulative', String(BigInt(b.getAttribute('data-cumulative')!) + 1n)),
    );
    await page.click('button[data-kind=payout]');
    await expect.poll(() => page.textContent('#payout-result')).toMatch(/^INVALID/);
    await fitsPhone(page, 'owner, proof tampered');

    // Drill-down datanet → document → passage.
    await page.click('#funnel tbody a:text("Ada notes")');
    await checkPage(page, 'owner-documents');
    await page.click('#funnel tbody a:text("Baking sourdough bread")');
    expect(await page.locator('#funnel tbody tr').count()).toBeGreaterThan(0);
    await checkPage(page, 'owner-passages');

    // A settled receipt's proof.
    await page.goto(`${base}/dashboard/owner/receipts/${settledReceipt}`);
    await page.click('button[data-kind=receipt]');
    await expect.poll(() => page.textContent('#receipt-result')).toMatch(/^Valid/);
    await checkPage(page, 'receipt');
    await page.$eval(
      '#canonical',
      (el) => (el.textContent = el.textContent!.replace('"kind":"retrieve"', '"kind":"answer"')),
    );
    await page.click('button[data-kind=receipt]');
    await expect.poll(() => page.textContent('#receipt-result')).toMatch(/^INVALID/);
    await fitsPhone(page, 'receipt, tampered');

    // CSV equals the API.
    await page.goto(`${base}/dashboard/owner`);
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.click('a[href="/dashboard/owner/statement.csv"]'),
    ]);
    const csv = readFileSync((await download.path())!, 'utf8')
      .trim()
      .split('\r\n')
      .map((l) => l.split(','));
    expect(csv.find((r) => r[0] === 'total' && r[1] === 'earned')?.[6]).toBe(earnings.total);
    for (const d of earnings.byDocument)
      expect(csv.find((r) => r[0] === 'document' && r[1] === d.documentId)?.[6]).toBe(d.earned);

    // Claim, relayed; the page and the API both show it claimed.
    const before = BigInt(payout.claimable);
    expect(before).toBeGreaterThan(0n);
    await page.click('#settlement form button[type=submit]');
    await page.waitForURL(`${base}/dashboard/owner#settlement`);
    expect(await page.textContent('.flash[role=status]')).toMatch(
      /^Claimed \$\d+\.\d{6}: transaction 0x[0-9a-f]{64}\.$/,
    );
    const after = (await client.call('GET', `/v1/payouts/${WALLETS.ada}`)).body;
    expect(after.claimed).toBe(payout.cumulative);
    expect(await micros(page, 'claimed')).toBe(after.claimed);
    expect(await micros(page, 'unclaimed')).toBe('0');
    expect(await tc.chain.tokenBalance(WALLETS.ada)).toBe(before);
    await checkPage(page, 'owner-claimed');
    // Nothing left to claim: the button is disabled and looks it.
    const claim = page.locator('#settlement form button[type=submit]');
    expect(await claim.isDisabled()).toBe(true);
    const style = await page.evaluate<{ bg: string; cursor: string }>(
      `(() => { const s = getComputedStyle(document.querySelector('#settlement form button[type=submit]')); return { bg: s.backgroundColor, cursor: s.cursor }; })()`,
    );
    expect(style.bg).not.toBe('rgb(11, 87, 208)'); // the enabled accent
    expect(style.cursor).toBe('not-allowed');

    await page.click('button:text("Sign out")');
    await page.waitForURL(`${base}/dashboard/sign-in`);
    expect(cspErrors).toEqual([]);
  }, 300_000); // many pages at two widths on a shared machine: a limit, not a timing

  it('data owner: creates a datanet, uploads PDF and Word files with progress, sees statuses, deletes one', {
    timeout: 300_000,
  }, async () => {
    const { page, cspErrors } = await newPage();
    await page.goto(`${base}/dashboard/sign-in`);
    await page.fill('#api-key', world.ada.key);
    await page.click('form[action="/dashboard/sign-in/key"] button');
    await page.waitForURL(`${base}/dashboard/owner`);
    await page.click('a:text("Datanets and documents")');
    await checkPage(page, 'datanets');
    await page.fill('#dn-name', 'Field guides');
    await page.fill('#dn-price', '0.002');
    await page.click('button:text("Create datanet")');
    await page.waitForURL(/datanets\/dn_[A-Za-z0-9]+\?created=1/);
    await checkPage(page, 'datanet-new');

    const pages = [
      ['Alpine flora', 'Edelweiss grows on limestone ridges above the tree line.'],
      ['Gentians flower blue in late summer meadows.'],
    ];
    await page.setInputFiles('#upload-files', [
      {
        name: 'alpine-flora.pdf',
        mimeType: 'application/pdf',
        buffer: Buffer.from(await makePdf(pages, { title: 'Alpine flora' })),
      },
      {
        name: 'greenhouse.docx',
        mimeType: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
        buffer: Buffer.from(await makeDocx()),
      },
      { name: 'locked.pdf', mimeType: 'application/pdf', buffer: Buffer.from(await makeEncryptedPdf()) },
    ]);
    await page.click('button:text("Upload and index")');
    await page.waitForSelector('#uploads-done');
    expect(await page.locator('#upload-progress li[data-state=indexed]').count()).toBe(2);
    expect(await page.textContent('#upload-progress li[data-state=refused]')).toMatch(
      /locked\.pdf: refused: the PDF is encrypted/,
    );
    expect(await page.locator('#upload-progress progress').count()).toBe(3);
    await checkPage(page, 'datanet-uploaded');
    await page.click('#uploads-done');
    await page.waitForSelector('tr[data-document]');
    expect(await page.locator('tr[data-document]').count()).toBe(2);
    expect(await page.textContent('#documents')).toContain('Alpine flora');
    await checkPage(page, 'datanet-documents');

    await page.locator('tr', { hasText: 'greenhouse' }).locator('a:text("Delete")').click();
    expect(await page.textContent('main')).toContain('Delete “greenhouse”?');
    await checkPage(page, 'document-delete-confirm');
    await page.click('button:text("Delete “greenhouse”")');
    await page.waitForURL(/deleted=/);
    expect(await page.textContent('.flash')).toContain('Deleted “greenhouse”');
    expect(await page.locator('tr[data-document]').count()).toBe(1);
    await checkPage(page, 'datanet-deleted');
    expect(cspErrors).toEqual([]);
  });

  it('data owner: edits a rate card (a refused form, a saved one, the history), opens its license; replays a webhook', {
    timeout: 300_000,
  }, async () => {
    const { page, cspErrors } = await newPage();
    await page.goto(`${base}/dashboard/sign-in`);
    await page.fill('#api-key', world.ada.key);
    await page.click('form[action="/dashboard/sign-in/key"] button');
    await page.waitForURL(`${base}/dashboard/owner`);
    await page.goto(`${base}/dashboard/owner/datanets/${world.ada.datanet}`);
    await page.click('a:text("Rate card and license")');
    await page.waitForURL(`${base}/dashboard/owner/datanets/${world.ada.datanet}/rate-card`);
    expect(await page.inputValue('#rc-retrieval')).toBe('0.01');
    expect(await page.locator('tr[data-version]').count()).toBe(1);
    await checkPage(page, 'rate-card');

    // A price that is not dollars: shown again as typed, with the reason, and nothing saved.
    await page.fill('#rc-retrieval', '0.0125');
    await page.fill('#rc-answer', 'two cents');
    await page.click('button:text("Save as version 2")');
    expect(await page.textContent('.flash.error[role=alert]')).toMatch(/Not saved\. Answer use: dollars/);
    expect(await page.inputValue('#rc-answer')).toBe('two cents');
    expect(await page.inputValue('#rc-retrieval')).toBe('0.0125');
    expect(
      (await client.call('GET', `/v1/datanets/${world.ada.datanet}/rate-card`, { key: world.ada.key })).body.version,
    ).toBe(1);
    await checkPage(page, 'rate-card-refused');

    // Saved: Post/Redirect/Get, version 2 in force, in the history and in the API.
    await page.fill('#rc-answer', '0.02');
    await page.fill('#rc-minimum', '0.001');
    await page.check('input[name=test][value=price]');
    await page.fill('#rc-test-retrieval', '0.000001');
    await page.fill('#rc-test-answer', '0.000002');
    await page.click('button:text("Save as version 2")');
    await page.waitForURL(/rate-card\?saved=2$/);
    expect(await page.textContent('.flash[role=status]')).toContain('version 2 is in force');
    expect(await page.locator('tr[data-version]').count()).toBe(2);
    const api = (await client.call('GET', `/v1/datanets/${world.ada.datanet}/rate-card`, { key: world.ada.key })).body;
    expect(api).toMatchObject({
      version: 2,
      prices: { retrieval: '12500', answer: '20000' },
      minimumPerUse: '1000',
      test: { mode: 'price', prices: { retrieval: '1', answer: '2' } },
    });
    await checkPage(page, 'rate-card-saved');
    // a reload of the result page saves nothing again
    await page.reload();
    expect(await page.locator('tr[data-version]').count()).toBe(2);

    // The license link serves the card as RSL.
    const href = (await page.getAttribute('#license-h + p a', 'href'))!;
    const license = await page.request.get(href);
    expect(license.headers()['content-type']).toBe('application/rsl+xml; charset=utf-8');
    expect(await license.text()).toContain('<amount currency="USD">0.02</amount>');

    // Webhooks as an owner: an endpoint, a delivery in its log, replayed from the page.
    await page.goto(`${base}/dashboard/webhooks`);
    await page.fill('#wh-url', 'https://owner.example/citepay-hooks');
    await page.click('button:text("Add endpoint")');
    await page.waitForURL(`${base}/dashboard/webhooks#new-secret`);
    await emitWebhookEvent(services.db, world.ada.id, true, 'earnings.settled', { epoch: 1, amount: '9000' });
    await page.goto(`${base}/dashboard/webhooks`);
    expect(await page.locator('tr[data-event]').count()).toBe(1);
    await checkPage(page, 'webhooks-owner');
    await page.click('tr[data-event] button:text("Replay")');
    await page.waitForURL(/webhooks\?replayed=1/);
    expect(await page.textContent('.flash[role=status]')).toContain('Replay queued');
    await checkPage(page, 'webhooks-replayed');
    expect(cspErrors).toEqual([]);
  });

  it('self-serve: a wallet without an account signs up, gets test credits, sees where to top up, makes a test key', async () => {
    const { page, cspErrors } = await newPage();
    const newcomer = ANVIL_DEV_ACCOUNTS[3].address;
    await page.goto(`${base}/dashboard/sign-in`);
    await page.selectOption('#dev-wallet', newcomer);
    await page.click('#dev-wallet-form button[type=submit]');
    await page.waitForURL(`${base}/dashboard/consumer`);
    expect(await micros(page, 'test-balance')).toBe(services.config.selfServe.signupTestCredits.toString());
    expect(await micros(page, 'balance')).toBe('0');
    const topUp = (await page.textContent('#top-up'))!;
    expect(topUp).toContain(tc.settler);
    expect(topUp).toContain(newcomer);
    await checkPage(page, 'signup-consumer');

    await page.fill('#new-key-name', 'my agent');
    await page.selectOption('#new-key-mode', 'test');
    await page.click('form[action="/dashboard/consumer/keys"] button[type=submit]');
    await page.waitForURL(`${base}/dashboard/consumer#new-key`);
    const key = (await page.textContent('#new-key'))!.trim();
    expect(key).toMatch(/^cp_test_/);
    const usage = await client.call('GET', '/v1/usage', { key });
    expect(usage.body.balance).toBe(services.config.selfServe.signupTestCredits.toString());
    await checkPage(page, 'signup-new-key');
    expect(cspErrors).toEqual([]);
  });

  it('consumer: signs in with a key, sees the API figures, creates and revokes a key', async () => {
    const { page, cspErrors } = await newPage();
    await page.goto(`${base}/dashboard/sign-in`);
    await page.fill('#api-key', world.consumer.key);
    await page.click('form[action="/dashboard/sign-in/key"] button');
    await page.waitForURL(`${base}/dashboard/consumer`);
    const cookies = await page.context().cookies();
    expect(cookies.find((c) => c.name === 'cp_session')).toMatchObject({ httpOnly: true, sameSite: 'Lax' });
    expect(JSON.stringify(cookies)).not.toContain(world.consumer.key);
    expect(
      await page.evaluate<string>(
        'JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie',
      ),
    ).not.toContain('cp_');

    const usage = (await client.call('GET', '/v1/usage', { key: world.consumer.key })).body;
    expect(await micros(page, 'balance')).toBe(usage.balance);
    expect(await micros(page, 'spend')).toBe(usage.spend);
    expect(await page.textContent('[data-field="calls"]')).toBe(String(usage.calls));
    await checkPage(page, 'consumer');

    await page.fill('#new-key-name', 'browser test');
    await page.click('form[action="/dashboard/consumer/keys"] button');
    await page.waitForURL(`${base}/dashboard/consumer#new-key`);
    const key = (await page.textContent('#new-key'))!;
    expect(key).toMatch(/^cp_live_/);
    expect((await client.call('GET', '/v1/usage', { key })).status).toBe(200);
    await checkPage(page, 'consumer-new-key');
    // A reload after Post/Redirect/Get shows the key no more and creates no second key.
    const keyRows = await page.locator('tr[data-key-row]').count();
    await page.reload();
    expect(await page.content()).not.toContain(key);
    expect(await page.locator('tr[data-key-row]').count()).toBe(keyRows);
    // Rename, with feedback.
    const row = page.locator('tr', { hasText: 'browser test' });
    await row.locator('input[name=name]').fill('browser test key');
    await row.locator('button:text("Rename")').click();
    await page.waitForURL(`${base}/dashboard/consumer#keys`);
    expect(await page.textContent('.flash')).toContain('Key renamed to “browser test key”');
    await checkPage(page, 'consumer-renamed');
    // Revoke asks first, naming the key.
    await page.locator('tr', { hasText: 'browser test key' }).locator('a:text("Revoke")').click();
    expect(await page.textContent('main')).toContain('Revoke the key “browser test key”');
    await checkPage(page, 'consumer-revoke-confirm');
    await page.click('button:text("Revoke “browser test key”")');
    await page.waitForURL(`${base}/dashboard/consumer#keys`);
    expect(await page.textContent('.flash')).toContain('“browser test key”');
    await checkPage(page, 'consumer-revoked');
    expect(await page.locator('tr[data-key-row]', { hasText: 'browser test' }).textContent()).toContain('revoked');
    expect((await client.call('GET', '/v1/usage', { key })).status).toBe(401);

    // Webhooks: add an endpoint (secret once), see it listed.
    await page.click('a:text("Webhooks")');
    await page.fill('#wh-url', 'https://consumer.example/citepay');
    await page.fill('#wh-threshold', '5.00');
    await page.click('button:text("Add endpoint")');
    await page.waitForURL(`${base}/dashboard/webhooks#new-secret`);
    expect(await page.textContent('#new-secret')).toMatch(/^whsec_/);
    await checkPage(page, 'webhooks');

    // The sessions page lists this browser's session; "sign out everywhere" ends it.
    await page.goto(`${base}/dashboard/sessions`);
    expect(await page.textContent('table')).toContain('(this browser)');
    await checkPage(page, 'sessions');
    await page.click('button:text("Sign out everywhere")');
    await page.waitForURL(`${base}/dashboard/sign-in`);
    expect(cspErrors).toEqual([]);
  }, 300_000);
});
