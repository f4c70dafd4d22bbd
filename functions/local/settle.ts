import { ConfigError, loadConfig } from '../../shared/config.ts';
import { openSettlement } from '../../shared/services/create.ts';
import { settleOnce } from '../../shared/services/settlement.ts';

// `npm run settle`: settle now. With a shared database and chain (DATABASE_URL + CHAIN_RPC_URL,
// as the scheduled cloud job runs it) this process settles directly. With the embedded default the
// database belongs to the running `npm start`, so this asks it to, through the admin endpoint.
async function main() {
  const config = loadConfig();
  if (config.databaseUrl && config.chain.rpcUrl) {
    const deps = await openSettlement(config, 120_000);
    try {
      const outcome = await settleOnce(deps, { force: true });
      process.stdout.write(`${JSON.stringify(outcome, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n`);
    } finally {
      await deps.db.close();
    }
    return;
  }
  const key = config.adminKey;
  if (!key)
    throw new ConfigError(
      'npm run settle: set CITEPAY_ADMIN_KEY to the admin key `npm start` printed (the running server settles)',
    );
  const url = `http://localhost:${config.port}/v1/admin/settlements`;
  const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${key}` } }).catch((err: Error) => {
    throw new ConfigError(
      `npm run settle: no citepay server at ${url} (${err.message}). Start it with npm start, or set DATABASE_URL and CHAIN_RPC_URL to settle directly.`,
    );
  });
  process.stdout.write(`${JSON.stringify(await res.json(), null, 2)}\n`);
  if (!res.ok) process.exitCode = 1;
}

main().catch((err) => {
  process.stderr.write(
    `${err instanceof ConfigError ? err.message : err instanceof Error ? err.stack : String(err)}\n`,
  );
  process.exit(1);
});
