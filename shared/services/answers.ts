import { dedupeSources } from '../core/citations.ts';
import { PromptTooLargeError, buildPrompt, type ChatMessage } from '../core/prompt.ts';
import { InsufficientCredits, InvalidInput, NotFound, PayloadTooLarge, Unavailable } from '../errors.ts';
import { tokenCost, type ModelSpec } from '../generation/models.ts';
import type { GenerationJob } from '../generation/messages.ts';
import { newId } from '../ids.ts';
import { QueueUnavailableError } from '../job-queue/index.ts';
import { findAdapter, type Adapter } from '../store/adapters.ts';
import { pruneDeltas } from '../store/answer-deltas.ts';
import {
  closeAnswer,
  expireOverdue,
  findAnswer,
  holdAnswer,
  type AnswerRecord,
  type ShownSource,
} from '../store/answers.ts';
import { requireReachable } from './test-mode.ts';
import type { Principal } from './api-keys.ts';
import { assertCanPay } from './billing.ts';
import { answerSlotDefaults, answerSlotRefusal } from './rate-limits.ts';
import { findStoredResult, idempotently, scopedKey, type IdempotencyContext } from './idempotency.ts';
import { openFeed, type Feed } from './answer-feed.ts';
import { announce } from './answer-hub.ts';
import type { Services } from './container.ts';
import { retrieve } from './retrieval.ts';
import { priceUses } from './rate-cards.ts';

export interface AnswerInput {
  query: string;
  history: ChatMessage[];
  datanetIds?: readonly string[] | undefined;
  topK: number;
  /** A model id from the catalogue, or an adapter id (its base model is implied). */
  model: string;
  adapterId?: string | undefined;
  maxTokens?: number | undefined;
  temperature?: number | undefined;
  /** measure the leave-one-out causal signal (engine models; billed as extra prompt tokens) */
  causal?: boolean | undefined;
}

export const DEFAULT_MODEL = 'extractive';
/** Retry-After for 503s caused by the queue or the engine. */
export const RETRY_AFTER_SECONDS = 5;

export function serviceUnavailable(message: string, dependency: string): Unavailable {
  return new Unavailable(message, dependency, RETRY_AFTER_SECONDS);
}

/** Model and adapter, checked against each other: the 4xx a caller can fix. */
export async function resolveModel(
  services: Services,
  model: string,
  adapterId: string | undefined,
): Promise<{ spec: ModelSpec; adapter: Adapter | null }> {
  let adapter: Adapter | null = null;
  const wanted = adapterId ?? (model.startsWith('ad_') ? model : undefined);
  if (wanted) {
    adapter = await findAdapter(services.db, wanted);
    if (!adapter) throw new NotFound(`unknown adapter ${wanted}`, 'adapter', wanted);
  }
  const baseId = model.startsWith('ad_') ? adapter!.baseModel : model;
  const spec = services.config.models.get(baseId);
  if (!spec)
    throw new InvalidInput(
      `unknown model ${baseId}: use one of ${[...services.config.models.keys()].join(', ')} (GET /v1/models)`,
      'model',
    );
  if (adapter && adapter.baseModel !== spec.id)
    throw new InvalidInput(`adapter ${adapter.id} is for base model ${adapter.baseModel}, not ${spec.id}`, 'adapter');
  if (adapter && !spec.supportsAdapters) throw new InvalidInput(`model ${spec.id} does not take adapters`, 'model');
  return { spec, adapter };
}

/**
 * Accept an answer: retrieve and number the sources, fit the prompt into the model's
 * context, reserve the most it can cost against the balance, and queue the job.
 * Nothing is charged here; the charge is posted when the result arrives.
 */
export async function createAnswer(
  services: Services,
  principal: Principal,
  requestId: string,
  input: AnswerInput,
  options: { id?: string; idempotency?: IdempotencyContext | undefined } = {},
): Promise<AnswerRecord> {
  const queue = services.jobQueue;
  if (!queue) throw serviceUnavailable('generation is not configured on this server (no job queue)', 'queue');
  const { spec, adapter } = await resolveModel(services, input.model, input.adapterId);
  if (input.causal && spec.backend !== 'engine')
    throw new InvalidInput(
      `attribution.causal needs a model that reports log-probabilities; ${spec.id} does not (GET /v1/models: backend "engine")`,
      'attribution.causal',
    );
  const maxTokens = Math.min(input.maxTokens ?? spec.maxOutputTokens, spec.maxOutputTokens);
  await assertCanPay(services, principal);

  const retrieved = dedupeSources(
    await retrieve(services, { query: input.query, datanetIds: input.datanetIds, topK: input.topK }),
  );
  let prompt: ReturnType<typeof buildPrompt>;
  try {
    prompt = buildPrompt({
      question: input.query,
      history: input.history,
      sources: retrieved,
      contextTokens: spec.contextTokens,
      maxOutputTokens: maxTokens,
    });
  } catch (err) {
    if (err instanceof PromptTooLargeError)
      throw new PayloadTooLarge(`prompt too large for ${spec.id}: ${err.message}`);
    throw err;
  }
  // Each source the answer uses is one `answer` use, at the card in force when the answer is
  // accepted: the hold below and the charge at completion use the same frozen price.
  const priced = await priceUses(services.db, retrieved.slice(0, prompt.sources.length), 'answer', principal.livemode);
  const sources: ShownSource[] = prompt.sources.map((p, i) => {
    const s = priced[i]!;
    return { ...s, number: p.number, text: p.text, pricePerSource: s.pricePerSource.toString() };
  });
  // The causal pass re-reads the prompt once per source plus once whole.
  const causalPromptTokens = input.causal
    ? prompt.promptTokens * (sources.length + 1) + maxTokens * (sources.length + 1)
    : 0;
  const hold =
    tokenCost(prompt.promptTokens + causalPromptTokens, spec.inputPricePerMillion) +
    tokenCost(maxTokens, spec.outputPricePerMillion) +
    sources.reduce((a, s) => a + BigInt(s.pricePerSource), 0n);

  const id = options.id ?? newId('answer');
  // One statement: account lock, answer slots, credits, the answer and its Idempotency-Key record.
  // A retry with this key finds the same answer instead of creating (and charging) another.
  const held = await holdAnswer(
    services.db,
    {
      id,
      requestId,
      accountId: principal.accountId,
      keyId: principal.keyId,
      model: spec.id,
      adapterId: adapter?.id ?? null,
      query: input.query,
      sources,
      hold,
      livemode: principal.livemode,
      deadlineSeconds: services.config.answerDeadlineSeconds,
    },
    answerSlotDefaults(services, principal),
    options.idempotency
      ? {
          key: scopedKey(principal, options.idempotency.key),
          requestHash: options.idempotency.requestHash,
          result: { answerId: id } satisfies AcceptedAnswer,
        }
      : null,
  );
  if (held.status === 'insufficient') throw new InsufficientCredits(held.balance, held.held, hold, principal.livemode);
  if (held.status !== 'ok') throw answerSlotRefusal(held.status, held.open, held.limits);
  const answer = held.answer;

  const job: GenerationJob = {
    jobId: id,
    enqueuedAt: Date.now(),
    model: spec.id,
    adapter: adapter
      ? { id: adapter.id, baseModel: adapter.baseModel, objectKey: adapter.objectKey, sha256: adapter.sha256 }
      : null,
    messages: prompt.messages,
    question: input.query,
    sources: prompt.sources,
    maxTokens,
    temperature: input.temperature ?? 0.2,
    logprobs: spec.backend === 'engine',
    causal: input.causal ?? false,
  };
  try {
    await queue.send(JSON.stringify(job));
  } catch (err) {
    // Not queued means never generated: close it so the hold is released, charge nothing.
    await closeAnswer(services.db, id, 'failed', {
      error: { code: 'queue_unavailable', message: 'the job queue is unreachable' },
    });
    if (err instanceof QueueUnavailableError)
      throw serviceUnavailable('the generation queue is unreachable; retry shortly', 'queue');
    throw err;
  }
  return answer;
}

export async function getAnswer(services: Services, principal: Principal, id: string): Promise<AnswerRecord> {
  const answer = await findAnswer(services.db, id);
  if (!answer || (principal.role !== 'admin' && answer.accountId !== principal.accountId))
    throw new NotFound(`no answer ${id}`, 'answer', id);
  requireReachable(principal, answer, 'answer', id); // a test key never reads a live answer or its query
  return answer;
}

/** The database could not be reached (the pg adapter's connection-class failure). */
export const isDatabaseDown = (err: unknown): boolean => err instanceof Unavailable && err.dependency === 'database';

/**
 * Resolves with the answer once it is closed, or as it stands after `timeoutMs`.
 * Wakes on the hub's 'closed' signal (this process, or NOTIFY from another) and polls as a fallback.
 *
 * `accepted`: the answer as its request recorded it. Its row has committed and its job is queued, so
 * it will run: a database outage while waiting must not turn into an error the caller reads as
 * "nothing happened". The wait polls on through the outage and ends with the last state it saw
 * (at worst `accepted`, which the route answers with 202 and the id).
 */
export async function waitForAnswer(
  services: Services,
  id: string,
  timeoutMs: number,
  accepted?: AnswerRecord,
): Promise<AnswerRecord> {
  const deadline = Date.now() + timeoutMs;
  let wake: () => void = () => {};
  const unsubscribe = services.answerHub.subscribe(id, (signal) => signal === 'closed' && wake());
  let seen = accepted;
  try {
    for (;;) {
      let answer: AnswerRecord;
      try {
        answer = (await findAnswer(services.db, id))!;
        seen = answer;
      } catch (err) {
        if (!seen || !isDatabaseDown(err)) throw err;
        answer = seen;
      }
      const left = deadline - Date.now();
      if (answer.status !== 'queued' && answer.status !== 'running') return answer;
      if (left <= 0) return answer;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    unsubscribe();
  }
}

/** Gives up on an answer a caller stopped waiting for: it will never be charged. */
export async function abandonAnswer(services: Services, id: string): Promise<boolean> {
  const closed = await closeAnswer(services.db, id, 'expired', {
    error: { code: 'timeout', message: 'the caller stopped waiting' },
  });
  if (closed) await announce(services, id, 'closed');
  return closed;
}

/** What an Idempotency-Key stores for an answer: a replay re-renders the answer as it stands now. */
interface AcceptedAnswer {
  answerId: string;
}

/**
 * Create (or find, on an idempotent retry) the answer for this request, with a feed of its
 * updates subscribed before the job is queued, so a stream misses no early delta.
 * Callers that do not stream close the feed.
 */
export async function acceptAnswer(
  services: Services,
  principal: Principal,
  requestId: string,
  input: AnswerInput,
  idempotency: IdempotencyContext | undefined,
): Promise<{ answer: AnswerRecord; feed: Feed; replayed: boolean }> {
  let feed: Feed | undefined;
  const outcome = await idempotently(services, principal, idempotency, {
    replay: () => findStoredResult(services, principal, idempotency),
    work: async () => {
      // Subscribed before the job is queued, so a stream misses no early delta.
      const id = newId('answer');
      feed = openFeed(services, id);
      try {
        return await createAnswer(services, principal, requestId, input, { id, idempotency });
      } catch (err) {
        feed.close();
        throw err;
      }
    },
  });
  if (!outcome.replayed) return { answer: outcome.value, feed: feed!, replayed: false };
  // Rows stored before migration 0009 hold { answerId } as their body: the same shape.
  const { answerId } = (outcome.value.result ?? outcome.value.legacyBody) as AcceptedAnswer;
  const answer = (await findAnswer(services.db, answerId))!;
  return { answer, feed: openFeed(services, answer.id), replayed: true };
}

/** Closes answers past their deadline (telling their streams) and drops deltas no stream needs any more. */
export async function sweepOverdueAnswers(services: Services): Promise<void> {
  const ids = await expireOverdue(services.db);
  await Promise.all(ids.map((id) => announce(services, id, 'closed')));
  await pruneDeltas(services.db);
}
