import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { DomainError, Unavailable } from '../../../shared/errors.ts';
import { payoutOf, parseWallet, receiptFor, relayClaim, type PayoutView } from '../../../shared/services/payouts.ts';
import { runSettlement } from '../../../shared/services/settlement-runner.ts';
import type { EpochRecord } from '../../../shared/store/settlement.ts';
import { countOpenReceipts, listEpochs } from '../../../shared/services/settlement.ts';
import type { Services } from '../../../shared/services/container.ts';
import { anyRole, requireLiveKey, requireRole } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { errorResponses } from '../errors.ts';
import { Micros, iso, security } from '../schemas.ts';

const Hex32 = z.string().regex(/^0x[0-9a-f]{64}$/);

const ChainView = z
  .object({ distributor: z.string(), token: z.string(), settler: z.string() })
  .nullable()
  .openapi({ description: 'the distributor contract to verify against (null: no chain configured)' });

const chainView = (services: Services) =>
  services.chain
    ? { distributor: services.chain.distributor, token: services.chain.token, settler: services.chain.settler }
    : null;

// ---- receipts ---------------------------------------------------------------------------

export const ReceiptResponse = z
  .object({
    object: z.literal('receipt'),
    id: z.string(),
    requestId: z.string(),
    receipt: z.record(z.string(), z.unknown()).openapi({ description: 'the canonical receipt (citepay-receipt-v1)' }),
    canonical: z.string().openapi({ description: 'RFC 8785 JSON of `receipt`: the exact bytes that were hashed' }),
    hash: Hex32.openapi({ description: 'keccak256(canonical): the leaf value in the epoch receipts tree' }),
    livemode: z
      .boolean()
      .openapi({ description: "false: a cp_test_ call's receipt, which never settles (settlement stays null)" }),
    settlement: z
      .object({
        epoch: z.number().int(),
        status: z.enum(['built', 'submitted', 'confirmed']),
        receiptsRoot: z.string().openapi({ description: 'published on chain: distributor.receiptsRootOf(epoch)' }),
        txHash: z.string().nullable(),
        leafIndex: z.number().int().nullable(),
        proof: z.array(Hex32).nullable().openapi({
          description: 'OpenZeppelin StandardMerkleTree proof of leaf ["bytes32"] = [hash]; once confirmed',
        }),
      })
      .nullable()
      .openapi({ description: 'null while the receipt is in the open epoch' }),
    payment: z
      .object({
        scheme: z.literal('x402'),
        payer: z.string(),
        amount: Micros.openapi({ description: 'what the payer authorised (the call charged its usage from it)' }),
        status: z.enum(['pending', 'settled', 'unsettled']).openapi({
          description: 'unsettled: the call was served, the on-chain transfer is retried until it lands',
        }),
        txHash: z.string().nullable().openapi({ description: 'the transaction that moved the stablecoin' }),
      })
      .nullable()
      .openapi({ description: 'an x402-paid call: the payment that bought it; null for a call paid with credits' }),
    chain: ChainView,
  })
  .openapi('Receipt');

const receiptRoute = createRoute({
  method: 'get',
  path: '/v1/receipts/{id}',
  tags: ['attribution'],
  summary: 'The attribution receipt of a call (by receipt or request id), its hash, and its Merkle proof once settled',
  security,
  middleware: [anyRole()] as const,
  request: {
    params: z.object({
      id: z
        .string()
        .regex(/^(rcpt|req)_[A-Za-z0-9]{1,64}$/, 'must be a rcpt_… or req_… id')
        .openapi({ param: { name: 'id', in: 'path' }, example: 'rcpt_8f3kq0x2Lm' }),
    }),
  },
  responses: {
    200: { description: 'OK', content: { 'application/json': { schema: ReceiptResponse } } },
    ...errorResponses,
  },
});

// ---- payouts ----------------------------------------------------------------------------

const WalletParam = z.object({
  wallet: z
    .string()
    .max(100)
    .openapi({ param: { name: 'wallet', in: 'path' }, example: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' }),
});

const PayoutResponse = z
  .object({
    object: z.literal('payout'),
    wallet: z.string(),
    epoch: z.number().int().nullable().openapi({ description: 'latest settled epoch (its root is the one on chain)' }),
    cumulative: Micros.openapi({ description: 'everything settled to this wallet so far' }),
    claimed: Micros.nullable().openapi({ description: 'already claimed on chain (null: chain unreachable)' }),
    claimable: Micros.nullable(),
    unsettled: Micros.openapi({ description: 'earned but not yet in a settled epoch' }),
    proof: z.array(Hex32).openapi({ description: 'claim(wallet, cumulative, proof) on the distributor' }),
    payoutRoot: z.string().nullable(),
    chain: ChainView,
  })
  .openapi('Payout');

const payoutView = (services: Services, v: PayoutView) => ({
  object: 'payout' as const,
  wallet: v.wallet,
  epoch: v.epoch,
  cumulative: v.cumulative.toString(),
  claimed: v.claimed?.toString() ?? null,
  claimable: v.claimable?.toString() ?? null,
  unsettled: v.unsettled.toString(),
  proof: v.proof,
  payoutRoot: v.payoutRoot,
  chain: chainView(services),
});

const payoutRoute = createRoute({
  method: 'get',
  path: '/v1/payouts/{wallet}',
  tags: ['settlement'],
  summary:
    "A wallet's settled cumulative amount, what it already claimed, and the Merkle proof to claim the rest (public)",
  request: { params: WalletParam },
  responses: {
    200: { description: 'OK', content: { 'application/json': { schema: PayoutResponse } } },
    ...errorResponses,
  },
});

const claimRoute = createRoute({
  method: 'post',
  path: '/v1/payouts/{wallet}/claim',
  tags: ['settlement'],
  summary:
    'Relay the wallet’s claim on chain (citepay pays the gas; the tokens go to the wallet). Nothing due pays nothing. Live keys only.',
  security,
  middleware: [anyRole(), requireLiveKey()] as const,
  request: { params: WalletParam },
  responses: {
    200: {
      description: 'Claimed (or nothing was due: paid "0", txHash null)',
      content: {
        'application/json': {
          schema: z
            .object({ paid: Micros, txHash: z.string().nullable(), payout: PayoutResponse })
            .openapi('ClaimResult'),
        },
      },
    },
    ...errorResponses,
  },
});

// ---- admin ------------------------------------------------------------------------------

const EpochView = z
  .object({
    epoch: z.number().int(),
    status: z.enum(['built', 'submitted', 'confirmed']),
    payoutRoot: z.string(),
    receiptsRoot: z.string(),
    totalCumulative: Micros,
    amount: Micros,
    payees: z.number().int(),
    receipts: z.number().int(),
    txHash: z.string().nullable(),
    attempts: z.number().int(),
    lastError: z.string().nullable(),
    nextAttemptAt: z.string().nullable(),
    builtAt: z.string(),
    submittedAt: z.string().nullable(),
    confirmedAt: z.string().nullable(),
  })
  .openapi('SettlementEpoch');

const epochView = (e: EpochRecord) => ({
  epoch: e.epoch,
  status: e.status,
  payoutRoot: e.payoutRoot,
  receiptsRoot: e.receiptsRoot,
  totalCumulative: e.totalCumulative.toString(),
  amount: e.amount.toString(),
  payees: e.payeeCount,
  receipts: e.receiptCount,
  txHash: e.txHash,
  attempts: e.attempts,
  lastError: e.lastError,
  nextAttemptAt: iso(e.nextAttemptAt),
  builtAt: e.builtAt.toISOString(),
  submittedAt: iso(e.submittedAt),
  confirmedAt: iso(e.confirmedAt),
});

const SettlementsResponse = z
  .object({
    openReceipts: z.number().int().openapi({ description: 'receipts in the open epoch' }),
    epochs: z.array(EpochView),
    chain: ChainView,
  })
  .openapi('Settlements');

const listSettlementsRoute = createRoute({
  method: 'get',
  path: '/v1/admin/settlements',
  tags: ['settlement'],
  summary: 'Settlement epochs, newest first, and the open epoch’s receipt count (admin)',
  security,
  middleware: [requireRole('admin')] as const,
  responses: {
    200: { description: 'OK', content: { 'application/json': { schema: SettlementsResponse } } },
    ...errorResponses,
  },
});

const runSettlementRoute = createRoute({
  method: 'post',
  path: '/v1/admin/settlements',
  tags: ['settlement'],
  summary:
    'Settle now: finish the epoch in flight or close the open one, publish it and wait for confirmation (admin, live key)',
  security,
  middleware: [requireRole('admin'), requireLiveKey()] as const,
  responses: {
    200: {
      description: 'What this run did',
      content: {
        'application/json': {
          schema: z
            .object({
              status: z.enum(['idle', 'busy', 'waiting', 'confirmed']),
              message: z.string(),
              epoch: EpochView.nullable(),
            })
            .openapi('SettlementRun'),
        },
      },
    },
    ...errorResponses,
  },
});

async function settlementsBody(services: Services) {
  return {
    openReceipts: await countOpenReceipts(services.db),
    epochs: (await listEpochs(services.db, 50)).map(epochView),
    chain: chainView(services),
  };
}

export const settlementRoutes = new OpenAPIHono<AppEnv>()
  .openapi(receiptRoute, async (c) => {
    const services = c.get('services');
    const { stored, settlement, payment } = await receiptFor(services, c.get('principal'), c.req.valid('param').id);
    return c.json(
      {
        object: 'receipt' as const,
        id: stored.id,
        requestId: stored.requestId,
        receipt: stored.receipt as unknown as Record<string, unknown>,
        canonical: stored.canonical,
        hash: stored.hash,
        livemode: stored.livemode,
        settlement,
        payment: payment && {
          scheme: 'x402' as const,
          payer: payment.payer,
          amount: payment.amount.toString(),
          status: payment.status as 'pending' | 'settled' | 'unsettled',
          txHash: payment.txHash,
        },
        chain: chainView(services),
      },
      200,
    );
  })
  .openapi(payoutRoute, async (c) => {
    const services = c.get('services');
    return c.json(payoutView(services, await payoutOf(services, parseWallet(c.req.valid('param').wallet))), 200);
  })
  .openapi(claimRoute, async (c) => {
    const services = c.get('services');
    const outcome = await relayClaim(services, parseWallet(c.req.valid('param').wallet)).catch((err: Error) => {
      if (err instanceof DomainError) throw err;
      throw new Unavailable(`the claim could not be relayed: ${err.message.split('\n')[0]}`, 'chain', 5);
    });
    return c.json(
      { paid: outcome.paid.toString(), txHash: outcome.txHash, payout: payoutView(services, outcome.view) },
      200,
    );
  })
  .openapi(listSettlementsRoute, async (c) => c.json(await settlementsBody(c.get('services')), 200))
  .openapi(runSettlementRoute, async (c) => {
    const services = c.get('services');
    const outcome = await runSettlement(services, { force: true }).catch((err: Error) => {
      if (err instanceof DomainError) throw err;
      throw new Unavailable(
        `settlement did not finish: ${err.message.split('\n')[0]}. Nothing was paid twice; it is retried with backoff.`,
        'chain',
        5,
      );
    });
    const epochs = await listEpochs(services.db, 1);
    const latest = outcome.status === 'idle' || outcome.status === 'busy' ? null : (epochs[0] ?? null);
    const message =
      outcome.status === 'idle' || outcome.status === 'busy'
        ? outcome.reason
        : outcome.status === 'waiting'
          ? `epoch ${outcome.epoch} is waiting to retry at ${outcome.nextAttemptAt.toISOString()}`
          : `epoch ${outcome.epoch} confirmed: ${outcome.amount} micro-USD to ${outcome.payees} wallet(s), ${outcome.receipts} receipt(s)`;
    return c.json({ status: outcome.status, message, epoch: latest ? epochView(latest) : null }, 200);
  });
