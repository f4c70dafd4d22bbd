import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

// A real PostgreSQL 15 server (Debian's packages, pgvector from vendor/ via .ci/postgres.sh) in a
// private folder, for the tests and the benches. Started with pg_ctl; as root it runs as `postgres`
// (initdb refuses root). fsync is off: the data is thrown away at the end of the run.
export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PostgresServer {
  /** superuser URL of the `postgres` database */
  url: string;
  port: number;
  /** `pg_ctl stop -m fast`: every connection is cut; `start()` brings the same server back */
  halt(): Promise<void>;
  start(): Promise<void>;
  /** `pg_ctl restart -m fast`: every connection is cut, the server is back a fraction of a second later */
  restart(): Promise<void>;
  /** stop for good and remove its folder */
  stop(): Promise<void>;
}

export function postgresInstalled(): boolean {
  return existsSync(join(PG_BIN, 'postgres')) && existsSync(join(PG_BIN, 'initdb'));
}

export async function startPostgres(): Promise<PostgresServer> {
  if (!postgresInstalled())
    throw new Error(`PostgreSQL 15 is not installed at ${PG_BIN}: run \`sudo bash .ci/postgres.sh\``);
  const asRoot = process.getuid?.() === 0;
  // Outside the test run's private TMPDIR (mode 0700, owned by root): the postgres user must reach it.
  const root = mkdtempSync(join(process.env.CITEPAY_PG_TMP ?? '/tmp', 'citepay-pg-'));
  chmodSync(root, 0o755);
  const data = join(root, 'data');
  const sockets = join(root, 'sockets');
  mkdirSync(data, { mode: 0o700 });
  mkdirSync(sockets);
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', root]);
  const run = async (cmd: string, args: string[]) => {
    const [file, argv] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(PG_BIN, cmd), ...args]]
      : [join(PG_BIN, cmd), args];
    try {
      await promisify(execFile)(file, argv, { encoding: 'utf8' });
    } catch (err) {
      const e = err as { code?: number; stderr?: string; stdout?: string };
      throw new Error(`${cmd} failed (${e.code}): ${e.stderr || e.stdout}`);
    }
  };
  await run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync']);
  const port = await freePort();
  const conf = [
    `port = ${port}`,
    `listen_addresses = '127.0.0.1'`,
    `unix_socket_directories = '${sockets}'`,
    'max_connections = 300',
    'fsync = off',
    'synchronous_commit = off',
    'full_page_writes = off',
    'shared_buffers = 128MB',
  ].join('\n');
  writeFileSync(join(data, 'postgresql.auto.conf'), `${conf}\n`);
  if (asRoot) execFileSync('chown', ['postgres:postgres', join(data, 'postgresql.auto.conf')]);
  const ctl = (...args: string[]) =>
    run('pg_ctl', ['-D', data, '-l', join(root, 'server.log'), '-w', '-t', '60', ...args]);
  await ctl('start');
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    halt: () => ctl('stop', '-m', 'fast'),
    start: () => ctl('start'),
    restart: () => ctl('restart', '-m', 'fast'),
    stop: async () => {
      try {
        await ctl('stop', '-m', 'immediate');
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    },
  };
}

/** A new, empty database on the server; returns its URL. */
export async function createDatabase(serverUrl: string, prefix = 'citepay_t'): Promise<string> {
  const { default: pg } = await import('pg');
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      s.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

// Manual use: `tsx test/postgres-server.ts` starts one and prints its URL until Ctrl-C.
if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await startPostgres();
  process.stdout.write(`${server.url}\n`);
  process.on('SIGINT', () => void server.stop().finally(() => process.exit(0)));
  setInterval(() => {}, 1 << 30);
}
