import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from '@x402/core/http';
import { ExactEvmScheme } from '@x402/evm/exact/client';
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Hex } from 'viem';
import { ANVIL_SETTLER_ADDRESS } from '../shared/chain/anvil.ts';
import { createTokenInflows } from '../shared/chain/token-inflows.ts';
import type { Db } from '../shared/db/index.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import type { App } from '../functions/api/app.ts';
import { http, startApiProcess } from './api-process.ts';
import { browserSession } from './dashboard/session.ts';
import { postgresInstalled } from './postgres-server.ts';
import {
  bikesDatanet,
  type LocalChain,
  payingFetch as paying,
  signerOf,
  startX402Api,
  type X402Api,
} from './x402-harness.ts';

// Buying live credits with x402 (POST /v1/credits/top-up), and x402 payments a killed process left
// pending (swept by another process's x402 pass), against real `npm start` processes on one
// PostgreSQL database and one anvil, paid by the real @x402/fetch client with a viem wallet.
const ADMIN = 'cp_live_x402topupadminkey00000000000001';
const PRICE = 1500n;

describe.skipIf(!postgresInstalled())('x402 top-ups and the pending sweep against npm start', () => {
  let x: X402Api;
  let api: X402Api['api'];
  let db: Db;
  let dbUrl: string;
  let chain: LocalChain;
  let agentKey: Hex;
  let reader: X402Api['reader'];
  let consumer: { id: string; key: string };

  const treasury = () => x.treasury();
  const balance = async (key: string) => BigInt((await http(api.url, 'GET', '/v1/usage', { key })).body.balance);
  const payingFetch = (privateKey: Hex, sent: string[] = []) =>
    paying(chain, new ExactEvmScheme(signerOf(privateKey, reader)), sent);
  const topUp = (f: typeof fetch, key: string, amount: string, base = api.url, signature?: string) =>
    f(`${base}/v1/credits/top-up`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Bearer ${key}`,
        ...(signature ? { 'payment-signature': signature } : {}),
      },
      body: JSON.stringify({ amount }),
    });
  const checks = async () =>
    (await checkLedger(db, { inflows: createTokenInflows({ rpcUrl: chain.rpcUrl, token: chain.token }) })).filter(
      (c) => !c.ok,
    );

  beforeAll(async () => {
    // this process sweeps what another (killed) process left pending: its x402 pass every second,
    // and a payment pending 20 s counts as left behind (its own calls here take far less)
    x = await startX402Api({
      CITEPAY_ADMIN_KEY: ADMIN,
      X402_SETTLE_RETRY_SECONDS: '1',
      X402_PENDING_STALE_SECONDS: '20',
    });
    ({ api, db, dbUrl, chain, agentKey, reader } = x);
    const made = await http(api.url, 'POST', '/v1/admin/accounts', {
      key: ADMIN,
      json: { kind: 'consumer', name: 'Topper', credits: '0' },
    });
    consumer = { id: made.body.account.id, key: made.body.apiKey.key };
    await bikesDatanet(api.url, ADMIN, PRICE);
  });
  afterAll(async () => {
    await x?.stop();
  });

  it('without a payment: 402 offering exact for the amount to the treasury; no key 401; a test key 403; a bad amount 400', async () => {
    const res = await topUp(fetch, consumer.key, '250000');
    expect(res.status).toBe(402);
    const required = decodePaymentRequiredHeader(res.headers.get('payment-required')!);
    expect(required.accepts).toHaveLength(1);
    expect(required.accepts[0]).toMatchObject({
      scheme: 'exact',
      network: `eip155:${chain.chainId}`,
      asset: chain.token,
      payTo: ANVIL_SETTLER_ADDRESS,
      amount: '250000',
    });
    const anon = await fetch(`${api.url}/v1/credits/top-up`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"amount":"1000"}',
    });
    expect(anon.status).toBe(401);
    const testKey = await http(api.url, 'POST', `/v1/admin/accounts/${consumer.id}/keys`, {
      key: ADMIN,
      json: { mode: 'test' },
    });
    const test = await topUp(fetch, testKey.body.key, '1000');
    expect(test.status).toBe(403);
    expect(((await test.json()) as any).error.message).toMatch(/test mode/);
    for (const amount of ['0', '-5', '1.5', '1000000000001'])
      expect((await topUp(fetch, consumer.key, amount)).status, amount).toBe(400);
  });

  it('402 → pay → 200: the transfer lands once, the account is credited once, listed with its transaction; the same payment again changes nothing', async () => {
    const sent: string[] = [];
    const before = { treasury: await treasury(), balance: await balance(consumer.key) };
    const res = await topUp(payingFetch(agentKey, sent), consumer.key, '250000');
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    const settlement = decodePaymentResponseHeader(res.headers.get('payment-response')!);
    expect(body).toMatchObject({
      object: 'top_up',
      status: 'credited',
      amount: '250000',
      txHash: settlement.transaction,
    });
    expect((await reader.getTransactionReceipt({ hash: body.txHash })).status).toBe('success');
    expect((await treasury()) - before.treasury).toBe(250000n);
    expect((await balance(consumer.key)) - before.balance).toBe(250000n);
    expect(BigInt(body.balance)).toBe(await balance(consumer.key));
    const listed = await http(api.url, 'GET', '/v1/credits/top-ups', { key: consumer.key });
    expect(listed.body.data[0]).toMatchObject({ id: body.topUp, via: 'x402', status: 'credited', txHash: body.txHash });
    // the same signed payment again: the same top-up (a client retrying a lost response), no second credit
    const again = await topUp(fetch, consumer.key, '250000', api.url, sent.at(-1)!);
    expect(again.status).toBe(200);
    expect(((await again.json()) as any).id).toBe(body.id);
    expect((await balance(consumer.key)) - before.balance).toBe(250000n);
    // ... and from another account it is a replay: 402, nothing changes
    const other = await http(api.url, 'POST', '/v1/admin/accounts', {
      key: ADMIN,
      json: { kind: 'consumer', name: 'Other', credits: '0' },
    });
    expect((await topUp(fetch, other.body.apiKey.key, '250000', api.url, sent.at(-1)!)).status).toBe(402);
    expect(await balance(other.body.apiKey.key)).toBe(0n);
    expect((await treasury()) - before.treasury).toBe(250000n);
    // the dashboard lists it beside the balance (an account without a wallet: shown once it has a top-up)
    const browser = browserSession(
      { request: (url: string, init?: RequestInit) => fetch(url, init) } as unknown as App,
      api.url,
    );
    await browser.signInWithKey(consumer.key);
    const page = (await browser.get('/dashboard/consumer')).text;
    expect(page).toMatch(/data-top-up-status="credited" data-top-up-via="x402"/);
    expect(page).toContain(body.txHash);
    // the top-up's credit is spendable: a key-paid retrieval
    const paid = await http(api.url, 'POST', '/v1/retrieve', {
      key: consumer.key,
      json: { query: 'flat tyre', topK: 1 },
    });
    expect(paid.status).toBe(200);
    expect(await checks()).toEqual([]);
  });

  it('a process killed after a paid call was charged, before its settle: another process settles it once; a killed top-up is credited once', async () => {
    // a facilitator in front of the real one whose /settle never answers: the process is killed there
    const real = JSON.parse(api.lines.find((l) => l.includes('local facilitator ready'))!).url as string;
    const settleSeen: string[] = [];
    const proxy = serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: async (req) => {
        const path = new URL(req.url).pathname;
        if (path === '/settle') {
          settleSeen.push(path);
          return new Promise<Response>(() => {}); // hangs until the process is killed
        }
        return fetch(`${real}${path}`, {
          method: req.method,
          headers: { 'content-type': 'application/json' },
          body: req.method === 'POST' ? await req.text() : undefined,
        });
      },
    });
    await new Promise((r) => proxy.once('listening', r));
    const doomed = await startApiProcess({
      DATABASE_URL: dbUrl,
      CITEPAY_ADMIN_KEY: ADMIN,
      START_WORKER: 'false',
      X402_FACILITATOR_URL: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
      X402_SETTLE_RETRY_SECONDS: '0',
    });
    try {
      const before = { treasury: await treasury(), balance: await balance(consumer.key) };
      const call = payingFetch(agentKey)(`${doomed.url}/v1/retrieve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'fix a flat bicycle tyre', topK: 1 }),
      }).catch(() => null);
      const bought = topUp(payingFetch(agentKey), consumer.key, '70000', doomed.url).catch(() => null);
      await vi.waitFor(() => expect(settleSeen.length).toBe(2), { timeout: 120_000, interval: 100 });
      // both are at their settle: the call was charged, nothing moved yet
      const pending = await db.query<{ id: string; request_id: string }>(
        `SELECT id, request_id FROM x402_payments WHERE status = 'pending'`,
      );
      expect(pending.rows).toHaveLength(1);
      const charged = await db.query(`SELECT 1 FROM ledger_transactions WHERE request_id = $1`, [
        pending.rows[0]!.request_id,
      ]);
      expect(charged.rows).toHaveLength(1);
      doomed.child.kill('SIGKILL');
      expect(await call).toBeNull();
      expect(await bought).toBeNull();
      expect(await treasury()).toBe(before.treasury);

      // the surviving process's x402 pass: the call's payment owed → settled on chain once
      const payment = async () =>
        (
          await db.query<{ status: string; tx_hash: string | null; amount: string }>(
            `SELECT status, tx_hash, amount::text AS amount FROM x402_payments WHERE id = $1`,
            [pending.rows[0]!.id],
          )
        ).rows[0]!;
      await vi.waitFor(async () => expect((await payment()).status).toBe('settled'), {
        timeout: 120_000,
        interval: 250,
      });
      // ... and the top-up settled and credited once
      const credited = async () =>
        (await db.query<{ status: string }>(`SELECT status FROM x402_top_ups WHERE amount = 70000`)).rows;
      await vi.waitFor(async () => expect((await credited()).map((r) => r.status)).toEqual(['credited']), {
        timeout: 120_000,
        interval: 250,
      });
      expect((await treasury()) - before.treasury).toBe(PRICE + 70000n);
      expect((await balance(consumer.key)) - before.balance).toBe(70000n);
      const p = await payment();
      expect((await reader.getTransactionReceipt({ hash: p.tx_hash as Hex })).status).toBe('success');
      expect(api.lines.some((l) => l.includes('payments left pending by an ended process swept'))).toBe(true);
      expect(await checks()).toEqual([]);
    } finally {
      await doomed.stop();
      await new Promise((r) => proxy.close(r));
    }
  });
});
