import { createHash } from 'node:crypto';
import type { Db, Queryable } from './index.ts';

/**
 * Runs `fn` while holding a database-wide advisory lock named `name`, or returns `busy` at once if
 * another process holds it. The lock lives in a transaction of its own (released by commit, and by
 * the server if this process dies), so `fn` uses other connections freely. PGlite is one process by
 * construction (its files cannot be shared), so there it simply runs `fn`: holding its single
 * connection in a transaction would block `fn`'s own queries.
 */
export async function withExclusiveLock<T>(
  db: Db,
  name: string,
  fn: () => Promise<T>,
): Promise<{ busy: true } | { busy: false; value: T }> {
  if (db.kind === 'pglite') return { busy: false, value: await fn() };
  return db.transaction(async (tx) => {
    // The lock's transaction idles while `fn` works (a settlement waits for chain receipts): a server
    // idle-in-transaction timeout must not end it, and with it the lock, half-way. (A pooler in
    // transaction mode, e.g. RDS Proxy, pins this session: fine for one settler.)
    await tx.query(`SET LOCAL idle_in_transaction_session_timeout = 0`);
    const r = await tx.query<{ locked: boolean }>(`SELECT pg_try_advisory_xact_lock($1::bigint) AS locked`, [
      lockKey(name),
    ]);
    if (!r.rows[0]?.locked) return { busy: true } as const;
    return { busy: false, value: await fn() } as const;
  });
}

/** The same lock, waiting for it instead of giving up (e.g. processes starting at the same moment). */
export async function whileLocked<T>(db: Db, name: string, fn: () => Promise<T>): Promise<T> {
  if (db.kind === 'pglite') return fn();
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock($1::bigint)`, [lockKey(name)]);
    return fn();
  });
}

const lockKey = (name: string) => createHash('sha256').update(name).digest().readBigInt64BE(0).toString();

/** A lock held until the caller's transaction ends (e.g. one first sign-up per wallet at a time). */
export async function lockInTransaction(tx: Queryable, name: string): Promise<void> {
  await tx.query(`SELECT pg_advisory_xact_lock($1::bigint)`, [lockKey(name)]);
}
