// Self-serve credits (issue 20 §3) on a real anvil and the test database (PGlite, then PostgreSQL):
// a wallet without an account signs in with Ethereum and gets a consumer account with test credits
// at once, makes keys there, then tops up by sending the stablecoin to the treasury; the watcher
// records the Transfer (pending), credits it once after the configured confirmations, and never
// again — not on a second pass, not from a second process, not after a restart. The dashboard
// shows the top-up and the balance; check:ledger compares credited top-ups with the chain.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalletClient, http as viemHttp, parseEther, type Address, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { createSiweMessage } from 'viem/siwe';
import { testUsdAbi } from '../contracts/artifacts/TestUSD.ts';
import { createTokenInflows } from '../shared/chain/token-inflows.ts';
import { openPg } from '../shared/db/pg.ts';
import type { Services } from '../shared/services/container.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { scanTopUps } from '../shared/services/top-ups.ts';
import { findAccountByWallet } from '../shared/store/accounts.ts';
import { balanceOf } from '../shared/store/ledger.ts';
import { deployTestChain, type TestChain } from './chain.ts';
import { browserSession, field } from './dashboard/session.ts';
import { httpClient, type Client } from './http.ts';
import { TEST_DB, createTestServices, testDatabaseUrl } from './services.ts';

const TEST_CREDITS = 2_000_000n;
const CONFIRMATIONS = 3;

let tc: TestChain;
let services: Services;
let client: Client;
let dbUrl: string | null = null;
const key = generatePrivateKey();
const wallet = privateKeyToAccount(key).address;

async function siwe(s: ReturnType<typeof browserSession>) {
  const page = await s.get('/dashboard/sign-in');
  const { nonce } = JSON.parse((await s.get('/dashboard/sign-in/nonce')).text) as { nonce: string };
  const account = privateKeyToAccount(key);
  const message = createSiweMessage({
    address: account.address,
    chainId: tc.chainId,
    domain: 'localhost',
    nonce,
    uri: 'http://localhost',
    version: '1',
    issuedAt: new Date(),
  });
  return s.request('POST', '/dashboard/sign-in/siwe', {
    json: { message, signature: await account.signMessage({ message }) },
    headers: { 'x-csrf-token': s.csrfOf(page.text) },
  });
}

/** The wallet sends `amount` of the stablecoin to the treasury itself (an ordinary ERC-20 transfer). */
async function payTreasury(amount: bigint): Promise<Hex> {
  const w = createWalletClient({ account: privateKeyToAccount(key), transport: viemHttp(tc.rpcUrl) });
  const hash = await w.writeContract({
    chain: null,
    address: tc.token,
    abi: testUsdAbi,
    functionName: 'transfer',
    args: [tc.settler, amount],
  });
  await tc.publicClient.waitForTransactionReceipt({ hash });
  return hash;
}

const topUpRows = async () =>
  (
    await services.db.query<{ status: string; amount: bigint; tx_hash: string }>(
      `SELECT status, amount, tx_hash FROM top_ups ORDER BY seen_at`,
    )
  ).rows.map((r) => ({ status: r.status, amount: BigInt(r.amount), txHash: r.tx_hash }));

beforeAll(async () => {
  tc = await deployTestChain();
  const env = {
    CHAIN_ID: String(tc.chainId),
    CHAIN_RPC_URL: tc.rpcUrl,
    TOKEN_ADDRESS: tc.token,
    DISTRIBUTOR_ADDRESS: tc.distributor,
    SETTLER_PRIVATE_KEY: tc.settlerKey,
    SIGNUP_TEST_CREDITS: TEST_CREDITS.toString(),
    TOPUP_CONFIRMATIONS: String(CONFIRMATIONS),
  };
  if (TEST_DB === 'pg') {
    dbUrl = await testDatabaseUrl();
    services = await createTestServices(env, { chain: tc.chain, db: openPg(dbUrl, { max: 5 }) });
  } else services = await createTestServices(env, { chain: tc.chain });
  client = httpClient(services);
  // the wallet: gas, and $50 of the stablecoin from the treasury
  await tc.testClient.setBalance({ address: wallet, value: parseEther('1') });
  const settler = createWalletClient({ account: privateKeyToAccount(tc.settlerKey), transport: viemHttp(tc.rpcUrl) });
  await tc.publicClient.waitForTransactionReceipt({
    hash: await settler.writeContract({
      chain: null,
      address: tc.token,
      abi: testUsdAbi,
      functionName: 'transfer',
      args: [wallet, 50_000_000n],
    }),
  });
});
afterAll(async () => {
  await services?.db.close();
});

describe('self-serve sign-up and top-ups', () => {
  it('a wallet without an account signs in: a consumer account with test credits at once, keys made there', async () => {
    expect(await findAccountByWallet(services.db, wallet)).toBeNull();
    const s = browserSession(client.app);
    const signedIn = await siwe(s);
    expect(signedIn.status).toBe(200);
    expect(JSON.parse(signedIn.text).next).toBe('/dashboard/consumer');
    const account = (await findAccountByWallet(services.db, wallet))!;
    expect(account.kind).toBe('consumer');
    expect(await balanceOf(services.db, account.id, false)).toBe(TEST_CREDITS);
    expect(await balanceOf(services.db, account.id, true)).toBe(0n);

    // a test key made on the dashboard spends the test credits at once
    const made = await s.submit('/dashboard/consumer', '/dashboard/consumer/keys', { name: 'my bot', mode: 'test' });
    expect(made.status).toBe(303);
    const page = await s.get('/dashboard/consumer');
    const testKey = page.text.match(/id="new-key">(cp_test_[A-Za-z0-9]+)</)?.[1];
    expect(testKey).toBeDefined();
    const usage = await client.call('GET', '/v1/usage', { key: testKey! });
    expect(usage.status).toBe(200);
    expect(usage.body.balance).toBe(TEST_CREDITS.toString());
    // the page shows the test credits and where to send a top-up
    expect(field(page.text, 'test-balance')).toBe(TEST_CREDITS.toString());
    expect(page.text).toContain(tc.settler);

    // signing in again: the same account, no second grant
    expect((await siwe(browserSession(client.app))).status).toBe(200);
    expect(await balanceOf(services.db, account.id, false)).toBe(TEST_CREDITS);
  });

  it(`a Transfer to the treasury is pending, then credited once after ${CONFIRMATIONS} confirmations`, async () => {
    const account = (await findAccountByWallet(services.db, wallet))!;
    const s = browserSession(client.app);
    await siwe(s);
    const hash = await payTreasury(2_500_000n);
    const first = await scanTopUps(services);
    expect(first).toMatchObject({ status: 'done', seen: 1, credited: [] });
    expect(await topUpRows()).toEqual([{ status: 'pending', amount: 2_500_000n, txHash: hash }]);
    let page = (await s.get('/dashboard/consumer')).text;
    expect(page).toMatch(/data-top-up-status="pending"/);
    expect(field(page, 'balance')).toBe('0');

    await tc.testClient.mine({ blocks: CONFIRMATIONS - 1 });
    const second = await scanTopUps(services);
    expect(second.credited).toHaveLength(1);
    expect(await balanceOf(services.db, account.id, true)).toBe(2_500_000n);
    page = (await s.get('/dashboard/consumer')).text;
    expect(page).toMatch(/data-top-up-status="credited"/);
    expect(field(page, 'balance')).toBe('2500000');

    // again, and as a restarted process (a new services object: nothing cached): nothing more
    expect((await scanTopUps(services)).credited).toEqual([]);
    expect((await scanTopUps({ ...services })).credited).toEqual([]);
    expect(await balanceOf(services.db, account.id, true)).toBe(2_500_000n);
  });

  it('two processes scanning at once credit each top-up once', async () => {
    const account = (await findAccountByWallet(services.db, wallet))!;
    await payTreasury(1_000_000n);
    await payTreasury(500_000n);
    await tc.testClient.mine({ blocks: CONFIRMATIONS });
    // on PostgreSQL a second pool on the same database, as a second `npm start` has
    const other = dbUrl ? openPg(dbUrl, { max: 5 }) : services.db;
    try {
      const results = await Promise.all([
        scanTopUps(services),
        scanTopUps({ ...services, db: other }),
        scanTopUps({ ...services }),
      ]);
      expect(results.flatMap((r) => r.credited)).toHaveLength(2);
    } finally {
      if (other !== services.db) await other.close();
    }
    expect(await balanceOf(services.db, account.id, true)).toBe(4_000_000n);
    expect((await topUpRows()).map((r) => r.status)).toEqual(['credited', 'credited', 'credited']);
  });

  it('check:ledger: balanced, and every credited top-up is its Transfer on chain', async () => {
    const inflows = createTokenInflows({ rpcUrl: tc.rpcUrl, token: tc.token });
    const checks = await checkLedger(services.db, { inflows });
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    const topUps = checks.find((c) => c.name.includes('top-up is its Transfer'))!;
    expect(topUps.checked).toMatch(/^3 credited top-ups, 4000000 in the ledger, 4000000 on chain/);
    // a top-up the chain does not show fails it (rolled back)
    const tampered = await services.db
      .transaction(async (tx) => {
        await tx.query(
          `UPDATE top_ups SET tx_hash = $1 WHERE id = (SELECT id FROM top_ups WHERE status = 'credited' LIMIT 1)`,
          [`0x${'ab'.repeat(32)}`],
        );
        const found = (await checkLedger(tx, { inflows })).find((c) => c.name.includes('top-up is its Transfer'))!;
        throw Object.assign(new Error('rollback'), { found });
      })
      .catch((err: { found?: { ok: boolean } }) => err.found);
    expect(tampered?.ok).toBe(false);
  });

  it('an x402-style transfer from the wallet that someone else sent is not a top-up', async () => {
    // the facilitator's transferWithAuthorization: a Transfer from the wallet, sent by another account
    const relayer = await tc.fundedAccount();
    const before = (await topUpRows()).length;
    // approve + transferFrom: the Transfer's `from` is the wallet, the transaction's sender the relayer
    const w = createWalletClient({ account: privateKeyToAccount(key), transport: viemHttp(tc.rpcUrl) });
    await tc.publicClient.waitForTransactionReceipt({
      hash: await w.writeContract({
        chain: null,
        address: tc.token,
        abi: testUsdAbi,
        functionName: 'approve',
        args: [relayer.address as Address, 100n],
      }),
    });
    await tc.publicClient.waitForTransactionReceipt({
      hash: await relayer.wallet.writeContract({
        chain: null,
        address: tc.token,
        abi: testUsdAbi,
        functionName: 'transferFrom',
        args: [wallet, tc.settler, 100n],
      }),
    });
    await tc.testClient.mine({ blocks: CONFIRMATIONS });
    await scanTopUps(services);
    expect((await topUpRows()).length).toBe(before);
  });
});
