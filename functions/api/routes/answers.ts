import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { Timeout } from '../../../shared/errors.ts';
import { followAnswer, type Feed } from '../../../shared/services/answer-feed.ts';
import { DEFAULT_MODEL, acceptAnswer, getAnswer, waitForAnswer } from '../../../shared/services/answers.ts';
import { hashRequest } from '../../../shared/services/idempotency.ts';
import type { AnswerRecord } from '../../../shared/store/answers.ts';
import { requireRole } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { errorPayload, errorResponses, paymentResponses } from '../errors.ts';
import { AnswerView, answerFailure, answerView, shownSourceView } from '../views/answer.ts';
import { IdempotencyHeader, idParam, security } from '../schemas.ts';

const AnswerRequest = z
  .object({
    query: z.string().trim().min(1, 'must not be empty').max(4000),
    datanets: z
      .array(z.string().regex(/^dn_[A-Za-z0-9]+$/, 'must be a dn_… id'))
      .max(50)
      .optional(),
    topK: z.number().int().min(1).max(20).default(5),
    model: z
      .string()
      .min(1)
      .max(200)
      .default(DEFAULT_MODEL)
      .openapi({ description: 'GET /v1/models; an adapter id implies its base model' }),
    adapter: z
      .string()
      .regex(/^ad_[A-Za-z0-9]+$/, 'must be an ad_… id')
      .optional(),
    maxTokens: z.number().int().min(1).max(32_768).optional(),
    temperature: z.number().min(0).max(2).optional(),
    attribution: z
      .object({ causal: z.boolean().default(false) })
      .strict()
      .optional()
      .openapi({
        description:
          'causal: also measure leave-one-out over the sources (engine models; the extra prompt tokens are billed and reported as usage.attributionTokens)',
      }),
    mode: z
      .enum(['wait', 'async', 'stream'])
      .default('wait')
      .openapi({ description: 'wait (bounded), async (202 + GET /v1/answers/{id}) or stream (text/event-stream)' }),
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
  request: {
    headers: IdempotencyHeader,
    body: { required: true, content: { 'application/json': { schema: AnswerRequest } } },
  },
  responses: {
    200: {
      description:
        'The finished answer (mode wait), or an event stream (mode stream: events delta, citations, done; or error)',
      content: { 'application/json': { schema: AnswerView }, 'text/event-stream': { schema: z.string() } },
    },
    202: {
      description: 'Accepted; poll GET /v1/answers/{id} (mode async, or a wait that ran out of time)',
      content: { 'application/json': { schema: AnswerView } },
    },
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
  request: {
    params: idParam('ans'),
    query: z.object({
      wait: z.coerce.number().min(0).max(60).optional().openapi({ description: 'seconds to wait for it to finish' }),
    }),
  },
  responses: {
    200: { description: 'The answer', content: { 'application/json': { schema: AnswerView } } },
    ...errorResponses,
  },
});

/** The answer as the caller gets it once it has closed (or is still running after the wait). */
export function finished(c: Context<AppEnv>, answer: AnswerRecord) {
  if (answer.status === 'succeeded') {
    c.set('cost', String(answer.result?.charge.total ?? 0n));
    return c.json(answerView(answer), 200);
  }
  if (answer.status === 'queued' || answer.status === 'running') return c.json(answerView(answer), 202);
  throw answerFailure(answer);
}

/** SSE: answer.created, text deltas, then the parsed citations, then usage and attribution. */
export function streamAnswer(c: Context<AppEnv>, feed: Feed, answer: AnswerRecord) {
  return streamSSE(c, async (stream) => {
    const send = (event: string, data: unknown) => stream.writeSSE({ event, data: JSON.stringify(data) });
    await send('answer.created', {
      id: answer.id,
      status: answer.status,
      sources: answer.sources.map(shownSourceView),
    });
    // A client that goes away stops only this reading: the answer completes and is billed as usual.
    const gone = new AbortController();
    stream.onAbort(() => gone.abort());
    const outcome = await followAnswer(
      c.get('services'),
      feed,
      answer.id,
      (text) => send('delta', { text }),
      gone.signal,
    );
    if (outcome.kind === 'disconnected') return;
    if (outcome.kind === 'closed' && outcome.answer.status === 'succeeded') {
      const view = answerView(outcome.answer);
      await send('citations', { text: view.text, citations: view.citations, invalidMarkers: view.invalidMarkers });
      await send('done', { id: view.id, status: view.status, usage: view.usage, attribution: view.attribution });
    } else {
      const err =
        outcome.kind === 'closed'
          ? answerFailure(outcome.answer)
          : new Timeout('the answer did not finish in time', answer.id);
      await send('error', errorPayload(err, c.get('requestId')));
    }
  });
}

export const answerRoutes = new OpenAPIHono<AppEnv>()
  .openapi(createRouteDef, async (c) => {
    const body = c.req.valid('json');
    const key = c.req.valid('header')['idempotency-key'];
    const idempotency = key ? { key, requestHash: hashRequest('POST', '/v1/answers', body) } : undefined;
    const { answer, feed, replayed } = await acceptAnswer(
      c.get('services'),
      c.get('principal'),
      c.get('requestId'),
      {
        query: body.query,
        history: [],
        datanetIds: body.datanets,
        topK: body.topK,
        model: body.model,
        adapterId: body.adapter,
        maxTokens: body.maxTokens,
        temperature: body.temperature,
        causal: body.attribution?.causal,
      },
      idempotency,
    );
    if (replayed) c.header('Idempotent-Replayed', 'true');
    if (body.mode === 'stream') return streamAnswer(c, feed, answer) as never;
    feed.close();
    if (body.mode === 'async') return c.json(answerView(answer), 202);
    const services = c.get('services');
    // Passing the accepted record: a database outage while waiting ends in 202 with the id, never in an error for an answer that will run.
    return finished(
      c,
      await waitForAnswer(services, answer.id, services.config.answerWaitSeconds * 1000, answer),
    ) as never;
  })
  .openapi(getRouteDef, async (c) => {
    const services = c.get('services');
    const answer = await getAnswer(services, c.get('principal'), c.req.valid('param').id);
    const wait = c.req.valid('query').wait;
    const current = wait ? await waitForAnswer(services, answer.id, wait * 1000) : answer;
    return c.json(answerView(current), 200);
  });
