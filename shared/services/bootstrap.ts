import { firstAdminId, hasAdmin } from '../store/accounts.ts';
import { whileLocked } from '../db/lock.ts';
import { createAccount } from './accounts.ts';
import { issueKey } from './api-keys.ts';
import type { Services } from './container.ts';

export interface BootstrapKeys {
  adminKey: string;
  adminKeyGenerated: boolean;
  demoConsumerKey: string;
}

/**
 * First start only: an admin (key from config, else generated) and a demo consumer
 * with credits. Returns the plaintext keys once; afterwards only hashes exist, so
 * they can never be shown again. Returns null on every later start.
 */
export async function bootstrapOnce(services: Services): Promise<BootstrapKeys | null> {
  if (await hasAdmin(services.db)) return null;
  const admin = await createAccount(services.db, {
    kind: 'admin',
    name: 'admin',
    ...(services.config.adminKey ? { key: services.config.adminKey } : {}),
  });
  const demo = await createAccount(services.db, {
    kind: 'consumer',
    name: 'demo consumer',
    credits: services.config.demoCredits,
  });
  return {
    adminKey: admin.apiKey!.key,
    adminKeyGenerated: !services.config.adminKey,
    demoConsumerKey: demo.apiKey!.key,
  };
}

/**
 * Cloud first start (the API Lambda): the admin account with the key from config (the
 * CITEPAY_ADMIN_KEY secret), and no demo consumer — free credits have no place in production.
 * Concurrent cold starts on a fresh database take turns under a database lock, so exactly one
 * admin is made. Returns true when this call made it.
 */
export async function bootstrapAdminFromConfig(services: Services): Promise<boolean> {
  const key = services.config.adminKey;
  if (!key) return false;
  return whileLocked(services.db, 'bootstrap-admin', async () => {
    if (await hasAdmin(services.db)) return false;
    await createAccount(services.db, { kind: 'admin', name: 'admin', key });
    return true;
  });
}

/**
 * `npm run admin-key`: an operator with access to the database (the local data folder, or
 * DATABASE_URL) gets a new admin key for the existing admin account — the way back in after the
 * first-start banner was lost. Earlier admin keys keep working until revoked.
 */
export async function issueRecoveryAdminKey(
  db: Services['db'],
): Promise<{ key: string; accountId: string; created: boolean }> {
  return whileLocked(db, 'bootstrap-admin', async () => {
    const adminId = await firstAdminId(db);
    if (!adminId) {
      const made = await createAccount(db, { kind: 'admin', name: 'admin' });
      return { key: made.apiKey!.key, accountId: made.account.id, created: true };
    }
    const issued = await issueKey(db, {
      accountId: adminId,
      role: 'admin',
      name: `recovered ${new Date().toISOString().slice(0, 10)}`,
    });
    return { key: issued.key, accountId: adminId, created: false };
  });
}
