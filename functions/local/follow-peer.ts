import { join } from 'node:path';
import type { Db } from '../../shared/db/index.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Config } from '../../shared/config.ts';
import { readSetting } from '../../shared/services/deployment-settings.ts';
import { answers, chainHasDistributor, type RecordedChain, type RecordedQueues } from './shared-services.ts';

// A process that joined another's queue server and chain (shared-services.ts) follows them when that
// process comes back elsewhere: a restarted peer starts its queue server on a new port and its chain
// from the same state folder on a new port, and records both in deployment_settings. The joiner
// re-reads that record every few seconds; when it names other services than the ones in use and
// they answer, the joiner moves to them (its clients are switchable ports, see switchable.ts).
// Meanwhile its calls that need them answer 503 with Retry-After, as during any outage.
// The object-store folder is recorded once per database (recordSettingOnce) and never moves.

/** How often a joiner reads the record: a stranded joiner is back within about this long of its peer. */
export const FOLLOW_EVERY_MS = 2_000;

export interface FollowPeerParameters {
  db: Db;
  log: Logger;
  /** what this process joined (nothing: it started or was configured with its own) */
  following: { queues?: RecordedQueues; chain?: RecordedChain };
  /** move to the peer's queue server at its new address */
  moveQueues(recorded: RecordedQueues): Promise<void>;
  /** move to the peer's chain at its new address */
  moveChain(recorded: RecordedChain): Promise<void>;
  everyMs?: number;
}

export interface PeerFollower {
  /** one look at the record now (the schedule calls it; tests may too) */
  check(): Promise<void>;
  stop(): Promise<void>;
}

export function followPeer(p: FollowPeerParameters): PeerFollower {
  let queues = p.following.queues;
  let chain = p.following.chain;
  let running: Promise<void> | null = null;

  async function checkOnce(): Promise<void> {
    if (queues) {
      const recorded = await readSetting<RecordedQueues>(p.db, 'local.queues');
      if (recorded && !sameQueues(recorded, queues) && (await answers(recorded.endpoint))) {
        p.log.info('the queue server of this database moved; following it', {
          from: queues.endpoint,
          to: recorded.endpoint,
        });
        await p.moveQueues(recorded);
        queues = recorded;
      }
    }
    if (chain) {
      const recorded = await readSetting<RecordedChain>(p.db, 'local.chain');
      if (
        recorded &&
        !sameChain(recorded, chain) &&
        (await chainHasDistributor(recorded.rpcUrl, recorded.distributor))
      ) {
        p.log.info('the chain of this database moved; following it', { from: chain.rpcUrl, to: recorded.rpcUrl });
        await p.moveChain(recorded);
        chain = recorded;
      }
    }
  }

  // One look at a time; a failed look (the database restarting) is retried at the next tick.
  const check = () =>
    (running ??= checkOnce()
      .catch((err: Error) =>
        p.log.warn('could not read the services recorded for this database', { error: err.message }),
      )
      .finally(() => (running = null)));

  const timer = queues || chain ? setInterval(check, p.everyMs ?? FOLLOW_EVERY_MS) : null;
  timer?.unref();
  return {
    check,
    async stop() {
      if (timer) clearInterval(timer);
      await running;
    },
  };
}

const sameQueues = (a: RecordedQueues, b: RecordedQueues) =>
  a.endpoint === b.endpoint && a.jobsUrl === b.jobsUrl && a.resultsUrl === b.resultsUrl;

const sameChain = (a: RecordedChain, b: RecordedChain) =>
  a.rpcUrl === b.rpcUrl && a.distributor === b.distributor && a.token === b.token && a.dir === b.dir;

/** The chain part of a joiner's config once the recorded chain moved (its key and identity stay). */
export function movedChainConfig(config: Config, recorded: RecordedChain): Config {
  return {
    ...config,
    chain: {
      ...config.chain,
      rpcUrl: recorded.rpcUrl,
      distributor: recorded.distributor,
      token: recorded.token,
      localStatePath: join(recorded.dir, 'state.json'),
    },
  };
}
