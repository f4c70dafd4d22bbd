import { withoutSource } from '../shared/core/prompt.ts';
import type { CausalSignal, GenerationJob } from '../shared/generation/messages.ts';
import type { Logger } from '../shared/logger.ts';
import type { Generation, Generator, PromptScore } from './generators/index.ts';

// The optional causal attribution signal: leave-one-out. The finished answer is scored
// under the full prompt and under the prompt with each source removed (the others keep
// their numbers, so the answer's [n] markers still name the same text) — n + 1 prompts
// in one batched pass. Source i matters as much as the answer's log-probability drops
// without it. An extra: a failure here leaves the answer without it, never fails it.

export interface CausalOptions {
  logger: Logger;
  now: () => number;
  signal?: AbortSignal;
}

/** The signal for a job that asked for it; null when the backend cannot score or scoring failed. */
export async function causalSignal(
  generator: Generator,
  job: GenerationJob,
  answer: Generation,
  options: CausalOptions,
): Promise<CausalSignal | null> {
  const score = generator.score?.bind(generator);
  if (!score) return null; // no log-probabilities (extractive)
  try {
    return await leaveOneOut(score, job, answer, options);
  } catch (err) {
    if (options.signal?.aborted) throw err; // stopping in a hurry: the job is released like any other
    options.logger.warn('causal signal failed; the answer goes without it', {
      jobId: job.jobId,
      error: err instanceof Error ? err.message : String(err),
    });
    return null;
  }
}

export async function leaveOneOut(
  score: NonNullable<Generator['score']>,
  job: GenerationJob,
  answer: Generation,
  { now, signal }: Pick<CausalOptions, 'now' | 'signal'>,
): Promise<CausalSignal> {
  if (answer.text.trim() === '') throw new Error('the answer is empty: nothing to score');
  const { sources } = job;
  if (sources.some((s, i) => s.number !== i + 1)) throw new Error('the sources are not numbered 1..n');
  const ablated = sources.map((s) => {
    const prompt = withoutSource(job.messages, job.question, sources, s.number);
    if (!prompt) throw new Error('the prompt was not built from the job’s sources; cannot leave one out');
    return prompt;
  });
  const began = now();
  const scores = await score(job, [job.messages, ...ablated], answer.text, signal);
  const ms = now() - began;
  const [full, ...without] = scores;
  if (!full || without.length !== sources.length)
    throw new Error(`expected ${sources.length + 1} scores, got ${scores.length}`);
  const tokens = answerTokenCount(answer, full.promptTokens);
  return {
    method: 'leave-one-out',
    answerLogprob: sumLast(full, tokens),
    withoutSource: without.map((s) => sumLast(s, tokens)),
    promptTokens: scores.reduce((a, s) => a + s.promptTokens, 0),
    ms,
  };
}

/**
 * How many of the scored prompt's trailing tokens are the answer; the same count is
 * summed under every prompt, so they stay comparable.
 *
 * The scoring prompt is the generation prompt followed by the answer left open (vLLM's
 * `continue_final_message`: no end-of-turn token after it). So when the engine counted
 * the generation's prompt, the answer is the difference — its tokens as re-tokenised in
 * place. That is capped at the generation's completion tokens, which are the answer's
 * tokens as sampled (plus the end-of-sequence token when it stopped, which the scoring
 * prompt does not contain): the cap keeps out template tokens a chat template may put
 * around a final assistant message (an empty "think" block, say). When the engine
 * reported no usage, the completion tokens alone.
 */
export function answerTokenCount(answer: Generation, scoredPromptTokens: number): number {
  const completion = answer.usage.completionTokens;
  const appended = scoredPromptTokens - answer.usage.promptTokens;
  const count = answer.usageFromEngine && appended > 0 ? Math.min(appended, completion) : completion;
  if (count < 1) throw new Error('the answer has no tokens to score');
  return count;
}

/** Sum of the last `count` token log-probs (all of them if the prompt is shorter). */
function sumLast(score: PromptScore, count: number): number {
  return score.tokenLogprobs.slice(-count).reduce((a, b) => a + b, 0);
}
