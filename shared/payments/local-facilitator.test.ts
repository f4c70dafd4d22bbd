// Several `npm start` processes on one chain each run a local facilitator with the same key. Each
// sends through the deployment's serial sender for that key (a PostgreSQL advisory lock, as the
// settler's transactions do), so concurrent settlements from both never collide on a nonce: every
// payment settles, once, in its own transaction.
import { x402Client } from '@x402/core/client';
import type { PaymentRequired, PaymentRequirements } from '@x402/core/types';
import { toClientEvmSigner } from '@x402/evm';
import { ExactEvmScheme } from '@x402/evm/exact/client';
import { createWalletClient, http, type Address } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { testUsdAbi } from '../../contracts/artifacts/TestUSD.ts';
import { deployTestChain } from '../../test/chain.ts';
import { postgresInstalled } from '../../test/postgres-server.ts';
import { testDatabaseUrl } from '../../test/services.ts';
import { createSerialSender } from '../chain/serial-sender.ts';
import type { Db } from '../db/index.ts';
import { openPg } from '../db/pg.ts';
import { createDbSignerLock } from '../services/signer-lock.ts';
import { createLocalFacilitator } from './local-facilitator.ts';

const PAYMENTS = 16;
const AMOUNT = 1_000n;

describe.skipIf(!postgresInstalled())('local facilitators of two processes on one key', () => {
  it(`settle ${PAYMENTS} payments at once through one database lock: no nonce collides, each lands once`, async () => {
    const t = await deployTestChain();
    const facilitatorKey = (await t.fundedAccount()).key;
    const facilitatorAddress = privateKeyToAccount(facilitatorKey).address;
    const network = `eip155:${t.chainId}` as const;
    const requirements: PaymentRequirements = {
      scheme: 'exact',
      network,
      asset: t.token,
      amount: AMOUNT.toString(),
      payTo: t.settler,
      maxTimeoutSeconds: 300,
      extra: { name: 'Citepay Test USD', version: '1' },
    };
    // payers funded from the treasury
    const settlerWallet = createWalletClient({ account: privateKeyToAccount(t.settlerKey), transport: http(t.rpcUrl) });
    const payers = Array.from({ length: PAYMENTS }, () => privateKeyToAccount(generatePrivateKey()));
    for (const payer of payers) {
      const hash = await settlerWallet.writeContract({
        chain: null,
        address: t.token,
        abi: testUsdAbi,
        functionName: 'transfer',
        args: [payer.address, AMOUNT],
      });
      await t.publicClient.waitForTransactionReceipt({ hash });
    }
    const required: PaymentRequired = {
      x402Version: 2,
      resource: { url: 'http://citepay.test/v1/retrieve' },
      accepts: [requirements],
    };
    const payloads = await Promise.all(
      payers.map((payer) =>
        x402Client
          .fromConfig({
            schemes: [{ network, client: new ExactEvmScheme(toClientEvmSigner(payer, t.publicClient as never)) }],
            spendControls: { allowedAssets: [{ network, asset: t.token }] },
          })
          .createPaymentPayload(required),
      ),
    );
    const balance = (who: Address) =>
      t.publicClient.readContract({ address: t.token, abi: testUsdAbi, functionName: 'balanceOf', args: [who] });
    const before = await balance(t.settler);

    // one database, two pools: two processes' worth of facilitators, one lock named after the key
    const url = await testDatabaseUrl();
    const dbs: Db[] = [openPg(url, { max: 3 }), openPg(url, { max: 3 })];
    try {
      const facilitators = dbs.map((db) =>
        createLocalFacilitator({
          rpcUrl: t.rpcUrl,
          chainId: t.chainId,
          privateKey: facilitatorKey,
          sender: createSerialSender(createDbSignerLock(db, facilitatorAddress)),
        }),
      );
      const results = await Promise.all(
        payloads.map((payload, i) => facilitators[i % 2]!.settle(payload, requirements).catch((err: Error) => err)),
      );
      const failures = results.filter((r) => r instanceof Error || !r.success);
      expect(failures).toEqual([]);
      const hashes = results.map((r) => (r as { transaction: string }).transaction);
      expect(new Set(hashes).size).toBe(PAYMENTS);
      for (const hash of hashes)
        expect((await t.publicClient.getTransactionReceipt({ hash: hash as `0x${string}` })).status).toBe('success');
      expect((await balance(t.settler)) - before).toBe(BigInt(PAYMENTS) * AMOUNT);
      // the key's nonces were used in order, one per settlement: none skipped, none twice
      expect(await t.publicClient.getTransactionCount({ address: facilitatorAddress })).toBe(PAYMENTS);
    } finally {
      for (const db of dbs) await db.close();
    }
  });
});
