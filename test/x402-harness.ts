import { x402Client } from '@x402/core/client';
import { decodePaymentRequiredHeader } from '@x402/core/http';
import type { SchemeNetworkClient } from '@x402/core/types';
import { toClientEvmSigner } from '@x402/evm';
import { wrapFetchWithPayment } from '@x402/fetch';
import { expect, vi } from 'vitest';
import { createPublicClient, http as viemHttp, type Hex, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { testUsdAbi } from '../contracts/artifacts/TestUSD.ts';
import { ANVIL_SETTLER_ADDRESS } from '../shared/chain/anvil.ts';
import type { Db } from '../shared/db/index.ts';
import { openPg } from '../shared/db/pg.ts';
import { http, startApiProcess, type ApiProcess } from './api-process.ts';
import { DOCS } from './fixtures.ts';
import { WALLETS } from './http.ts';
import { testDatabaseUrl } from './services.ts';

// What every x402 test against a real `npm start` needs: the process on a fresh PostgreSQL database
// (so the ledger can be read while it runs), its local chain and facilitator, the stablecoin (read
// from a 402: the log redacts a field named token), the funded demo agent wallet it prints, and
// @x402/fetch paying with whichever scheme client the test names.

export interface LocalChain {
  rpcUrl: string;
  token: `0x${string}`;
  chainId: number;
}

export interface X402Api {
  api: ApiProcess;
  db: Db;
  dbUrl: string;
  chain: LocalChain;
  reader: PublicClient;
  facilitatorUrl: string;
  /** the funded demo agent wallet's PUBLIC dev key, printed by npm start */
  agentKey: Hex;
  /** the treasury's stablecoin balance on chain */
  treasury(): Promise<bigint>;
  /** Σ of a ledger account's entries */
  ledgerSum(accountId: string): Promise<bigint>;
  stop(): Promise<void>;
}

export async function startX402Api(env: Record<string, string>): Promise<X402Api> {
  const dbUrl = await testDatabaseUrl();
  const db = openPg(dbUrl, { max: 2 });
  const api = await startApiProcess({ DATABASE_URL: dbUrl, LOG_LEVEL: 'info', ...env });
  const logged = (text: string) => JSON.parse(api.lines.find((l) => l.includes(text))!) as Record<string, unknown>;
  const ready = logged('"local chain ready"') as { rpcUrl: string; chainId: number };
  const unpaid = await fetch(`${api.url}/v1/retrieve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"query":"x"}',
  });
  const token = decodePaymentRequiredHeader(unpaid.headers.get('payment-required')!).accepts[0]!.asset as Hex;
  const chain = { rpcUrl: ready.rpcUrl, token, chainId: ready.chainId };
  const reader = createPublicClient({ transport: viemHttp(chain.rpcUrl), pollingInterval: 100 });
  const banner = await vi.waitFor(
    () => {
      const line = api.lines.find((l) => l.includes('x402 demo agent wallet'));
      expect(line).toBeDefined();
      return line!;
    },
    { timeout: 60_000, interval: 50 },
  );
  return {
    api,
    db,
    dbUrl,
    chain,
    reader,
    facilitatorUrl: logged('local facilitator ready').url as string,
    agentKey: banner.match(/PUBLIC dev key (0x[0-9a-f]{64})/)![1] as Hex,
    treasury: () =>
      reader.readContract({
        address: token,
        abi: testUsdAbi,
        functionName: 'balanceOf',
        args: [ANVIL_SETTLER_ADDRESS],
      }),
    ledgerSum: async (accountId) =>
      BigInt(
        (
          await db.query<{ s: string }>(
            `SELECT coalesce(sum(amount), 0)::text AS s FROM ledger_entries WHERE account_id = $1`,
            [accountId],
          )
        ).rows[0]!.s,
      ),
    async stop() {
      await api.stop();
      await db.close();
    },
  };
}

/** A viem wallet signer for a scheme client (`new ExactEvmScheme(signerOf(key, reader))`). */
export const signerOf = (privateKey: Hex, reader: PublicClient) =>
  toClientEvmSigner(privateKeyToAccount(privateKey), reader as never);

/** @x402/fetch paying with one scheme client on the local chain; `sent` records each PAYMENT-SIGNATURE it sends. */
export function payingFetch(chain: LocalChain, scheme: SchemeNetworkClient, sent: string[] = []): typeof fetch {
  const network = `eip155:${chain.chainId}` as const;
  const client = x402Client.fromConfig({
    schemes: [{ network, client: scheme }],
    spendControls: { allowedAssets: [{ network, asset: chain.token }] },
  });
  const recording: typeof fetch = async (input, init) => {
    const req = new Request(input as string | URL | Request, init);
    const sig = req.headers.get('payment-signature');
    if (sig) sent.push(sig);
    return fetch(req);
  };
  return wrapFetchWithPayment(recording, client);
}

/** A contributor "Ada" with a datanet of the bike documents (and `extra` ones) priced per source. */
export async function bikesDatanet(
  apiUrl: string,
  adminKey: string,
  pricePerSource: bigint,
  extra: { title: string; content: string }[] = [],
): Promise<{ datanetId: string; ownerKey: string }> {
  const ada = await http(apiUrl, 'POST', '/v1/admin/accounts', {
    key: adminKey,
    json: { kind: 'contributor', name: 'Ada', wallet: WALLETS.ada },
  });
  const ownerKey = ada.body.apiKey.key as string;
  const dn = await http(apiUrl, 'POST', '/v1/datanets', {
    key: ownerKey,
    json: { name: 'Bikes', pricePerSource: pricePerSource.toString() },
  });
  for (const doc of [DOCS.bikes, ...extra])
    await http(apiUrl, 'POST', `/v1/datanets/${dn.body.id}/documents`, { key: ownerKey, json: doc });
  return { datanetId: dn.body.id as string, ownerKey };
}
