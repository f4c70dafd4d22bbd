// npm run bench:agents [-- --docs N --requests N --paid N]
// Agents as customers, against a real `npm start` (PGlite, local anvil, its local x402
// facilitator, the funded demo agent wallet), in one run:
//   1. the MCP `search` tool (official SDK client, Streamable HTTP) vs the same POST /v1/retrieve;
//   2. an x402-paid retrieve (@x402/fetch + a viem wallet: 402, sign, retry, verify, call, settle
//      on chain) vs the key-paid retrieve, with the gas of each payment's settlement, for each
//      scheme offered: `exact` (EIP-3009), `upto` (Permit2 through x402's upto proxy) and
//      `batch-settlement` (one deposit, a voucher per call, the periodic claim taking them all:
//      its gas per call is the deposit's, the claims' and the sweeps' gas over the calls paid).
// Sequential calls (concurrency 1), so the figures are each path's own latency.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { x402Client } from '@x402/core/client';
import { decodePaymentRequiredHeader, decodePaymentResponseHeader } from '@x402/core/http';
import { toClientEvmSigner } from '@x402/evm';
import { BATCH_SETTLEMENT_ADDRESS } from '@x402/evm';
import { BatchSettlementEvmScheme } from '@x402/evm/batch-settlement/client';
import { ExactEvmScheme } from '@x402/evm/exact/client';
import { UptoEvmScheme } from '@x402/evm/upto/client';
import { wrapFetchWithPayment } from '@x402/fetch';
import { parseArgs } from 'node:util';
import { createPublicClient, http, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { x402BatchSettlementAbi } from '../contracts/artifacts/x402BatchSettlement.ts';
import { startApiProcess } from '../test/api-process.ts';
import { loadSotu, SOTU_TEST_YEARS } from './corpora/sotu.ts';
import { BENCH_RATE_LIMITS, benchAccounts, jsonPoster } from './lib/http.ts';
import { printTable, saveResults, summarize } from './lib/stats.ts';

const { values: args } = parseArgs({
  options: {
    docs: { type: 'string', default: '8' },
    requests: { type: 'string', default: '100' },
    paid: { type: 'string', default: '40' },
  },
});
const ADMIN = 'cp_live_benchagentsadminkey0000000000001';
// batch-settlement's claim pass every 5 s: a periodic claim, as `npm start` runs it (default 300 s)
const api = await startApiProcess(
  { CITEPAY_ADMIN_KEY: ADMIN, LOG_LEVEL: 'info', X402_CLAIM_SECONDS: '5', ...BENCH_RATE_LIMITS },
  600_000,
);
try {
  const post = jsonPoster(api.url);
  const { contributorKey, datanetId, consumerKey } = await benchAccounts(post, ADMIN);
  for (const doc of loadSotu(SOTU_TEST_YEARS).slice(-Number(args.docs)))
    await post(`/v1/datanets/${datanetId}/documents`, contributorKey, {
      title: doc.title,
      content: doc.text,
      metadata: doc.metadata,
    });
  const request = { query: 'what did the president say about the economy and jobs?', topK: 5 };
  const time = async (n: number, call: () => Promise<void>) => {
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await call();
      ms.push(performance.now() - t);
    }
    return summarize(ms);
  };
  const n = Number(args.requests);
  const expectOk = (r: Response) => {
    if (!r.ok) throw new Error(`retrieve: ${r.status}`);
  };

  // 1. MCP tool vs REST, same request, same key; warm both paths first
  const rest = () =>
    fetch(`${api.url}/v1/retrieve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${consumerKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(request),
    }).then(async (r) => (expectOk(r), void (await r.json())));
  const mcp = new Client({ name: 'bench', version: '1.0.0' });
  await mcp.connect(
    new StreamableHTTPClientTransport(new URL(`${api.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${consumerKey}` } },
    }),
  );
  const tool = async () => {
    const r = await mcp.callTool({ name: 'search', arguments: request });
    if (r.isError) throw new Error(`search: ${JSON.stringify(r.content)}`);
  };
  for (let i = 0; i < 5; i++) await rest(), await tool();
  const restStats = await time(n, rest);
  const mcpStats = await time(n, tool);
  await mcp.close();

  // 2. x402-paid retrieve vs key-paid, with the gas of each settlement
  const ready = JSON.parse(api.lines.find((l) => l.includes('"local chain ready"'))!) as {
    rpcUrl: string;
    chainId: number;
  };
  const agentKey = api.lines
    .find((l) => l.includes('x402 demo agent wallet'))!
    .match(/PUBLIC dev key (0x[0-9a-f]{64})/)![1] as Hex;
  const reader = createPublicClient({ transport: http(ready.rpcUrl) });
  const unpaid = await fetch(`${api.url}/v1/retrieve`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
  });
  const { accepts } = decodePaymentRequiredHeader(unpaid.headers.get('payment-required')!);
  const network = `eip155:${ready.chainId}` as const;
  const signer = toClientEvmSigner(privateKeyToAccount(agentKey), reader as never);
  const asset = accepts[0]!.asset;
  /** a paying fetch with one scheme's client; each settlement's transaction is kept for its gas */
  const payingWith = (client: ExactEvmScheme | UptoEvmScheme | BatchSettlementEvmScheme) => {
    const payFetch = wrapFetchWithPayment(
      fetch,
      x402Client.fromConfig({
        schemes: [{ network, client }],
        spendControls: { allowedAssets: [{ network, asset }] },
      }),
    );
    const txs: Hex[] = [];
    const channels = new Set<Hex>();
    const call = async () => {
      const r = await payFetch(`${api.url}/v1/retrieve`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(request),
      });
      expectOk(r);
      await r.json();
      const settled = decodePaymentResponseHeader(r.headers.get('payment-response')!);
      // batch-settlement: a voucher is no transaction (''); only a deposit is
      if (settled.transaction) txs.push(settled.transaction as Hex);
      const channelId = (settled.extra as { channelState?: { channelId?: Hex } } | undefined)?.channelState?.channelId;
      if (channelId) channels.add(channelId);
    };
    return { call, txs, channels };
  };
  const exact = payingWith(new ExactEvmScheme(signer));
  const upto = payingWith(new UptoEvmScheme(signer));
  const m = Number(args.paid);
  // one deposit covers every batch-settlement call of the run (the warm-up's and the m timed ones)
  const batch = payingWith(new BatchSettlementEvmScheme(signer, { depositPolicy: { depositMultiplier: m + 1 } }));
  await exact.call();
  await upto.call();
  const keyStats = await time(m, rest);
  const paidStats = await time(m, exact.call);
  const uptoStats = await time(m, upto.call);
  const batchFromBlock = await reader.getBlockNumber();
  await batch.call();
  const batchStats = await time(m, batch.call);
  const gasOf = async (txs: Hex[]) =>
    (await Promise.all(txs.map((hash) => reader.getTransactionReceipt({ hash })))).map((r) => Number(r.gasUsed));
  const gas = await gasOf(exact.txs);
  const uptoGas = await gasOf(upto.txs);
  // batch-settlement: wait for the periodic claim to have taken every voucher (the channel's claimed
  // total on chain reaches what was charged) and swept it to the treasury, then add up the gas of the
  // deposit and of every transaction that claimed from the channel or swept to the treasury since
  const batchCalls = m + 1;
  const charged = BigInt(accepts.find((a) => a.scheme === 'batch-settlement')!.amount) * BigInt(batchCalls);
  const [channelId] = [...batch.channels];
  const payTo = accepts[0]!.payTo as Hex;
  const onChain = { address: BATCH_SETTLEMENT_ADDRESS, abi: x402BatchSettlementAbi } as const;
  for (;;) {
    const [, claimed] = await reader.readContract({ ...onChain, functionName: 'channels', args: [channelId!] });
    const [receiverClaimed, receiverSettled] = await reader.readContract({
      ...onChain,
      functionName: 'receivers',
      args: [payTo, asset as Hex],
    });
    if (claimed >= charged && receiverSettled === receiverClaimed) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const events = [
    ...(await reader.getContractEvents({
      ...onChain,
      eventName: 'Claimed',
      args: { channelId },
      fromBlock: batchFromBlock,
    })),
    ...(await reader.getContractEvents({
      ...onChain,
      eventName: 'Settled',
      args: { receiver: payTo },
      fromBlock: batchFromBlock,
    })),
  ];
  const claimTxs = [...new Set(events.map((e) => e.transactionHash))];
  const depositGas = await gasOf(batch.txs);
  const claimGas = await gasOf(claimTxs);
  const batchGasTotal = [...depositGas, ...claimGas].reduce((a, b) => a + b, 0);

  const rows = [
    {
      path: 'REST POST /v1/retrieve (API key)',
      n: restStats.n,
      p50: restStats.p50,
      p99: restStats.p99,
      'vs REST p50': 1,
    },
    {
      path: 'MCP tools/call search (API key)',
      n: mcpStats.n,
      p50: mcpStats.p50,
      p99: mcpStats.p99,
      'vs REST p50': mcpStats.p50 / restStats.p50,
    },
    {
      path: 'REST retrieve, key-paid (baseline for x402)',
      n: keyStats.n,
      p50: keyStats.p50,
      p99: keyStats.p99,
      'vs REST p50': keyStats.p50 / restStats.p50,
    },
    {
      path: 'REST retrieve, x402-paid (exact, settled per call)',
      n: paidStats.n,
      p50: paidStats.p50,
      p99: paidStats.p99,
      'vs REST p50': paidStats.p50 / keyStats.p50,
    },
    {
      path: 'REST retrieve, x402-paid (upto, settled per call)',
      n: uptoStats.n,
      p50: uptoStats.p50,
      p99: uptoStats.p99,
      'vs REST p50': uptoStats.p50 / keyStats.p50,
    },
    {
      path: 'REST retrieve, x402-paid (batch-settlement voucher)',
      n: batchStats.n,
      p50: batchStats.p50,
      p99: batchStats.p99,
      'vs REST p50': batchStats.p50 / keyStats.p50,
    },
  ];
  printTable(
    `agents: ${args.docs} SOTU addresses, sequential calls; latency in ms (x402 ratio is against the key-paid baseline)`,
    rows,
  );
  const gasStats = summarize(gas);
  const uptoGasStats = summarize(uptoGas);
  const batchGasPerCall = batchGasTotal / batchCalls;
  printTable(
    'gas per x402-paid call (exact, upto: one settlement per call; batch-settlement: deposit + claims + sweeps over the calls)',
    [
      {
        scheme: 'exact (EIP-3009)',
        calls: gas.length,
        transactions: gas.length,
        'gas per call': gasStats.mean,
        'vs exact': 1,
      },
      {
        scheme: 'upto (Permit2 + upto proxy)',
        calls: uptoGas.length,
        transactions: uptoGas.length,
        'gas per call': uptoGasStats.mean,
        'vs exact': uptoGasStats.mean / gasStats.mean,
      },
      {
        scheme: 'batch-settlement (1 deposit, vouchers, periodic claim)',
        calls: batchCalls,
        transactions: depositGas.length + claimGas.length,
        'gas per call': batchGasPerCall,
        'vs exact': batchGasPerCall / gasStats.mean,
      },
    ],
  );
  const file = saveResults('agents', {
    at: new Date().toISOString(),
    args,
    request,
    price: accepts[0]!.amount,
    rest: restStats,
    mcp: mcpStats,
    keyPaid: keyStats,
    x402Paid: paidStats,
    x402UptoPaid: uptoStats,
    x402BatchPaid: batchStats,
    gasPerPayment: { exact: gasStats, samples: gas, upto: uptoGasStats, uptoSamples: uptoGas },
    batchSettlement: {
      calls: batchCalls,
      depositGas,
      claimAndSweepGas: claimGas,
      gasPerCall: batchGasPerCall,
      gasPerCallVsExact: batchGasPerCall / gasStats.mean,
    },
  });
  console.log(`\nsaved ${file}`);
} finally {
  await api.stop();
}
