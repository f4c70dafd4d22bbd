import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createPublicClient, getAddress, http, type Address } from 'viem';
import type { Config } from '../../shared/config.ts';
import {
  ANVIL_DEPLOYER_KEY,
  ANVIL_SETTLER_KEY,
  adoptAnvil,
  dumpAnvilState,
  isAlive,
  startAnvil,
  type AnvilInstance,
} from '../../shared/chain/anvil.ts';
import { deployLocalContracts } from '../../shared/chain/deploy.ts';
import type { Logger } from '../../shared/logger.ts';

// `npm start` without CHAIN_RPC_URL: a local OP-Stack-mode anvil whose state lives in the data
// folder, with TestUSD and the distributor deployed once and a treasury of test dollars.
//
// Surviving `kill -9` (of this process, or of anvil itself):
// - anvil runs detached, its output in a file (never a pipe), so killing this process leaves the
//   chain up for the processes sharing it; `node.json` says which anvil serves the folder and which
//   process owns it, and a process that finds the owner dead adopts the running node;
// - the state is written atomically (dumpAnvilState) after every settler transaction, holding the
//   signer's lock (so no write is ever missing from the file), every second by the owner when the
//   chain moved, and on a clean stop — anvil's own `--state` dump is not used (a kill mid-write
//   would leave half a file);
// - whatever a killed anvil still lost, the reconciler re-sends from the database at start.
const TREASURY_FUNDING = 1_000_000n * 1_000_000n; // $1M of 6-decimal test dollars
const SAVE_EVERY_MS = 1_000;

interface Deployment {
  chainId: number;
  token: Address;
  distributor: Address;
}

/** Which anvil serves a chain folder, and the process responsible for stopping it. */
interface NodeRecord {
  pid: number;
  rpcUrl: string;
  ownerPid: number;
}

export interface LocalChain {
  config: Config;
  dir: string;
  stop(): Promise<void>;
}

/** `dir`: the chain's state folder (default: the data folder's `chain/`; a process taking over a shared chain reuses its folder). */
export async function startLocalChain(
  config: Config,
  log: Logger,
  dir = join(config.dataDir, 'chain'),
): Promise<LocalChain> {
  await mkdir(dir, { recursive: true });
  const statePath = join(dir, 'state.json');
  const running = await runningNode(dir);
  const anvil: AnvilInstance = running
    ? adoptAnvil(running.pid, running.rpcUrl)
    : await startAnvil({
        port: config.chain.localPort,
        detachedLogFile: join(dir, 'anvil.log'),
        ...(existsSync(statePath) ? { loadStatePath: statePath } : {}),
      });
  if (running)
    log.warn('local chain: adopted the running node of a process that is gone', {
      rpcUrl: running.rpcUrl,
      pid: running.pid,
    });
  const settlerKey = config.chain.settlerKey ?? ANVIL_SETTLER_KEY;
  if (!config.chain.settlerKey)
    log.info("local chain: settling with anvil's PUBLIC development key (set SETTLER_PRIVATE_KEY to use another)");
  try {
    const deployment =
      (await existingDeployment(anvil.rpcUrl, join(dir, 'contracts.json'))) ??
      (await deploy(anvil.rpcUrl, settlerKey, join(dir, 'contracts.json'), log));
    const owned = await ownChain(dir, anvil);
    log.info('local chain ready', {
      rpcUrl: anvil.rpcUrl,
      chainId: deployment.chainId,
      distributor: deployment.distributor,
      token: deployment.token,
    });
    return {
      config: {
        ...config,
        chain: {
          ...config.chain,
          rpcUrl: anvil.rpcUrl,
          settlerKey,
          distributor: deployment.distributor,
          token: deployment.token,
          localStatePath: statePath,
        },
      },
      dir,
      stop: owned.stop,
    };
  } catch (err) {
    await anvil.stop();
    throw err;
  }
}

/**
 * A process joining another's chain (same database): if the process that owned the node is gone
 * (killed), this one takes over saving its state and stopping it. Returns the stop, or null.
 */
export async function adoptOrphanedChain(dir: string, log: Logger): Promise<{ stop(): Promise<void> } | null> {
  const record = await readNode(dir);
  if (!record || isAlive(record.ownerPid) || !isAlive(record.pid)) return null;
  log.warn('local chain: its owner is gone; this process now saves its state and stops it', {
    rpcUrl: record.rpcUrl,
    pid: record.pid,
  });
  return ownChain(dir, adoptAnvil(record.pid, record.rpcUrl));
}

/** Records this process as the node's owner, saves the state every second while the chain moves, and on stop. */
async function ownChain(dir: string, anvil: AnvilInstance): Promise<{ stop(): Promise<void> }> {
  const statePath = join(dir, 'state.json');
  await writeFile(
    join(dir, 'node.json'),
    `${JSON.stringify({ pid: anvil.pid, rpcUrl: anvil.rpcUrl, ownerPid: process.pid } satisfies NodeRecord)}\n`,
  );
  let saved = -1n;
  let saving: Promise<unknown> = Promise.resolve();
  const save = async () => {
    const head = await blockNumber(anvil.rpcUrl);
    if (head === null || head === saved) return;
    saved = await dumpAnvilState(anvil.rpcUrl, statePath);
  };
  await save().catch(() => {}); // the deployment, or an adopted node's latest blocks, saved at once
  const timer = setInterval(() => (saving = saving.then(save).catch(() => {})), SAVE_EVERY_MS);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await saving;
      await dumpAnvilState(anvil.rpcUrl, statePath).catch(() => {});
      await anvil.stop();
      await rm(join(dir, 'node.json'), { force: true });
    },
  };
}

async function readNode(dir: string): Promise<NodeRecord | null> {
  try {
    return JSON.parse(await readFile(join(dir, 'node.json'), 'utf8')) as NodeRecord;
  } catch {
    return null;
  }
}

/** The node recorded for this folder, if it is still running and answering, and its owner is gone. */
async function runningNode(dir: string): Promise<NodeRecord | null> {
  const record = await readNode(dir);
  if (!record || !isAlive(record.pid) || (record.ownerPid !== process.pid && isAlive(record.ownerPid))) return null;
  return (await blockNumber(record.rpcUrl)) === null ? null : record;
}

async function blockNumber(rpcUrl: string): Promise<bigint | null> {
  try {
    const res = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      signal: AbortSignal.timeout(2_000),
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }),
    });
    const result = ((await res.json()) as { result?: string }).result;
    return result ? BigInt(result) : null;
  } catch {
    return null;
  }
}

/** The recorded deployment, if the chain (restored from its state file) still has its code. */
async function existingDeployment(rpcUrl: string, file: string): Promise<Deployment | null> {
  let recorded: Deployment;
  try {
    recorded = JSON.parse(await readFile(file, 'utf8')) as Deployment;
  } catch {
    return null;
  }
  const client = createPublicClient({ transport: http(rpcUrl) });
  const code = await client.getCode({ address: recorded.distributor });
  return code && code !== '0x' ? recorded : null;
}

async function deploy(rpcUrl: string, settlerKey: `0x${string}`, file: string, log: Logger): Promise<Deployment> {
  const d = await deployLocalContracts({
    rpcUrl,
    deployerKey: ANVIL_DEPLOYER_KEY,
    settlerKey,
    treasuryFunding: TREASURY_FUNDING,
  });
  const deployment: Deployment = {
    chainId: d.chainId,
    token: getAddress(d.token),
    distributor: getAddress(d.distributor),
  };
  await writeFile(file, `${JSON.stringify(deployment, null, 2)}\n`);
  log.info('local chain: deployed TestUSD and the distributor; the settler holds the treasury', {
    ...deployment,
    treasury: TREASURY_FUNDING.toString(),
  });
  return deployment;
}

/**
 * For `npm run check:ledger`: the chain of a data folder, read-only. The running node if one serves
 * the folder; otherwise a temporary anvil loaded from a copy of the saved state (the folder's own
 * file is left untouched), stopped by `close`.
 */
export async function openSavedChain(
  dir: string,
): Promise<{ rpcUrl: string; distributor: Address; token: Address; close(): Promise<void> } | null> {
  let deployment: Deployment;
  try {
    deployment = JSON.parse(await readFile(join(dir, 'contracts.json'), 'utf8')) as Deployment;
  } catch {
    return null;
  }
  const record = await readNode(dir);
  if (record && isAlive(record.pid) && (await blockNumber(record.rpcUrl)) !== null)
    return {
      rpcUrl: record.rpcUrl,
      distributor: deployment.distributor,
      token: deployment.token,
      close: async () => {},
    };
  if (!existsSync(join(dir, 'state.json'))) return null;
  const { mkdtemp, copyFile } = await import('node:fs/promises');
  const { tmpdir } = await import('node:os');
  const copy = join(await mkdtemp(join(tmpdir(), 'citepay-chain-check-')), 'state.json');
  await copyFile(join(dir, 'state.json'), copy);
  const anvil = await startAnvil({ port: 0, loadStatePath: copy, silent: true });
  return { rpcUrl: anvil.rpcUrl, distributor: deployment.distributor, token: deployment.token, close: anvil.stop };
}
