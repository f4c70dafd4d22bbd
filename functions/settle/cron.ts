import { loadConfig } from '../../shared/config.ts';
import { openSettlement } from '../../shared/services/create.ts';
import { settleOnce, type SettleOutcome } from '../../shared/services/settlement.ts';

// Scheduled Lambda (stacks/api.ts): one settlement pass per invocation, the cloud twin of
// the local schedule. A failure leaves the epoch open or in flight with its backoff recorded;
// the next invocation retries it. Overlapping invocations are safe (see services/settlement.ts).
const ready = openSettlement(loadConfig(), 60_000);

export async function handler(): Promise<SettleOutcome> {
  return settleOnce(await ready);
}
