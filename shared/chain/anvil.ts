// A local OP-Stack dev chain: the anvil binary shipped by npm (@foundry-rs/anvil), never a download.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Address, Hex } from 'viem';
import { ANVIL_DEV_ACCOUNTS } from './dev-accounts.ts';

export { ANVIL_CHAIN_ID, ANVIL_DEV_ACCOUNTS } from './dev-accounts.ts';

/** PUBLIC DEVELOPMENT KEY (anvil account 0): the local deployer. */
export const ANVIL_DEPLOYER_KEY: Hex = ANVIL_DEV_ACCOUNTS[0].privateKey;
export const ANVIL_DEPLOYER_ADDRESS: Address = ANVIL_DEV_ACCOUNTS[0].address;
/** PUBLIC DEVELOPMENT KEY (anvil account 1): the local settler (publishes epochs, relays claims). */
export const ANVIL_SETTLER_KEY: Hex = ANVIL_DEV_ACCOUNTS[1].privateKey;
export const ANVIL_SETTLER_ADDRESS: Address = ANVIL_DEV_ACCOUNTS[1].address;

export interface StartAnvilOptions {
  /** 0 (default) lets anvil pick a free port. */
  port?: number;
  /** Load state from this file if it exists, dump it on exit and every `stateIntervalSeconds`. */
  statePath?: string;
  stateIntervalSeconds?: number;
  chainId?: number;
  /** Do not forward anvil's (per-request) log to this process's stdout/stderr. */
  silent?: boolean;
  /**
   * Run anvil as a process of its own that outlives this one (a `kill -9` here leaves the chain
   * running for the processes sharing it): its output goes to this file, not to a pipe (a pipe
   * whose reader died would take anvil down with it), and nothing kills it when this process exits.
   */
  detachedLogFile?: string;
  /** Load this state file (written by dumpAnvilState) at start; nothing is dumped by anvil itself. */
  loadStatePath?: string;
}

export interface AnvilInstance {
  rpcUrl: string;
  pid: number;
  /** SIGTERM, then wait for exit (anvil writes its state dump on the way out). */
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

/** Path of the platform binary that npm installed as an optional dependency of @foundry-rs/anvil. */
export function anvilBinaryPath(): string {
  const arch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch];
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch ?? process.arch}`;
  try {
    return join(
      dirname(require.resolve(`${pkg}/package.json`)),
      'bin',
      process.platform === 'win32' ? 'anvil.exe' : 'anvil',
    );
  } catch {
    throw new Error(
      `anvil binary package ${pkg} is not installed (platform ${process.platform}/${process.arch}); run npm install`,
    );
  }
}

const STARTUP_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const KEEP_LOG_CHARS = 4_000;

export async function startAnvil(opts: StartAnvilOptions = {}): Promise<AnvilInstance> {
  const args = ['--host', '127.0.0.1', '--port', String(opts.port ?? 0), '--network', 'optimism'];
  if (opts.chainId !== undefined) args.push('--chain-id', String(opts.chainId));
  if (opts.statePath) args.push('--state', opts.statePath, '--state-interval', String(opts.stateIntervalSeconds ?? 10));
  if (opts.loadStatePath) args.push('--load-state', opts.loadStatePath);
  if (opts.detachedLogFile) return startDetached(args, opts.detachedLogFile);

  const child = spawn(anvilBinaryPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdoutTail = '';
  let stderrTail = '';
  let address: string | undefined; // from anvil's "Listening on host:port" (the only way to learn a --port 0 port)
  const logs = () =>
    `stderr: ${stderrTail.trim() || '(empty)'}\nstdout tail: ${stdoutTail.slice(-1000).trim() || '(empty)'}`;
  // Always drain both pipes: a full pipe would block anvil.
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    stdoutTail = (stdoutTail + s).slice(-KEEP_LOG_CHARS);
    address ??= /Listening on (\S+)/.exec(stdoutTail)?.[1];
    if (!opts.silent) process.stdout.write(s);
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderrTail = (stderrTail + s).slice(-KEEP_LOG_CHARS);
    if (!opts.silent) process.stderr.write(s);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (hasExited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  };

  const fail = async (why: string): Promise<never> => {
    await stop();
    throw new Error(`anvil did not start: ${why}\n${logs()}`);
  };

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  while (!address) {
    if (hasExited) return fail('the process exited');
    if (Date.now() > deadline) return fail(`no "Listening on" line within ${STARTUP_TIMEOUT_MS} ms`);
    await sleep(25);
  }
  const rpcUrl = `http://${address}`;
  await waitForRpc(rpcUrl, deadline, () => hasExited, fail);
  return { rpcUrl, pid: child.pid!, stop };
}

async function waitForRpc(
  rpcUrl: string,
  deadline: number,
  hasExited: () => boolean,
  fail: (why: string) => Promise<never>,
): Promise<void> {
  let lastError = '';
  for (;;) {
    try {
      const res = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      });
      const body = (await res.json()) as { result?: string };
      if (body.result) break;
      lastError = JSON.stringify(body);
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (hasExited()) return void (await fail('the process exited'));
    if (Date.now() > deadline)
      return void (await fail(
        `eth_chainId at ${rpcUrl} did not answer within ${STARTUP_TIMEOUT_MS} ms (${lastError})`,
      ));
    await sleep(50);
  }
}

async function startDetached(args: string[], logFile: string): Promise<AnvilInstance> {
  const fd = openSync(logFile, 'w');
  const child = spawn(anvilBinaryPath(), args, { stdio: ['ignore', fd, fd], detached: true });
  closeSync(fd);
  child.unref();
  let hasExited = false;
  child.once('exit', () => (hasExited = true));
  const instance = (rpcUrl: string) => adoptAnvil(child.pid!, rpcUrl);
  const fail = async (why: string): Promise<never> => {
    if (!hasExited) process.kill(child.pid!, 'SIGKILL');
    throw new Error(`anvil did not start: ${why}\nlog: ${readFileSync(logFile, 'utf8').slice(-KEEP_LOG_CHARS)}`);
  };
  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  let address: string | undefined;
  while (!address) {
    if (hasExited) return fail('the process exited');
    if (Date.now() > deadline) return fail(`no "Listening on" line within ${STARTUP_TIMEOUT_MS} ms`);
    await sleep(25);
    address = /Listening on (\S+)/.exec(readFileSync(logFile, 'utf8'))?.[1];
  }
  const rpcUrl = `http://${address}`;
  await waitForRpc(rpcUrl, deadline, () => hasExited, fail);
  return instance(rpcUrl);
}

/** An anvil already running (started detached, perhaps by a process since gone): stop() ends it by pid. */
export function adoptAnvil(pid: number, rpcUrl: string): AnvilInstance {
  return {
    rpcUrl,
    pid,
    async stop() {
      if (!isAlive(pid)) return;
      process.kill(pid, 'SIGTERM');
      const deadline = Date.now() + STOP_TIMEOUT_MS;
      while (isAlive(pid) && Date.now() < deadline) await sleep(25);
      if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    },
  };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Writes the chain's whole state (anvil_dumpState) to `path`, atomically (a temporary file renamed
 * over it), so a kill at any moment leaves either the previous state or this one, never half a file.
 * Returns the block number the state is at.
 */
export async function dumpAnvilState(rpcUrl: string, path: string): Promise<bigint> {
  const res = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(10_000),
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'anvil_dumpState', params: [] }),
  });
  const body = (await res.json()) as { result?: string; error?: { message: string } };
  if (!body.result) throw new Error(`anvil_dumpState failed: ${body.error?.message ?? res.status}`);
  const json = gunzipSync(Buffer.from(body.result.slice(2), 'hex'));
  const block = BigInt((JSON.parse(json.toString('utf8')) as { block?: { number?: string } }).block?.number ?? 0);
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, json);
  await rename(tmp, path);
  return block;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
