import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import { InvalidInput, Timeout } from '../../../shared/errors.ts';
import type { ChatMessage } from '../../../shared/core/prompt.ts';
import { followAnswer, type Feed } from '../../../shared/services/answer-feed.ts';
import { abandonAnswer, acceptAnswer, isDatabaseDown, waitForAnswer } from '../../../shared/services/answers.ts';

import { hashRequest } from '../../../shared/services/idempotency.ts';
import { listAdapters } from '../../../shared/services/adapters.ts';
import type { AnswerRecord } from '../../../shared/store/answers.ts';
import { anyRole, requireRole } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { errorPayload, errorResponses, paymentResponses } from '../errors.ts';
import { answerFailure, answerView } from '../views/answer.ts';
import { IdempotencyHeader, security } from '../schemas.ts';

/** past the deadline by this much, so the database's clock agrees that it has passed */
const DEADLINE_MARGIN_MS = 1000;

// OpenAI-compatible surface. Unknown OpenAI parameters are accepted and ignored, so
// existing SDKs and chat UIs work unchanged; citations ride along as extra fields.
const Content = z.union([
  z.string().max(100_000),
  z.array(z.object({ type: z.string().max(50), text: z.string().max(100_000).optional() }).loose()).max(100),
]);

const ChatRequest = z
  .object({
    model: z.string().min(1).max(200),
    messages: z
      .array(
        z.object({ role: z.enum(['system', 'developer', 'user', 'assistant']), content: Content.nullable() }).loose(),
      )
      .min(1, 'must contain at least one message')
      .max(1000),
    stream: z.boolean().optional(),
    stream_options: z.object({ include_usage: z.boolean().optional() }).loose().nullable().optional(),
    max_tokens: z.number().int().min(1).max(32_768).nullable().optional(),
    max_completion_tokens: z.number().int().min(1).max(32_768).nullable().optional(),
    temperature: z.number().min(0).max(2).nullable().optional(),
    n: z.literal(1).nullable().optional().openapi({ description: 'only 1 is supported' }),
    datanets: z
      .array(z.string().regex(/^dn_[A-Za-z0-9]+$/))
      .max(50)
      .optional()
      .openapi({ description: 'citepay extension: datanets to retrieve from' }),
    top_k: z
      .number()
      .int()
      .min(1)
      .max(20)
      .default(5)
      .openapi({ description: 'citepay extension: sources to retrieve' }),
    attribution: z
      .object({ causal: z.boolean().default(false) })
      .strict()
      .optional()
      .openapi({ description: 'citepay extension: see POST /v1/answers' }),
  })
  .loose()
  .openapi('ChatCompletionRequest');

const chatRoute = createRoute({
  method: 'post',
  path: '/v1/chat/completions',
  tags: ['openai'],
  summary:
    'OpenAI-compatible chat completion: the last user message is the query; citations are an extra field on the message',
  security,
  middleware: [requireRole('consumer')] as const,
  request: {
    headers: IdempotencyHeader,
    body: { required: true, content: { 'application/json': { schema: ChatRequest } } },
  },
  responses: {
    200: {
      description: 'chat.completion, or a stream of chat.completion.chunk',
      content: {
        'application/json': { schema: z.record(z.string(), z.unknown()) },
        'text/event-stream': { schema: z.string() },
      },
    },
    ...paymentResponses,
    ...errorResponses,
  },
});

const modelsRoute = createRoute({
  method: 'get',
  path: '/v1/models',
  tags: ['openai'],
  summary: 'Models, and LoRA adapters usable as models',
  security,
  middleware: [anyRole()] as const,
  responses: {
    200: {
      description: 'OpenAI model list',
      content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
    },
    ...errorResponses,
  },
});

const textOf = (content: z.infer<typeof Content> | null) =>
  typeof content === 'string'
    ? content
    : (content ?? []).map((p) => (p.type === 'text' ? (p.text ?? '') : '')).join('');

function toConversation(messages: z.infer<typeof ChatRequest>['messages']): { query: string; history: ChatMessage[] } {
  const last = messages[messages.length - 1]!;
  const query = textOf(last.content).trim();
  if (last.role !== 'user' || !query)
    throw new InvalidInput('messages: the last message must be a non-empty user message (it is the query)');
  const history = messages
    .slice(0, -1)
    .map((m) => ({ role: m.role === 'developer' ? 'system' : m.role, content: textOf(m.content) }) as ChatMessage);
  return { query, history };
}

const completionId = (answerId: string) => `chatcmpl-${answerId}`;
const created = (a: AnswerRecord) => Math.floor(a.createdAt.getTime() / 1000);

function completion(answer: AnswerRecord, model: string) {
  const view = answerView(answer);
  const usage = {
    promptTokens: answer.result?.tokens.prompt ?? 0,
    completionTokens: answer.result?.tokens.completion ?? 0,
  };
  const finish = answer.result?.finishReason === 'length' ? 'length' : 'stop';
  return {
    id: completionId(answer.id),
    object: 'chat.completion',
    created: created(answer),
    model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: view.text, refusal: null, citations: view.citations },
        finish_reason: finish,
        logprobs: null,
      },
    ],
    usage: {
      prompt_tokens: usage.promptTokens,
      completion_tokens: usage.completionTokens,
      total_tokens: usage.promptTokens + usage.completionTokens,
    },
    citepay: {
      answerId: answer.id,
      livemode: view.livemode,
      usage: view.usage,
      attribution: view.attribution,
      sources: view.sources,
      invalidMarkers: view.invalidMarkers,
    },
  };
}

function streamCompletion(c: Context<AppEnv>, feed: Feed, answer: AnswerRecord, model: string, includeUsage: boolean) {
  return streamSSE(c, async (stream) => {
    const chunk = (delta: Record<string, unknown>, finish: string | null, extra: Record<string, unknown> = {}) =>
      stream.writeSSE({
        data: JSON.stringify({
          id: completionId(answer.id),
          object: 'chat.completion.chunk',
          created: created(answer),
          model,
          choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
          ...extra,
        }),
      });
    await chunk({ role: 'assistant', content: '' }, null);
    // A client that goes away stops only this reading: the answer completes and is billed as usual.
    const gone = new AbortController();
    stream.onAbort(() => gone.abort());
    const outcome = await followAnswer(
      c.get('services'),
      feed,
      answer.id,
      (text) => chunk({ content: text }, null),
      gone.signal,
    );
    if (outcome.kind === 'disconnected') return;
    if (outcome.kind === 'timeout' || outcome.answer.status !== 'succeeded') {
      if (outcome.kind === 'timeout') await abandonAnswer(c.get('services'), answer.id);
      const err =
        outcome.kind === 'closed'
          ? answerFailure(outcome.answer)
          : new Timeout('the answer did not finish in time; nothing was charged', answer.id);
      await stream.writeSSE({ data: JSON.stringify(errorPayload(err, c.get('requestId'))) });
      return;
    }
    const done = completion(outcome.answer, model);
    // The final chunk carries the citations (and citepay's usage and attribution).
    await chunk({ citations: done.choices[0]!.message.citations }, done.choices[0]!.finish_reason, {
      citations: done.choices[0]!.message.citations,
      citepay: done.citepay,
    });
    if (includeUsage)
      await stream.writeSSE({
        data: JSON.stringify({
          id: done.id,
          object: 'chat.completion.chunk',
          created: done.created,
          model,
          choices: [],
          usage: done.usage,
        }),
      });
    await stream.writeSSE({ data: '[DONE]' });
  });
}

export const chatRoutes = new OpenAPIHono<AppEnv>()
  .openapi(chatRoute, async (c) => {
    const services = c.get('services');
    const body = c.req.valid('json');
    const { query, history } = toConversation(body.messages);
    const key = c.req.valid('header')['idempotency-key'];
    const idempotency = key ? { key, requestHash: hashRequest('POST', '/v1/chat/completions', body) } : undefined;
    const { answer, feed, replayed } = await acceptAnswer(
      services,
      c.get('principal'),
      c.get('requestId'),
      {
        query,
        history,
        datanetIds: body.datanets,
        topK: body.top_k,
        model: body.model,
        causal: body.attribution?.causal,
        maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
        temperature: body.temperature ?? undefined,
      },
      idempotency,
    );
    if (replayed) c.header('Idempotent-Replayed', 'true');
    if (body.stream)
      return streamCompletion(c, feed, answer, body.model, body.stream_options?.include_usage === true) as never;
    feed.close();
    // Waits until just past the answer's own deadline: from then on no result can charge it
    // (finalizeAnswer), so the 504 below is true even when the database is down throughout.
    const closed = await waitForAnswer(
      services,
      answer.id,
      Math.max(0, answer.deadlineAt.getTime() - Date.now()) + DEADLINE_MARGIN_MS,
      answer,
    );
    if (closed.status === 'queued' || closed.status === 'running') {
      // The caller gets a 504 now, so the late result must never be charged. Recording that may
      // fail while the database is down; the deadline alone then keeps it uncharged.
      await abandonAnswer(services, answer.id).catch((err: unknown) => {
        if (!isDatabaseDown(err)) throw err;
      });
      throw new Timeout('the answer did not finish in time; nothing was charged', answer.id);
    }
    if (closed.status !== 'succeeded') throw answerFailure(closed);
    c.set('cost', String(closed.result?.charge.total ?? 0n));
    return c.json(completion(closed, body.model), 200);
  })
  .openapi(modelsRoute, async (c) => {
    const services = c.get('services');
    const models = [...services.config.models.values()].map((m) => ({
      id: m.id,
      object: 'model',
      created: 0,
      owned_by: 'citepay',
      citepay: {
        backend: m.backend,
        contextTokens: m.contextTokens,
        maxOutputTokens: m.maxOutputTokens,
        inputPricePerMillion: m.inputPricePerMillion.toString(),
        outputPricePerMillion: m.outputPricePerMillion.toString(),
        supportsAdapters: m.supportsAdapters,
      },
    }));
    const adapters = (await listAdapters(services.db)).map((a) => ({
      id: a.id,
      object: 'model',
      created: Math.floor(a.createdAt.getTime() / 1000),
      owned_by: a.ownerAccountId,
      parent: a.baseModel,
      citepay: { name: a.name, shareBps: a.shareBps },
    }));
    return c.json({ object: 'list', data: [...models, ...adapters] }, 200);
  });
