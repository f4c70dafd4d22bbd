// A real `npm start` process (functions/local/start.ts) from any checkout of citepay — this one,
// or a baseline commit extracted beside it — so benches compare two versions in one run.
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BENCH_RATE_LIMITS } from './http.ts';

export interface ApiAt {
  url: string;
  stop(): Promise<void>;
}

/** Start functions/local/start.ts of the checkout at `root`; resolves once it logs "citepay listening". */
export function startApiAt(root: string, env: Record<string, string>, timeoutMs = 900_000): Promise<ApiAt> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'functions/local/start.ts')], {
    cwd: root,
    env: {
      ...process.env,
      PORT: '0',
      LOCAL_QUEUE_PORT: '0',
      CHAIN_PORT: '0',
      SETTLEMENT_INTERVAL_SECONDS: '0',
      LOG_REQUESTS: 'false',
      LOG_LEVEL: 'info',
      CITEPAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'citepay-attribution-')),
      ...BENCH_RATE_LIMITS,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  return new Promise((done, fail) => {
    const timer = setTimeout(
      () => fail(new Error(`${root}: not listening within ${timeoutMs} ms:\n${tail.join('\n')}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        tail.push(line);
        if (tail.length > 20) tail.shift();
        if (!line.includes('"citepay listening"')) continue;
        clearTimeout(timer);
        let stopping = false;
        child.once('exit', (code, signal) => {
          if (!stopping) console.error(`${root}: start.ts exited (${code ?? signal}):\n${tail.join('\n')}`);
        });
        done({
          url: (JSON.parse(line) as { url: string }).url,
          stop: () =>
            new Promise<void>((r) => {
              stopping = true;
              if (child.exitCode !== null || child.signalCode !== null) r();
              else {
                child.once('exit', () => r());
                child.kill('SIGTERM');
              }
            }),
        });
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`${root}: start.ts exited (${code}):\n${tail.join('\n')}`));
    });
  });
}

/**
 * The tree of `commit` extracted (git archive) under the system temp dir, with this checkout's
 * node_modules linked in: a baseline that runs beside the working tree without touching git's worktrees.
 */
export function checkoutAt(commit: string, repo = process.cwd()): string {
  const full = execFileSync('git', ['rev-parse', commit], { cwd: repo, encoding: 'utf8' }).trim();
  const dir = join(tmpdir(), `citepay-at-${full.slice(0, 12)}`);
  if (!existsSync(join(dir, 'package.json'))) {
    mkdirSync(dir, { recursive: true });
    execFileSync('sh', ['-c', `git archive ${full} | tar -x -C "${dir}"`], { cwd: repo });
  }
  if (!existsSync(join(dir, 'node_modules'))) symlinkSync(resolve(repo, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}
