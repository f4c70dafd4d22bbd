import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from '@x402/core/http';
import { ExactEvmScheme } from '@x402/evm/exact/client';
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { ANVIL_SETTLER_ADDRESS } from '../shared/chain/anvil.ts';
import type { Db } from '../shared/db/index.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { createTokenInflows } from '../shared/chain/token-inflows.ts';
import { http, startApiProcess } from './api-process.ts';
import { DOCS } from './fixtures.ts';
import { postgresInstalled } from './postgres-server.ts';
import {
  bikesDatanet,
  type LocalChain,
  payingFetch as paying,
  signerOf,
  startX402Api,
  type X402Api,
} from './x402-harness.ts';

// x402 v2 pay-per-call against a real `npm start` (local anvil, its local facilitator, the funded
// demo agent wallet), paid by the real @x402/fetch client with a viem wallet. On PostgreSQL so the
// ledger can be read while the process runs.
const ADMIN = 'cp_live_x402startadminkey0000000000001';
const PRICE = 1500n;

describe.skipIf(!postgresInstalled())('x402 pay-per-call against npm start', () => {
  let x: X402Api;
  let api: X402Api['api'];
  let db: Db;
  let dbUrl: string;
  let chain: LocalChain;
  let agentKey: Hex;
  let reader: X402Api['reader'];

  const treasury = () => x.treasury();
  const inflow = async () => -(await x.ledgerSum('acct_x402'));
  const settledTotal = async () =>
    BigInt(
      (
        await db.query<{ s: bigint | null }>(
          `SELECT sum(amount)::bigint AS s FROM x402_payments WHERE status = 'settled'`,
        )
      ).rows[0]!.s ?? 0n,
    );
  /** @x402/fetch paying with `exact` from a viem wallet; `sent` records each PAYMENT-SIGNATURE it sends. */
  const payingFetch = (privateKey: Hex, sent: string[] = []) =>
    paying(chain, new ExactEvmScheme(signerOf(privateKey, reader)), sent);
  const post = (f: typeof fetch, path: string, json: unknown) =>
    f(`${api.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(json),
    });

  beforeAll(async () => {
    // the settle retry pass every second: the retry test waits for it
    x = await startX402Api({ CITEPAY_ADMIN_KEY: ADMIN, X402_SETTLE_RETRY_SECONDS: '1' });
    ({ api, db, dbUrl, chain, agentKey, reader } = x);
    await bikesDatanet(api.url, ADMIN, PRICE, [
      { title: 'Undo', content: 'To undo the last commit but keep your changes, run git reset --soft HEAD~1.' },
    ]);
  });
  afterAll(async () => {
    await x?.stop();
  });

  it('without a key: 402 with PAYMENT-REQUIRED naming the chain, the stablecoin, the treasury and the most the call can cost', async () => {
    const res = await post(fetch, '/v1/retrieve', { query: 'flat tyre', topK: 2 });
    expect(res.status).toBe(402);
    const required = decodePaymentRequiredHeader(res.headers.get('payment-required')!);
    expect(required.x402Version).toBe(2);
    // `upto` is offered first (test/x402-upto.test.ts); this client pays with `exact`
    expect(required.accepts.find((a) => a.scheme === 'exact')).toMatchObject({
      scheme: 'exact',
      network: `eip155:${chain.chainId}`,
      asset: chain.token,
      payTo: ANVIL_SETTLER_ADDRESS,
      amount: (2n * PRICE).toString(),
    });
    expect(((await res.json()) as any).error.code).toBe('PAYMENT_REQUIRED');
  });

  it('402 → pay → 200: the stablecoin moved on chain equals the ledger inflow, billed like a key call, receipt and PAYMENT-RESPONSE', async () => {
    const before = { treasury: await treasury(), inflow: await inflow() };
    const res = await post(payingFetch(agentKey), '/v1/retrieve', {
      query: 'how do I fix a flat bicycle tyre?',
      topK: 2,
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body.sources[0].title).toBe(DOCS.bikes.title);
    const settlement = decodePaymentResponseHeader(res.headers.get('payment-response')!);
    expect(settlement.success).toBe(true);
    const receipt = await reader.getTransactionReceipt({ hash: settlement.transaction as Hex });
    expect(receipt.status).toBe('success');
    const moved = (await treasury()) - before.treasury;
    expect(moved).toBe(2n * PRICE);
    expect((await inflow()) - before.inflow).toBe(moved);
    const payment = (
      await db.query<{ status: string; tx_hash: string; request_id: string; payer: string }>(
        `SELECT status, tx_hash, request_id, payer FROM x402_payments WHERE tx_hash = $1`,
        [settlement.transaction],
      )
    ).rows[0]!;
    expect(payment).toMatchObject({
      status: 'settled',
      request_id: body.requestId,
      payer: privateKeyToAccount(agentKey).address,
    });
    // the call was charged to the wallet's own account in its own ledger transaction, with a receipt
    const charged = await db.query<{ id: string }>(
      `SELECT id FROM ledger_transactions WHERE request_id = $1 AND kind = 'retrieve'`,
      [body.requestId],
    );
    expect(charged.rows).toHaveLength(1);
    expect(body.attribution.receiptId).toMatch(/^rcpt_/);
    // the receipt names the payment's transaction
    const shown = await http(api.url, 'GET', `/v1/receipts/${body.attribution.receiptId}`, { key: ADMIN });
    expect(shown.body.payment).toEqual({
      scheme: 'x402',
      payer: privateKeyToAccount(agentKey).address,
      amount: moved.toString(),
      status: 'settled',
      txHash: settlement.transaction,
    });
    expect(BigInt(body.usage.charged)).toBeLessThanOrEqual(moved);
    // what the call did not use stays as credit on the wallet's own account
    expect(BigInt(body.usage.balance)).toBe(moved - BigInt(body.usage.charged));
    expect((await checkLedger(db)).filter((c) => !c.ok)).toEqual([]);
  });

  it('a replayed payment is refused with 402 and nothing changes', async () => {
    const sent: string[] = [];
    expect((await post(payingFetch(agentKey, sent), '/v1/retrieve', { query: 'undo a commit', topK: 1 })).status).toBe(
      200,
    );
    const before = {
      treasury: await treasury(),
      inflow: await inflow(),
      payments: (await db.query(`SELECT 1 FROM x402_payments`)).rows.length,
    };
    const replay = await fetch(`${api.url}/v1/retrieve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'payment-signature': sent.at(-1)! },
      body: JSON.stringify({ query: 'undo a commit', topK: 1 }),
    });
    expect(replay.status).toBe(402);
    expect(await treasury()).toBe(before.treasury);
    expect(await inflow()).toBe(before.inflow);
    expect((await db.query(`SELECT 1 FROM x402_payments`)).rows.length).toBe(before.payments);
  });

  it('concurrent payments each settle once; the chain and the ledger agree', async () => {
    const before = { treasury: await treasury(), inflow: await inflow(), settled: await settledTotal() };
    const pay = payingFetch(agentKey);
    const results = await Promise.all(
      [1, 2, 3, 4].map((i) => post(pay, '/v1/retrieve', { query: `fix a puncture ${i}`, topK: 1 })),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    const moved = (await treasury()) - before.treasury;
    expect(moved).toBe(4n * PRICE);
    expect((await inflow()) - before.inflow).toBe(moved);
    expect((await settledTotal()) - before.settled).toBe(moved);
    expect((await checkLedger(db)).filter((c) => !c.ok)).toEqual([]);
  });

  it('an underfunded wallet is refused with 402; a failed call moves no money and reverses its credit', async () => {
    const before = { treasury: await treasury(), inflow: await inflow() };
    const poor = await post(payingFetch(generatePrivateKey()), '/v1/retrieve', { query: 'flat tyre', topK: 1 });
    expect(poor.status).toBe(402);
    expect(((await poor.json()) as any).error.message).toMatch(/refused the payment/);
    // a paid call the route rejects (empty query): verified and credited, then reversed, never settled
    const failed = await post(payingFetch(agentKey), '/v1/retrieve', { query: '   ', topK: 1 });
    expect(failed.status).toBe(400);
    expect(await treasury()).toBe(before.treasury);
    expect(await inflow()).toBe(before.inflow);
    const refused = await db.query<{ status: string }>(`SELECT status FROM x402_payments WHERE status = 'refused'`);
    expect(refused.rows).toHaveLength(1);
    expect((await checkLedger(db)).filter((c) => !c.ok)).toEqual([]);
  });

  it('pays for a cited answer', async () => {
    const res = await post(payingFetch(agentKey), '/v1/answers', { query: 'how do I undo my last commit?' });
    expect(res.status).toBe(200);
    const answer = (await res.json()) as any;
    expect(answer.text).toContain('git reset --soft HEAD~1.[1]');
    expect(decodePaymentResponseHeader(res.headers.get('payment-response')!).success).toBe(true);
    const stream = await post(fetch, '/v1/answers', { query: 'undo', mode: 'stream' });
    expect(stream.status).toBe(400);
  });

  it('facilitator down → 503, nothing charged', async () => {
    // a second process on the same database and chain, pointed at a facilitator that is not there
    const down = await startApiProcess({
      DATABASE_URL: dbUrl,
      CITEPAY_ADMIN_KEY: ADMIN,
      START_WORKER: 'false',
      X402_FACILITATOR_URL: 'http://127.0.0.1:9',
    });
    try {
      const before = {
        treasury: await treasury(),
        inflow: await inflow(),
        payments: (await db.query(`SELECT 1 FROM x402_payments`)).rows.length,
      };
      const unpaid = await fetch(`${down.url}/v1/retrieve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'flat tyre', topK: 1 }),
      });
      expect(unpaid.status).toBe(503);
      expect(((await unpaid.json()) as any).error.code).toBe('SERVICE_UNAVAILABLE');
      // a payment signed against the working process's requirements, sent to the one without a facilitator
      const sent: string[] = [];
      await post(payingFetch(agentKey, sent), '/v1/retrieve', { query: 'flat tyre', topK: 1 }).catch(() => undefined);
      const paid = await fetch(`${down.url}/v1/retrieve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'payment-signature': sent.at(-1)! },
        body: JSON.stringify({ query: 'flat tyre', topK: 1 }),
      });
      expect(paid.status).toBe(503);
      expect(await inflow()).toBe(before.inflow + PRICE); // only the working process's payment
      expect(await treasury()).toBe(before.treasury + PRICE);
      expect((await db.query(`SELECT 1 FROM x402_payments`)).rows.length).toBe(before.payments + 1);
    } finally {
      await down.stop();
    }
  });

  it('a settle that fails after a successful call leaves the payment unsettled; the retry pass settles it once', async () => {
    // a facilitator in front of the real one whose /settle fails: "fail" never reaches the chain,
    // "lose" settles on chain and then loses the answer (the retry must find it, not send again)
    const real = JSON.parse(api.lines.find((l) => l.includes('local facilitator ready'))!).url as string;
    let mode: 'pass' | 'fail' | 'lose' = 'pass';
    const proxy = serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: async (req) => {
        const path = new URL(req.url).pathname;
        if (path === '/settle' && mode === 'fail') return new Response('{"error":"down"}', { status: 500 });
        const forwarded = await fetch(`${real}${path}`, {
          method: req.method,
          headers: { 'content-type': 'application/json' },
          body: req.method === 'POST' ? await req.text() : undefined,
        });
        if (path === '/settle' && mode === 'lose') return new Response('{"error":"lost"}', { status: 500 });
        return forwarded;
      },
    });
    await new Promise((r) => proxy.once('listening', r));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    const flaky = await startApiProcess({
      DATABASE_URL: dbUrl,
      CITEPAY_ADMIN_KEY: ADMIN,
      START_WORKER: 'false',
      X402_FACILITATOR_URL: proxyUrl,
      X402_SETTLE_RETRY_SECONDS: '0',
    });
    try {
      for (const m of ['fail', 'lose'] as const) {
        mode = m;
        const before = { treasury: await treasury(), inflow: await inflow() };
        const res = await payingFetch(agentKey)(`${flaky.url}/v1/retrieve`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ query: `flat tyre ${m}`, topK: 1 }),
        });
        expect(res.status).toBe(200); // the call was served
        expect(res.headers.get('payment-response')).toBeNull();
        const { requestId } = (await res.json()) as { requestId: string };
        mode = 'pass';
        const row = async () =>
          (
            await db.query<{ status: string; tx_hash: string | null; error: string | null }>(
              `SELECT status, tx_hash, error FROM x402_payments WHERE request_id = $1`,
              [requestId],
            )
          ).rows[0]!;
        // the main process's retry pass (every second) settles it
        await vi.waitFor(async () => expect((await row()).status).toBe('settled'), { timeout: 120_000, interval: 200 });
        const settled = await row();
        const receipt = await reader.getTransactionReceipt({ hash: settled.tx_hash as Hex });
        expect(receipt.status).toBe('success');
        // moved once on chain, equal to the ledger's inflow
        expect((await treasury()) - before.treasury).toBe(PRICE);
        expect((await inflow()) - before.inflow).toBe(PRICE);
        const shown = await http(api.url, 'GET', `/v1/receipts/${requestId}`, { key: ADMIN });
        expect(shown.body.payment).toMatchObject({ status: 'settled', txHash: settled.tx_hash });
      }
      // check:ledger reads each settled payment's Transfer on chain
      const inflows = createTokenInflows({ rpcUrl: chain.rpcUrl, token: chain.token });
      const checks = await checkLedger(db, { inflows });
      expect(checks.filter((c) => !c.ok)).toEqual([]);
      expect(checks.find((c) => c.name.includes('settled x402 payment'))!.checked).toMatch(/^\d+ settled payments/);
      // ... and fails when the ledger claims a payment the chain does not show (rolled back)
      const tampered = await db
        .transaction(async (tx) => {
          await tx.query(
            `UPDATE x402_payments SET amount = amount + 1, authorized = authorized + 1 WHERE request_id = (SELECT request_id FROM x402_payments WHERE status = 'settled' LIMIT 1)`,
          );
          const found = (await checkLedger(tx, { inflows })).find((c) => c.name.includes('settled x402 payment'))!;
          throw Object.assign(new Error('rollback'), { found });
        })
        .catch((err: { found?: { ok: boolean; offenders: string[] } }) => err.found);
      expect(tampered?.ok).toBe(false);
      expect(tampered?.offenders[0]).toMatch(/no such Transfer on chain/);
      // the chain has exactly one transfer per settled payment (a second send would be a second log)
      const settledRows = await db.query<{ tx_hash: string }>(
        `SELECT tx_hash FROM x402_payments WHERE status = 'settled'`,
      );
      expect(new Set(settledRows.rows.map((r) => r.tx_hash)).size).toBe(settledRows.rows.length);
    } finally {
      mode = 'pass';
      await flaky.stop();
      await new Promise((r) => proxy.close(r));
    }
  });
});
