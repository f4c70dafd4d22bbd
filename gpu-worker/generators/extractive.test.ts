import { beforeAll, describe, expect, it } from 'vitest';
import { parseAnswer } from '../../shared/core/citations.ts';
import { estimateTokens } from '../../shared/core/prompt.ts';
import type { Embedder } from '../../shared/embedder/index.ts';
import { sharedEmbedder } from '../../test/services.ts';
import { SOURCES, makeJob } from '../test-kit.ts';
import { NO_ANSWER, createExtractiveGenerator } from './extractive.ts';

let embedder: Embedder;
beforeAll(async () => {
  embedder = await sharedEmbedder();
});

describe('extractive generator (real USE-lite embeddings)', () => {
  it('quotes the sentences that answer the question, each with its source marker, streamed one per delta', async () => {
    const job = makeJob();
    const deltas: string[] = [];
    const g = await createExtractiveGenerator(embedder).generate(job, (d) => deltas.push(d));
    const parsed = parseAnswer(g.text, job.sources.length);
    expect(parsed.invalid).toEqual([]);
    expect(parsed.citations.length).toBeGreaterThan(0);
    expect(parsed.citations.length).toBeLessThanOrEqual(4);
    // The tides question is answered from the tides source, first and verbatim.
    expect(parsed.citations[0]!.sourceNumbers).toEqual([1]);
    expect(SOURCES[0]!.text).toContain(parsed.citations[0]!.sentence.text);
    for (const c of parsed.citations) expect(SOURCES[c.sourceNumbers[0]! - 1]!.text).toContain(c.sentence.text);
    expect(deltas.join('')).toBe(g.text);
    expect(deltas.length).toBe(parsed.citations.length);
    expect(parsed.text).toBe(g.text); // already in the API's canonical form: what streams is what it shows
    expect(g).toMatchObject({ model: 'extractive', finishReason: 'stop', meanLogprob: null });
    expect(g.usage.completionTokens).toBe(estimateTokens(g.text));
    expect(g.usage.promptTokens).toBe(estimateTokens(job.messages.map((m) => m.content).join('\n')));
  });

  it('is deterministic', async () => {
    const job = makeJob({}, 'How do I keep a sourdough starter alive?');
    const gen = createExtractiveGenerator(embedder);
    const a = await gen.generate(job, () => {});
    const b = await gen.generate(job, () => {});
    expect(a.text).toBe(b.text);
    expect(a.text).toMatch(/starter every day.*\[2\]/);
  });

  it('says the sources have no answer, without markers, when nothing is relevant', async () => {
    const gen = createExtractiveGenerator(embedder);
    const unrelated = await gen.generate(makeJob({}, 'Who won the 1998 football world cup?'), () => {});
    expect(unrelated.text).toBe(NO_ANSWER);
    expect(unrelated.finishReason).toBe('stop');
    expect((await gen.generate(makeJob({ sources: [] }), () => {})).text).toBe(NO_ANSWER);
  });

  it('stops at maxTokens like an LLM, keeping the marker of the cut sentence', async () => {
    const job = makeJob({ maxTokens: 12 });
    const g = await createExtractiveGenerator(embedder).generate(job, () => {});
    expect(g.finishReason).toBe('length');
    expect(estimateTokens(g.text)).toBeLessThanOrEqual(12);
    expect(g.text).toMatch(/^Tides [^.]* \[1\]$/); // cut inside the sentence: marker after a word
  });

  it('drops citation markers that were part of the source text', async () => {
    const job = makeJob({
      sources: [{ number: 1, title: 'Tides', text: 'Tides are caused mainly by the pull of the Moon [7] on the oceans.' }],
    });
    const g = await createExtractiveGenerator(embedder).generate(job, () => {});
    expect(g.text).toBe('Tides are caused mainly by the pull of the Moon on the oceans.[1]');
  });
});
