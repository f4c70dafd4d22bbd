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
  /** Score the answer leave-one-out over the sources (engine backends only). Defaults so jobs queued before it still parse. */
  causal: z.boolean().default(false),
});
/** A job as the API writes it: fields with defaults (`causal`) may be left out. */
export type GenerationJob = z.input<typeof GenerationJobSchema>;

export const UsageSchema = z.object({
  promptTokens: z.number().int().nonnegative(),
  completionTokens: z.number().int().nonnegative(),
});

/**
 * How much the answer depends on each source: the log-probability of the answer's tokens
 * under the full prompt, and under the prompt with each source removed (the other sources
 * keep their numbers). A large drop without source n means the answer relies on it.
 */
export const CausalSignalSchema = z.object({
  method: z.literal('leave-one-out'),
  /** Sum of the answer's token log-probabilities given all the sources shown. */
  answerLogprob: z.number(),
  /** Index i: the same sum with source number i + 1 removed from the prompt. */
  withoutSource: z.array(z.number()),
  /** Prompt tokens the engine processed for the scoring pass (all n + 1 prompts). */
  promptTokens: z.number().int().nonnegative(),
  /** Wall time of the scoring pass. */
  ms: z.number().nonnegative(),
});
export type CausalSignal = z.infer<typeof CausalSignalSchema>;

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
  /** The causal signal, when the job asked for it and the backend could score; else null. */
  causal: CausalSignalSchema.nullable().default(null),
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
