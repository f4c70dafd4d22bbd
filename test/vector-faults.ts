import type { Services } from '../shared/services/container.ts';

// A named fake failure of the vector index's search, wherever the search runs: the adapter's
// search() (Pinecone; what its client throws when unreachable), or, for an index inside the
// database (pgvector), the statement that calls pgvector_chunk_hits (migrations 0095/0120): the
// folded search's one statement on PostgreSQL, the adapter's search() statement on PGlite's port path. `fail(n)` makes the
// next n searches throw `error()`; `searches` counts the searches tried. Call restore() after.
export function vectorSearchFaults(services: Services, error: () => Error) {
  let failures = 0;
  const state = { searches: 0, fail: (n = 1) => void (failures = n), restore: () => {} };
  if (services.vectorIndex.inDatabase) {
    const db = services.db;
    const query = db.query;
    db.query = ((sql: string, params?: unknown[]) => {
      if (sql.includes('pgvector_chunk_hits(')) {
        state.searches++;
        if (failures > 0) {
          failures--;
          return Promise.reject(error());
        }
      }
      return query.call(db, sql, params);
    }) as typeof db.query;
    state.restore = () => void (db.query = query);
  } else {
    const index = services.vectorIndex;
    const search = index.search;
    index.search = (...args) => {
      state.searches++;
      if (failures > 0) {
        failures--;
        return Promise.reject(error());
      }
      return search.apply(index, args);
    };
    state.restore = () => void (index.search = search);
  }
  return state;
}
