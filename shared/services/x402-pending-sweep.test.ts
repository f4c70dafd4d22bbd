import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestServices } from '../../test/services.ts';
import { createWorld } from '../../test/http.ts';
import { newId } from '../ids.ts';
import { balanceOf, postTransaction } from '../store/ledger.ts';
import type { Services } from './container.ts';
import { checkLedger } from './ledger-check.ts';
import { acceptPayment, amountToSettle, refundPayment, type AcceptedPayment } from './x402-payments.ts';
import { sweepStalePayments } from './x402-pending-sweep.ts';

// The state machine of a payment a process left `pending` when it died (issue 20): verified and
// credited, its call maybe charged, never settled nor refunded. On PGlite and PostgreSQL.
describe('sweeping x402 payments left pending by an ended process', () => {
  let services: Services;
  let world: Awaited<ReturnType<typeof createWorld>>;
  let n = 0;
  const PAYER = '0x00000000000000000000000000000000000000d4';

  beforeAll(async () => {
    services = await createTestServices();
    world = await createWorld(services);
  });
  afterAll(async () => {
    await services.db.close();
  });

  const accept = async (scheme: 'exact' | 'upto', amount: bigint) =>
    (await acceptPayment(services, {
      payer: PAYER,
      nonce: `0x${(++n).toString(16).padStart(64, '0')}`,
      network: 'eip155:31337',
      asset: '0x00000000000000000000000000000000000000b2',
      payTo: '0x00000000000000000000000000000000000000c3',
      amount,
      scheme,
      route: '/v1/retrieve',
      requestId: newId('request'),
      payload: null,
      requirements: null,
    }))!;
  /** what a call leaves when it charged the wallet's account: its one transaction for the request */
  const charge = (p: AcceptedPayment, amount: bigint) =>
    postTransaction(services.db, {
      id: newId('transaction'),
      kind: 'retrieve',
      requestId: p.requestId,
      keyId: p.principal.keyId,
      livemode: true,
      entries: [
        { accountId: p.principal.accountId, amount: -amount },
        { accountId: world.bob.id, amount },
      ],
    });
  /** the process died this long ago: older than X402_PENDING_STALE_SECONDS */
  const age = (p: AcceptedPayment) =>
    services.db.query(`UPDATE x402_payments SET created_at = now() - interval '1 hour' WHERE id = $1`, [p.paymentId]);
  const row = async (p: AcceptedPayment) =>
    (
      await services.db.query<{ status: string; amount: string; error: string | null }>(
        `SELECT status, amount::text AS amount, error FROM x402_payments WHERE id = $1`,
        [p.paymentId],
      )
    ).rows[0]!;
  const wallet = (p: AcceptedPayment) => balanceOf(services.db, p.principal.accountId, true);
  // the charges above stand for a call's transaction without its receipt: that one check is not this test's
  const ledgerOk = async () =>
    (await checkLedger(services.db))
      .filter((c) => !c.ok && c.name !== 'every charge has its receipt')
      .map((c) => c.name);

  it('a call that never charged: the credit is reversed once, the payment refused; nothing is owed', async () => {
    const p = await accept('exact', 5000n);
    const before = await wallet(p);
    await age(p);
    const first = await sweepStalePayments(services);
    expect(first.refunded).toEqual([p.paymentId]);
    expect((await row(p)).status).toBe('refused');
    expect(await wallet(p)).toBe(before - 5000n);
    // a second pass, and the dead process's own refund (had it lived), change nothing
    expect(await sweepStalePayments(services)).toEqual({ refunded: [], owed: [], waiting: [] });
    await refundPayment(services, p, 'late');
    expect(await amountToSettle(services, p)).toBeNull();
    expect(await wallet(p)).toBe(before - 5000n);
    expect(await ledgerOk()).toEqual([]);
  });

  it('an exact payment whose call was charged is owed: unsettled for the retry pass, the whole amount, the rest kept as credit', async () => {
    const p = await accept('exact', 5000n);
    await charge(p, 1200n);
    await age(p);
    const before = await wallet(p);
    expect((await sweepStalePayments(services)).owed).toEqual([p.paymentId]);
    expect(await row(p)).toMatchObject({ status: 'unsettled', amount: '5000' });
    expect((await row(p)).error).toMatch(/swept/);
    expect(await wallet(p)).toBe(before);
    // the live path can neither refund nor settle it again
    await refundPayment(services, p, 'late');
    expect(await amountToSettle(services, p)).toBeNull();
    expect(await wallet(p)).toBe(before);
    // owed, not lost: check:ledger lists it as unsettled until the retry pass settles it on chain
    expect(await ledgerOk()).toEqual(['no x402 payment left unsettled after a successful call']);
    await services.db.query(`UPDATE x402_payments SET status = 'settled', tx_hash = '0xswept' WHERE id = $1`, [
      p.paymentId,
    ]);
  });

  it('an upto payment whose call was charged is owed its cost only: the unused credit released', async () => {
    const p = await accept('upto', 8000n);
    const before = await wallet(p);
    await charge(p, 1500n);
    await age(p);
    expect((await sweepStalePayments(services)).owed).toEqual([p.paymentId]);
    expect(await row(p)).toMatchObject({ status: 'unsettled', amount: '1500' });
    // the account ends where it began: it is owed exactly the call's cost
    expect(await wallet(p)).toBe(before - 8000n);
    await services.db.query(`UPDATE x402_payments SET status = 'settled', tx_hash = '0xswept2' WHERE id = $1`, [
      p.paymentId,
    ]);
    expect(await ledgerOk()).toEqual([]);
  });

  it('leaves a payment younger than X402_PENDING_STALE_SECONDS (its call may still run) and one whose answer is still open', async () => {
    const fresh = await accept('exact', 700n);
    const open = await accept('exact', 900n);
    await age(open);
    await services.db.query(
      `INSERT INTO answers (id, request_id, account_id, key_id, model, query, sources, hold, status, livemode, deadline_at)
       VALUES ($1, $2, $3, $4, 'citepay-extractive', 'q', '[]', 0, 'running', true, now() + interval '1 hour')`,
      [newId('answer'), open.requestId, open.principal.accountId, open.principal.keyId],
    );
    const swept = await sweepStalePayments(services);
    expect(swept.waiting).toEqual([open.paymentId]);
    expect(swept.refunded).not.toContain(fresh.paymentId);
    expect((await row(fresh)).status).toBe('pending');
    expect((await row(open)).status).toBe('pending');
    // the fresh one's live process finishes it as usual
    await refundPayment(services, fresh, 'the call failed with 400');
    expect((await row(fresh)).status).toBe('refused');
  });

  it('two sweeps at once finish each payment once', async () => {
    const ps = await Promise.all([1, 2, 3, 4].map(() => accept('exact', 1000n)));
    for (const p of ps) await age(p);
    await charge(ps[0]!, 400n);
    const before = await wallet(ps[0]!);
    const [a, b] = await Promise.all([sweepStalePayments(services), sweepStalePayments(services)]);
    const refunded = [...a.refunded, ...b.refunded].sort();
    expect(refunded).toEqual(
      ps
        .slice(1)
        .map((p) => p.paymentId)
        .sort(),
    );
    expect([...a.owed, ...b.owed]).toEqual([ps[0]!.paymentId]);
    expect(await wallet(ps[0]!)).toBe(before - 3000n);
  });
});
