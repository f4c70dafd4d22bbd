import type { Queryable } from '../db/index.ts';

// deployment_settings (migration 0008): named JSON values the processes of one deployment agree on.
export async function readSetting<T>(db: Queryable, name: string): Promise<T | null> {
  const r = await db.query<{ value: T }>(`SELECT value FROM deployment_settings WHERE name = $1`, [name]);
  return r.rows[0]?.value ?? null;
}

/** Records `value` unless something is recorded already; returns what is recorded afterwards. */
export async function recordSettingOnce<T>(db: Queryable, name: string, value: T): Promise<T> {
  await db.query(`INSERT INTO deployment_settings (name, value) VALUES ($1, $2::jsonb) ON CONFLICT (name) DO NOTHING`, [
    name,
    JSON.stringify(value),
  ]);
  return (await readSetting<T>(db, name))!;
}

export async function writeSetting<T>(db: Queryable, name: string, value: T): Promise<void> {
  await db.query(
    `INSERT INTO deployment_settings (name, value) VALUES ($1, $2::jsonb) ON CONFLICT (name) DO UPDATE SET value = excluded.value, recorded_at = now()`,
    [name, JSON.stringify(value)],
  );
}
