import { ConfigError, loadConfig } from '../../shared/config.ts';
import { openDatabase } from '../../shared/services/create.ts';
import { checkLedger } from '../../shared/services/ledger-check.ts';

// `npm run check:ledger`: the money invariants over a whole database (shared/services/ledger-check.ts).
// With DATABASE_URL it reads that server (safe while the API runs); without, the embedded PGlite in
// CITEPAY_DATA_DIR, which only one process may open: stop `npm start` first.
async function main() {
  const config = loadConfig();
  const db = await openDatabase(config);
  try {
    const checks = await checkLedger(db);
    console.table(checks.map((c) => ({ check: c.name, result: c.ok ? 'ok' : 'FAILED', checked: c.checked })));
    for (const c of checks.filter((x) => !x.ok)) process.stderr.write(`FAILED: ${c.name}\n${c.offenders.map((o) => `  ${o}`).join('\n')}\n`);
    const failed = checks.filter((c) => !c.ok).length;
    process.stdout.write(failed === 0 ? `ledger check: all ${checks.length} checks passed (${db.kind})\n` : `ledger check: ${failed} of ${checks.length} FAILED\n`);
    if (failed > 0) process.exitCode = 1;
  } finally {
    await db.close();
  }
}

main().catch((err) => {
  process.stderr.write(`${err instanceof ConfigError ? err.message : err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(2);
});
