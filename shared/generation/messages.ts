import { z } from 'zod';

// The contract between the API and the GPU worker, defined once: jobs on the job
// queue, events on the results queue, results in the object store.

export const ChatMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string(),
});

export const AdapterRefSchema = z.object({
  id: z.string(),
  baseModel: z.string(),
  objectKey: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

export type AdapterRef = z.infer<typeof AdapterRefSchema>;

export const GenerationJobSchema = z.object({
  jobId: z.string(),
  enqueuedAt: z.number(),
  /** Base model as the engine names it, or "extractive". */
  model: z.string(),
  adapter: AdapterRefSchema.nullable(),
  /** Full chat prompt for an engine (system + history + numbered sources + question). */
  messages: z.array(ChatMessageSchema),
  /** The question and the numbered sources, for the extractive composer. */
  question: z.string(),
  sources: z.array(z.object({ number: z.number().int().positive(), title: z.string(), text: z.string() })),
  maxTokens: z.number().int().positive(),
  temperature: z.number().min(0).max(2),
  logprobs: z.boolean(),
});
export type GenerationJob = z.infer<typeof GenerationJobSchema>;

export const UsageSchema = z.object({ promptTokens: z.number().int().nonnegative(), completionTokens: z.number().int().nonnegative() });

export const GenerationResultSchema = z.object({
  jobId: z.string(),
  text: z.string(),
  model: z.string(),
  usage: UsageSchema,
  finishReason: z.enum(['stop', 'length']),
  /** Mean token log-probability, when the engine reports it. */
  meanLogprob: z.number().nullable(),
  workerId: z.string(),
  timings: z.object({ queuedMs: z.number(), generateMs: z.number() }),
});
export type GenerationResult = z.infer<typeof GenerationResultSchema>;

export const GenerationEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('started'), jobId: z.string(), workerId: z.string(), queuedMs: z.number() }),
  z.object({ type: z.literal('delta'), jobId: z.string(), seq: z.number().int(), text: z.string() }),
  z.object({ type: z.literal('completed'), jobId: z.string(), resultKey: z.string() }),
  z.object({
    type: z.literal('failed'),
    jobId: z.string(),
    code: z.enum(['engine_unavailable', 'bad_request', 'internal']),
    message: z.string(),
  }),
]);
export type GenerationEvent = z.infer<typeof GenerationEventSchema>;

export const resultKey = (jobId: string) => `results/${jobId}.json`;
