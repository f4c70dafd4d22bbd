import { loadConfig } from '../../shared/config.ts';
import { migrate } from '../../shared/db/migrate.ts';
import { createLogger } from '../../shared/logger.ts';
import { openChain, openDatabase } from '../../shared/services/create.ts';
import { settleOnce, type SettleOutcome } from '../../shared/services/settlement.ts';

// Scheduled Lambda (stacks/api.ts): one settlement pass per invocation, the cloud twin of
// the local schedule. A failure leaves the epoch open or in flight with its backoff recorded;
// the next invocation retries it. Overlapping invocations are safe (see services/settlement.ts).
const config = loadConfig();
const log = createLogger(config.logLevel);
const ready = (async () => {
  const db = await openDatabase(config);
  await migrate(db);
  const chain = await openChain(config);
  if (!chain) throw new Error('settlement needs CHAIN_RPC_URL, DISTRIBUTOR_ADDRESS, TOKEN_ADDRESS and SETTLER_PRIVATE_KEY');
  return { db, chain };
})();

export async function handler(): Promise<SettleOutcome> {
  const { db, chain } = await ready;
  return settleOnce({ db, chain, log, minPayout: config.settlement.minPayout, receiptTimeoutMs: 60_000 });
}
