import { ConfigError, loadConfig } from '../../shared/config.ts';
import { migrate } from '../../shared/db/migrate.ts';
import { issueRecoveryAdminKey } from '../../shared/services/bootstrap.ts';
import { openDatabase } from '../../shared/services/create.ts';
import { assertPortFree, PortInUse } from './port-check.ts';

// `npm run admin-key`: a new admin key, printed once, for the operator who lost the first-start
// banner. It opens the database directly: the local data folder (CITEPAY_DATA_DIR), or DATABASE_URL.
async function main() {
  const config = loadConfig();
  if (!config.databaseUrl) {
    // The embedded database is one process's file: never open it under a running npm start.
    await assertPortFree(config.host, config.port).catch((err: unknown) => {
      if (!(err instanceof PortInUse)) throw err;
      throw new ConfigError(
        `npm run admin-key: stop npm start first — its embedded database in ${config.dataDir} is open (${config.host}:${config.port} answers)`,
      );
    });
  }
  const db = await openDatabase(config);
  try {
    await migrate(db);
    const { key, created } = await issueRecoveryAdminKey(db);
    process.stdout.write(
      `\n  ${created ? 'No admin existed: created one.' : 'A new key for the admin account.'} Shown ONCE — store it now:\n\n    admin key  ${key}\n\n` +
        '  Earlier admin keys still work; revoke any you lost with DELETE /v1/keys/{id}.\n\n',
    );
  } finally {
    await db.close();
  }
}

main().catch((err) => {
  process.stderr.write(
    `${err instanceof ConfigError ? err.message : err instanceof Error ? err.stack : String(err)}\n`,
  );
  process.exit(1);
});
