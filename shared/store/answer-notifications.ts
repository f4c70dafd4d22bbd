import type { Queryable } from '../db/index.ts';

/** NOTIFY on `channel` (PostgreSQL): every process LISTENing there hears `payload` once this commits. */
export async function notifyChannel(db: Queryable, channel: string, payload: string): Promise<void> {
  await db.query('SELECT pg_notify($1, $2)', [channel, payload]);
}
