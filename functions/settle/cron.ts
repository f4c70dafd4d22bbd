import { loadConfig } from '../../shared/config.ts';
import { openSettlement } from '../../shared/services/create.ts';
import { settleOnce, type SettleOutcome } from '../../shared/services/settlement.ts';
import { reconcileChain } from '../../shared/services/chain-repair.ts';

// Scheduled Lambda (stacks/api.ts): one settlement pass per invocation, the cloud twin of
// the local schedule. A failure leaves the epoch open or in flight with its backoff recorded;
// the next invocation retries it. Overlapping invocations are safe (see services/settlement.ts).
const ready = openSettlement(loadConfig(), 60_000);

/** The outcome as Lambda can return it: the runtime JSON-encodes results, and JSON has no bigint. */
type Confirmed = Extract<SettleOutcome, { status: 'confirmed' }>;
export type SettleReport = Exclude<SettleOutcome, Confirmed> | (Omit<Confirmed, 'amount'> & { amount: string });

export async function handler(): Promise<SettleReport> {
  const deps = await ready;
  const outcome = await settleOnce(deps);
  // Each invocation also reconciles: what the chain lost since (a reorg past finality) is sent again.
  await reconcileChain(deps).catch((err: Error) =>
    deps.log.warn('chain reconciliation failed; retried next invocation', { error: err.message }),
  );
  return outcome.status === 'confirmed' ? { ...outcome, amount: outcome.amount.toString() } : outcome;
}
