import pg from 'pg';
import { Unavailable } from '../errors.ts';
import type { Db, Queryable, QueryResult } from './index.ts';
import { INT8_OID, parseInt8 } from './index.ts';

export interface PgOptions {
  /** pool size per process (DATABASE_POOL_MAX); many processes share one server's max_connections */
  max?: number;
  /** an idle pooled connection failed (e.g. the server restarted): logged, never fatal */
  onIdleError?: (err: Error) => void;
  /** the socket to speak through (the edge Worker's cloudflare:sockets); default: Node's net */
  stream?: pg.PoolConfig['stream'];
}

// A real PostgreSQL server through node-postgres (Aurora, RDS, Neon, or PGlite over a socket).
export function openPg(connectionString: string, options: PgOptions = {}): Db {
  const types = {
    getTypeParser: (oid: number, format?: 'text' | 'binary') =>
      oid === INT8_OID ? parseInt8 : pg.types.getTypeParser(oid, format),
  };
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    types,
    connectionTimeoutMillis: 5_000,
    ...(options.stream ? { stream: options.stream } : {}),
  });
  // Without a listener, a server closing an idle client (restart, failover, idle timeout) is an
  // unhandled 'error' event that kills the process. The pool drops that client and makes a new one.
  pool.on('error', (err) => options.onIdleError?.(err));
  const onClient = (client: Pick<pg.PoolClient, 'query'>): Queryable => ({
    async query<T>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<T>> {
      const r = await unavailableOnDisconnect(() => client.query(sql, params as unknown[]));
      return { rows: r.rows as T[], affectedRows: r.rowCount ?? 0 };
    },
    async exec(sql: string) {
      await unavailableOnDisconnect(() => client.query(sql));
    },
  });
  return {
    kind: 'pg',
    ...onClient(pool),
    async transaction(fn) {
      const client = await unavailableOnDisconnect(() => pool.connect());
      let broken: Error | undefined;
      // A checked-out client has no pool listener: its connection dying would be an unhandled
      // 'error' event. The statement in flight fails on its own; mark the client broken.
      const onError = (err: Error) => (broken = err);
      client.on('error', onError);
      try {
        await onClient(client).query('BEGIN');
        const result = await fn(onClient(client));
        await onClient(client).query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch((e: Error) => (broken = e));
        throw err;
      } finally {
        // A client whose connection died is destroyed, not handed to the next caller.
        client.off('error', onError);
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}

/**
 * Connection-class failures (server down, restarting, failing over, unreachable) become one
 * retryable "unavailable" error: the caller gets 503 + Retry-After and nothing was committed.
 * SQL errors (constraint violations, serialization failures) pass through unchanged.
 */
async function unavailableOnDisconnect<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (isConnectionFailure(err)) throw new Unavailable('the database is unavailable; retry shortly', 'database', 1);
    throw err;
  }
}

const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
]);

export function isConnectionFailure(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (CONNECTION_ERRNOS.has(code)) return true;
    // 08: connection exception; 57P01-03: admin shutdown, crash shutdown, cannot connect now.
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return true;
  }
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
    err.message,
  );
}

/**
 * LISTEN on `channel` over one dedicated connection (not a pooled one: a pooled client would carry
 * the LISTEN to whoever takes it next). Reconnects a second after the connection fails; `onState`
 * says whether notifications are flowing, so followers can poll faster meanwhile.
 */
export function listenPg(
  connectionString: string,
  channel: string,
  handlers: { onPayload(payload: string): void; onState(up: boolean): void; onError?(err: Error): void },
): { close(): Promise<void> } {
  let client: pg.Client | undefined;
  let retry: NodeJS.Timeout | undefined;
  let closed = false;
  const drop = () => {
    handlers.onState(false);
    const c = client;
    client = undefined;
    c?.removeAllListeners();
    c?.on('error', () => {}); // a dying connection may still report an error
    return c?.end().catch(() => {});
  };
  const again = () => {
    void drop();
    if (closed || retry) return;
    retry = setTimeout(() => {
      retry = undefined;
      void connect();
    }, 1000);
  };
  const connect = async () => {
    const c = (client = new pg.Client({ connectionString, connectionTimeoutMillis: 5_000 }));
    c.on('notification', (n) => n.channel === channel && n.payload !== undefined && handlers.onPayload(n.payload));
    c.on('error', (err) => {
      handlers.onError?.(err);
      again();
    });
    c.on('end', again);
    try {
      await c.connect();
      await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      if (client === c && !closed) handlers.onState(true);
    } catch (err) {
      handlers.onError?.(err as Error);
      if (client === c) again();
    }
  };
  void connect();
  return {
    async close() {
      closed = true;
      clearTimeout(retry);
      await drop();
    },
  };
}
