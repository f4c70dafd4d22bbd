// Reciprocal rank fusion (Cormack et al. 2009): score = Σ weight / (k + rank).
// Robust to the different scales of cosine similarity and ts_rank.

export interface RankedList {
  name: string;
  ids: readonly string[]; // best first
  weight?: number;
}

export interface FusedResult {
  id: string;
  score: number;
  ranks: Record<string, number>; // 1-based rank in each list that contained the id
}

export const RRF_K = 60;

export function reciprocalRankFusion(lists: readonly RankedList[], k = RRF_K): FusedResult[] {
  const byId = new Map<string, FusedResult>();
  for (const list of lists) {
    const weight = list.weight ?? 1;
    list.ids.forEach((id, index) => {
      const rank = index + 1;
      let r = byId.get(id);
      if (!r) byId.set(id, (r = { id, score: 0, ranks: {} }));
      if (r.ranks[list.name] !== undefined) return; // a list names an id once; keep its best rank
      r.ranks[list.name] = rank;
      r.score += weight / (k + rank);
    });
  }
  // Stable tie-break on id keeps results deterministic across runs.
  return [...byId.values()].sort((a, b) => b.score - a.score || (a.id < b.id ? -1 : 1));
}
