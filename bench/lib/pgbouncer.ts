import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../../test/postgres-server.ts';

// PgBouncer in transaction mode in front of a local PostgreSQL: the local stand-in for
// Cloudflare Hyperdrive's pool. Deployed, a Worker's per-request connection reaches Hyperdrive,
// which hands each transaction to an origin connection it keeps open; miniflare's own stand-in
// instead connects straight to the database, so every request forks a new PostgreSQL backend and
// runs its first statements with cold catalog caches — a cost Hyperdrive does not have.
// Debian's package (`apt-get install pgbouncer`, .ci/postgres.sh); it will not run as root.
const PGBOUNCER = '/usr/sbin/pgbouncer';

export const pgbouncerInstalled = (): boolean => existsSync(PGBOUNCER);

export interface PgBouncer {
  port: number;
  /** `databaseUrl` with its host and port swapped for the pool's */
  through(databaseUrl: string): string;
  stop(): Promise<void>;
}

export async function startPgBouncer(server: { port: number }): Promise<PgBouncer> {
  const dir = mkdtempSync('/tmp/citepay-pgbouncer-');
  chmodSync(dir, 0o755);
  const port = await freePort();
  const ini = join(dir, 'pgbouncer.ini');
  writeFileSync(join(dir, 'users.txt'), '"postgres" ""\n');
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = host=127.0.0.1 port=${server.port}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      'pool_mode = transaction',
      'max_client_conn = 500',
      'default_pool_size = 20',
      // node-postgres and Hyperdrive clients may send these; the pool ignores them, as Hyperdrive does
      'ignore_startup_parameters = extra_float_digits,options',
      '',
    ].join('\n'),
  );
  const asRoot = process.getuid?.() === 0;
  if (asRoot) execFileSync('chown', ['-R', 'postgres:postgres', dir]);
  const child = asRoot
    ? spawn('runuser', ['-u', 'postgres', '--', PGBOUNCER, ini], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(PGBOUNCER, [ini], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`pgbouncer exited: ${stderr}`);
    if (await accepts(port)) break;
    if (attempt > 200) throw new Error(`pgbouncer did not listen on ${port}: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    through(databaseUrl) {
      const url = new URL(databaseUrl);
      url.hostname = '127.0.0.1';
      url.port = String(port);
      return url.toString();
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}
