import { Unavailable } from '../errors.ts';
import type { Services } from './container.ts';
import { settleOnce, type SettleOutcome } from './settlement.ts';

// One settlement at a time per process: the schedule and on-demand runs share a single
// flight (across processes, the database's one-epoch-in-flight index and the contract's
// strictly increasing epochs keep two settlers from paying twice).
const running = new WeakMap<Services, Promise<SettleOutcome>>();

export function runSettlement(services: Services, opts: { force?: boolean } = {}): Promise<SettleOutcome> {
  const chain = services.chain;
  if (!chain)
    return Promise.reject(
      new Unavailable('settlement needs a chain: set CHAIN_RPC_URL (npm start runs a local one)', 'chain'),
    );
  const inFlight = running.get(services);
  if (inFlight) return inFlight;
  const run = settleOnce(
    {
      db: services.db,
      chain,
      log: services.log,
      minPayout: services.config.settlement.minPayout,
      receiptTimeoutMs: 60_000,
    },
    opts,
  ).finally(() => running.delete(services));
  running.set(services, run);
  return run;
}

/** Settles every `intervalSeconds`; a failed run is logged and retried with backoff, never fatal. */
export function startSettlementSchedule(services: Services, intervalSeconds: number): { stop(): Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let current: Promise<unknown> = Promise.resolve();
  const tick = () => {
    current = runSettlement(services)
      .then((outcome) => {
        if (outcome.status === 'confirmed')
          services.log.info('settled', { epoch: outcome.epoch, amount: outcome.amount.toString() });
      })
      .catch((err: Error) => services.log.warn('scheduled settlement failed', { error: err.message }))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalSeconds * 1000);
      });
  };
  timer = setTimeout(tick, intervalSeconds * 1000);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await current;
    },
  };
}
