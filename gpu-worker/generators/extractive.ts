import { contentTokens } from '../../shared/core/citations.ts';
import { estimateTokens } from '../../shared/core/prompt.ts';
import type { Embedder } from '../../shared/embedder/index.ts';
import type { Generator } from './index.ts';
import { proseSentences } from './prose.ts';

// The answer without an LLM, query-focused: the prose sentences of the sources (never front
// matter, code, tables, headings, link lists or questions: see prose.ts) ranked by relevance to
// the question — embedding similarity plus the share of the question's words they state, plus a
// little for retrieval's order — chosen
// greedily without repeating each other, each quoted verbatim with its source's marker, and no
// more once the question's words are covered. Below a relevance floor the answer says that the
// datanets do not cover the question and cites nothing (so no data fee is charged).
// Deterministic, CPU-only, and every claim is supported by construction.
export const NO_ANSWER = 'The datanets searched do not cover this question, so there is no answer to cite.';
const MAX_SENTENCES = 3;
/** Relevance = dense similarity + LEXICAL_WEIGHT × the idf-weighted share of question words stated. */
const LEXICAL_WEIGHT = 0.35;
/**
 * The relevance floor: USE-lite scores unrelated text ~0.0–0.2 (as SUPPORT_THRESHOLD notes) and
 * a sentence sharing no rare question word gets no lexical part. Below this nothing answers.
 */
const MIN_RELEVANCE = 0.42;
/** Each further sentence must come close to the best one, and must state a question word not yet stated. */
const RELATIVE_CUTOFF = 0.8;
/** A further sentence from a source not yet quoted must come closer still: each new source is one more use to pay. */
const NEW_SOURCE_CUTOFF = 0.92;
/** Retrieval's order counts too: the first source gets this much relevance more than the last. */
const RANK_PRIOR = 0.1;
/** Near-repeats of a sentence already chosen (cosine) add nothing. */
const MAX_REDUNDANCY = 0.85;

interface Candidate {
  number: number;
  text: string;
  words: Set<string>;
}

export function createExtractiveGenerator(embedder: Embedder): Generator {
  return {
    async generate(job, onDelta, signal) {
      const candidates = candidateSentences(job.sources);
      const vectors =
        candidates.length > 0 ? await embedder.embed([job.question, ...candidates.map((c) => c.text)]) : [];
      const picked = choose(job.question, vectors, candidates);
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

/**
 * Greedy query-focused selection. vectors[0] is the question; vectors[i + 1] belongs to
 * candidates[i]; all unit length. Returns the chosen sentences, best source first.
 */
function choose(question: string, vectors: Float32Array[], candidates: Candidate[]): Candidate[] {
  const [q, ...rest] = vectors;
  if (!q || candidates.length === 0) return [];
  const lexical = lexicalScorer(question, candidates);
  const lastRank = Math.max(1, ...candidates.map((c) => c.number)) - 1 || 1;
  const prior = (c: Candidate) => RANK_PRIOR * (1 - (c.number - 1) / lastRank);
  // The floor applies to what a sentence says (content), not to where its source ranked.
  const content = rest.map((v, i) => dot(q, v) + LEXICAL_WEIGHT * lexical.score(candidates[i]!));
  const relevance = content.map((r, i) => (r >= MIN_RELEVANCE ? r + prior(candidates[i]!) : -Infinity));
  const order = relevance.map((_, i) => i).sort((a, b) => relevance[b]! - relevance[a]! || a - b); // ties keep source order
  const best = order[0]!;
  if (relevance[best] === -Infinity) return [];
  const chosen = [best];
  const stated = new Set([...candidates[best]!.words].filter((w) => lexical.terms.has(w)));
  for (const i of order.slice(1)) {
    if (chosen.length >= MAX_SENTENCES || stated.size >= lexical.terms.size) break; // the question is covered
    if (relevance[i]! < RELATIVE_CUTOFF * relevance[best]!) break;
    const newSource = !chosen.some((j) => candidates[j]!.number === candidates[i]!.number);
    if (newSource && relevance[i]! < NEW_SOURCE_CUTOFF * relevance[best]!) continue;
    const adds = [...candidates[i]!.words].filter((w) => lexical.terms.has(w) && !stated.has(w));
    if (adds.length === 0) continue;
    if (chosen.some((j) => dot(rest[i]!, rest[j]!) >= MAX_REDUNDANCY)) continue;
    chosen.push(i);
    for (const w of adds) stated.add(w);
  }
  // Best source first: group by source, in the order each source's best sentence was chosen.
  const sourceOrder = [...new Set(chosen.map((i) => candidates[i]!.number))];
  return sourceOrder.flatMap((n) => chosen.filter((i) => candidates[i]!.number === n).map((i) => candidates[i]!));
}

/**
 * How much of the question a sentence states: the idf-weighted share of the question's content
 * words it contains, idf over the candidate sentences. `terms`: the question words some candidate states.
 */
function lexicalScorer(question: string, candidates: readonly Candidate[]) {
  const df = new Map<string, number>();
  for (const c of candidates) for (const w of c.words) df.set(w, (df.get(w) ?? 0) + 1);
  const idf = new Map<string, number>();
  for (const w of contentTokens(question)) if (df.has(w)) idf.set(w, Math.log(1 + candidates.length / df.get(w)!));
  const total = [...idf.values()].reduce((a, b) => a + b, 0);
  return {
    terms: new Set(idf.keys()),
    score(c: Candidate): number {
      if (total === 0) return 0;
      let s = 0;
      for (const [w, weight] of idf) if (c.words.has(w)) s += weight;
      return s / total;
    },
  };
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

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k]! * b[k]!;
  return s;
}
