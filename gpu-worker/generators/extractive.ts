import { markerPattern } from '../../shared/core/citation-markers.ts';
import { splitSentences } from '../../shared/core/sentences.ts';
import { estimateTokens } from '../../shared/core/prompt.ts';
import type { Embedder } from '../../shared/embedder/index.ts';
import type { Generator } from './index.ts';

// The answer without an LLM: the source sentences closest to the question, chosen by
// maximal marginal relevance so they do not repeat each other, each quoted verbatim
// with its source marker. Deterministic, CPU-only, and every claim is supported by
// construction — the default when no engine is configured.
export const NO_ANSWER = 'The provided sources do not contain an answer to this question.';
const MAX_SENTENCES = 4;
const LAMBDA = 0.7; // relevance vs. novelty
/** USE-lite scores unrelated text ~0.0–0.2 (as SUPPORT_THRESHOLD notes): below this a sentence answers nothing. */
const MIN_SIMILARITY = 0.3;
/** Far below the best match a sentence is filler that MMR's novelty term would otherwise favour. */
const RELATIVE_CUTOFF = 0.75;
/** Headings and list labels ("Baking", "Step two") carry no answer. */
const MIN_WORDS = 4;

interface Candidate {
  number: number;
  text: string;
}

export function createExtractiveGenerator(embedder: Embedder): Generator {
  return {
    async generate(job, onDelta, signal) {
      const candidates = candidateSentences(job.sources);
      const vectors = candidates.length > 0 ? await embedder.embed([job.question, ...candidates.map((c) => c.text)]) : [];
      const picked = mmr(vectors, candidates);
      const { text, finishReason } = compose(picked.length > 0 ? picked : [{ text: NO_ANSWER, number: null }], job.maxTokens, onDelta, signal);
      return {
        text,
        usage: { promptTokens: estimateTokens(job.messages.map((m) => m.content).join('\n')), completionTokens: estimateTokens(text) },
        finishReason,
        meanLogprob: null,
        model: 'extractive',
      };
    },
  };
}

function candidateSentences(sources: readonly { number: number; text: string }[]): Candidate[] {
  const seen = new Set<string>(); // a sentence repeated across sources is offered once
  return sources
    .flatMap((s) => splitSentences(s.text).map((x) => ({ number: s.number, text: clean(x.text) })))
    .filter((c) => (c.text.match(/\S+/g)?.length ?? 0) >= MIN_WORDS && !seen.has(c.text) && seen.add(c.text));
}

/** The sentences with their markers, one delta each, within maxTokens. */
function compose(pieces: { text: string; number: number | null }[], maxTokens: number, onDelta: (text: string) => void, signal?: AbortSignal) {
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

/** Markers inside a source ("as shown in [3]") would be read as citations of our own numbering. */
function clean(sentence: string): string {
  return sentence.replace(markerPattern(), '').replace(/\s+/g, ' ').replace(/\s+(?=[.,;:!?])/g, '').trim();
}

/** vectors[0] is the question; vectors[i + 1] belongs to candidates[i]. All unit length. */
function mmr(vectors: Float32Array[], candidates: Candidate[]): Candidate[] {
  const [question, ...rest] = vectors;
  if (!question) return [];
  const relevance = rest.map((v) => dot(question, v));
  const floor = Math.max(MIN_SIMILARITY, RELATIVE_CUTOFF * Math.max(...relevance));
  const chosen: number[] = [];
  while (chosen.length < MAX_SENTENCES) {
    let best = -1;
    let bestScore = -Infinity;
    relevance.forEach((rel, i) => {
      if (rel < floor || chosen.includes(i)) return;
      const redundancy = Math.max(0, ...chosen.map((j) => dot(rest[i]!, rest[j]!)));
      const score = LAMBDA * rel - (1 - LAMBDA) * redundancy;
      if (score > bestScore) [best, bestScore] = [i, score]; // strict: ties keep source order
    });
    if (best < 0) break;
    chosen.push(best);
  }
  return chosen.map((i) => candidates[i]!);
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k]! * b[k]!;
  return s;
}
