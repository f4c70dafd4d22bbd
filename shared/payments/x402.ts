import { HTTPFacilitatorClient, x402ResourceServer } from '@x402/core/server';
import type { PaymentPayload, PaymentRequired, PaymentRequirements, SettleResponse } from '@x402/core/types';
import { BatchSettlementEvmScheme, type ChannelStorage } from '@x402/evm/batch-settlement/server';
import { ExactEvmScheme } from '@x402/evm/exact/server';
import { UptoEvmScheme } from '@x402/evm/upto/server';
import { Unavailable } from '../errors.ts';

// The payments-in port: x402 v2 through a facilitator reached by URL (the local one `npm start`
// runs, or a hosted one). @x402/core's resource server builds the requirements and talks to the
// facilitator; @x402/evm's schemes: `upto` (Permit2: the payer signs the most the call can cost
// and is charged what it did cost), offered first where the facilitator supports it, and `exact`
// (EIP-3009: the whole quote moves), which every stablecoin payer can use.

// `batch-settlement` (where the gateway is given a channel storage and the facilitator supports
// it): one deposit into x402's channel contract, then a signed cumulative voucher per call and one
// on-chain claim for many calls (services/x402-channels.ts).

/** The x402 schemes citepay takes, in the order a 402 offers them. */
export type X402Scheme = 'upto' | 'batch-settlement' | 'exact';

export interface X402Parameters {
  facilitatorUrl: string;
  chainId: number;
  /** the stablecoin (6 decimals: 1 unit = 1 micro-USD) and its EIP-712 domain */
  asset: `0x${string}`;
  assetName: string;
  assetVersion: string;
  /** the treasury: every payment goes here */
  payTo: `0x${string}`;
  /** how long a signed payment stays valid */
  maxTimeoutSeconds?: number;
  /** where `batch-settlement` channels are kept (a database: shared by every process); none: not offered */
  channelStorage?: ChannelStorage;
}

export type VerifyOutcome = { ok: true; payer: `0x${string}` } | { ok: false; reason: string };

export interface X402Gateway {
  readonly network: `eip155:${number}`;
  readonly payTo: `0x${string}`;
  readonly asset: `0x${string}`;
  /** What a call of at most `amount` micro-USD costs to pay for: one entry per scheme offered. */
  requirements(amount: bigint): Promise<PaymentRequirements[]>;
  /** `payload`: the refused payment, so `batch-settlement` can tell a client out of step the channel's state */
  paymentRequired(
    requirements: PaymentRequirements[],
    resourceUrl: string,
    error?: string,
    payload?: PaymentPayload,
  ): Promise<PaymentRequired>;
  match(requirements: PaymentRequirements[], payload: PaymentPayload): PaymentRequirements | undefined;
  verify(payload: PaymentPayload, requirements: PaymentRequirements): Promise<VerifyOutcome>;
  /** `amount`: what to take, for `upto` (at most what was authorised); `exact` takes the whole. */
  settle(payload: PaymentPayload, requirements: PaymentRequirements, amount?: bigint): Promise<SettleResponse>;
  /** A verified payment whose call failed: `batch-settlement` frees the channel's reservation (others: nothing). */
  cancel(payload: PaymentPayload, requirements: PaymentRequirements): Promise<void>;
  /** The `batch-settlement` server scheme (its channel manager claims vouchers), where offered. */
  readonly batchSettlement: BatchSettlementEvmScheme | null;
}

const unreachable = (what: string, _err: unknown) =>
  new Unavailable(
    `the x402 facilitator is unreachable (${what}); nothing was charged, retry shortly`,
    'facilitator',
    5,
  );

export function createX402Gateway(p: X402Parameters): X402Gateway {
  const network = `eip155:${p.chainId}` as const;
  const server = new x402ResourceServer(new HTTPFacilitatorClient({ url: p.facilitatorUrl, timeoutMs: 10_000 }))
    .register(network, new UptoEvmScheme())
    .register(network, new ExactEvmScheme());
  const batch = p.channelStorage ? new BatchSettlementEvmScheme(p.payTo, { storage: p.channelStorage }) : null;
  if (batch) server.register(network, batch);
  let ready: Promise<void> | undefined;
  const initialized = () => {
    // a failed start (facilitator down) is retried by the next request, not cached
    ready ??= server.initialize().catch((err) => {
      ready = undefined;
      throw unreachable('supported', err);
    });
    return ready;
  };
  return {
    network,
    payTo: p.payTo,
    asset: p.asset,
    async requirements(amount) {
      await initialized();
      const offer = (scheme: X402Scheme, extra: Record<string, unknown> = {}) =>
        server.buildPaymentRequirements({
          scheme,
          network,
          payTo: p.payTo,
          maxTimeoutSeconds: p.maxTimeoutSeconds ?? 300,
          price: {
            amount: amount.toString(),
            asset: p.asset,
            extra: { name: p.assetName, version: p.assetVersion, ...extra },
          },
        });
      // a facilitator without `upto` (a hosted one, or a chain without Permit2): `exact` alone
      const upto = supportsUpto(server, network) ? await offer('upto') : [];
      // deposits through Permit2 (the local stablecoin's EIP-3009 has no bytes-signature receiveWithAuthorization)
      const batched =
        batch && server.getSupportedKind(2, network, 'batch-settlement')
          ? await offer('batch-settlement', { assetTransferMethod: 'permit2' })
          : [];
      return [...upto, ...batched, ...(await offer('exact'))];
    },
    paymentRequired: (requirements, url, error, payload) =>
      server.createPaymentRequiredResponse(
        requirements,
        { url, mimeType: 'application/json', serviceName: 'citepay' },
        error,
        undefined,
        undefined,
        payload,
      ),
    match: (requirements, payload) => server.findMatchingRequirements(requirements, payload),
    async verify(payload, requirements) {
      await initialized();
      let result: Awaited<ReturnType<typeof server.verifyPayment>>;
      try {
        result = await server.verifyPayment(payload, requirements);
      } catch (err) {
        // VerifyError carries the facilitator's verdict (a 4xx with isValid false); anything else is unreachable
        const verdict = (err as { invalidReason?: string }).invalidReason;
        if (verdict) return { ok: false, reason: verdict.split('\n')[0]!.slice(0, 200) };
        throw unreachable('verify', err);
      }
      // the reason code, and the first line of the facilitator's message (it may quote a whole revert)
      if (!result.isValid)
        return {
          ok: false,
          reason:
            [result.invalidReason, result.invalidMessage?.split('\n')[0]?.slice(0, 200)].filter(Boolean).join(': ') ||
            'invalid payment',
        };
      return { ok: true, payer: result.payer as `0x${string}` };
    },
    batchSettlement: batch,
    async cancel(payload, requirements) {
      if (batch && requirements.scheme === 'batch-settlement') await batch.clearPendingRequest(payload);
    },
    settle: (payload, requirements, amount) =>
      server.settlePayment(
        payload,
        requirements,
        undefined,
        undefined,
        requirements.scheme === 'upto' && amount !== undefined ? { amount: amount.toString() } : undefined,
      ),
  };
}

const supportsUpto = (server: x402ResourceServer, network: `eip155:${number}`) =>
  server.getSupportedKind(2, network, 'upto') !== undefined;
