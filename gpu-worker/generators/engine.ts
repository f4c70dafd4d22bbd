import { z } from 'zod';
import { estimateTokens } from '../../shared/core/prompt.ts';
import type { GenerationJob } from '../../shared/generation/messages.ts';
import type { AdapterCache } from '../adapter-cache.ts';
import { enginePost, statusError } from './engine-http.ts';
import {
  EngineBadRequestError,
  EngineUnavailableError,
  type Generation,
  type Generator,
  type PromptScore,
} from './index.ts';
import { sseData } from './sse.ts';

// Relay to an OpenAI-compatible engine (vLLM, LoRAX, …) on the GPU node. A job with
// a LoRA adapter names the adapter as the model, after the cache has loaded it.
const ChunkSchema = z.object({
  model: z.string().optional(),
  choices: z
    .array(
      z.object({
        delta: z.object({ content: z.string().nullish() }).nullish(),
        finish_reason: z.string().nullish(),
        logprobs: z.object({ content: z.array(z.object({ logprob: z.number() })).nullish() }).nullish(),
      }),
    )
    .default([]),
  usage: z.object({ prompt_tokens: z.number().int(), completion_tokens: z.number().int() }).nullish(),
  error: z.object({ code: z.number().optional() }).optional(),
});

/** vLLM's answer to a `prompt_logprobs` request: per prompt token (the first null) `{ "<token id>": { logprob, … } }`. */
const ScoredSchema = z.object({
  prompt_logprobs: z.array(z.record(z.string(), z.object({ logprob: z.number() })).nullable()),
  usage: z.object({ prompt_tokens: z.number().int() }).nullish(),
});

export function createEngineGenerator(options: { url: string; adapters: AdapterCache }): Generator {
  const endpoint = `${options.url}/v1/chat/completions`;

  async function relay(
    job: GenerationJob,
    model: string,
    onDelta: (text: string) => void,
    signal?: AbortSignal,
  ): Promise<Generation> {
    const res = await enginePost(
      endpoint,
      {
        model,
        messages: job.messages,
        max_tokens: job.maxTokens,
        temperature: job.temperature,
        stream: true,
        stream_options: { include_usage: true },
        logprobs: job.logprobs,
      },
      { signal },
    );
    let text = '';
    let finish: string | null = null;
    let usage: { prompt_tokens: number; completion_tokens: number } | null = null;
    let answeredBy = model;
    const logprobs: number[] = [];
    for await (const data of sseData(res.chunks())) {
      if (data.trim() === '[DONE]') break;
      const chunk = parse(data);
      // vLLM reports a failure after the stream has begun as one error chunk.
      if (chunk.error) throw statusError(chunk.error.code ?? 500, data);
      answeredBy = chunk.model ?? answeredBy;
      usage = chunk.usage ?? usage;
      const choice = chunk.choices[0];
      if (!choice) continue; // the usage chunk has no choices
      for (const t of choice.logprobs?.content ?? []) logprobs.push(t.logprob);
      if (choice.finish_reason) finish = choice.finish_reason;
      const delta = choice.delta?.content;
      if (delta) {
        text += delta;
        onDelta(delta);
      }
    }
    if (finish === null) throw new EngineUnavailableError('the generation engine ended the stream before finishing');
    return {
      text,
      usage: {
        promptTokens: usage?.prompt_tokens ?? estimateTokens(job.messages.map((m) => m.content).join('\n')),
        completionTokens: usage?.completion_tokens ?? (logprobs.length || estimateTokens(text)),
      },
      usageFromEngine: usage !== null,
      finishReason: finish === 'length' ? 'length' : 'stop',
      meanLogprob: logprobs.length > 0 ? logprobs.reduce((a, b) => a + b, 0) / logprobs.length : null,
      model: answeredBy,
    };
  }

  /**
   * vLLM's prompt scoring: the answer as an open final assistant turn (no end-of-turn token
   * after it), one token generated and ignored, and the log-prob of every prompt token.
   */
  async function scoreOne(
    model: string,
    messages: GenerationJob['messages'],
    answer: string,
    signal: AbortSignal,
  ): Promise<PromptScore> {
    const res = await enginePost(
      endpoint,
      {
        model,
        messages: [...messages, { role: 'assistant', content: answer }],
        max_tokens: 1,
        temperature: 0,
        stream: false,
        prompt_logprobs: 0,
        add_generation_prompt: false,
        continue_final_message: true,
        echo: false,
      },
      { signal },
    );
    const body = await res.text();
    const parsed = ScoredSchema.safeParse(parseJson(body));
    if (!parsed.success) throw new Error(`the generation engine sent no prompt_logprobs: ${body.slice(0, 200)}`);
    const tokenLogprobs: number[] = [];
    for (const [i, entry] of parsed.data.prompt_logprobs.entries()) {
      if (entry === null && i === 0) continue; // nothing precedes the first token
      const values = entry ? Object.values(entry) : [];
      // prompt_logprobs: 0 asks for the prompt token alone; anything else is not one we can attribute.
      if (values.length !== 1)
        throw new Error(`the generation engine sent ${values.length} log-probs for prompt token ${i}`);
      tokenLogprobs.push(values[0]!.logprob);
    }
    return { tokenLogprobs, promptTokens: parsed.data.usage?.prompt_tokens ?? parsed.data.prompt_logprobs.length };
  }

  /** Runs `fn` with the job's model name: the base model, or its LoRA adapter, loaded and pinned. */
  function withModel<T>(job: GenerationJob, fn: (model: string) => Promise<T>): Promise<T> {
    const adapter = job.adapter;
    if (!adapter) return fn(job.model);
    return options.adapters.use(adapter, async () => {
      try {
        return await fn(adapter.id);
      } catch (err) {
        // 404 before any token: the engine restarted and forgot its adapters. Load it again, once.
        if (!(err instanceof EngineBadRequestError && err.status === 404)) throw err;
        options.adapters.forget(adapter.id);
        await options.adapters.ensureLoaded(adapter);
        return fn(adapter.id);
      }
    });
  }

  return {
    generate(job, onDelta, signal) {
      return withModel(job, (model) => relay(job, model, onDelta, signal));
    },
    score(job, prompts, answer, signal) {
      return withModel(job, (model) => {
        // All at once, so the engine schedules them into one batch; the first failure cancels the rest.
        const giveUp = new AbortController();
        const each = signal ? AbortSignal.any([signal, giveUp.signal]) : giveUp.signal;
        return Promise.all(
          prompts.map((messages) =>
            scoreOne(model, messages, answer, each).catch((err: unknown) => {
              giveUp.abort();
              throw err;
            }),
          ),
        );
      });
    },
  };
}

/** JSON, or undefined for text that is not (the schema check then reports it). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parse(data: string): z.infer<typeof ChunkSchema> {
  const parsed = ChunkSchema.safeParse(parseJson(data));
  if (!parsed.success)
    throw new EngineUnavailableError(`the generation engine sent a malformed stream chunk: ${data.slice(0, 200)}`);
  return parsed.data;
}
