import { OpenAPIHono, createRoute, z } from '@hono/zod-openapi';
import { Buffer } from 'node:buffer';
import { createEmbeddings } from '../../../shared/services/embeddings.ts';
import { requireRole } from '../auth.ts';
import type { AppEnv } from '../env.ts';
import { errorResponses, paymentResponses } from '../errors.ts';
import { security } from '../schemas.ts';

// OpenAI-compatible embeddings (the `openai` SDK's embeddings.create), from citepay's own models.
const Text = z.string().min(1, 'must not be empty').max(20_000);
const EmbeddingsRequest = z
  .object({
    input: z
      .union([Text, z.array(Text).min(1).max(512)])
      .openapi({ description: 'a string or up to 512 strings (token arrays are not accepted)' }),
    model: z.string().min(1).max(100).openapi({
      description: 'an embedding model of this server, e.g. use-lite-512 (GET /healthz names the default)',
    }),
    encoding_format: z.enum(['float', 'base64']).default('float'),
    dimensions: z
      .number()
      .int()
      .min(1)
      .max(4096)
      .optional()
      .openapi({ description: "must equal the model's dimension (no truncation)" }),
    user: z.string().max(256).optional(),
  })
  .strict()
  .openapi('EmbeddingsRequest');

const EmbeddingsResponse = z
  .object({
    object: z.literal('list'),
    data: z.array(
      z.object({
        object: z.literal('embedding'),
        index: z.number().int(),
        embedding: z.union([z.array(z.number()), z.string()]),
      }),
    ),
    model: z.string(),
    usage: z.object({ prompt_tokens: z.number().int(), total_tokens: z.number().int() }),
    livemode: z.boolean().openapi({ description: "false: a cp_test_ key's call, charged to test credits" }),
  })
  .openapi('EmbeddingsResponse');

const route = createRoute({
  method: 'post',
  path: '/v1/embeddings',
  tags: ['openai-compatible'],
  summary: 'Embeddings of one or more texts (OpenAI-compatible); billed per input token (EMBEDDING_PRICE_PER_MILLION)',
  security,
  middleware: [requireRole('consumer')] as const,
  request: { body: { required: true, content: { 'application/json': { schema: EmbeddingsRequest } } } },
  responses: {
    200: {
      description: 'Unit vectors in input order; base64 is little-endian float32, as OpenAI sends it',
      content: { 'application/json': { schema: EmbeddingsResponse } },
    },
    ...paymentResponses,
    ...errorResponses,
  },
});

export const embeddingRoutes = new OpenAPIHono<AppEnv>().openapi(route, async (c) => {
  const body = c.req.valid('json');
  const texts = typeof body.input === 'string' ? [body.input] : body.input;
  const result = await createEmbeddings(c.get('services'), c.get('principal'), c.get('requestId'), {
    model: body.model,
    texts,
    dimensions: body.dimensions,
  });
  c.set('cost', result.charged.toString());
  const encode = (v: Float32Array) =>
    body.encoding_format === 'base64'
      ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64')
      : Array.from(v);
  return c.json(
    {
      object: 'list' as const,
      data: result.vectors.map((v, index) => ({ object: 'embedding' as const, index, embedding: encode(v) })),
      model: result.model,
      usage: { prompt_tokens: result.tokens, total_tokens: result.tokens },
      livemode: result.livemode,
    },
    200,
  );
});
