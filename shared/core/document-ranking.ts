import type { RelevanceFloor } from './relevance-floor.ts';

// Document-level ranking for retrieval, pure. The retrievers give chunk lists (BM25, dense per
// model) and document lists (BM25 over title/summary/headings, a vector per document); chunks
// whose text recurs in many documents are down-weighted as boilerplate, every chunk list is
// collapsed to its documents, and the lists are fused with per-datanet weights. Each document
// keeps its own chunks, best first, so the caller returns the best passage(s) per document.

export interface FusionWeights {
  lexical: number;
  dense: number;
  fields: number;
  docDense: number;
}

export interface IndexSettings {
  weights: FusionWeights;
  /** 'rrf': Σ w / (k + rank); 'score': Σ w · score normalised within its list */
  method: 'rrf' | 'score';
  rrfK: number;
  /** a chunk whose text is in n documents weighs n^-boilerplate (0 = off) */
  boilerplate: number;
  /** a document's chunk-list score is its best chunk's × chunkCount^-lengthPenalty */
  lengthPenalty: number;
  /** plus this share of its next two chunks' scores (several passages on the subject) */
  evidence: number;
  /**
   * adaptive fusion: a document list whose top documents stand out from the rest (its best
   * normalised score far above its fifth) weighs up to (1 + adaptive)×; a flat list, 1× (0 = off)
   */
  adaptive: number;
  /** sources returned per document unless the request asks otherwise */
  perDocument: number;
  /** no document below it is returned (see relevance-floor.ts) */
  floor: RelevanceFloor;
}

/**
 * Learned on the dev halves of the quality bench's two corpora together (git manual, SOTU
 * 1961–2000; npm run bench:quality prints them as "pooled dev"); the test halves never tuned.
 */
export const DEFAULT_INDEX_SETTINGS: IndexSettings = {
  weights: { lexical: 3, dense: 1.5, fields: 1.5, docDense: 1 },
  method: 'score',
  rrfK: 60,
  boilerplate: 2,
  lengthPenalty: 0.05,
  evidence: 0,
  adaptive: 0,
  perDocument: 1,
  // Set on the git dev candidates (bench/fit-ranking.ts keeps every dev gold document of the top 5):
  // a gold document in the top 5 scored ≥ 0.63 of the best, its nearest passage ≥ 0.38 cosine.
  floor: { relative: 0.4, similarity: 0.3 },
};

/** Stored settings (a datanet's index_settings jsonb) over the defaults; unknown or bad values are ignored. */
export function resolveIndexSettings(stored: unknown): IndexSettings {
  const s = (stored && typeof stored === 'object' ? stored : {}) as Record<string, unknown>;
  const w = (s.weights && typeof s.weights === 'object' ? s.weights : {}) as Record<string, unknown>;
  const f = (s.floor && typeof s.floor === 'object' ? s.floor : {}) as Record<string, unknown>;
  const num = (v: unknown, fallback: number, min = 0) =>
    typeof v === 'number' && Number.isFinite(v) && v >= min ? v : fallback;
  const d = DEFAULT_INDEX_SETTINGS;
  return {
    weights: {
      lexical: num(w.lexical, d.weights.lexical),
      dense: num(w.dense, d.weights.dense),
      fields: num(w.fields, d.weights.fields),
      docDense: num(w.docDense, d.weights.docDense),
    },
    method: s.method === 'score' || s.method === 'rrf' ? s.method : d.method,
    rrfK: num(s.rrfK, d.rrfK, 1),
    boilerplate: num(s.boilerplate, d.boilerplate),
    lengthPenalty: num(s.lengthPenalty, d.lengthPenalty),
    evidence: num(s.evidence, d.evidence),
    adaptive: num(s.adaptive, d.adaptive),
    perDocument: Math.max(1, Math.floor(num(s.perDocument, d.perDocument, 1))),
    floor: {
      relative: Math.min(1, num(f.relative, d.floor.relative)),
      similarity: Math.min(1, num(f.similarity, d.floor.similarity)),
    },
  };
}

export interface ChunkHit {
  chunkId: string;
  score: number;
}

export interface DocumentHit {
  documentId: string;
  score: number;
}

export interface ChunkInfo {
  documentId: string;
  /** live documents of the datanet holding this exact text (1 = only this one) */
  copies: number;
  /** chunks in the chunk's document */
  chunkCount: number;
}

export interface Candidates {
  lexical: ChunkHit[];
  /** one list per embedding model */
  dense: ChunkHit[][];
  fields: DocumentHit[];
  /** one list per embedding model */
  docDense: DocumentHit[][];
  chunks: ReadonlyMap<string, ChunkInfo>;
}

export interface RankedChunk {
  chunkId: string;
  /** fused chunk score, for ordering passages within a document */
  score: number;
  /** 1-based ranks in the chunk lists that held it (original order, before down-weighting) */
  ranks: Record<string, number>;
}

export interface RankedDocument {
  documentId: string;
  /** fused score over its maximum: 1 = ranked first by every list */
  score: number;
  /** candidate chunks of this document, best first (may be empty when only document lists found it) */
  chunks: RankedChunk[];
  /** best cosine similarity of its passages or document vector to the query; null when no dense list held it */
  similarity: number | null;
}

interface Scored {
  id: string;
  score: number;
}
interface WeightedList {
  weight: number;
  items: Scored[]; // best first
}

export function rankDocuments(c: Candidates, settings: IndexSettings): RankedDocument[] {
  const { weights } = settings;
  const info = (id: string) => c.chunks.get(id);
  const boiler = (id: string) => Math.max(1, info(id)?.copies ?? 1) ** -settings.boilerplate;
  const length = (id: string) => Math.max(1, info(id)?.chunkCount ?? 1) ** -settings.lengthPenalty;

  // Chunk lists, down-weighted and re-sorted; chunks unknown to `chunks` were deleted meanwhile.
  const chunkLists: { name: string; weight: number; hits: ChunkHit[] }[] = [
    { name: 'lexical', weight: weights.lexical, hits: c.lexical },
    ...c.dense.map((hits, i) => ({ name: c.dense.length === 1 ? 'dense' : `dense${i}`, weight: weights.dense, hits })),
  ];
  const ranks = new Map<string, Record<string, number>>();
  const adjusted = chunkLists.map(({ name, weight, hits }) => {
    hits.forEach((h, i) => {
      const r = ranks.get(h.chunkId) ?? {};
      r[name] ??= i + 1;
      ranks.set(h.chunkId, r);
    });
    const items = hits
      .filter((h) => info(h.chunkId))
      .map((h) => ({ id: h.chunkId, score: h.score * boiler(h.chunkId) }));
    return { weight, items: sortScored(items) };
  });

  // Chunk fusion orders passages within a document.
  const chunkScore = fuse(adjusted, settings);

  // Each chunk list collapsed to documents: a document scores as its best chunk plus a share of
  // its next two (items are sorted, so a document's chunks arrive best first), length-penalised.
  const docLists: WeightedList[] = adjusted.map(({ weight, items }) => {
    const acc = new Map<string, { score: number; n: number }>();
    for (const it of items) {
      const doc = info(it.id)!.documentId;
      const a = acc.get(doc);
      if (!a) acc.set(doc, { score: it.score * length(it.id), n: 1 });
      else if (a.n < 3) acc.set(doc, { score: a.score + settings.evidence * it.score * length(it.id), n: a.n + 1 });
    }
    return { weight, items: sortScored([...acc].map(([id, a]) => ({ id, score: a.score }))) };
  });
  docLists.push({ weight: weights.fields, items: c.fields.map((h) => ({ id: h.documentId, score: h.score })) });
  for (const list of c.docDense)
    docLists.push({ weight: weights.docDense, items: list.map((h) => ({ id: h.documentId, score: h.score })) });

  // Adaptive fusion: each list's weight for this query grows with how clearly its top stands out.
  const weighted =
    settings.adaptive > 0
      ? docLists.map((l) => ({ ...l, weight: l.weight * (1 + settings.adaptive * peak(l.items)) }))
      : docLists;
  const docScore = fuse(weighted, settings);
  const similarity = new Map<string, number>();
  const seen = (doc: string, sim: number) => similarity.set(doc, Math.max(sim, similarity.get(doc) ?? -1));
  for (const hits of c.dense) for (const h of hits) if (info(h.chunkId)) seen(info(h.chunkId)!.documentId, h.score);
  for (const hits of c.docDense) for (const h of hits) seen(h.documentId, h.score);
  const max = maxScore(weighted, settings);
  const byDoc = new Map<string, RankedChunk[]>();
  for (const [id, score] of chunkScore) {
    const doc = info(id)!.documentId;
    const list = byDoc.get(doc) ?? [];
    list.push({ chunkId: id, score, ranks: ranks.get(id) ?? {} });
    byDoc.set(doc, list);
  }
  return [...docScore]
    .map(([documentId, score]) => ({
      documentId,
      score: max > 0 ? Math.min(1, score / max) : 0,
      chunks: (byDoc.get(documentId) ?? []).sort((a, b) => b.score - a.score || (a.chunkId < b.chunkId ? -1 : 1)),
      similarity: similarity.get(documentId) ?? null,
    }))
    .sort((a, b) => b.score - a.score || (a.documentId < b.documentId ? -1 : 1));
}

/** How far a list's best item stands above its fifth, in [0, 1] of the best score (0 for short or flat lists). */
function peak(items: readonly Scored[]): number {
  if (items.length < 2) return 0;
  const top = items[0]!.score;
  const fifth = items[Math.min(4, items.length - 1)]!.score;
  return top > 0 ? Math.max(0, Math.min(1, (top - fifth) / top)) : 0;
}

function sortScored(items: Scored[]): Scored[] {
  return items.sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
}

/** Weighted fusion of ranked lists: reciprocal rank, or scores normalised within each list. */
function fuse(lists: readonly WeightedList[], settings: IndexSettings): Map<string, number> {
  const out = new Map<string, number>();
  for (const { weight, items } of lists) {
    if (weight === 0 || items.length === 0) continue;
    const top = items[0]!.score;
    const bottom = items[items.length - 1]!.score;
    items.forEach((it, i) => {
      const part =
        settings.method === 'rrf'
          ? weight / (settings.rrfK + i + 1)
          : weight * (top > bottom ? (it.score - bottom) / (top - bottom) : 1);
      out.set(it.id, (out.get(it.id) ?? 0) + part);
    });
  }
  return out;
}

/** The fused score of an item ranked first by every non-empty list. */
function maxScore(lists: readonly WeightedList[], settings: IndexSettings): number {
  return lists
    .filter((l) => l.items.length > 0)
    .reduce((sum, l) => sum + (settings.method === 'rrf' ? l.weight / (settings.rrfK + 1) : l.weight), 0);
}
