import type { IndexSettings } from '../../shared/core/document-ranking.ts';
import type { Services } from '../../shared/services/container.ts';
import type { Principal } from '../../shared/services/api-keys.ts';
import { addDocument } from '../../shared/services/documents.ts';
import { retrieve } from '../../shared/services/retrieval.ts';
import type { CorpusDocument, GoldQuestion } from '../corpora/corpus.ts';

export interface QualityReport {
  questions: number;
  recallAt1: number;
  recallAt5: number;
  recallAt10: number;
  mrr: number;
  misses: { question: string; gold: string[]; top: string[] }[];
}

/** Ingest a corpus into one datanet; returns corpus id → document id. */
export async function ingestCorpus(
  services: Services,
  owner: Principal,
  datanetId: string,
  docs: readonly CorpusDocument[],
) {
  const ids = new Map<string, string>();
  for (const doc of docs) {
    const { document } = await addDocument(services, owner, datanetId, {
      title: doc.title,
      contentType: doc.contentType ?? 'text/plain',
      content: new TextEncoder().encode(doc.text),
      metadata: { ...doc.metadata, corpusId: doc.id },
    });
    ids.set(doc.id, document.id);
  }
  return ids;
}

/** 1-based rank of the first gold document in a ranked list of distinct documents; 0 when absent. */
export function goldRank(rankedDocs: readonly string[], gold: readonly string[]): number {
  return rankedDocs.findIndex((d) => gold.includes(d)) + 1;
}

/** Distinct documents in first-seen order: a document ranks where its best chunk does. */
export function collapseToDocuments(chunkDocs: Iterable<string>): string[] {
  return [...new Set(chunkDocs)];
}

export interface RankMetrics {
  questions: number;
  recallAt1: number;
  recallAt5: number;
  recallAt10: number;
  /** reciprocal rank of the first gold document, 0 past rank 10 */
  mrr: number;
}

/** Document-level recall@1/5/10 and MRR@10 from each question's gold rank (0 = not found). */
export function rankMetrics(ranks: readonly number[]): RankMetrics {
  const n = ranks.length;
  const share = (ok: (r: number) => boolean) => (n === 0 ? 0 : ranks.filter(ok).length / n);
  return {
    questions: n,
    recallAt1: share((r) => r === 1),
    recallAt5: share((r) => r >= 1 && r <= 5),
    recallAt10: share((r) => r >= 1 && r <= 10),
    mrr: n === 0 ? 0 : ranks.reduce((sum, r) => sum + (r >= 1 && r <= 10 ? 1 / r : 0), 0) / n,
  };
}

/** Document-level recall@k and MRR of the default retrieve() (top 10 chunks): a question is answered when any gold document appears. */
export async function evaluate(
  services: Services,
  datanetId: string,
  questions: readonly GoldQuestion[],
): Promise<QualityReport> {
  const ranks: number[] = [];
  const misses: QualityReport['misses'] = [];
  for (const q of questions) {
    const sources = await retrieve(services, { query: q.question, datanetIds: [datanetId], topK: 10 });
    const docs = collapseToDocuments(sources.map((s) => String(s.metadata.corpusId)));
    const rank = goldRank(docs, q.gold);
    ranks.push(rank);
    if (rank === 0 || rank > 5) misses.push({ question: q.question, gold: q.gold, top: docs.slice(0, 5) });
  }
  return { ...rankMetrics(ranks), misses };
}

/** Values tried for each setting by `learnSettings`. */
export const SETTINGS_GRID = {
  weight: [0, 0.25, 0.5, 1, 1.5, 2, 3],
  rrfK: [5, 10, 20, 30, 60, 100],
  boilerplate: [0, 0.5, 1, 2],
  lengthPenalty: [0, 0.05, 0.1, 0.2, 0.3],
  evidence: [0, 0.1, 0.25, 0.5, 1],
  adaptive: [0, 0.5, 1, 2, 4],
};

/**
 * Coordinate ascent over the settings grid, from `start`, for each fusion method: change one
 * setting at a time to its best value, until a full pass changes nothing. Ties keep the current value.
 */
export function learnSettings(
  objective: (s: IndexSettings) => number,
  start: IndexSettings,
): { settings: IndexSettings; objective: number } {
  let best = { settings: start, objective: objective(start) };
  for (const method of ['rrf', 'score'] as const) {
    let current = { ...start, weights: { ...start.weights }, method };
    let value = objective(current);
    for (let pass = 0; pass < 5; pass++) {
      let changed = false;
      const variants: ((v: number) => IndexSettings)[] = [
        ...(['lexical', 'dense', 'fields', 'docDense'] as const).map((w) => (v: number) => ({
          ...current,
          weights: { ...current.weights, [w]: v },
        })),
        ...(method === 'rrf' ? [(v: number) => ({ ...current, rrfK: v })] : []),
        (v: number) => ({ ...current, boilerplate: v }),
        (v: number) => ({ ...current, lengthPenalty: v }),
        (v: number) => ({ ...current, evidence: v }),
        (v: number) => ({ ...current, adaptive: v }),
      ];
      const grids = [
        ...Array(4).fill(SETTINGS_GRID.weight),
        ...(method === 'rrf' ? [SETTINGS_GRID.rrfK] : []),
        SETTINGS_GRID.boilerplate,
        SETTINGS_GRID.lengthPenalty,
        SETTINGS_GRID.evidence,
        SETTINGS_GRID.adaptive,
      ] as number[][];
      variants.forEach((make, i) => {
        for (const v of grids[i]!) {
          const candidate = make(v);
          const o = objective(candidate);
          if (o > value + 1e-9) {
            value = o;
            current = candidate;
            changed = true;
          }
        }
      });
      if (!changed) break;
    }
    if (value > best.objective + 1e-9) best = { settings: current, objective: value };
  }
  return best;
}
