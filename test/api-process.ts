import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// A real `npm start` process (functions/local/start.ts) for tests that need several of them on one
// database. Its JSON log is kept; `url` comes from its "citepay listening" line (PORT=0).
const START = fileURLToPath(new URL('../functions/local/start.ts', import.meta.url));

export interface ApiProcess {
  url: string;
  child: ChildProcess;
  /** every log line so far */
  lines: string[];
  stop(): Promise<void>;
}

export async function startApiProcess(env: Record<string, string>, timeoutMs = 120_000): Promise<ApiProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', START], {
    env: {
      ...process.env,
      PORT: '0',
      LOCAL_QUEUE_PORT: '0',
      CHAIN_PORT: '0',
      SETTLEMENT_INTERVAL_SECONDS: '0',
      LOG_REQUESTS: 'false',
      CITEPAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'citepay-proc-')),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "citepay listening" within ${timeoutMs} ms:\n${lines.slice(-20).join('\n')}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        lines.push(line);
        if (line.includes('"citepay listening"')) {
          clearTimeout(timer);
          resolve((JSON.parse(line) as { url: string }).url);
        }
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`start.ts exited (${code}) before listening:\n${lines.slice(-20).join('\n')}`));
    });
  });
  return {
    url,
    child,
    lines,
    stop: () =>
      new Promise<void>((resolve) => {
        // Already gone: exited (exitCode) or killed by a signal (signalCode; exitCode stays null then).
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** JSON over real HTTP. */
export async function http(
  base: string,
  method: string,
  path: string,
  opts: { key?: string; json?: unknown; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body: opts.json === undefined ? undefined : JSON.stringify(opts.json),
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, headers: res.headers };
}
