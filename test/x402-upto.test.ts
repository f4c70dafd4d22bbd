import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from '@x402/core/http';
import { PERMIT2_ADDRESS, x402UptoPermit2ProxyAddress } from '@x402/evm';
import { UptoEvmScheme } from '@x402/evm/upto/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ANVIL_SETTLER_ADDRESS } from '../shared/chain/anvil.ts';
import type { Db } from '../shared/db/index.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { postgresInstalled } from './postgres-server.ts';
import { bikesDatanet, type LocalChain, payingFetch, signerOf, startX402Api, type X402Api } from './x402-harness.ts';

// x402 `upto` against a real `npm start`: Permit2 and x402's upto proxy placed on its anvil, its
// local facilitator, the demo agent wallet (approved for Permit2 by npm start), paid by the real
// @x402/fetch client with @x402/evm's upto client and a viem wallet. The payer signs the most a
// call can cost and is charged what it did cost: the chain, the ledger and the call agree.
const ADMIN = 'cp_live_x402uptoadminkey00000000000001';
const PRICE = 1500n;

describe.skipIf(!postgresInstalled())('x402 upto (charge the actual cost) against npm start', () => {
  let x: X402Api;
  let api: X402Api['api'];
  let db: Db;
  let chain: LocalChain;
  let agentKey: Hex;
  let reader: X402Api['reader'];

  const treasury = () => x.treasury();
  const inflow = async () => -(await x.ledgerSum('acct_x402'));
  const paymentByTx = async (tx: string) =>
    (
      await db.query<{ scheme: string; amount: string; authorized: string; status: string; request_id: string }>(
        `SELECT scheme, amount::text, authorized::text, status, request_id FROM x402_payments WHERE tx_hash = $1`,
        [tx],
      )
    ).rows[0]!;
  const chargeOf = async (requestId: string) =>
    BigInt(
      (
        await db.query<{ s: string }>(
          `SELECT coalesce(sum(e.amount), 0)::text AS s FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
            JOIN x402_payers p ON p.account_id = e.account_id WHERE t.request_id = $1`,
          [requestId],
        )
      ).rows[0]!.s,
    );

  /** @x402/fetch paying with `upto` only; `sent` records each PAYMENT-SIGNATURE. */
  const uptoFetch = (privateKey: Hex, sent: string[] = []) =>
    payingFetch(chain, new UptoEvmScheme(signerOf(privateKey, reader)), sent);
  const post = (f: typeof fetch, path: string, json: unknown) =>
    f(`${api.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(json),
    });
  const quote = async (path: string, json: unknown) =>
    decodePaymentRequiredHeader((await post(fetch, path, json)).headers.get('payment-required')!).accepts;

  beforeAll(async () => {
    x = await startX402Api({ CITEPAY_ADMIN_KEY: ADMIN });
    ({ api, db, chain, agentKey, reader } = x);
    await bikesDatanet(api.url, ADMIN, PRICE, [
      { title: 'Undo', content: 'To undo the last commit but keep your changes, run git reset --soft HEAD~1.' },
    ]);
  });
  afterAll(async () => {
    await x?.stop();
  });

  it('npm start placed Permit2 and the upto proxy at their canonical addresses; a 402 offers upto first, then batch-settlement and exact, for the same maximum', async () => {
    expect(await reader.getCode({ address: PERMIT2_ADDRESS })).toMatch(/^0x[0-9a-f]{100,}/);
    expect(await reader.getCode({ address: x402UptoPermit2ProxyAddress })).toMatch(/^0x[0-9a-f]{100,}/);
    const accepts = await quote('/v1/retrieve', { query: 'flat tyre', topK: 2 });
    expect(accepts.map((a) => a.scheme)).toEqual(['upto', 'batch-settlement', 'exact']);
    expect(accepts[0]).toMatchObject({
      network: `eip155:${chain.chainId}`,
      asset: chain.token,
      payTo: ANVIL_SETTLER_ADDRESS,
      amount: (2n * PRICE).toString(),
      extra: { assetTransferMethod: 'permit2' },
    });
    expect(accepts[0]!.extra.facilitatorAddress).toMatch(/^0x[0-9a-fA-F]{40}$/);
    expect(accepts[1]!.amount).toBe(accepts[0]!.amount);
  });

  it('an answer paid with upto moves its actual cost, less than the maximum signed; the ledger inflow equals it', async () => {
    const body = { query: 'how do I undo my last commit?' };
    const max = BigInt((await quote('/v1/answers', body))[0]!.amount);
    const before = { treasury: await treasury(), inflow: await inflow() };
    const res = await post(uptoFetch(agentKey), '/v1/answers', body);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { text: string }).text).toContain('git reset --soft HEAD~1.[1]');
    const settlement = decodePaymentResponseHeader(res.headers.get('payment-response')!);
    expect(settlement.success).toBe(true);
    expect((await reader.getTransactionReceipt({ hash: settlement.transaction as Hex })).status).toBe('success');
    const moved = (await treasury()) - before.treasury;
    const payment = await paymentByTx(settlement.transaction);
    expect(payment).toMatchObject({ scheme: 'upto', status: 'settled', authorized: max.toString() });
    expect(BigInt(payment.amount)).toBe(moved);
    expect(moved).toBeGreaterThan(0n);
    expect(moved).toBeLessThan(max);
    // what moved is exactly what the call was charged, and what the ledger took in
    expect(-(await chargeOf(payment.request_id))).toBe(moved);
    expect((await inflow()) - before.inflow).toBe(moved);
    expect((await checkLedger(db)).filter((c) => !c.ok)).toEqual([]);
  });

  it('a retrieval paid with upto moves what it was charged; a replayed payment is refused with 402 and nothing changes', async () => {
    const sent: string[] = [];
    const before = { treasury: await treasury(), inflow: await inflow() };
    const res = await post(uptoFetch(agentKey, sent), '/v1/retrieve', {
      query: 'how do I fix a flat bicycle tyre?',
      topK: 2,
    });
    expect(res.status).toBe(200);
    const out = (await res.json()) as { usage: { charged: string; balance: string } };
    const moved = (await treasury()) - before.treasury;
    expect(moved).toBe(BigInt(out.usage.charged));
    expect((await inflow()) - before.inflow).toBe(moved);
    // the balance shown is the account's after the call was paid for (the unused credit released),
    // not the one read while the whole signed maximum was still credited
    const held = await db.query<{ balance: string }>(
      `SELECT b.balance::text AS balance FROM account_balances b JOIN x402_payers p ON p.account_id = b.account_id
        WHERE p.wallet = $1 AND b.livemode`,
      [privateKeyToAccount(agentKey).address],
    );
    expect(out.usage.balance).toBe(held.rows[0]!.balance);

    const after = { treasury: await treasury(), inflow: await inflow(), payments: await count() };
    const replay = await fetch(`${api.url}/v1/retrieve`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'payment-signature': sent.at(-1)! },
      body: JSON.stringify({ query: 'how do I fix a flat bicycle tyre?', topK: 2 }),
    });
    expect(replay.status).toBe(402);
    expect(await treasury()).toBe(after.treasury);
    expect(await inflow()).toBe(after.inflow);
    expect(await count()).toBe(after.payments);
  });

  it('concurrent upto payments each settle their own call’s cost; the chain and the ledger agree', async () => {
    const before = { treasury: await treasury(), inflow: await inflow() };
    const pay = uptoFetch(agentKey);
    const results = await Promise.all(
      [1, 2, 3].map((i) => post(pay, '/v1/retrieve', { query: `fix a puncture ${i}`, topK: 2 })),
    );
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    const charged = (await Promise.all(results.map((r) => r.json() as Promise<{ usage: { charged: string } }>))).reduce(
      (sum, b) => sum + BigInt(b.usage.charged),
      0n,
    );
    const settled = results.map((r) => BigInt(decodePaymentResponseHeader(r.headers.get('payment-response')!).amount!));
    const moved = (await treasury()) - before.treasury;
    expect(moved).toBe(charged);
    expect(settled.reduce((a, b) => a + b, 0n)).toBe(moved);
    expect((await inflow()) - before.inflow).toBe(moved);
    expect((await checkLedger(db)).filter((c) => !c.ok)).toEqual([]);
  });

  it('a failed upto-paid call moves nothing and reverses its credit', async () => {
    const before = { treasury: await treasury(), inflow: await inflow() };
    const failed = await post(uptoFetch(agentKey), '/v1/retrieve', { query: '   ', topK: 1 });
    expect(failed.status).toBe(400);
    expect(await treasury()).toBe(before.treasury);
    expect(await inflow()).toBe(before.inflow);
    const refused = await db.query(`SELECT 1 FROM x402_payments WHERE scheme = 'upto' AND status = 'refused'`);
    expect(refused.rows).toHaveLength(1);
    expect((await checkLedger(db)).filter((c) => !c.ok)).toEqual([]);
  });

  const count = async () => (await db.query(`SELECT 1 FROM x402_payments`)).rows.length;
});
