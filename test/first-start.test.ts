import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { http, startApiProcess, type ApiProcess } from './api-process.ts';

// A newcomer's first minutes: a busy port, a lost banner, a killed terminal.
const run = promisify(execFile);
const started: ApiProcess[] = [];

afterEach(async () => {
  for (const p of started.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});

async function tsx(script: string, env: Record<string, string>) {
  return run(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env } }).then(
    (r) => ({ code: 0, ...r }),
    (err: { code: number; stdout: string; stderr: string }) => ({
      code: err.code,
      stdout: err.stdout,
      stderr: err.stderr,
    }),
  );
}

describe('first start', () => {
  it('refuses a busy port in one line before making keys, and npm run admin-key recovers admin access', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'citepay-first-'));
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as AddressInfo).port;
    const busy = await tsx('functions/local/start.ts', {
      CITEPAY_DATA_DIR: dataDir,
      PORT: String(port),
      CHAIN_PORT: '0',
    });
    squatter.close();
    expect(busy.code).toBe(1);
    expect(busy.stderr.trim()).toBe(
      `citepay: 127.0.0.1:${port} is already in use (another npm start?). Stop that process or choose another port: PORT=${port + 1} npm start`,
    );
    expect(busy.stdout).not.toContain('shown ONCE');

    // Nothing was made: the next start still shows the first-start keys.
    const first = await startApiProcess({ CITEPAY_DATA_DIR: dataDir });
    started.push(first);
    // The banner follows the listening line.
    await vi.waitFor(() => expect(first.lines.join('\n')).toMatch(/demo consumer key\s+cp_live_/), {
      timeout: 10_000,
      interval: 50,
    });
    expect(first.lines.join('\n')).toContain('/dashboard');
    await first.stop();

    // The banner is gone for good; an operator with the data folder makes a new admin key.
    const recovered = await tsx('functions/local/admin-key.ts', { CITEPAY_DATA_DIR: dataDir });
    expect(recovered.code).toBe(0);
    const adminKey = recovered.stdout.match(/admin key\s+(cp_live_\w+)/)?.[1];
    expect(adminKey).toBeDefined();
    const again = await startApiProcess({ CITEPAY_DATA_DIR: dataDir });
    started.push(again);
    expect(again.lines.join('\n')).not.toContain('shown ONCE');
    const keys = await http(again.url, 'GET', '/v1/keys', { key: adminKey! });
    expect(keys.status).toBe(200);
    // While npm start holds the embedded database, admin-key refuses to open it.
    const port2 = new URL(again.url).port;
    const refused = await tsx('functions/local/admin-key.ts', { CITEPAY_DATA_DIR: dataDir, PORT: port2 });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('stop npm start first');
    await again.stop();
  }, 600_000);

  it('takes its gpu-worker down with it when killed with SIGKILL', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'citepay-orphan-'));
    const api = await startApiProcess({ CITEPAY_DATA_DIR: dataDir });
    started.push(api);
    const workerPid = () =>
      execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(api.child.pid)], { encoding: 'utf8' })
        .split('\n')
        .find((line) => line.includes('gpu-worker/main.ts'))
        ?.trim()
        .split(/\s+/)[0];
    await vi.waitFor(() => expect(workerPid()).toBeDefined(), { timeout: 60_000, interval: 200 });
    const pid = Number(workerPid());
    api.child.kill('SIGKILL');
    // Gone, or a zombie: it exited, and whoever adopted it (PID 1 in a container may never reap) has yet to.
    const alive = () => {
      try {
        return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
      } catch {
        return false;
      }
    };
    await vi.waitFor(() => expect(alive()).toBe(false), { timeout: 60_000, interval: 200 });
    // The local chain outlives a killed owner on purpose (a restart adopts it): stop it here.
    const node = JSON.parse(readFileSync(join(dataDir, 'chain', 'node.json'), 'utf8')) as { pid: number };
    process.kill(node.pid, 'SIGKILL');
  }, 300_000);
});
