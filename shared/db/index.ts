// Database port: the small surface that both PGlite (embedded) and node-postgres
// (a real server) provide. int8 columns come back as bigint in both.

export interface QueryResult<T> {
  rows: T[];
  affectedRows: number;
}

export interface Queryable {
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<T>>;
  /** Runs several statements (no parameters); used by migrations. */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'pg';
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export const INT8_OID = 20;
export const parseInt8 = (value: string): bigint => BigInt(value);
