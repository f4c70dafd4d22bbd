import type { Db } from '../db/index.ts';

// PGlite runs no autovacuum, so nothing refreshes planner statistics: without them the
// planner misjudges the HNSW and GIN indexes. Re-ANALYZE once the chunk tables have
// grown by a quarter (or 500 rows) since the last time. Harmless on a real server.
const state = new WeakMap<Db, { sinceLast: number; atLast: number; running: boolean }>();

export function noteRowsWritten(db: Db, rows: number): void {
  const s = state.get(db) ?? { sinceLast: 0, atLast: 0, running: false };
  state.set(db, s);
  s.sinceLast += rows;
  if (s.running || s.sinceLast < Math.max(500, s.atLast / 4)) return;
  s.running = true;
  const written = s.sinceLast;
  void db
    .exec('ANALYZE chunks; ANALYZE chunk_vectors; ANALYZE documents; ANALYZE lexeme_stats')
    .then(() => {
      s.atLast += written;
      s.sinceLast -= written;
    })
    .catch(() => {})
    .finally(() => (s.running = false));
}

/** Fresh planner statistics for every table (PGlite at start: it has no autovacuum). */
export async function analyzeAll(db: Db): Promise<void> {
  await db.exec('ANALYZE');
}
