import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Umzug, type UmzugStorage } from 'umzug';
import type { Db } from './index.ts';

// Plain SQL migrations, ordered by file name, run by umzug (tracking, ordering,
// pending/executed listing) on any Db adapter. Each file runs in one transaction
// together with its bookkeeping row, so a crash never leaves a half-applied file.
const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));
const TABLE = 'schema_migrations';
const LOCK_ID = 727_001; // advisory lock: concurrent deploys/processes migrate one at a time

export function sqlMigrations(dir = MIGRATIONS_DIR) {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((file) => ({ name: file, sql: readFileSync(`${dir}/${file}`, 'utf8') }));
}

function storage(db: Db): UmzugStorage {
  return {
    async executed() {
      const r = await db.query<{ name: string }>(`SELECT name FROM ${TABLE} ORDER BY name`);
      return r.rows.map((row) => row.name);
    },
    async logMigration() {
      // recorded inside the migration's own transaction (see migrate)
    },
    async unlogMigration({ name }) {
      await db.query(`DELETE FROM ${TABLE} WHERE name = $1`, [name]);
    },
  };
}

export async function migrate(db: Db, dir?: string): Promise<string[]> {
  // Under the same lock as the files: two processes running CREATE TABLE IF NOT EXISTS at once on a
  // real server can both try to create it (a unique violation on pg_type), IF NOT EXISTS or not.
  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_ID]);
    await tx.exec(
      `CREATE TABLE IF NOT EXISTS ${TABLE} (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
  });
  const umzug = new Umzug({
    migrations: sqlMigrations(dir).map(({ name, sql }) => ({
      name,
      up: () =>
        db.transaction(async (tx) => {
          // Serialise concurrent migrators; the loser sees the row and skips.
          await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_ID]);
          const done = await tx.query(`SELECT 1 FROM ${TABLE} WHERE name = $1`, [name]);
          if (done.rows.length > 0) return;
          await tx.exec(sql);
          await tx.query(`INSERT INTO ${TABLE} (name) VALUES ($1)`, [name]);
        }),
    })),
    storage: storage(db),
    logger: undefined,
  });
  const applied = await umzug.up();
  return applied.map((m) => m.name);
}
