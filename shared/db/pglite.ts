import { PGlite, types } from '@electric-sql/pglite';
import { vector } from '@electric-sql/pglite-pgvector';
import type { Db, Queryable, QueryResult } from './index.ts';
import { INT8_OID, parseInt8 } from './index.ts';

// Embedded Postgres (WASM) with pgvector; `dataDir` undefined means in-memory (tests).
export async function openPglite(dataDir?: string): Promise<Db> {
  const pg = await PGlite.create({
    dataDir,
    extensions: { vector },
    parsers: { [INT8_OID]: parseInt8, [types.NUMERIC]: (v: string) => v },
  });
  return wrap(pg);
}

type PgliteLike = Pick<PGlite, 'query' | 'exec'>;

function queryable(pg: PgliteLike): Queryable {
  return {
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
      const r = await pg.query<T>(sql, params as unknown[]);
      return { rows: r.rows, affectedRows: r.affectedRows ?? 0 };
    },
    async exec(sql: string) {
      await pg.exec(sql);
    },
  };
}

export function wrap(pg: PGlite): Db {
  return {
    kind: 'pglite',
    ...queryable(pg),
    transaction: (fn) => pg.transaction((tx) => fn(queryable(tx))),
    close: () => pg.close(),
  };
}
