import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { Address } from 'viem';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ANVIL_SETTLER_KEY, isAlive } from '../shared/chain/anvil.ts';
import { createSettlementChain, type SettlementChain } from '../shared/chain/distributor.ts';
import type { Db } from '../shared/db/index.ts';
import { openPg } from '../shared/db/pg.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { readSetting } from '../shared/store/deployment.ts';
import { http, startApiProcess, type ApiProcess } from './api-process.ts';
import { postgresInstalled } from './postgres-server.ts';
import { testDatabaseUrl } from './services.ts';

// The settler key across real `npm start` processes on one real PostgreSQL database: claims relayed
// on both at once (one signer: no nonce error, each wallet paid once), then `kill -9` of the process
// that started the chain (the chain lives on) and of the chain itself right after a settlement and a
// claim (its saved state and the reconciler bring every epoch and claim back). Every step ends with
// the chain-aware ledger check.
const ADMIN = 'cp_live_chainprocessesadminkey00000001';
const WALLET_COUNT = 6;

interface RecordedChain {
  rpcUrl: string;
  dir: string;
  distributor: Address;
  token: Address;
}

describe.skipIf(!postgresInstalled())('the settler key across processes, and a chain that survives kill -9', () => {
  let dbUrl: string;
  let db: Db;
  let a: ApiProcess;
  let b: ApiProcess;
  const others: ApiProcess[] = [];
  const wallets: Address[] = Array.from(
    { length: WALLET_COUNT },
    () => privateKeyToAccount(generatePrivateKey()).address,
  );
  let consumerKey: string;
  const contributors: { key: string; datanet: string; topic: string }[] = [];

  const recorded = async () => (await readSetting<RecordedChain>(db, 'local.chain'))!;
  const chainOf = (r: RecordedChain): SettlementChain =>
    createSettlementChain({
      rpcUrl: r.rpcUrl,
      settlerKey: ANVIL_SETTLER_KEY,
      distributor: r.distributor,
      token: r.token,
    });
  const anvilPid = (dir: string) => (JSON.parse(readFileSync(join(dir, 'node.json'), 'utf8')) as { pid: number }).pid;
  const expectLedgerGreen = async () => {
    const failed = (await checkLedger(db, { chain: chainOf(await recorded()) })).filter((c) => !c.ok);
    expect(failed).toEqual([]);
  };
  const earnAll = async (base: string) => {
    for (const c of contributors)
      expect(
        (await http(base, 'POST', '/v1/retrieve', { key: consumerKey, json: { query: `${c.topic} facts`, topK: 1 } }))
          .status,
      ).toBe(200);
  };
  const settle = async (base: string) => {
    const r = await http(base, 'POST', '/v1/admin/settlements', { key: ADMIN });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('confirmed');
    return r.body.epoch.epoch as number;
  };

  beforeAll(async () => {
    dbUrl = await testDatabaseUrl();
    db = openPg(dbUrl, { max: 2 });
    a = await startApiProcess({ DATABASE_URL: dbUrl, CITEPAY_ADMIN_KEY: ADMIN, START_WORKER: 'false' }, 600_000);
    b = await startApiProcess({ DATABASE_URL: dbUrl, CITEPAY_ADMIN_KEY: ADMIN, START_WORKER: 'false' }, 600_000);
    const consumer = await http(a.url, 'POST', '/v1/admin/accounts', {
      key: ADMIN,
      json: { kind: 'consumer', name: 'Acme', credits: '100000000' },
    });
    consumerKey = consumer.body.apiKey.key;
    const topics = ['glacier', 'volcano', 'lighthouse', 'orchard', 'telescope', 'submarine'];
    for (const [i, wallet] of wallets.entries()) {
      const acct = await http(a.url, 'POST', '/v1/admin/accounts', {
        key: ADMIN,
        json: { kind: 'contributor', name: `C${i}`, wallet },
      });
      expect(acct.status).toBe(201);
      const key = acct.body.apiKey.key as string;
      const dn = await http(a.url, 'POST', '/v1/datanets', { key, json: { name: `N${i}`, pricePerSource: '5000' } });
      const topic = topics[i]!;
      const doc = await http(a.url, 'POST', `/v1/datanets/${dn.body.id}/documents`, {
        key,
        json: {
          title: `All about the ${topic}`,
          content: `The ${topic} is the subject of this note. A ${topic} has a long history and many ${topic} facts are known.`,
        },
      });
      expect(doc.status).toBe(201);
      contributors.push({ key, datanet: dn.body.id, topic });
    }
  }, 900_000);
  afterAll(async () => {
    const dir = db ? (await readSetting<RecordedChain>(db, 'local.chain').catch(() => null))?.dir : undefined;
    // (stop() waits for an exit event, which a process killed earlier already emitted)
    for (const p of [...others, b, a])
      if (p && p.child.exitCode === null && p.child.signalCode === null) await p.stop();
    // A node left running by a killed owner (by design it outlives it): end it here.
    if (dir && existsSync(join(dir, 'node.json'))) {
      const pid = anvilPid(dir);
      if (isAlive(pid)) process.kill(pid, 'SIGTERM');
    }
    await db?.close();
  }, 300_000);

  it('claims relayed on both processes at once: no nonce error, every reply 200, each wallet paid once', async () => {
    await earnAll(a.url);
    await settle(a.url);
    const chain = chainOf(await recorded());
    const due = new Map<Address, bigint>();
    for (const w of wallets) due.set(w, BigInt((await http(a.url, 'GET', `/v1/payouts/${w}`)).body.claimable));
    expect([...due.values()].filter((v) => v > 0n).length).toBeGreaterThanOrEqual(4);

    // Every wallet claimed 4 times, twice on each process, all at once: 24 relays through one key.
    const replies = await Promise.all(
      wallets.flatMap((w) =>
        [a, b, a, b].map((p) => http(p.url, 'POST', `/v1/payouts/${w}/claim`, { key: consumerKey })),
      ),
    );
    const failures = replies.filter((r) => r.status !== 200);
    expect(failures.map((r) => [r.status, r.body?.error?.message])).toEqual([]);
    for (const w of wallets) expect(await chain.tokenBalance(w)).toBe(due.get(w)!);
    const paid = replies.reduce((sum, r) => sum + BigInt(r.body.paid), 0n);
    expect(paid).toBe([...due.values()].reduce((x, y) => x + y, 0n)); // paid once in total, whichever reply did it
    await expectLedgerGreen();
  }, 900_000);

  it('kill -9 of the process that started the chain: the chain lives on, the other process keeps relaying, a restart adopts it', async () => {
    const before = await recorded();
    const pid = anvilPid(before.dir);
    a.child.kill('SIGKILL');
    await new Promise((r) => a.child.once('exit', r));
    expect(isAlive(pid)).toBe(true);
    await earnAll(b.url);
    await settle(b.url);
    const claim = await http(b.url, 'POST', `/v1/payouts/${wallets[0]}/claim`, { key: consumerKey });
    expect(claim.status).toBe(200);
    expect(BigInt(claim.body.paid)).toBeGreaterThan(0n);

    a = await startApiProcess({ DATABASE_URL: dbUrl, CITEPAY_ADMIN_KEY: ADMIN, START_WORKER: 'false' }, 600_000);
    expect(a.lines.some((l) => l.includes('its owner is gone'))).toBe(true);
    expect((await recorded()).rpcUrl).toBe(before.rpcUrl);
    await expectLedgerGreen();
  }, 900_000);

  it('kill -9 of the chain itself and of its owner right after a settlement and a claim: a restart brings back every epoch and claim', async () => {
    await earnAll(a.url);
    const epoch = await settle(a.url);
    const claim = await http(b.url, 'POST', `/v1/payouts/${wallets[1]}/claim`, { key: consumerKey });
    expect(claim.status).toBe(200);
    const paid = BigInt(claim.body.paid);
    expect(paid).toBeGreaterThan(0n);
    const balanceBefore = await chainOf(await recorded()).tokenBalance(wallets[1]!);
    const { dir } = await recorded();
    process.kill(anvilPid(dir), 'SIGKILL'); // no chance to save anything on the way out
    a.child.kill('SIGKILL');
    await new Promise((r) => a.child.once('exit', r));
    await b.stop();

    const c = await startApiProcess({ DATABASE_URL: dbUrl, CITEPAY_ADMIN_KEY: ADMIN, START_WORKER: 'false' }, 600_000);
    others.push(c);
    const chain = chainOf(await recorded());
    const state = await chain.readState();
    expect(state.epoch).toBe(BigInt(epoch));
    expect(await chain.tokenBalance(wallets[1]!)).toBe(balanceBefore);
    await expectLedgerGreen();
    // Still one signer after all that: a new epoch and a claim go through.
    await earnAll(c.url);
    await settle(c.url);
    expect((await http(c.url, 'POST', `/v1/payouts/${wallets[2]}/claim`, { key: consumerKey })).status).toBe(200);
    await expectLedgerGreen();
  }, 900_000);
});
