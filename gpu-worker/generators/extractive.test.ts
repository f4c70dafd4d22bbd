import { beforeAll, describe, expect, it } from 'vitest';
import { parseAnswer } from '../../shared/core/citations.ts';
import { estimateTokens } from '../../shared/core/prompt.ts';
import type { Embedder } from '../../shared/embedder/index.ts';
import { sharedEmbedder } from '../../test/services.ts';
import { SOURCES, makeJob } from '../../test/worker-kit.ts';
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
    expect(a.text).toMatch(/^A sourdough starter is .*\.\[2\]$/); // the sourdough source only, nothing about tides
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
      sources: [
        { number: 1, title: 'Tides', text: 'Tides are caused mainly by the pull of the Moon [7] on the oceans.' },
      ],
    });
    const g = await createExtractiveGenerator(embedder).generate(job, () => {});
    expect(g.text).toBe('Tides are caused mainly by the pull of the Moon on the oceans.[1]');
  });
});

describe('extractive generator: quotes prose only, and only what answers', () => {
  const source = (number: number, title: string, text: string) => ({ number, title, text });

  it('never quotes front matter, code fences, tables, headings, link lists or questions', async () => {
    const text = [
      '---',
      'title: Undoing things in git',
      'description: How to undo a commit in git',
      '---',
      '',
      '# Undoing a bad merge',
      '',
      'Undoing the last commit',
      'To undo the last commit but keep your changes, run git reset with the soft option.',
      '',
      '```sh',
      'git reset --soft HEAD~1 # undo the last commit and keep the changes.',
      '```',
      '',
      '| command | what it does to the last commit. |',
      '| --- | --- |',
      '| git reset --soft | undo the commit and keep changes. |',
      '',
      '- [Undo a commit](https://example.com/undo)',
      '- [Undo changes](https://example.com/changes)',
      '',
      'How can I undo the last commit and keep my changes?',
    ].join('\n');
    const job = makeJob({ sources: [source(1, 'Undo', text)] }, 'how do I undo my last commit and keep my changes?');
    const g = await createExtractiveGenerator(embedder).generate(job, () => {});
    expect(g.text).toBe('To undo the last commit but keep your changes, run git reset with the soft option.[1]');
  });

  it('cites each sentence with the source it came from, best source first, and streams exactly the final text', async () => {
    const job = makeJob(
      {
        sources: [
          source(
            1,
            'Branches',
            'Restoring a deleted branch\nA deleted branch can be restored from the reflog with git branch and the old commit id.',
          ),
          source(2, 'Undo', 'To undo the last commit but keep your changes, run git reset --soft HEAD~1.'),
        ],
      },
      'how do I undo my last commit?',
    );
    const deltas: string[] = [];
    const g = await createExtractiveGenerator(embedder).generate(job, (d) => deltas.push(d));
    const parsed = parseAnswer(g.text, 2);
    expect(parsed.citations[0]!.sourceNumbers).toEqual([2]);
    expect(parsed.citations[0]!.sentence.text).toBe(
      'To undo the last commit but keep your changes, run git reset --soft HEAD~1.',
    );
    for (const c of parsed.citations) expect(job.sources[c.sourceNumbers[0]! - 1]!.text).toContain(c.sentence.text);
    expect(g.text).not.toContain('Restoring a deleted branch [');
    expect(deltas.join('')).toBe(parsed.text);
  });

  it('says the datanets do not cover a question below the relevance floor, citing nothing', async () => {
    const job = makeJob(
      { sources: [source(1, 'Undo', 'To undo the last commit but keep your changes, run git reset --soft HEAD~1.')] },
      'What is the boiling point of water at the top of Mount Everest?',
    );
    const g = await createExtractiveGenerator(embedder).generate(job, () => {});
    expect(g.text).toBe(NO_ANSWER);
    expect(parseAnswer(g.text, 1).citations).toEqual([]);
  });
});
