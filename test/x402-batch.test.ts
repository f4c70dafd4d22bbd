import { x402Client } from '@x402/core/client';
import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from '@x402/core/http';
import { BATCH_SETTLEMENT_ADDRESS, PERMIT2_ADDRESS, toClientEvmSigner } from '@x402/evm';
import { BatchSettlementEvmScheme as BatchClient } from '@x402/evm/batch-settlement/client';
import { BatchSettlementEvmScheme as BatchServer } from '@x402/evm/batch-settlement/server';
import { wrapFetchWithPayment } from '@x402/fetch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalletClient, http as viemHttp, maxUint256, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { testUsdAbi } from '../contracts/artifacts/TestUSD.ts';
import { x402BatchSettlementAbi } from '../contracts/artifacts/x402BatchSettlement.ts';
import { ANVIL_DEPLOYER_KEY, ANVIL_SETTLER_ADDRESS } from '../shared/chain/anvil.ts';
import { X402_BATCH_CONTRACTS } from '../shared/chain/x402-batch-contracts.ts';
import { createTokenInflows } from '../shared/chain/token-inflows.ts';
import { createChannelReader } from '../shared/chain/x402-channel-reader.ts';
import type { Db } from '../shared/db/index.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { claimChannels } from '../shared/services/x402-channels.ts';
import { DbChannelStorage } from '../shared/store/x402-channels.ts';
import { startApiProcess } from './api-process.ts';
import { postgresInstalled } from './postgres-server.ts';
import { bikesDatanet, type LocalChain, payingFetch, signerOf, startX402Api, type X402Api } from './x402-harness.ts';

// x402 `batch-settlement` against a real `npm start`: x402's channel contract and deposit
// collectors placed on its anvil, its local facilitator, a fresh agent wallet paying with the real
// @x402/fetch client and @x402/evm's batch-settlement client over a viem wallet. One deposit, many
// calls each paid by a cumulative voucher (no transaction), one claim for all of them: the token
// moved into the treasury equals the ledger's inflow, and the ledger's receivable is paid off.
const ADMIN = 'cp_live_x402batchadminkey0000000000001';
const PRICE = 1200n;

describe.skipIf(!postgresInstalled())('x402 batch-settlement (one deposit, a voucher per call, one claim)', () => {
  let x: X402Api;
  let api: X402Api['api'];
  let db: Db;
  let dbUrl: string;
  let chain: LocalChain;
  let facilitatorUrl: string;
  let reader: X402Api['reader'];

  const balanceOf = (address: `0x${string}`) =>
    reader.readContract({ address: chain.token, abi: testUsdAbi, functionName: 'balanceOf', args: [address] });
  const treasury = () => x.treasury();
  const claimedInflow = async () => -(await x.ledgerSum('acct_x402_channel_claims'));
  const receivable = async () => -(await x.ledgerSum('acct_x402_vouchers'));
  const charges = async () =>
    (await db.query(`SELECT 1 FROM x402_channel_charges WHERE status = 'charged'`)).rows.length;
  const post = (f: typeof fetch, url: string, path: string, json: unknown) =>
    f(`${url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(json) });

  /** A new wallet with $50 of test dollars that has approved Permit2 (deposits go through it). */
  async function fundedWallet(): Promise<Hex> {
    const key = generatePrivateKey();
    const address = privateKeyToAccount(key).address;
    await reader.request({ method: 'anvil_setBalance' as never, params: [address, '0x8AC7230489E80000'] as never });
    const deployer = createWalletClient({
      account: privateKeyToAccount(ANVIL_DEPLOYER_KEY),
      transport: viemHttp(chain.rpcUrl),
    });
    await reader.waitForTransactionReceipt({
      hash: await deployer.writeContract({
        address: chain.token,
        abi: testUsdAbi,
        functionName: 'mint',
        args: [address, 50_000_000n],
        chain: null,
      }),
    });
    const wallet = createWalletClient({ account: privateKeyToAccount(key), transport: viemHttp(chain.rpcUrl) });
    await reader.waitForTransactionReceipt({
      hash: await wallet.writeContract({
        address: chain.token,
        abi: testUsdAbi,
        functionName: 'approve',
        args: [PERMIT2_ADDRESS, maxUint256],
        chain: null,
      }),
    });
    return key;
  }

  /** @x402/fetch paying with batch-settlement only (deposit: 10 calls' worth); `sent` records each PAYMENT-SIGNATURE. */
  const batchFetch = (privateKey: Hex, sent: string[] = []) =>
    payingFetch(
      chain,
      new BatchClient(signerOf(privateKey, reader), { depositPolicy: { depositMultiplier: 10 } }),
      sent,
    );

  /** The claim pass npm start runs every X402_CLAIM_SECONDS, run now over the same database and facilitator. */
  const claimNow = () =>
    claimChannels(new BatchServer(ANVIL_SETTLER_ADDRESS, { storage: new DbChannelStorage(db) }), {
      facilitatorUrl,
      network: `eip155:${chain.chainId}`,
      token: chain.token,
    });

  beforeAll(async () => {
    x = await startX402Api({ CITEPAY_ADMIN_KEY: ADMIN, X402_CLAIM_SECONDS: '0' });
    ({ api, db, dbUrl, chain, facilitatorUrl, reader } = x);
    await bikesDatanet(api.url, ADMIN, PRICE);
  });
  afterAll(async () => {
    await x?.stop();
  });

  it('npm start placed the channel contract and collectors; a 402 offers batch-settlement beside upto and exact', async () => {
    for (const address of Object.values(X402_BATCH_CONTRACTS))
      expect(await reader.getCode({ address })).toMatch(/^0x[0-9a-f]{100,}/);
    const res = await post(fetch, api.url, '/v1/retrieve', { query: 'flat tyre', topK: 1 });
    const accepts = decodePaymentRequiredHeader(res.headers.get('payment-required')!).accepts;
    expect(accepts.map((a) => a.scheme)).toEqual(['upto', 'batch-settlement', 'exact']);
    expect(accepts[1]).toMatchObject({
      network: `eip155:${chain.chainId}`,
      asset: chain.token,
      payTo: ANVIL_SETTLER_ADDRESS,
      amount: PRICE.toString(),
      extra: { assetTransferMethod: 'permit2', withdrawDelay: 900 },
    });
    expect(accepts[1]!.extra.receiverAuthorizer).toMatch(/^0x[0-9a-fA-F]{40}$/);
  });

  it('deposit once, many calls paid by vouchers (no transaction each), one claim: the token moved equals the ledger inflow', async () => {
    const key = await fundedWallet();
    const payer = privateKeyToAccount(key).address;
    const pay = batchFetch(key);
    const before = {
      treasury: await treasury(),
      inflow: await claimedInflow(),
      receivable: await receivable(),
      payer: await balanceOf(payer),
      escrow: await balanceOf(BATCH_SETTLEMENT_ADDRESS),
    };
    const CALLS = 5;
    let charged = 0n;
    for (let i = 0; i < CALLS; i++) {
      const res = await post(pay, api.url, '/v1/retrieve', {
        query: `how do I fix a flat bicycle tyre? ${i}`,
        topK: 1,
      });
      expect(res.status).toBe(200);
      const settlement = decodePaymentResponseHeader(res.headers.get('payment-response')!);
      expect(settlement.success).toBe(true);
      // only the first call (the deposit) is a transaction; each later voucher is a signature
      if (i === 0) expect(settlement.transaction).toMatch(/^0x[0-9a-f]{64}$/);
      else expect(settlement.transaction).toBe('');
      charged += BigInt(((await res.json()) as { usage: { charged: string } }).usage.charged);
    }
    const deposit = before.payer - (await balanceOf(payer));
    expect(deposit).toBe(10n * PRICE); // one deposit, sized by the client's policy
    expect((await balanceOf(BATCH_SETTLEMENT_ADDRESS)) - before.escrow).toBe(deposit);
    expect(await treasury()).toBe(before.treasury); // nothing claimed yet: the vouchers are a receivable
    expect((await receivable()) - before.receivable).toBe(BigInt(CALLS) * PRICE);
    expect(charged).toBe(BigInt(CALLS) * PRICE);

    const pass = await claimNow();
    expect(pass.claims).toHaveLength(1); // one claim transaction for all the vouchers
    expect(pass.settleTransaction).toMatch(/^0x[0-9a-f]{64}$/);
    const moved = (await treasury()) - before.treasury;
    expect(moved).toBe(BigInt(CALLS) * PRICE);
    expect((await claimedInflow()) - before.inflow).toBe(moved);
    expect(await receivable()).toBe(before.receivable);
    const channel = (
      await db.query<{ channel_id: Hex; total_claimed: string; charged_cumulative: string }>(
        `SELECT channel_id, total_claimed::text, charged_cumulative::text FROM x402_channels WHERE payer = $1`,
        [payer.toLowerCase()],
      )
    ).rows[0]!;
    expect(channel.total_claimed).toBe(moved.toString());
    const [, onChainClaimed] = await reader.readContract({
      address: BATCH_SETTLEMENT_ADDRESS,
      abi: x402BatchSettlementAbi,
      functionName: 'channels',
      args: [channel.channel_id],
    });
    expect(onChainClaimed).toBe(moved);
    expect(await claimNow()).toEqual({ claims: [], settleTransaction: null }); // nothing left to claim

    const inflows = createTokenInflows({ rpcUrl: chain.rpcUrl, token: chain.token });
    const checks = await checkLedger(db, { inflows, channels: createChannelReader(chain.rpcUrl) });
    expect(checks.map((c) => c.name)).toContain('chain: every x402 channel’s claimed total is the ledger’s');
    expect(checks.filter((c) => !c.ok)).toEqual([]);
  });

  it('a replayed or lower voucher is refused with 402 and nothing changes', async () => {
    const key = await fundedWallet();
    const sent: string[] = [];
    const pay = batchFetch(key, sent);
    for (const q of ['tyre one', 'tyre two'])
      expect((await post(pay, api.url, '/v1/retrieve', { query: q, topK: 1 })).status).toBe(200);
    const before = { receivable: await receivable(), charges: await charges(), treasury: await treasury() };
    for (const signature of [sent.at(-1)!, sent.at(-2)!]) {
      const replay = await fetch(`${api.url}/v1/retrieve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'payment-signature': signature },
        body: JSON.stringify({ query: 'tyre again', topK: 1 }),
      });
      expect(replay.status).toBe(402);
    }
    expect(await receivable()).toBe(before.receivable);
    expect(await charges()).toBe(before.charges);
    expect(await treasury()).toBe(before.treasury);
    // the channel still takes the next voucher
    expect((await post(pay, api.url, '/v1/retrieve', { query: 'tyre three', topK: 1 })).status).toBe(200);
    // an agent that restarted (no channel state) is told the channel's state by the 402 and pays on the same deposit
    const payer = privateKeyToAccount(key).address;
    const deposited = await balanceOf(payer);
    const restarted = await post(batchFetch(key), api.url, '/v1/retrieve', { query: 'tyre four', topK: 1 });
    expect(restarted.status).toBe(200);
    expect(decodePaymentResponseHeader(restarted.headers.get('payment-response')!).transaction).toBe('');
    expect(await balanceOf(payer)).toBe(deposited);
    expect((await checkLedger(db)).filter((c) => !c.ok)).toEqual([]);
  });

  it('a failed call charges nothing and frees the channel for the next voucher', async () => {
    const key = await fundedWallet();
    const pay = batchFetch(key);
    expect((await post(pay, api.url, '/v1/retrieve', { query: 'tyre', topK: 1 })).status).toBe(200);
    const before = { receivable: await receivable(), charges: await charges() };
    expect((await post(pay, api.url, '/v1/retrieve', { query: '   ', topK: 1 })).status).toBe(400);
    expect(await receivable()).toBe(before.receivable);
    expect(await charges()).toBe(before.charges);
    expect((await post(pay, api.url, '/v1/retrieve', { query: 'tyre again', topK: 1 })).status).toBe(200);
    expect((await checkLedger(db)).filter((c) => !c.ok)).toEqual([]);
  });

  it('facilitator down → 503 for a deposit, nothing charged', async () => {
    const down = await startApiProcess({
      DATABASE_URL: dbUrl,
      CITEPAY_ADMIN_KEY: ADMIN,
      START_WORKER: 'false',
      X402_FACILITATOR_URL: 'http://127.0.0.1:9',
      X402_CLAIM_SECONDS: '0',
    });
    try {
      const key = await fundedWallet();
      const before = {
        receivable: await receivable(),
        charges: await charges(),
        payer: await balanceOf(privateKeyToAccount(key).address),
      };
      // a deposit signed against the working process's requirements (held back from it), sent to the one without a facilitator
      const sent: string[] = [];
      const network = `eip155:${chain.chainId}` as const;
      const signing = wrapFetchWithPayment(
        async (input, init) => {
          const req = new Request(input as string | URL | Request, init);
          const sig = req.headers.get('payment-signature');
          if (!sig) return fetch(req);
          sent.push(sig);
          return new Response('held back', { status: 599 });
        },
        x402Client.fromConfig({
          schemes: [{ network, client: new BatchClient(toClientEvmSigner(privateKeyToAccount(key), reader as never)) }],
          spendControls: { allowedAssets: [{ network, asset: chain.token }] },
        }),
      );
      await post(signing, api.url, '/v1/retrieve', { query: 'flat tyre', topK: 1 }).catch(() => undefined);
      expect(sent).toHaveLength(1);
      expect(JSON.parse(Buffer.from(sent[0]!, 'base64').toString()).payload.type).toBe('deposit');
      const paid = await fetch(`${down.url}/v1/retrieve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'payment-signature': sent.at(-1)! },
        body: JSON.stringify({ query: 'flat tyre', topK: 1 }),
      });
      expect(paid.status).toBe(503);
      expect(await receivable()).toBe(before.receivable);
      expect(await charges()).toBe(before.charges);
      expect(await balanceOf(privateKeyToAccount(key).address)).toBe(before.payer);
    } finally {
      await down.stop();
    }
  });
});
