import { afterAll, describe, expect, it } from 'vitest';
import type { Db } from '../../shared/db/index.ts';
import { migrate } from '../../shared/db/migrate.ts';
import { createAccount } from '../../shared/services/accounts.ts';
import { checkLedger } from '../../shared/services/ledger-check.ts';
import { PROTOCOL_ACCOUNT_ID } from '../../shared/store/accounts.ts';
import { insertDatanet } from '../../shared/store/datanets.ts';
import { insertDocument } from '../../shared/store/documents.ts';
import { openTestDb, TEST_DB } from '../../test/services.ts';
import { seedPriorCalls, type SeedMode, type SeedParties } from './seed-history.ts';

// bench:scale's bulk seed (per-row triggers off, their effects applied set-based) must leave exactly
// the database the per-row triggers leave: the receipts index, running balances and rollups row for
// row (ids mapped to roles, since each database makes its own), and check:ledger passing.
describe(`bench:scale's bulk seed on ${TEST_DB}`, () => {
  const open: Db[] = [];
  afterAll(() => Promise.all(open.map((db) => db.close())));

  async function seeded(mode: SeedMode) {
    const db = await openTestDb(TEST_DB);
    open.push(db);
    await migrate(db);
    const consumer = await createAccount(db, { kind: 'consumer', name: 'c', credits: 10n ** 12n });
    const owner = await createAccount(db, {
      kind: 'contributor',
      name: 'o',
      wallet: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    });
    const datanet = await insertDatanet(db, {
      ownerAccountId: owner.account.id,
      name: 'dn',
      description: null,
      pricePerSource: 1000n,
      embeddingModel: 'use-lite-512',
      embeddingDim: 512,
    });
    const documentIds: string[] = [];
    for (const n of [1, 2, 3]) {
      const id = `doc_seed${n}`;
      await insertDocument(db, {
        id,
        datanetId: datanet.id,
        title: `d${n}`,
        contentType: 'text/plain',
        contentHash: `h${n}`,
        objectKey: `k${n}`,
        byteLength: 1,
        textLength: 1,
        metadata: {},
        chunkCount: 1,
      });
      documentIds.push(id);
    }
    const parties: SeedParties = {
      consumerAccountId: consumer.account.id,
      consumerKeyId: consumer.apiKey!.id,
      ownerAccountId: owner.account.id,
      ownerWallet: owner.account.wallet!,
      protocolAccountId: PROTOCOL_ACCOUNT_ID,
      datanetId: datanet.id,
      documentIds,
    };
    // Two calls, then a second seeding in uneven batches: batch edges and a second run add up.
    await seedPriorCalls(db, parties, 0, 2, { mode });
    await seedPriorCalls(db, parties, 2, 450, { mode, batch: 128 });
    await db.query(`SELECT dashboard_rollup()`);
    const roles: [string, string][] = [
      [consumer.account.id, 'CONSUMER'],
      [consumer.apiKey!.id, 'KEY'],
      [owner.account.id, 'OWNER'],
      [datanet.id, 'DATANET'],
    ];
    const snapshot = async (sql: string) => {
      let text = JSON.stringify((await db.query(sql)).rows, (_k, v) =>
        typeof v === 'bigint' ? `${v}n` : v instanceof Date ? v.toISOString() : v,
      );
      for (const [id, role] of roles) text = text.replaceAll(id, role);
      // sorted after mapping: each database's ids sort differently
      return (JSON.parse(text) as unknown[]).map((r) => JSON.stringify(r)).sort();
    };
    return {
      db,
      parties,
      tables: {
        receipt_calls: await snapshot(`SELECT * FROM receipt_calls ORDER BY receipt_id`),
        receipt_sources: await snapshot(`SELECT * FROM receipt_sources ORDER BY receipt_id, ordinal`),
        account_balances: await snapshot(
          `SELECT account_id, livemode, balance, held FROM account_balances ORDER BY account_id, livemode`,
        ),
        rollup_ledger: await snapshot(`SELECT * FROM rollup_ledger ORDER BY 1, 2, 3, 4`),
        rollup_sources: await snapshot(`SELECT * FROM rollup_sources ORDER BY 1, 2, 3, 4, 5`),
        rollup_payer_days: await snapshot(`SELECT * FROM rollup_payer_days ORDER BY 1, 2, 3, 4`),
        entries: await snapshot(
          `SELECT transaction_id, account_id, amount, datanet_id, document_id FROM ledger_entries
            WHERE transaction_id LIKE 'txn_s%' ORDER BY transaction_id, account_id`,
        ),
      },
    };
  }

  it('leaves what the per-row triggers leave, and the ledger check passes', async () => {
    const byTriggers = await seeded('triggers');
    const bulk = await seeded('bulk');
    expect(bulk.tables.receipt_calls).toHaveLength(450);
    expect(bulk.tables.receipt_sources).toHaveLength(450);
    expect(bulk.tables.rollup_ledger.length).toBeGreaterThan(0);
    expect(bulk.tables).toEqual(byTriggers.tables);
    for (const { db } of [byTriggers, bulk]) {
      const failed = (await checkLedger(db)).filter((c) => !c.ok);
      expect(failed).toEqual([]);
    }
  });

  it('turns the per-row triggers back on: an unbalanced transaction is refused after a bulk seed', async () => {
    const db = open.at(-1)!;
    const entries = await db.query<{ account_id: string }>(
      `SELECT account_id FROM ledger_entries WHERE transaction_id = 'txn_s1' AND amount < 0`,
    );
    await expect(
      db.transaction(async (tx) => {
        await tx.query(
          `INSERT INTO ledger_transactions (id, kind, request_id, key_id, livemode) VALUES ('txn_x', 'retrieve', 'req_x', NULL, true)`,
        );
        await tx.query(
          `INSERT INTO ledger_entries (transaction_id, livemode, account_id, amount) VALUES ('txn_x', true, $1, -5)`,
          [entries.rows[0]!.account_id],
        );
      }),
    ).rejects.toThrow(/does not balance/);
    const receipts = await db.query<{ n: bigint }>(`SELECT count(*)::bigint AS n FROM receipt_calls`);
    await db.query(
      `INSERT INTO receipts (id, request_id, kind, account_id, canonical, hash, livemode)
       SELECT 'rcpt_x', 'req_y', kind, account_id, canonical, '0x' || repeat('e', 64), livemode FROM receipts WHERE id = 'rcpt_s1'`,
    );
    const after = await db.query<{ n: bigint }>(`SELECT count(*)::bigint AS n FROM receipt_calls`);
    expect(after.rows[0]!.n).toBe(receipts.rows[0]!.n + 1n);
  });

  it('refuses a batch that breaks a rule the switched-off checks enforce, and leaves nothing of it', async () => {
    const { parties } = await seeded('bulk');
    const again = open.at(-1)!;
    await expect(
      seedPriorCalls(again, { ...parties, documentIds: ['doc_missing'] }, 1000, 1010, { mode: 'bulk' }),
    ).rejects.toThrow(/without their referenced row: ledger_entries_document_id_fkey/);
    const after = await again.query<{ n: bigint }>(
      `SELECT count(*)::bigint AS n FROM ledger_entries WHERE transaction_id = 'txn_s1000'`,
    );
    expect(after.rows[0]!.n).toBe(0n);
  });
});
