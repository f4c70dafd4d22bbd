// The production fusion (core/document-ranking.ts rankDocuments, score method) re-stated for the
// lab with one more document list and a few aggregation/normalisation variants. With no options it
// ranks exactly as rankDocuments with the same settings (bench/lab/report.ts checks that first).
import type { Candidates, DocumentHit, IndexSettings } from '../../shared/core/document-ranking.ts';

export interface Variant {
  /** another document list and its weight (e.g. whole-document BM25) */
  extra?: { hits: DocumentHit[]; weight: number };
  /** a document's chunk-list score: best + Σ decay^i × its next chunks' (up to `depth` chunks) */
  decay?: number;
  depth?: number;
  /** CombMNZ: × (1 + lists that hold the document in their top 20)^mnz */
  mnz?: number;
  norm?: 'minmax' | 'top' | 'z';
}
type S = { id: string; score: number };
const sorted = (a: S[]) => a.sort((x, y) => y.score - x.score || (x.id < y.id ? -1 : 1));

export function rankVariant(c: Candidates, s: IndexSettings, v: Variant = {}): string[] {
  const info = (id: string) => c.chunks.get(id);
  const boiler = (id: string) => Math.max(1, info(id)?.copies ?? 1) ** -s.boilerplate;
  const length = (id: string) => Math.max(1, info(id)?.chunkCount ?? 1) ** -s.lengthPenalty;
  const chunkLists = [
    { w: s.weights.lexical, hits: c.lexical },
    ...c.dense.map((hits) => ({ w: s.weights.dense, hits })),
  ];
  const lists = chunkLists.map(({ w, hits }) => {
    const items = sorted(
      hits.filter((h) => info(h.chunkId)).map((h) => ({ id: h.chunkId, score: h.score * boiler(h.chunkId) })),
    );
    const acc = new Map<string, { score: number; n: number }>();
    for (const it of items) {
      const doc = info(it.id)!.documentId;
      const x = it.score * length(it.id);
      const a = acc.get(doc);
      if (!a) acc.set(doc, { score: x, n: 1 });
      else if (a.n < (v.depth ?? 3))
        acc.set(doc, { score: a.score + (v.decay === undefined ? s.evidence : v.decay ** a.n) * x, n: a.n + 1 });
    }
    return { w, items: sorted([...acc].map(([id, a]) => ({ id, score: a.score }))) };
  });
  lists.push({ w: s.weights.fields, items: c.fields.map((h) => ({ id: h.documentId, score: h.score })) });
  for (const l of c.docDense)
    lists.push({ w: s.weights.docDense, items: l.map((h) => ({ id: h.documentId, score: h.score })) });
  if (v.extra)
    lists.push({ w: v.extra.weight, items: v.extra.hits.map((h) => ({ id: h.documentId, score: h.score })) });
  const out = new Map<string, number>();
  const seen = new Map<string, number>();
  for (const { w, items } of lists) {
    if (w === 0 || items.length === 0) continue;
    const top = items[0]!.score;
    const bottom = items[items.length - 1]!.score;
    const mean = items.reduce((a, b) => a + b.score, 0) / items.length;
    const sd = Math.sqrt(items.reduce((a, b) => a + (b.score - mean) ** 2, 0) / items.length) || 1;
    items.forEach((it, i) => {
      const norm = v.norm ?? 'minmax';
      const x =
        norm === 'minmax'
          ? top > bottom
            ? (it.score - bottom) / (top - bottom)
            : 1
          : norm === 'top'
            ? it.score / top
            : Math.max(0, (it.score - mean) / sd);
      out.set(it.id, (out.get(it.id) ?? 0) + w * x);
      if (i < 20) seen.set(it.id, (seen.get(it.id) ?? 0) + 1);
    });
  }
  if (v.mnz) for (const [id, x] of out) out.set(id, x * (1 + (seen.get(id) ?? 0)) ** v.mnz);
  return [...out].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([id]) => id);
}
