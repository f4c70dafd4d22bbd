import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BENCH_RATE_LIMITS } from './http.ts';

const ENTRY = fileURLToPath(new URL('./api-server.ts', import.meta.url));

/** Starts bench/lib/api-server.ts with `env`; resolves with its base URL. */
export function spawnApiServer(
  env: Record<string, string>,
): Promise<{ base: string; child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    env: { ...process.env, LOG_LEVEL: 'error', LOG_REQUESTS: 'false', ...BENCH_RATE_LIMITS, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`api-server exited with ${code}`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      const match = /\{"port":(\d+)\}/.exec(chunk.toString());
      if (!match) return;
      resolve({
        base: `http://127.0.0.1:${match[1]}`,
        child,
        stop: () =>
          new Promise<void>((done) =>
            child.exitCode !== null || child.signalCode !== null
              ? done()
              : (child.once('exit', () => done()), child.kill('SIGTERM')),
          ),
      });
    });
  });
}
