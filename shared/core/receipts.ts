import canonicalizeCjs from 'canonicalize';
import type { Attribution, SourceSignals } from './attribution.ts';
import type { PricedUse } from './rate-cards.ts';
import { keccak256Utf8, type Hex } from './hex.ts';

// A CommonJS module typed as an ES default export: under Node's ESM interop the import is the function.
const canonicalize = canonicalizeCjs as unknown as (input: unknown) => string | undefined;

// An attribution receipt: what one billed call paid to whom and why. Its hash is keccak256
// over the RFC 8785 canonical JSON, so anyone holding the receipt can recompute it, and
// each settled epoch publishes the Merkle root of its receipts' hashes on chain.
export const RECEIPT_VERSION = 'citepay-receipt-v1';

export interface ReceiptSource {
  sourceId: string;
  documentId: string;
  datanetId: string;
  wallet: string;
  weightPpm: number;
  amount: string;
  signals: SourceSignals;
  /** the datanet's rate-card version and the price of one use under it (receipts since issue 21) */
  rateCard?: PricedUse;
}

export interface Receipt {
  version: typeof RECEIPT_VERSION;
  id: string;
  requestId: string;
  kind: 'retrieve' | 'answer';
  createdAt: string;
  formulaVersion: string;
  /** micro-USD, as decimal strings */
  charged: string;
  dataFee: string;
  protocolFee: string;
  sources: ReceiptSource[];
  adapter: { id: string; wallet: string; amount: string } | null;
}

export interface ReceiptInput {
  id: string;
  requestId: string;
  kind: Receipt['kind'];
  createdAt: Date;
  attribution: Attribution;
  weightsPpm: readonly bigint[];
  credits: readonly bigint[];
  charged: bigint;
  dataFee: bigint;
  protocolFee: bigint;
  sources: readonly {
    chunkId: string;
    documentId: string;
    datanetId: string;
    contributorWallet: string;
    rateCard?: PricedUse | undefined;
  }[];
  adapter?: { id: string; wallet: string; amount: bigint } | null;
}

export function buildReceipt(input: ReceiptInput): Receipt {
  return {
    version: RECEIPT_VERSION,
    id: input.id,
    requestId: input.requestId,
    kind: input.kind,
    createdAt: input.createdAt.toISOString(),
    formulaVersion: input.attribution.formulaVersion,
    charged: input.charged.toString(),
    dataFee: input.dataFee.toString(),
    protocolFee: input.protocolFee.toString(),
    sources: input.sources.map((s, i) => ({
      sourceId: s.chunkId,
      documentId: s.documentId,
      datanetId: s.datanetId,
      wallet: s.contributorWallet,
      weightPpm: Number(input.weightsPpm[i]!),
      amount: input.credits[i]!.toString(),
      signals: input.attribution.signals[i]!,
      ...(s.rateCard ? { rateCard: s.rateCard } : {}),
    })),
    adapter: input.adapter
      ? { id: input.adapter.id, wallet: input.adapter.wallet, amount: input.adapter.amount.toString() }
      : null,
  };
}

export function canonicalReceipt(receipt: Receipt): string {
  return canonicalize(receipt)!;
}

export function hashCanonical(canonical: string): Hex {
  return keccak256Utf8(canonical);
}

export type AttributionSummary = ReturnType<typeof attributionSummary>;

/** The `attribution` block of an API response: the receipt's split, weights as fractions. */
export function attributionSummary(receipt: Receipt) {
  return {
    formulaVersion: receipt.formulaVersion,
    receiptId: receipt.id,
    sources: receipt.sources.map((s) => ({
      sourceId: s.sourceId,
      documentId: s.documentId,
      wallet: s.wallet,
      weight: s.weightPpm / 1e6,
      weightPpm: s.weightPpm,
      amount: s.amount,
      signals: {
        ...s.signals,
        duplicateOf: s.signals.duplicateOf === null ? null : (receipt.sources[s.signals.duplicateOf]?.sourceId ?? null),
      },
      ...(s.rateCard ? { rateCard: s.rateCard } : {}),
    })),
    adapter: receipt.adapter,
  };
}
