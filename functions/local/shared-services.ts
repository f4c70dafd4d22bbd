import { resolve } from 'node:path';
import type { Config } from '../../shared/config.ts';
import type { Db } from '../../shared/db/index.ts';
import { whileLocked } from '../../shared/db/lock.ts';
import { ANVIL_SETTLER_KEY } from '../../shared/chain/anvil.ts';
import { ANVIL_CHAIN_ID } from '../../shared/chain/dev-accounts.ts';
import type { Logger } from '../../shared/logger.ts';
import { readSetting, recordSettingOnce, writeSetting } from '../../shared/services/deployment-settings.ts';
import { adoptOrphanedChain, startLocalChain } from './chain.ts';
import { join } from 'node:path';
import { startLocalQueues } from './queue-server.ts';

// `npm start` runs the cloud's services itself when none is configured: an SQS-compatible queue
// server, an OP-Stack anvil with the contracts, a folder as object store. Several processes on one
// PostgreSQL database (DATABASE_URL) must share them — one queue, one chain, one store — or answers
// go unanswered, documents vanish and wallets are paid on two chains. The first process records
// what it started in deployment_settings; the next joins what is recorded and still answers; one
// whose recorded peer is gone takes over (the chain from the same state folder, so it is the same
// chain). Decided under one database lock, so processes starting together do not both start one.
export interface RecordedQueues {
  endpoint: string;
  jobsUrl: string;
  resultsUrl: string;
}
export interface RecordedChain {
  rpcUrl: string;
  dir: string;
  distributor: `0x${string}`;
  token: `0x${string}`;
}

export interface LocalServices {
  config: Config;
  /** what this process started (and must stop), and what it joined */
  started: string[];
  joined: string[];
  /** The peer's services this process joined, as recorded: what it follows when the peer moves (follow-peer.ts). */
  following: { queues?: RecordedQueues; chain?: RecordedChain };
  stop(): Promise<void>;
}

export async function provideLocalServices(config: Config, db: Db, log: Logger): Promise<LocalServices> {
  return whileLocked(db, 'citepay:local-services', async () => {
    const shared = db.kind === 'pg'; // an embedded PGlite database belongs to this process alone
    const started: string[] = [];
    const joined: string[] = [];
    const stops: (() => Promise<void>)[] = [];
    const following: LocalServices['following'] = {};
    try {
      if (!config.queue.jobsUrl) {
        const recorded = shared ? await readSetting<RecordedQueues>(db, 'local.queues') : null;
        if (recorded && (await answers(recorded.endpoint))) {
          config = withRecordedQueues(config, recorded);
          joined.push(`queues at ${recorded.endpoint}`);
          following.queues = recorded;
        } else {
          const queues = await startLocalQueues(config);
          config = queues.config;
          stops.push(queues.stop);
          started.push(`queues at ${config.queue.endpoint}`);
          if (shared)
            await writeSetting<RecordedQueues>(db, 'local.queues', {
              endpoint: config.queue.endpoint!,
              jobsUrl: config.queue.jobsUrl!,
              resultsUrl: config.queue.resultsUrl!,
            });
        }
      }
      if (!config.chain.rpcUrl) {
        const recorded = shared ? await readSetting<RecordedChain>(db, 'local.chain') : null;
        if (recorded && (await chainHasDistributor(recorded.rpcUrl, recorded.distributor))) {
          config = withRecordedChain(config, recorded);
          joined.push(`chain at ${recorded.rpcUrl}`);
          following.chain = recorded;
          // Its owner was killed (the node outlives it): this process saves its state and stops it from now on.
          const adopted = await adoptOrphanedChain(recorded.dir, log);
          if (adopted) stops.push(adopted.stop);
        } else {
          const chain = await startLocalChain(config, log, recorded?.dir);
          config = { ...chain.config, chain: { ...chain.config.chain, ...localChainIdentity(config) } };
          stops.push(chain.stop);
          started.push(`chain at ${config.chain.rpcUrl}`);
          if (shared)
            await writeSetting<RecordedChain>(db, 'local.chain', {
              rpcUrl: config.chain.rpcUrl!,
              dir: resolve(chain.dir),
              distributor: config.chain.distributor!,
              token: config.chain.token!,
            });
        }
      }
      if (shared && config.objectStore.kind === 'fs') {
        const mine = resolve(config.objectStore.root);
        const root = (await recordSettingOnce(db, 'local.objectStore', { root: mine })).root;
        // An explicit folder that is not the database's would split the documents: refuse, naming both.
        if (root !== mine && config.objectStore.explicit)
          throw new Error(
            `OBJECT_STORE_DIR=${mine}, but this database's documents are in ${root}: unset it to share that folder, or use another database`,
          );
        if (root !== mine) joined.push(`object store in ${root}`);
        config = { ...config, objectStore: { kind: 'fs', root } };
      }
    } catch (err) {
      for (const stop of stops.reverse()) await stop().catch(() => {});
      throw err;
    }
    if (joined.length > 0) log.info('joined the services of another process on this database', { joined });
    return {
      config,
      started,
      joined,
      following,
      async stop() {
        for (const stop of stops.reverse()) await stop();
      },
    };
  });
}

/** The config of a process using another's queue server, as recorded. */
export function withRecordedQueues(config: Config, recorded: RecordedQueues): Config {
  const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };
  return {
    ...config,
    queue: {
      ...config.queue,
      endpoint: recorded.endpoint,
      credentials,
      jobsUrl: recorded.jobsUrl,
      resultsUrl: recorded.resultsUrl,
    },
  };
}

/** The config of a process using another's local chain, as recorded (anvil's settler key unless one is configured). */
export function withRecordedChain(config: Config, recorded: RecordedChain): Config {
  return {
    ...config,
    chain: {
      ...config.chain,
      rpcUrl: recorded.rpcUrl,
      settlerKey: config.chain.settlerKey ?? ANVIL_SETTLER_KEY,
      distributor: recorded.distributor,
      token: recorded.token,
      localStatePath: join(recorded.dir, 'state.json'),
      ...localChainIdentity(config),
    },
  };
}

export async function answers(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(1_000) });
    return true;
  } catch {
    return false;
  }
}

/** The recorded node answers and still has the distributor's code (not a fresh chain on the same port). */
export async function chainHasDistributor(url: string, distributor: string): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      signal: AbortSignal.timeout(1_000),
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_getCode', params: [distributor, 'latest'] }),
    });
    const code = ((await res.json()) as { result?: string }).result;
    return typeof code === 'string' && code !== '0x';
  } catch {
    return false;
  }
}

/**
 * The local chain is anvil (id 31337). Its public development wallets may be offered on the sign-in
 * page only while the settler is anvil's own public key: with a configured SETTLER_PRIVATE_KEY the
 * chain holds someone's real key and the page offers none.
 */
export function localChainIdentity(config: Config): Pick<Config['chain'], 'chainId' | 'devAccounts'> {
  return { chainId: config.chain.chainId ?? ANVIL_CHAIN_ID, devAccounts: !config.chain.settlerKey };
}
