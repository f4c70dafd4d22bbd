import { answerCharge } from '../core/answer-charge.ts';
import { SUPPORT_THRESHOLD, bestSupportingSpan, parseAnswer, supports, wordCoverage } from '../core/citations.ts';
import { attributionSummary, buildReceipt, canonicalReceipt, hashCanonical } from '../core/receipts.ts';
import { GenerationResultSchema, type GenerationEvent, type GenerationResult } from '../generation/messages.ts';
import { newId } from '../ids.ts';
import { findAdapter } from '../store/adapters.ts';
import { PROTOCOL_ACCOUNT_ID, walletsOf } from '../store/accounts.ts';
import { appendDelta, pruneDeltas, reconcileDeltas } from '../store/answer-deltas.ts';
import { announce } from './answer-hub.ts';
import type { CitedSource } from '../store/answer-results.ts';
import {
  closeAnswer,
  expireIfOverdue,
  findAnswer,
  markRunning,
  type AnswerResult,
  type ShownSource,
} from '../store/answers.ts';
import { chargeCall } from '../store/ledger.ts';
import type { Services } from './container.ts';

/**
 * Applies one event from the results queue. Safe to apply twice: a delta is stored once per seq,
 * a closed answer stays closed. Deltas go to the database (answer_deltas), not only to this
 * process: the stream following the answer may be served by another process.
 */
export async function applyGenerationEvent(services: Services, event: GenerationEvent): Promise<void> {
  const { db } = services;
  switch (event.type) {
    case 'started':
      await markRunning(db, event.jobId);
      return;
    case 'delta':
      if (await appendDelta(db, event.jobId, event.seq, event.text)) await announce(services, event.jobId, 'delta');
      return;
    case 'failed': {
      const closed = await closeAnswer(db, event.jobId, 'failed', {
        error: { code: event.code, message: event.message },
      });
      if (closed) await announce(services, event.jobId, 'closed');
      await pruneDeltas(db);
      return;
    }
    case 'completed': {
      const raw = await services.objectStore.get(event.resultKey);
      if (!raw) throw new Error(`result ${event.resultKey} is missing`);
      const result = GenerationResultSchema.parse(JSON.parse(new TextDecoder().decode(raw)));
      if (await finalizeAnswer(services, result)) await announce(services, event.jobId, 'closed');
      // Each close also clears the deltas of answers closed a while ago: the table stays the size of the answers in flight.
      await pruneDeltas(db);
      return;
    }
  }
}

interface Cited {
  number: number;
  supported: boolean;
  similarity: number;
  quote: { start: number; end: number; text: string } | null;
}

/** Support check: the answer sentence against the source passage's sentence most like it, and the passage's words. */
async function checkSupport(
  services: Services,
  sentences: string[],
  cited: { sentence: number; source: ShownSource }[],
): Promise<Cited[]> {
  const quotes = cited.map((c) => bestSupportingSpan(sentences[c.sentence]!, c.source.text));
  const texts = [...sentences, ...cited.map((c, i) => quotes[i]?.text ?? c.source.text)];
  const vectors = texts.length > 0 ? await services.embedder.embed(texts) : [];
  return cited.map((c, i) => {
    const a = vectors[c.sentence]!;
    const b = vectors[sentences.length + i]!;
    let similarity = 0;
    for (let k = 0; k < a.length; k++) similarity += a[k]! * b[k]!;
    const supported = supports(similarity, wordCoverage(sentences[c.sentence]!, c.source.text));
    return { number: c.source.number, supported, similarity, quote: quotes[i] ?? null };
  });
}

/**
 * Parse citations, check support, charge (core/answer-charge: weights, price, ledger lines) and post ONE ledger transaction
 * in the same database transaction that closes the answer. Returns false when the answer
 * was already closed (redelivered result, expired, failed): nothing is charged twice. A result that
 * arrives after the answer's deadline expires it instead (true: it closed) and charges nothing.
 */
/** A `required` no balance is below: the check always passes. */
const NEVER_REFUSE = -(2n ** 62n);

export async function finalizeAnswer(services: Services, result: GenerationResult): Promise<boolean> {
  const { db } = services;
  const pending = await findAnswer(db, result.jobId);
  if (!pending || (pending.status !== 'queued' && pending.status !== 'running')) return false;

  const sources = pending.sources;
  const parsed = parseAnswer(result.text, sources.length);
  const pairs = parsed.citations.flatMap((c, i) =>
    c.sourceNumbers.map((n) => ({ sentence: i, source: sources[n - 1]! })),
  );
  const checks = await checkSupport(
    services,
    parsed.citations.map((c) => c.sentence.text),
    pairs,
  );
  /** prompt tokens the causal pass cost, billed at the input price */
  const attributionTokens = result.causal?.promptTokens ?? 0;
  const spec = services.config.models.get(pending.model)!;
  const adapter = pending.adapterId ? await findAdapter(db, pending.adapterId) : null;
  const adapterWallet = adapter
    ? ((await walletsOf(db, [adapter.ownerAccountId])).get(adapter.ownerAccountId) ?? '')
    : '';
  const { attribution, weightsPpm, charge } = answerCharge({
    sources: sources.map((s) => ({
      score: s.score,
      duplicateOf: s.duplicateOf ?? null, // answers queued before duplicates were marked have none
      contributorAccountId: s.contributorAccountId,
      datanetId: s.datanetId,
      documentId: s.documentId,
      pricePerSource: BigInt(s.pricePerSource),
    })),
    sentenceCount: parsed.citations.length,
    checks: checks.map((c, j) => ({ sentence: pairs[j]!.sentence, number: c.number, supported: c.supported })),
    causal: result.causal,
    tokens: {
      prompt: result.usage.promptTokens,
      completion: result.usage.completionTokens,
      attribution: attributionTokens,
    },
    prices: { inputPerMillion: spec.inputPricePerMillion, outputPerMillion: spec.outputPricePerMillion },
    consumerAccountId: pending.accountId,
    protocolAccountId: PROTOCOL_ACCOUNT_ID,
    feeBps: services.config.protocolFeeBps,
    cap: pending.hold,
    adapter: adapter ? { ownerAccountId: adapter.ownerAccountId, shareBps: adapter.shareBps } : null,
  });

  return db.transaction(async (tx) => {
    const answer = await findAnswer(tx, result.jobId, true);
    if (!answer || (answer.status !== 'queued' && answer.status !== 'running')) return false;
    if (await expireIfOverdue(tx, answer.id)) return true;
    // Under this row lock no delta can be added: the stored deltas now spell the whole text.
    await reconcileDeltas(tx, answer.id, result.text);
    const receipt = buildReceipt({
      id: newId('receipt'),
      requestId: answer.requestId,
      kind: 'answer',
      createdAt: new Date(),
      attribution,
      weightsPpm,
      credits: charge.credits,
      charged: charge.total,
      dataFee: charge.dataFee,
      protocolFee: charge.protocolFee,
      sources,
      adapter: adapter ? { id: adapter.id, wallet: adapterWallet, amount: charge.adapterFee } : null,
    });
    // The ledger transaction and the receipt in one statement (store chargeCall). Completion never
    // refuses: the hold reserved the charge (capped at it) when the answer was accepted.
    const canonical = canonicalReceipt(receipt);
    const charged = await chargeCall(tx, {
      payer: answer,
      required: NEVER_REFUSE,
      transaction: {
        id: newId('transaction'),
        kind: 'answer',
        requestId: answer.requestId,
        keyId: answer.keyId,
        entries: charge.entries,
      },
      receipt: {
        id: receipt.id,
        kind: 'answer',
        canonical,
        hash: hashCanonical(canonical),
        createdAt: new Date(receipt.createdAt),
      },
      idempotency: null,
    });
    // After the charge; this answer's own hold is released as it closes below. In the answer's mode.
    const balance = charged.balance - charged.held + answer.hold;
    const outcome: AnswerResult = {
      text: parsed.text,
      citations: parsed.citations.map((c, i) => ({
        sentence: c.sentence,
        sources: checks
          .filter((_, j) => pairs[j]!.sentence === i)
          .map((check) => citedSource(sources[check.number - 1]!, check)),
      })),
      invalidMarkers: parsed.invalid,
      model: result.model,
      finishReason: result.finishReason,
      tokens: {
        prompt: result.usage.promptTokens,
        completion: result.usage.completionTokens,
        attribution: attributionTokens,
      },
      charge: {
        total: charge.total,
        tokenCharge: charge.tokenCharge,
        dataFee: charge.dataFee,
        adapterFee: charge.adapterFee,
        protocolFee: charge.protocolFee,
      },
      balanceAfter: balance,
      attribution: attributionSummary(receipt),
      supportThreshold: SUPPORT_THRESHOLD,
      // What the causal pass cost (its tokens are in tokens.attribution and the token charge).
      causal: result.causal
        ? { method: result.causal.method, promptTokens: result.causal.promptTokens, ms: result.causal.ms }
        : null,
      timings: result.timings,
    };
    return closeAnswer(tx, answer.id, 'succeeded', { result: outcome });
  });
}

/** A support check as the answer keeps it: the quote's offsets moved from the passage into the document, like the source span. */
function citedSource(s: ShownSource, check: Cited): CitedSource {
  return {
    number: s.number,
    supported: check.supported,
    similarity: check.similarity,
    quote: check.quote
      ? { text: check.quote.text, start: s.start + check.quote.start, end: s.start + check.quote.end }
      : null,
  };
}

// The stored form of a result (views' tests check a body renders the same before and after storage).
export { decodeAnswerResult, encodeAnswerResult } from '../store/answer-results.ts';
