import { createHash } from 'node:crypto';
import type { Db } from './index.ts';

/**
 * Runs `fn` while holding a database-wide advisory lock named `name`, or returns `busy` at once if
 * another process holds it. The lock lives in a transaction of its own (released by commit, and by
 * the server if this process dies), so `fn` uses other connections freely. PGlite is one process by
 * construction (its files cannot be shared), so there it simply runs `fn`: holding its single
 * connection in a transaction would block `fn`'s own queries.
 */
export async function withExclusiveLock<T>(db: Db, name: string, fn: () => Promise<T>): Promise<{ busy: true } | { busy: false; value: T }> {
  if (db.kind === 'pglite') return { busy: false, value: await fn() };
  const key = createHash('sha256').update(name).digest().readBigInt64BE(0);
  return db.transaction(async (tx) => {
    const r = await tx.query<{ locked: boolean }>(`SELECT pg_try_advisory_xact_lock($1::bigint) AS locked`, [key.toString()]);
    if (!r.rows[0]?.locked) return { busy: true } as const;
    return { busy: false, value: await fn() } as const;
  });
}
