import { maxAnswerCost, maxRetrievalCost } from '../core/x402-quote.ts';
import { InvalidInput } from '../errors.ts';
import { effectivePrice, type UseType } from '../core/rate-cards.ts';
import { allCurrentRateCards } from '../store/rate-cards.ts';
import { DEFAULT_MODEL, resolveModel } from './answers.ts';
import type { Services } from './container.ts';

// The x402 price of a request to a paid route: the most the call can cost (shared/core/x402-quote.ts),
// from the request body before any work. Bodies that do not parse are left to the route's own
// validation (quote 0: the payment middleware then lets the route answer 400).

type Body = Record<string, unknown>;
const int = (v: unknown, fallback: number) => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : fallback);

/** The most one use of `type` costs among the wanted datanets, by the cards in force (x402 is live money). */
async function maxSourcePrice(services: Services, datanets: unknown, type: UseType): Promise<bigint> {
  const wanted = Array.isArray(datanets) ? new Set(datanets.filter((d): d is string => typeof d === 'string')) : null;
  const cards = await allCurrentRateCards(services.db);
  return cards
    .filter((c) => !wanted || wanted.has(c.datanetId))
    .map((c) => effectivePrice(c, type, true))
    .reduce((max, p) => (p > max ? p : max), 0n);
}

async function answerCost(
  services: Services,
  b: { model: unknown; adapter: unknown; topK: number; maxTokens: unknown; causal: boolean; datanets: unknown },
) {
  const model = typeof b.model === 'string' ? b.model : DEFAULT_MODEL;
  const { spec } = await resolveModel(services, model, typeof b.adapter === 'string' ? b.adapter : undefined);
  const maxTokens = Math.min(int(b.maxTokens, spec.maxOutputTokens), spec.maxOutputTokens);
  return maxAnswerCost({
    topK: b.topK,
    maxSourcePrice: await maxSourcePrice(services, b.datanets, 'answer'),
    contextTokens: spec.contextTokens,
    maxTokens,
    inputPricePerMillion: spec.inputPricePerMillion,
    outputPricePerMillion: spec.outputPricePerMillion,
    causal: b.causal,
  });
}

/** micro-USD: the most a POST to `path` with `body` can be charged. */
export async function quoteMaxCost(services: Services, path: string, body: Body): Promise<bigint> {
  const causal = (body.attribution as { causal?: unknown } | undefined)?.causal === true;
  switch (path) {
    case '/v1/retrieve':
      return maxRetrievalCost(int(body.topK, 5), await maxSourcePrice(services, body.datanets, 'retrieval'));
    case '/v1/answers':
      // settled once the response is sent: the answer must be finished by then
      if (body.mode !== undefined && body.mode !== 'wait')
        throw new InvalidInput(
          'x402 payments take mode "wait" only (the payment settles when the answer is returned)',
          'mode',
        );
      return answerCost(services, {
        model: body.model,
        adapter: body.adapter,
        topK: int(body.topK, 5),
        maxTokens: body.maxTokens,
        causal,
        datanets: body.datanets,
      });
    case '/v1/chat/completions':
      if (body.stream === true)
        throw new InvalidInput(
          'x402 payments take stream: false only (the payment settles when the completion is returned)',
          'stream',
        );
      return answerCost(services, {
        model: body.model,
        adapter: undefined,
        topK: int(body.top_k, 5),
        maxTokens: body.max_completion_tokens ?? body.max_tokens,
        causal,
        datanets: body.datanets,
      });
    default:
      throw new InvalidInput(`x402 payments are not taken on ${path}`);
  }
}
