import type { Queryable } from '../db/index.ts';
import { pingDatabase } from '../store/database-health.ts';

/** Whether the database answers a query now (GET /healthz). */
export async function databaseReachable(db: Queryable): Promise<boolean> {
  try {
    await pingDatabase(db);
    return true;
  } catch {
    return false;
  }
}
