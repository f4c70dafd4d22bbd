import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { ApiError } from '../../../shared/errors.ts';
import { newId } from '../../../shared/ids.ts';
import { createMarkerFilter } from '../../../shared/core/marker-stream.ts';
import { DEFAULT_MODEL, createAnswer, getAnswer, replayAnswer, waitForAnswer, type AnswerInput } from '../../../shared/services/answers.ts';
import { hashRequest, type IdempotencyContext } from '../../../shared/services/billing.ts';
import { idempotently } from '../../../shared/services/idempotency.ts';
import type { AnswerRecord } from '../../../shared/store/answers.ts';
import type { AnswerUpdate } from '../../../shared/services/answer-hub.ts';
import { findAnswer } from '../../../shared/store/answers.ts';
import { requireRole } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { errorResponses, paymentResponses } from '../errors.ts';
import { AnswerView, answerFailure, answerView, shownSourceView } from '../answer-view.ts';
import { IdempotencyHeader, idParam, security } from '../schemas.ts';

const AnswerRequest = z
  .object({
    query: z.string().trim().min(1, 'must not be empty').max(4000),
    datanets: z.array(z.string().regex(/^dn_[A-Za-z0-9]+$/, 'must be a dn_… id')).max(50).optional(),
    topK: z.number().int().min(1).max(20).default(5),
    model: z.string().min(1).max(200).default(DEFAULT_MODEL).openapi({ description: 'GET /v1/models; an adapter id implies its base model' }),
    adapter: z.string().regex(/^ad_[A-Za-z0-9]+$/, 'must be an ad_… id').optional(),
    maxTokens: z.number().int().min(1).max(32_768).optional(),
    temperature: z.number().min(0).max(2).optional(),
    attribution: z
      .object({ causal: z.boolean().default(false) })
      .strict()
      .optional()
      .openapi({ description: 'causal: also measure leave-one-out over the sources (engine models; the extra prompt tokens are billed and reported as usage.attributionTokens)' }),
    mode: z.enum(['wait', 'async', 'stream']).default('wait').openapi({ description: 'wait (bounded), async (202 + GET /v1/answers/{id}) or stream (text/event-stream)' }),
  })
  .strict()
  .openapi('AnswerRequest');

const createRouteDef = createRoute({
  method: 'post',
  path: '/v1/answers',
  tags: ['answers'],
  summary: 'A cited answer: sources are retrieved, the model answers with [n] markers, billed once when it completes',
  security,
  middleware: [requireRole('consumer')] as const,
  request: { headers: IdempotencyHeader, body: { required: true, content: { 'application/json': { schema: AnswerRequest } } } },
  responses: {
    200: {
      description: 'The finished answer (mode wait), or an event stream (mode stream: events delta, citations, done; or error)',
      content: { 'application/json': { schema: AnswerView }, 'text/event-stream': { schema: z.string() } },
    },
    202: { description: 'Accepted; poll GET /v1/answers/{id} (mode async, or a wait that ran out of time)', content: { 'application/json': { schema: AnswerView } } },
    ...paymentResponses,
    ...errorResponses,
  },
});

const getRouteDef = createRoute({
  method: 'get',
  path: '/v1/answers/{id}',
  tags: ['answers'],
  summary: 'An answer and its status',
  security,
  middleware: [requireRole('consumer', 'admin')] as const,
  request: { params: idParam('ans'), query: z.object({ wait: z.coerce.number().min(0).max(60).optional().openapi({ description: 'seconds to wait for it to finish' }) }) },
  responses: { 200: { description: 'The answer', content: { 'application/json': { schema: AnswerView } } }, ...errorResponses },
});

/**
 * Create (or find, on an idempotent retry) the answer for this request, with a feed of its
 * updates subscribed before the job is queued, so a stream misses no early delta.
 * Callers that do not stream close the feed.
 */
export async function startAnswer(c: Context<AppEnv>, input: AnswerInput, idempotency: IdempotencyContext | undefined): Promise<{ answer: AnswerRecord; feed: Feed }> {
  const services = c.get('services');
  const principal = c.get('principal');
  let feed: Feed | undefined;
  const outcome = await idempotently(services, principal, idempotency, {
    replay: () => replayAnswer(services, principal, idempotency),
    work: async () => {
      const id = newId('answer');
      feed = openFeed(c, id);
      try {
        return await createAnswer(services, principal, c.get('requestId'), input, { id, idempotency });
      } catch (err) {
        feed.close();
        throw err;
      }
    },
  });
  if (!outcome.replayed) return { answer: outcome.value, feed: feed! };
  c.header('Idempotent-Replayed', 'true');
  return { answer: outcome.value, feed: openFeed(c, outcome.value.id) };
}

export function finished(c: Context<AppEnv>, answer: AnswerRecord) {
  if (answer.status === 'succeeded') {
    c.set('cost', String((answer.response as { usage: { charged: string } }).usage.charged));
    return c.json(answerView(answer), 200);
  }
  if (answer.status === 'queued' || answer.status === 'running') return c.json(answerView(answer), 202);
  throw answerFailure(answer);
}

/** Buffers an answer's hub updates from before it is queued, so no early delta is missed. */
export function openFeed(c: Context<AppEnv>, id: string) {
  const updates: AnswerUpdate[] = [];
  let notify = () => {};
  const unsubscribe = c.get('services').answerHub.subscribe(id, (u) => {
    updates.push(u);
    notify();
  });
  return {
    id,
    take: () => updates.splice(0),
    /** Resolves on the next update, or after `ms` (the database is polled as well). */
    next: (ms: number) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        notify = () => {
          clearTimeout(timer);
          resolve();
        };
      }),
    close: unsubscribe,
  };
}
export type Feed = ReturnType<typeof openFeed>;

/**
 * Follows an answer until it closes: `onDelta` gets text with markers filtered live,
 * `onClose` the closed answer. Used by both SSE flavours (answers and chat).
 */
export async function followAnswer(
  c: Context<AppEnv>,
  feed: Feed,
  answerId: string,
  onDelta: (text: string) => Promise<void>,
): Promise<AnswerRecord | null> {
  const { db } = c.get('services');
  const first = (await findAnswer(db, answerId))!;
  const filter = createMarkerFilter(first.sources.length);
  try {
    for (;;) {
      for (const u of feed.take()) if (u.type === 'delta') {
        const text = filter.push(u.text);
        if (text) await onDelta(text);
      }
      const current = (await findAnswer(db, answerId))!;
      if (current.status !== 'queued' && current.status !== 'running') {
        const tail = filter.end();
        if (tail) await onDelta(tail);
        return current;
      }
      if (Date.now() > first.deadlineAt.getTime() + 5000) return null;
      await feed.next(500);
    }
  } finally {
    feed.close();
  }
}

/** SSE: answer.created, text deltas, then the parsed citations, then usage and attribution. */
export function streamAnswer(c: Context<AppEnv>, feed: Feed, answer: AnswerRecord) {
  return streamSSE(c, async (stream) => {
    const send = (event: string, data: unknown) => stream.writeSSE({ event, data: JSON.stringify(data) });
    await send('answer.created', { id: answer.id, status: answer.status, sources: answer.sources.map(shownSourceView) });
    const closed = await followAnswer(c, feed, answer.id, (text) => send('delta', { text }));
    if (closed?.status === 'succeeded') {
      const view = answerView(closed);
      await send('citations', { text: view.text, citations: view.citations, invalidMarkers: view.invalidMarkers });
      await send('done', { id: view.id, status: view.status, usage: view.usage, attribution: view.attribution });
    } else {
      const err = closed ? answerFailure(closed) : new ApiError('GATEWAY_TIMEOUT', 'the answer did not finish in time');
      await send('error', { error: { code: err.code, message: err.message, requestId: c.get('requestId') } });
    }
  });
}

export const answerRoutes = new OpenAPIHono<AppEnv>()
  .openapi(createRouteDef, async (c) => {
    const body = c.req.valid('json');
    const key = c.req.valid('header')['idempotency-key'];
    const idempotency = key ? { key, requestHash: hashRequest('POST', '/v1/answers', body) } : undefined;
    const { answer, feed } = await startAnswer(c, {
      query: body.query, history: [], datanetIds: body.datanets, topK: body.topK, model: body.model,
      adapterId: body.adapter, maxTokens: body.maxTokens, temperature: body.temperature, causal: body.attribution?.causal,
    }, idempotency);
    if (body.mode === 'stream') return streamAnswer(c, feed, answer) as never;
    feed.close();
    if (body.mode === 'async') return c.json(answerView(answer), 202);
    const services = c.get('services');
    return finished(c, await waitForAnswer(services, answer.id, services.config.answerWaitSeconds * 1000)) as never;
  })
  .openapi(getRouteDef, async (c) => {
    const services = c.get('services');
    const answer = await getAnswer(services, c.get('principal'), c.req.valid('param').id);
    const wait = c.req.valid('query').wait;
    const current = wait ? await waitForAnswer(services, answer.id, wait * 1000) : answer;
    return c.json(answerView(current), 200);
  });
