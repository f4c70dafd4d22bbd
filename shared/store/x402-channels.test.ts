import type { Channel } from '@x402/evm/batch-settlement/server';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openTestDb, TEST_DB } from '../../test/services.ts';
import type { Db } from '../db/index.ts';
import { migrate } from '../db/migrate.ts';
import { newId } from '../ids.ts';
import { checkChannelLedger } from '../services/channel-check.ts';
import { insertAccount } from './accounts.ts';
import { balanceOf, postTransaction } from './ledger.ts';
import { insertPayer } from './x402.ts';
import {
  DbChannelStorage,
  X402_CHANNEL_CLAIMS_ACCOUNT_ID,
  X402_VOUCHERS_ACCOUNT_ID,
  finishChannelCharge,
  insertChannelCharge,
} from './x402-channels.ts';

// The batch-settlement ChannelStorage on the database (migration 0135): a second storage over the
// same database (another process, or this one restarted) sees every update; concurrent updates of
// one channel never interleave (PostgreSQL: a pool, real concurrency); each rise of the on-chain
// claimed total is one balanced ledger transaction, never two; a voucher pays for one call only.
describe(`x402 channel storage on ${TEST_DB}`, () => {
  let db: Db;
  let n = 0;
  let payerAccountId: string;
  const channelId = () => `0x${(++n).toString(16).padStart(64, '0')}`;
  const payer = '0x00000000000000000000000000000000000000aA';
  const base = (id: string): Channel => ({
    channelId: id,
    channelConfig: {
      payer,
      payerAuthorizer: payer,
      receiver: '0x00000000000000000000000000000000000000b0',
      receiverAuthorizer: '0x00000000000000000000000000000000000000c0',
      token: '0x00000000000000000000000000000000000000d0',
      withdrawDelay: 900,
      salt: `0x${'00'.repeat(32)}`,
    },
    chargedCumulativeAmount: '0',
    signedMaxClaimable: '0',
    signature: '0x',
    balance: '100000',
    totalClaimed: '0',
    withdrawRequestedAt: 0,
    refundNonce: 0,
    lastRequestTimestamp: 1,
  });
  const claimedInLedger = async () => -(await balanceOf(db, X402_CHANNEL_CLAIMS_ACCOUNT_ID, true));

  beforeAll(async () => {
    db = await openTestDb(TEST_DB, { max: 8 });
    await migrate(db);
    payerAccountId = (await insertAccount(db, { kind: 'consumer', name: 'x402 payer' })).id;
    await insertPayer(db, { wallet: payer, accountId: payerAccountId, keyId: 'key_test' });
  });
  afterAll(() => db.close());

  it('a second storage over the same database sees every update (a restart or another process loses nothing)', async () => {
    const id = channelId();
    const first = new DbChannelStorage(db);
    const created = await first.updateChannel(
      id,
      (current) =>
        current ?? { ...base(id), pendingRequest: { pendingId: 'p1', signedMaxClaimable: '1200', expiresAt: 99 } },
    );
    expect(created.status).toBe('updated');
    await first.updateChannel(id, (c) => ({
      ...c!,
      chargedCumulativeAmount: '1200',
      signedMaxClaimable: '1200',
      signature: '0xab',
      pendingRequest: undefined,
    }));
    const second = new DbChannelStorage(db);
    const seen = await second.get(id.toUpperCase().replace('0X', '0x'));
    expect(seen).toMatchObject({
      chargedCumulativeAmount: '1200',
      signedMaxClaimable: '1200',
      signature: '0xab',
      balance: '100000',
    });
    expect(seen!.pendingRequest).toBeUndefined();
    expect((await second.list()).map((c) => c.channelId)).toContain(id);
    expect(await second.updateChannel(id, (c) => c)).toMatchObject({ status: 'unchanged' });
  });

  it('concurrent updates of one channel never interleave', async () => {
    const id = channelId();
    const storage = new DbChannelStorage(db);
    await storage.updateChannel(id, () => base(id));
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        new DbChannelStorage(db).updateChannel(id, (c) => ({
          ...c!,
          chargedCumulativeAmount: (BigInt(c!.chargedCumulativeAmount) + 100n).toString(),
          lastRequestTimestamp: i,
        })),
      ),
    );
    expect((await storage.get(id))!.chargedCumulativeAmount).toBe('1200');
  });

  it('each rise of the claimed total is one balanced ledger transaction; a stale or repeated total posts nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.bigInt({ min: 0n, max: 5000n }), { minLength: 1, maxLength: 8 }), async (totals) => {
        const id = channelId();
        const storage = new DbChannelStorage(db);
        await storage.updateChannel(id, () => ({ ...base(id), chargedCumulativeAmount: '5000' }));
        const before = await claimedInLedger();
        // the manager's rule: only a higher total is written; a lower one leaves the channel as it is
        for (const total of totals)
          await storage.updateChannel(id, (c) =>
            total > BigInt(c!.totalClaimed) ? { ...c!, totalClaimed: total.toString() } : c,
          );
        const highest = totals.reduce((a, b) => (b > a ? b : a), 0n);
        expect((await claimedInLedger()) - before).toBe(highest);
        expect((await storage.get(id))!.totalClaimed).toBe(highest.toString());
      }),
      { numRuns: 15 },
    );
    expect((await checkChannelLedger(db)).offenders).toEqual([]);
  });

  it('a voucher pays for one call: the same cumulative amount is refused until its charge was refused', async () => {
    const id = channelId();
    await new DbChannelStorage(db).updateChannel(id, () => base(id));
    const credit = async () => {
      const txn = newId('transaction');
      await postTransaction(db, {
        id: txn,
        kind: 'credit_grant',
        requestId: null,
        keyId: null,
        livemode: true,
        entries: [
          { accountId: X402_VOUCHERS_ACCOUNT_ID, amount: -1200n },
          { accountId: payerAccountId, amount: 1200n },
        ],
      });
      return txn;
    };
    const charge = async () => ({
      id: newId('payment'),
      channelId: id,
      payer,
      cumulative: 1200n,
      amount: 1200n,
      route: '/v1/retrieve',
      requestId: newId('request'),
      creditTransactionId: await credit(),
    });
    const first = await charge();
    expect(await insertChannelCharge(db, first)).toBe(true);
    expect(await insertChannelCharge(db, await charge())).toBe(false);
    await finishChannelCharge(db, first.id, {
      status: 'refused',
      refundTransactionId: await credit(),
      error: 'failed call',
    });
    expect(await insertChannelCharge(db, await charge())).toBe(true);
  });
});
