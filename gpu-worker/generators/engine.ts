import { z } from 'zod';
import { estimateTokens } from '../../shared/core/prompt.ts';
import type { GenerationJob } from '../../shared/generation/messages.ts';
import type { AdapterCache } from '../adapter-cache.ts';
import { enginePost, statusError } from './engine-http.ts';
import { EngineBadRequestError, EngineUnavailableError, type Generation, type Generator } from './index.ts';
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

export function createEngineGenerator(options: { url: string; adapters: AdapterCache }): Generator {
  const endpoint = `${options.url}/v1/chat/completions`;

  async function relay(job: GenerationJob, model: string, onDelta: (text: string) => void, signal?: AbortSignal): Promise<Generation> {
    const res = await enginePost(
      endpoint,
      {
        model, messages: job.messages, max_tokens: job.maxTokens, temperature: job.temperature,
        stream: true, stream_options: { include_usage: true }, logprobs: job.logprobs,
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
      finishReason: finish === 'length' ? 'length' : 'stop',
      meanLogprob: logprobs.length > 0 ? logprobs.reduce((a, b) => a + b, 0) / logprobs.length : null,
      model: answeredBy,
    };
  }

  return {
    generate(job, onDelta, signal) {
      const adapter = job.adapter;
      if (!adapter) return relay(job, job.model, onDelta, signal);
      return options.adapters.use(adapter, async () => {
        try {
          return await relay(job, adapter.id, onDelta, signal);
        } catch (err) {
          // 404 before any token: the engine restarted and forgot its adapters. Load it again, once.
          if (!(err instanceof EngineBadRequestError && err.status === 404)) throw err;
          options.adapters.forget(adapter.id);
          await options.adapters.ensureLoaded(adapter);
          return relay(job, adapter.id, onDelta, signal);
        }
      });
    },
  };
}

function parse(data: string): z.infer<typeof ChunkSchema> {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    json = undefined;
  }
  const parsed = ChunkSchema.safeParse(json);
  if (!parsed.success) throw new EngineUnavailableError(`the generation engine sent a malformed stream chunk: ${data.slice(0, 200)}`);
  return parsed.data;
}
