import type { GenerationJob } from '../../shared/generation/messages.ts';

// Generator port: one job in, text out, streamed as it is produced. The consumer
// neither knows nor cares whether an LLM or the extractive composer wrote it.
export interface Generation {
  text: string;
  usage: { promptTokens: number; completionTokens: number };
  /** True when `usage` is the engine's own count, not an estimate. */
  usageFromEngine?: boolean;
  finishReason: 'stop' | 'length';
  /** Mean token log-probability, when the backend reports one. */
  meanLogprob: number | null;
  model: string;
}

/** One prompt scored with a fixed answer appended (see `Generator.score`). */
export interface PromptScore {
  /** Log-probability of each prompt token given those before it, from the second token on. */
  tokenLogprobs: number[];
  /** Prompt tokens the engine processed for it. */
  promptTokens: number;
}

export interface Generator {
  generate(job: GenerationJob, onDelta: (text: string) => void, signal?: AbortSignal): Promise<Generation>;
  /**
   * For each prompt, the log-probabilities of its tokens with `answer` appended as the
   * final assistant message, with the job's model (and adapter); the prompts are sent
   * together so the engine batches them. Only backends with log-probabilities have it.
   */
  score?(
    job: GenerationJob,
    prompts: readonly GenerationJob['messages'][],
    answer: string,
    signal?: AbortSignal,
  ): Promise<PromptScore[]>;
}

export type FailureCode = 'engine_unavailable' | 'bad_request';

/**
 * A job answered with a `failed` event and deleted instead of retried: either it can
 * never succeed as sent, or the engine is down and the API should answer 503 now
 * rather than hold the caller while SQS redelivers.
 */
export abstract class TerminalJobError extends Error {
  abstract readonly code: FailureCode;
}

/** Connection refused, timed out, or the engine answered 5xx. */
export class EngineUnavailableError extends TerminalJobError {
  readonly code = 'engine_unavailable';
  override readonly name: string = 'EngineUnavailableError';
}

/** The engine refused the request (4xx): the same request would be refused again. */
export class EngineBadRequestError extends TerminalJobError {
  readonly code = 'bad_request';
  override readonly name: string = 'EngineBadRequestError';
  /** The engine's HTTP status; null when the worker itself refused the job. */
  readonly status: number | null;
  constructor(message: string, status: number | null = null) {
    super(message);
    this.status = status;
  }
}

export interface GeneratorRegistry {
  forJob(job: GenerationJob): Generator;
}

/** "extractive" runs here; every other model name goes to the engine, if one is configured. */
export function createGeneratorRegistry(backends: {
  extractive: Generator;
  engine: Generator | null;
}): GeneratorRegistry {
  return {
    forJob(job) {
      if (job.model === 'extractive') return backends.extractive;
      if (backends.engine) return backends.engine;
      throw new EngineUnavailableError(`no generation engine is configured for model ${job.model}`);
    },
  };
}
