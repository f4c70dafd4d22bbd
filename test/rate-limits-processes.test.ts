import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive } from '../shared/chain/anvil.ts';
import type { Db } from '../shared/db/index.ts';
import { openPg } from '../shared/db/pg.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { readSetting } from '../shared/store/deployment.ts';
import type { RecordedChain } from '../functions/local/shared-services.ts';
import { http, startApiProcess, type ApiProcess } from './api-process.ts';
import { DOCS } from './fixtures.ts';
import { postgresInstalled } from './postgres-server.ts';
import { testDatabaseUrl } from './services.ts';

// Rate limits across two real `npm start` processes on one PostgreSQL database (not two containers
// on one handle): a key's requests per window counted once whichever process serves them, the window
// resetting for both, and a key's answers open at once capped across both. No worker runs, so
// accepted answers stay open (they expire uncharged after their deadline).
const ADMIN = 'cp_live_ratelimitprocessesadminkey00001';
const WINDOW_SECONDS = 30;
const KEY_REQUESTS = 6;
const KEY_ANSWERS = 2;

/** The `t` (seconds to the window's end) of a reply's RateLimit header, or its Retry-After on a 429. */
const resetOf = (headers: Headers) =>
  Number(/;t=(\d+)/.exec(headers.get('ratelimit') ?? '')?.[1] ?? headers.get('retry-after') ?? Number.NaN);

describe.skipIf(!postgresInstalled())('rate limits across two npm start processes on PostgreSQL', () => {
  let db: Db;
  let a: ApiProcess;
  let b: ApiProcess;
  let accountId: string;
  let key: string;
  let probeKey: string;

  beforeAll(async () => {
    const url = await testDatabaseUrl();
    db = openPg(url, { max: 2 });
    const env = {
      DATABASE_URL: url,
      CITEPAY_ADMIN_KEY: ADMIN,
      START_WORKER: 'false',
      RATE_LIMIT_WINDOW_SECONDS: String(WINDOW_SECONDS),
      RATE_LIMIT_KEY_REQUESTS: String(KEY_REQUESTS),
      RATE_LIMIT_ACCOUNT_REQUESTS: '0',
      RATE_LIMIT_KEY_ANSWERS: String(KEY_ANSWERS),
      RATE_LIMIT_ACCOUNT_ANSWERS: '0',
    };
    a = await startApiProcess(env, 600_000);
    b = await startApiProcess(env, 600_000);
    const ada = await http(a.url, 'POST', '/v1/admin/accounts', {
      key: ADMIN,
      json: { kind: 'contributor', name: 'Ada', wallet: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' },
    });
    const dn = await http(a.url, 'POST', '/v1/datanets', {
      key: ada.body.apiKey.key,
      json: { name: 'Tides', pricePerSource: '1000' },
    });
    expect(
      (
        await http(a.url, 'POST', `/v1/datanets/${dn.body.id}/documents`, {
          key: ada.body.apiKey.key,
          json: DOCS.tides,
        })
      ).status,
    ).toBe(201);
    const consumer = await http(a.url, 'POST', '/v1/admin/accounts', {
      key: ADMIN,
      json: { kind: 'consumer', name: 'Acme', credits: '100000000' },
    });
    accountId = consumer.body.account.id;
    key = consumer.body.apiKey.key;
    // A second key of the account: it reads where the window stands without spending `key`'s quota.
    probeKey = (await http(a.url, 'POST', `/v1/admin/accounts/${accountId}/keys`, { key: ADMIN, json: {} })).body.key;
  }, 900_000);

  afterAll(async () => {
    const dir = db ? (await readSetting<RecordedChain>(db, 'local.chain').catch(() => null))?.dir : undefined;
    for (const p of [b, a]) await p?.stop();
    const nodeFile = dir ? join(dir, 'node.json') : undefined;
    if (nodeFile && existsSync(nodeFile)) {
      const pid = (JSON.parse(readFileSync(nodeFile, 'utf8')) as { pid: number }).pid;
      if (isAlive(pid)) process.kill(pid, 'SIGTERM');
    }
    await db?.close();
  }, 300_000);

  /**
   * Waits (polling with the probe key, alternating processes) until a window has just begun — a
   * window other than the one the previous call found, however quickly the test got here.
   */
  let lastWindowEnd = 0;
  const atWindowStart = async () => {
    let i = 0;
    await vi.waitFor(
      async () => {
        const r = await http(i++ % 2 ? a.url : b.url, 'GET', '/v1/usage', { key: probeKey });
        const reset = resetOf(r.headers);
        const windowEnd = Date.now() / 1000 + reset;
        expect(reset).toBeGreaterThanOrEqual(WINDOW_SECONDS - 3);
        expect(windowEnd - lastWindowEnd).toBeGreaterThan(WINDOW_SECONDS / 2);
        lastWindowEnd = windowEnd;
      },
      { timeout: (2 * WINDOW_SECONDS + 30) * 1000, interval: 250 },
    );
  };

  it("counts a key's requests once across both processes, and the window resets for both", async () => {
    await atWindowStart();
    const replies = await Promise.all(
      Array.from({ length: 16 }, (_, i) => http(i % 2 ? a.url : b.url, 'GET', '/v1/usage', { key })),
    );
    // The burst fit in the window it started in (else the counts below would span two windows).
    expect(Math.min(...replies.map((r) => resetOf(r.headers)))).toBeGreaterThan(0);
    const ok = replies.filter((r) => r.status === 200);
    const refused = replies.filter((r) => r.status === 429);
    expect(ok).toHaveLength(KEY_REQUESTS);
    expect(refused).toHaveLength(16 - KEY_REQUESTS);
    for (const r of refused) {
      expect(r.body.error.code).toBe('RATE_LIMITED');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    }

    // The next window: the key is admitted again on both, up to the limit once more.
    await atWindowStart();
    const again: number[] = [];
    for (let i = 0; i < KEY_REQUESTS + 1; i++)
      again.push((await http(i % 2 ? a.url : b.url, 'GET', '/v1/usage', { key })).status);
    expect(again).toEqual([...Array(KEY_REQUESTS).fill(200), 429]);
  }, 600_000);

  it("caps a key's open answers across both processes, charging and holding nothing for those refused", async () => {
    await atWindowStart(); // a fresh request window: the 6 asks below stay within it
    const asks = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        http(i % 2 ? a.url : b.url, 'POST', '/v1/answers', {
          key,
          json: { query: 'What causes the tides?', mode: 'async' },
        }),
      ),
    );
    const outcomes = asks.map((r) => (r.status === 429 ? `429 ${r.body.error.details?.policy}` : String(r.status)));
    expect(outcomes.sort()).toEqual([
      ...Array(KEY_ANSWERS).fill('202'),
      ...Array(6 - KEY_ANSWERS).fill('429 key_answers'),
    ]);
    const open = await db.query<{ n: number; held: string }>(
      `SELECT count(*)::int AS n, coalesce(sum(hold), 0)::text AS held FROM answers
        WHERE account_id = $1 AND status IN ('queued', 'running')`,
      [accountId],
    );
    expect(open.rows[0]!.n).toBe(KEY_ANSWERS);
    const balance = await db.query<{ held: string }>(
      `SELECT held::text FROM account_balances WHERE account_id = $1 AND livemode`,
      [accountId],
    );
    expect(balance.rows[0]!.held).toBe(open.rows[0]!.held); // only the accepted answers hold money
    expect((await checkLedger(db)).filter((c) => !c.ok)).toEqual([]);
  }, 600_000);
});
