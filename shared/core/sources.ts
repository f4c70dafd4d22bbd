import type { PricedUse } from './rate-cards.ts';

// The shape of a retrieved source, shared by retrieval (services) and stored answers (store).
export interface RetrievedSource {
  chunkId: string;
  documentId: string;
  datanetId: string;
  title: string;
  metadata: Record<string, unknown>;
  contributorAccountId: string;
  contributorWallet: string;
  pricePerSource: bigint;
  text: string;
  start: number;
  end: number;
  headingPath: string[];
  /** 1-based page the span starts on (PDF documents); null for formats without pages */
  page: number | null;
  /** Fused score normalised to [0, 1] (1 = ranked first by every retriever). */
  score: number;
  similarity: number | null;
  ranks: { dense?: number; lexical?: number };
  /** 0-based index of the earlier upload this source copies (it earns nothing; see core/near-duplicates.ts) */
  duplicateOf: number | null;
  /** the rate-card version and the price of one use this source was charged under (set when priced) */
  rateCard?: PricedUse;
}

/** A source as shown to the model, frozen on the answer (JSON, so the price is a string). */
export type ShownSource = Omit<RetrievedSource, 'pricePerSource'> & { number: number; pricePerSource: string };
