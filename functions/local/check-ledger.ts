import { join } from 'node:path';
import { ConfigError, loadConfig, type Config } from '../../shared/config.ts';
import { ANVIL_SETTLER_KEY } from '../../shared/chain/anvil.ts';
import { createSettlementChain, type SettlementChain } from '../../shared/chain/distributor.ts';
import type { Db } from '../../shared/db/index.ts';
import { openChain, openDatabase } from '../../shared/services/create.ts';
import { checkLedger } from '../../shared/services/ledger-check.ts';
import { createTokenInflows } from '../../shared/chain/token-inflows.ts';
import { createChannelReader } from '../../shared/chain/x402-channel-reader.ts';
import { readSetting } from '../../shared/services/deployment-settings.ts';
import { openSavedChain } from './chain.ts';

// `npm run check:ledger`: the money invariants over a whole database (shared/services/ledger-check.ts),
// and the chain against it: every confirmed epoch's roots on chain, the distributor's funding and
// claims equal to what the ledger settled and relayed, and each stablecoin inflow (an x402 payment, a
// top-up) a Transfer to the treasury on chain. With DATABASE_URL it reads that server (safe
// while the API runs); without, the embedded PGlite in CITEPAY_DATA_DIR, which only one process may
// open: stop `npm start` first. The chain: CHAIN_RPC_URL if set, else the local chain `npm start`
// runs (its running node, or its saved state loaded into a temporary node). `-- --no-chain` skips it.
async function main() {
  const config = loadConfig();
  const db = await openDatabase(config);
  const chain = process.argv.includes('--no-chain') ? null : await chainToCheck(config, db);
  try {
    const inflows = chain ? createTokenInflows({ rpcUrl: chain.rpcUrl, token: chain.chain.token }) : undefined;
    const channels = chain ? createChannelReader(chain.rpcUrl) : undefined;
    const checks = await checkLedger(db, { chain: chain?.chain, inflows, channels });
    console.table(checks.map((c) => ({ check: c.name, result: c.ok ? 'ok' : 'FAILED', checked: c.checked })));
    for (const c of checks.filter((x) => !x.ok))
      process.stderr.write(`FAILED: ${c.name}\n${c.offenders.map((o) => `  ${o}`).join('\n')}\n`);
    const failed = checks.filter((c) => !c.ok).length;
    const where = `${db.kind}${chain ? `, chain at ${chain.rpcUrl}` : ', no chain configured or saved'}`;
    process.stdout.write(
      failed === 0
        ? `ledger check: all ${checks.length} checks passed (${where})\n`
        : `ledger check: ${failed} of ${checks.length} FAILED (${where})\n`,
    );
    if (failed > 0) process.exitCode = 1;
  } finally {
    await chain?.close();
    await db.close();
  }
}

async function chainToCheck(
  config: Config,
  db: Db,
): Promise<{ chain: SettlementChain; rpcUrl: string; close(): Promise<void> } | null> {
  if (config.chain.rpcUrl)
    return { chain: (await openChain(config))!, rpcUrl: config.chain.rpcUrl, close: async () => {} };
  const recorded = db.kind === 'pg' ? await readSetting<{ dir: string }>(db, 'local.chain') : null;
  const saved = await openSavedChain(recorded?.dir ?? join(config.dataDir, 'chain'));
  if (!saved) return null;
  const chain = createSettlementChain({
    rpcUrl: saved.rpcUrl,
    settlerKey: config.chain.settlerKey ?? ANVIL_SETTLER_KEY,
    distributor: saved.distributor,
    token: saved.token,
  });
  return { chain, rpcUrl: saved.rpcUrl, close: saved.close };
}

main().catch((err) => {
  process.stderr.write(
    `${err instanceof ConfigError ? err.message : err instanceof Error ? err.stack : String(err)}\n`,
  );
  process.exit(2);
});
