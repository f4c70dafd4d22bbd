import { contentTokens } from '../../shared/core/citations.ts';
import { estimateTokens } from '../../shared/core/prompt.ts';
import type { Embedder } from '../../shared/embedder/index.ts';
import type { Generator } from './index.ts';
import { proseSentences } from './prose.ts';
import {
  DEFAULT_SELECTION,
  selectSentences,
  titleWords,
  type Candidate,
  type SelectionParams,
} from './sentence-selection.ts';

// The answer without an LLM, query-focused: the prose sentences of the sources (never front
// matter, code, tables, headings, link lists or questions: see prose.ts) ranked by relevance to
// the question — embedding similarity plus the share of the question's words they state, plus a
// little for retrieval's order and for how much of the question their source states as a whole
// (sentence-selection.ts) — chosen greedily without repeating each other, each quoted verbatim
// with its source's marker, and no more once the question's words are covered. Below a relevance floor the answer says that the
// datanets do not cover the question and cites nothing (so no data fee is charged).
// Deterministic, CPU-only, and every claim is supported by construction.
export const NO_ANSWER = 'The datanets searched do not cover this question, so there is no answer to cite.';

export function createExtractiveGenerator(
  embedder: Embedder,
  selection: SelectionParams = DEFAULT_SELECTION,
): Generator {
  return {
    async generate(job, onDelta, signal) {
      const candidates = candidateSentences(job.sources);
      const titles = selection.titleSimilarity !== 0 ? job.sources.map((s) => titleWords(s.title)) : [];
      const [q, ...rest] =
        candidates.length > 0 ? await embedder.embed([job.question, ...candidates.map((c) => c.text), ...titles]) : [];
      const picked = q
        ? selectSentences(
            job.question,
            q,
            candidates,
            rest.slice(0, candidates.length),
            job.sources,
            rest.slice(candidates.length),
            selection,
          )
        : [];
      const { text, finishReason } = compose(
        picked.length > 0 ? picked : [{ text: NO_ANSWER, number: null }],
        job.maxTokens,
        onDelta,
        signal,
      );
      return {
        text,
        usage: {
          promptTokens: estimateTokens(job.messages.map((m) => m.content).join('\n')),
          completionTokens: estimateTokens(text),
        },
        finishReason,
        meanLogprob: null,
        model: 'extractive',
      };
    },
  };
}

function candidateSentences(sources: readonly { number: number; text: string }[]): Candidate[] {
  const seen = new Set<string>(); // a sentence repeated across sources is offered once, from the best-ranked source
  const out: Candidate[] = [];
  for (const s of sources)
    for (const text of proseSentences(s.text)) {
      if (seen.has(text)) continue;
      seen.add(text);
      out.push({ number: s.number, text, words: contentTokens(text) });
    }
  return out;
}

/** The sentences with their markers, one delta each, within maxTokens. */
function compose(
  pieces: { text: string; number: number | null }[],
  maxTokens: number,
  onDelta: (text: string) => void,
  signal?: AbortSignal,
) {
  let text = '';
  for (const { text: sentence, number } of pieces) {
    signal?.throwIfAborted();
    const sep = text === '' ? '' : ' ';
    const next = sep + withMarker(sentence, number);
    if (estimateTokens(text + next) <= maxTokens) {
      text += next;
      onDelta(next);
      continue;
    }
    // Over budget: like an LLM hitting max_tokens, keep the words that fit, then stop.
    const words = sentence.split(/(?=\s)/);
    for (let n = words.length - 1; n > 0; n--) {
      const cut = sep + withMarker(words.slice(0, n).join(''), number);
      if (estimateTokens(text + cut) > maxTokens) continue;
      text += cut;
      onDelta(cut);
      break;
    }
    return { text, finishReason: 'length' as const };
  }
  return { text, finishReason: 'stop' as const };
}

/** parseAnswer's canonical form ("…France.[1]", "…Paris [1]"), so the streamed text is the text the API shows. */
function withMarker(sentence: string, number: number | null): string {
  if (number === null) return sentence;
  return `${sentence}${/[.!?…。！？"'”’»)）]$/u.test(sentence) ? '' : ' '}[${number}]`;
}
