import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { PGlite } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { migrate, sqlMigrations } from './migrate.ts';
import { openTestDb, TEST_DB, testDatabaseUrl } from '../../test/services.ts';
import { openPg } from './pg.ts';
import type { Db } from './index.ts';
import { postTransaction, balanceOf } from '../store/ledger.ts';
import { insertAccount, FUNDING_ACCOUNT_ID } from '../store/accounts.ts';
import { newId } from '../ids.ts';

describe('migrations', () => {
  it(`apply once on ${TEST_DB} and are skipped on the next run`, async () => {
    const db = await openTestDb();
    const all = sqlMigrations().map((m) => m.name);
    expect(await migrate(db)).toEqual(all);
    expect(await migrate(db)).toEqual([]);
    const tables = await db.query<{ table_name: string }>(
      `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`,
    );
    expect(tables.rows.map((t) => t.table_name)).toEqual(
      expect.arrayContaining(['accounts', 'chunks', 'chunk_vectors', 'ledger_entries']),
    );
    await db.close();
  });

  describe('through a standard PostgreSQL driver (node-postgres over the wire protocol)', () => {
    let server: PGLiteSocketServer;
    let pglite: PGlite;
    let db: Db;
    beforeAll(async () => {
      pglite = await PGlite.create({ extensions: { vector } });
      server = new PGLiteSocketServer({ db: pglite, port: 0, host: '127.0.0.1' });
      await server.start();
      db = openPg(`postgres://postgres@${server.getServerConn()}/postgres`, { max: 1 });
    });
    afterAll(async () => {
      await db.close();
      await server.stop();
      await pglite.close();
    });

    it('runs the same SQL files and returns int8 as bigint', async () => {
      expect(await migrate(db)).toEqual(sqlMigrations().map((m) => m.name));
      const r = await db.query<{ big: bigint }>(`SELECT 9007199254740993::bigint AS big`);
      expect(r.rows[0]!.big).toBe(9007199254740993n);
    });

    it('rolls a failed transaction back', async () => {
      await expect(
        db.transaction(async (tx) => {
          await tx.query(`INSERT INTO accounts (id, kind, name) VALUES ('acct_rollback', 'consumer', 'x')`);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect((await db.query(`SELECT 1 FROM accounts WHERE id = 'acct_rollback'`)).rows).toHaveLength(0);
    });
  });
});

describe.runIf(TEST_DB === 'pg')('migrations on a shared server', () => {
  it('let several processes migrate a fresh database at once (Lambdas cold-starting together)', async () => {
    const url = await testDatabaseUrl();
    const dbs = [openPg(url, { max: 2 }), openPg(url, { max: 2 }), openPg(url, { max: 2 })];
    try {
      await Promise.all(dbs.map((db) => migrate(db))); // before the fix: a unique violation on pg_type
      const recorded = await dbs[0]!.query<{ name: string }>(`SELECT name FROM schema_migrations ORDER BY name`);
      expect(recorded.rows.map((r) => r.name)).toEqual(sqlMigrations().map((m) => m.name));
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });
});

describe('ledger in the database', () => {
  let db: Db;
  let accounts: string[];
  beforeAll(async () => {
    db = await openTestDb();
    await migrate(db);
    accounts = [];
    for (let i = 0; i < 4; i++) accounts.push((await insertAccount(db, { kind: 'consumer', name: `a${i}` })).id);
  });
  afterAll(() => db.close());

  it('refuses an unbalanced transaction at commit, even bypassing the application check', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query(`INSERT INTO ledger_transactions (id, kind, livemode) VALUES ('txn_bad', 'retrieve', true)`);
        await tx.query(
          `INSERT INTO ledger_entries (transaction_id, livemode, account_id, amount) VALUES ('txn_bad', true, $1, 5)`,
          [accounts[0]],
        );
      }),
    ).rejects.toThrow(/does not balance/);
    expect((await db.query(`SELECT 1 FROM ledger_transactions WHERE id = 'txn_bad'`)).rows).toHaveLength(0);
  });

  it('accepts a raw multi-leg transaction exactly when its legs sum to zero and none is zero (property, bypassing the application)', async () => {
    let refused = 0;
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        // 1–6 legs over any of the accounts (repeats allowed), and an offset that is zero half the time:
        // the last leg closes the sum, then the offset unbalances it (or not).
        fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n })), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.integer({ min: 0, max: 4 }),
        fc.oneof(fc.constant(0n), fc.bigInt({ min: -(10n ** 9n), max: 10n ** 9n })),
        async (legs, closer, offset) => {
          const ids = [...accounts, FUNDING_ACCOUNT_ID];
          const entries = legs.map(([i, amount]) => ({ accountId: ids[i]!, amount }));
          let sum = 0n;
          for (const e of entries) sum += e.amount;
          entries.push({ accountId: ids[closer]!, amount: -sum + offset });
          // The expectation, from plain arithmetic over the generated legs: an entry of 0 is refused
          // outright (a CHECK), else the transaction commits exactly when the legs sum to zero.
          const hasZero = entries.some((e) => e.amount === 0n);
          const balanced = offset === 0n && !hasZero;
          const id = newId('transaction');
          const post = db.transaction(async (tx) => {
            await tx.query(`INSERT INTO ledger_transactions (id, kind, livemode) VALUES ($1, 'retrieve', true)`, [id]);
            for (const e of entries)
              await tx.query(
                `INSERT INTO ledger_entries (transaction_id, livemode, account_id, amount) VALUES ($1, true, $2, $3)`,
                [id, e.accountId, e.amount],
              );
          });
          if (balanced) {
            await post;
            accepted++;
          } else {
            await expect(post).rejects.toThrow(hasZero ? /check constraint|amount_check/ : /does not balance/);
            expect((await db.query(`SELECT 1 FROM ledger_transactions WHERE id = $1`, [id])).rows).toHaveLength(0);
            refused++;
          }
        },
      ),
      { numRuns: 60 },
    );
    expect(refused).toBeGreaterThan(0); // the property saw both sides
    expect(accepted).toBeGreaterThan(0);
  });

  it('never rewrites entries', async () => {
    await postTransaction(db, {
      id: newId('transaction'),
      kind: 'credit_grant',
      requestId: null,
      keyId: null,
      livemode: true,
      entries: [
        { accountId: FUNDING_ACCOUNT_ID, amount: -10n },
        { accountId: accounts[0]!, amount: 10n },
      ],
    });
    await expect(db.query(`UPDATE ledger_entries SET amount = amount + 1`)).rejects.toThrow(/append-only/);
    await expect(db.query(`DELETE FROM ledger_entries`)).rejects.toThrow(/append-only/);
  });

  it('keeps every transaction summing to zero and balances equal to the sum of postings (property)', async () => {
    const expected = new Map<string, bigint>();
    for (const id of [...accounts, FUNDING_ACCOUNT_ID]) expected.set(id, await balanceOf(db, id, true));
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n })), {
          minLength: 1,
          maxLength: 6,
        }),
        async (legs) => {
          // Each leg moves money between an account and the funding account: balanced by construction.
          const entries = legs.flatMap(([i, amount]) => [
            { accountId: accounts[i]!, amount },
            { accountId: FUNDING_ACCOUNT_ID, amount: -amount },
          ]);
          const nonZero = entries.some((e) => e.amount !== 0n);
          if (!nonZero) return;
          await postTransaction(db, {
            id: newId('transaction'),
            kind: 'retrieve',
            requestId: null,
            keyId: null,
            livemode: true,
            entries,
          });
          for (const e of entries) expected.set(e.accountId, expected.get(e.accountId)! + e.amount);
        },
      ),
      { numRuns: 60 },
    );
    for (const [id, balance] of expected) expect(await balanceOf(db, id, true)).toBe(balance);
    const sums = await db.query<{ total: bigint }>(
      `SELECT sum(amount)::bigint AS total FROM ledger_entries GROUP BY transaction_id`,
    );
    for (const row of sums.rows) expect(row.total).toBe(0n);
    const all = await db.query<{ total: bigint }>(
      `SELECT coalesce(sum(amount), 0)::bigint AS total FROM ledger_entries`,
    );
    expect(all.rows[0]!.total).toBe(0n);
  });
});
