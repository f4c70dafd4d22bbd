// A local OP-Stack dev chain: the anvil binary shipped by npm (@foundry-rs/anvil), never a download.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
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
}

export interface AnvilInstance {
  rpcUrl: string;
  /** SIGTERM, then wait for exit (anvil writes its state dump on the way out). */
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

/** Path of the platform binary that npm installed as an optional dependency of @foundry-rs/anvil. */
export function anvilBinaryPath(): string {
  const arch = ({ x64: 'amd64', arm64: 'arm64' } as Record<string, string>)[process.arch];
  const pkg = `@foundry-rs/anvil-${process.platform}-${arch ?? process.arch}`;
  try {
    return join(dirname(require.resolve(`${pkg}/package.json`)), 'bin', process.platform === 'win32' ? 'anvil.exe' : 'anvil');
  } catch {
    throw new Error(`anvil binary package ${pkg} is not installed (platform ${process.platform}/${process.arch}); run npm install`);
  }
}

const STARTUP_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
const KEEP_LOG_CHARS = 4_000;

export async function startAnvil(opts: StartAnvilOptions = {}): Promise<AnvilInstance> {
  const args = ['--host', '127.0.0.1', '--port', String(opts.port ?? 0), '--network', 'optimism'];
  if (opts.chainId !== undefined) args.push('--chain-id', String(opts.chainId));
  if (opts.statePath) args.push('--state', opts.statePath, '--state-interval', String(opts.stateIntervalSeconds ?? 10));

  const child = spawn(anvilBinaryPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdoutTail = '';
  let stderrTail = '';
  let address: string | undefined; // from anvil's "Listening on host:port" (the only way to learn a --port 0 port)
  const logs = () => `stderr: ${stderrTail.trim() || '(empty)'}\nstdout tail: ${stdoutTail.slice(-1000).trim() || '(empty)'}`;
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
    if (hasExited) return fail('the process exited');
    if (Date.now() > deadline) return fail(`eth_chainId at ${rpcUrl} did not answer within ${STARTUP_TIMEOUT_MS} ms (${lastError})`);
    await sleep(50);
  }
  return { rpcUrl, stop };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
