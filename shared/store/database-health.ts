import type { Queryable } from '../db/index.ts';

/** One round trip to the database; throws when it cannot be reached. */
export async function pingDatabase(db: Queryable): Promise<void> {
  await db.query('SELECT 1');
}
