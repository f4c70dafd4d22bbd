import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { migrate } from '../db/migrate.ts';
import type { Db } from '../db/index.ts';
import { openTestDb, TEST_DB } from '../../test/services.ts';
import { newId } from '../ids.ts';
import { FUNDING_ACCOUNT_ID, PROTOCOL_ACCOUNT_ID, insertAccount } from './accounts.ts';
import { closeAnswer, holdAnswer } from './answers.ts';
import { balanceMismatches, chargeCall, creditsOf, postTransaction } from './ledger.ts';

// Running balances (migration 0040) against what they sum: charges, grants, holds and releases
// raced against each other (on PostgreSQL, through a pool: real concurrency), then every account's
// stored balance and held amount compared with Σ entries and Σ open holds.
describe(`running balances on ${TEST_DB}`, () => {
  let db: Db;
  const consumers: string[] = [];
  const owners: string[] = [];
  const open: { id: string; consumer: number }[] = [];
  beforeAll(async () => {
    db = await openTestDb(TEST_DB, { max: 8 });
    await migrate(db);
    for (let i = 0; i < 3; i++) consumers.push((await insertAccount(db, { kind: 'consumer', name: `c${i}` })).id);
    for (let i = 0; i < 3; i++)
      owners.push(
        (
          await insertAccount(db, {
            kind: 'contributor',
            name: `o${i}`,
            wallet: `0x${String(i + 1).padStart(40, '0')}`,
          })
        ).id,
      );
  });
  afterAll(() => db.close());

  type Op =
    | { op: 'grant'; consumer: number; amount: bigint; livemode: boolean }
    | { op: 'charge'; consumer: number; owners: number[]; amount: bigint; livemode: boolean }
    | { op: 'hold'; consumer: number; amount: bigint; livemode: boolean }
    | { op: 'release'; pick: number; status: 'succeeded' | 'failed' | 'expired' };
  const amount = fc.bigInt({ min: 1n, max: 5_000n });
  const livemode = fc.boolean();
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('grant' as const), consumer: fc.nat(2), amount, livemode }),
    fc.record({
      op: fc.constant('charge' as const),
      consumer: fc.nat(2),
      owners: fc.uniqueArray(fc.nat(2), { minLength: 1, maxLength: 3 }),
      amount,
      livemode,
    }),
    fc.record({ op: fc.constant('hold' as const), consumer: fc.nat(2), amount, livemode }),
    fc.record({
      op: fc.constant('release' as const),
      pick: fc.nat(),
      status: fc.constantFrom('succeeded' as const, 'failed' as const, 'expired' as const),
    }),
  );

  const run = async (o: Op): Promise<void> => {
    const consumer = consumers[o.op === 'release' ? 0 : o.consumer]!;
    if (o.op === 'grant') {
      await postTransaction(db, {
        id: newId('transaction'),
        kind: 'credit_grant',
        requestId: null,
        keyId: null,
        livemode: o.livemode,
        entries: [
          { accountId: FUNDING_ACCOUNT_ID, amount: -o.amount },
          { accountId: consumer, amount: o.amount },
        ],
      });
    } else if (o.op === 'charge') {
      // The consumer pays each owner `amount` and the protocol 1: contributors shared between racing charges.
      const entries = [
        { accountId: consumer, amount: -(o.amount * BigInt(o.owners.length) + 1n) },
        ...o.owners.map((i) => ({ accountId: owners[i]!, amount: o.amount })),
        { accountId: PROTOCOL_ACCOUNT_ID, amount: 1n },
      ];
      const requestId = newId('request');
      await chargeCall(db, {
        payer: { accountId: consumer, livemode: o.livemode },
        required: -entries[0]!.amount,
        transaction: { id: newId('transaction'), kind: 'retrieve', requestId, keyId: null, entries },
        receipt: null,
        idempotency: null,
      });
    } else if (o.op === 'hold') {
      const id = newId('answer');
      const held = await holdAnswer(
        db,
        {
          id,
          requestId: newId('request'),
          accountId: consumer,
          keyId: null,
          model: 'extractive',
          adapterId: null,
          query: 'q',
          sources: [],
          hold: o.amount,
          livemode: o.livemode,
          deadlineSeconds: 60,
        },
        null,
        null,
      );
      if (held.status === 'ok') open.push({ id, consumer: o.consumer });
    } else if (open.length > 0) {
      const [answer] = open.splice(o.pick % open.length, 1);
      await closeAnswer(db, answer!.id, o.status, {});
    }
  };

  it('equal Σ entries and Σ open holds for every account and mode, and no charge or hold overdraws (property)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
        await Promise.all(ops.map(run));
        expect(await balanceMismatches(db, 5)).toEqual([]);
        for (const id of consumers)
          for (const mode of [true, false]) {
            const { balance, held } = await creditsOf(db, id, mode);
            expect(balance - held).toBeGreaterThanOrEqual(0n);
          }
      }),
      { numRuns: 40 },
    );
  });

  it('refuses a charge the balance does not cover, writing nothing', async () => {
    const consumer = (await insertAccount(db, { kind: 'consumer', name: 'poor' })).id;
    const requestId = newId('request');
    const r = await chargeCall(db, {
      payer: { accountId: consumer, livemode: true },
      required: 10n,
      transaction: {
        id: newId('transaction'),
        kind: 'retrieve',
        requestId,
        keyId: null,
        entries: [
          { accountId: consumer, amount: -10n },
          { accountId: owners[0]!, amount: 10n },
        ],
      },
      receipt: null,
      idempotency: null,
    });
    expect(r).toEqual({ ok: false, balance: 0n, held: 0n });
    expect((await db.query(`SELECT 1 FROM ledger_transactions WHERE request_id = $1`, [requestId])).rows).toEqual([]);
  });

  it('is named by check:ledger when a stored balance drifts from its entries', async () => {
    await db.query(`UPDATE account_balances SET balance = balance + 1 WHERE account_id = $1 AND livemode`, [owners[1]]);
    expect(await balanceMismatches(db, 5)).toEqual([expect.objectContaining({ accountId: owners[1], livemode: true })]);
    await db.query(`UPDATE account_balances SET balance = balance - 1 WHERE account_id = $1 AND livemode`, [owners[1]]);
    expect(await balanceMismatches(db, 5)).toEqual([]);
  });
});
