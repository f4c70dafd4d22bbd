// Copies must not multiply payouts: sources with the same content (content hash and span)
// or near-identical embeddings form one group whose canonical member is the earliest upload.

/** Cosine similarity above which two passages count as the same text (USE-lite: rewordings sit well below). */
export const NEAR_DUPLICATE_COSINE = 0.97;

export interface DuplicateCandidate {
  /** content hash of the source document plus the passage span */
  contentKey: string;
  /** unit-length embedding of the passage, when known */
  vector: readonly number[] | null;
  /** the embedding model of `vector`: vectors of different models are never compared */
  model?: string;
  /** upload time (ms) — earlier wins; ties go to the lower documentId */
  uploadedAt: number;
  documentId: string;
}

/** For each source, the index of the earliest upload it duplicates (null when it is the first). */
export function findNearDuplicates(
  items: readonly DuplicateCandidate[],
  threshold = NEAR_DUPLICATE_COSINE,
): (number | null)[] {
  const parent = items.map((_, i) => i);
  const root = (i: number): number => (parent[i] === i ? i : (parent[i] = root(parent[i]!)));
  const earlier = (a: number, b: number) => {
    const x = items[a]!;
    const y = items[b]!;
    return x.uploadedAt !== y.uploadedAt ? x.uploadedAt < y.uploadedAt : x.documentId < y.documentId;
  };
  for (let i = 0; i < items.length; i++) {
    for (let j = i + 1; j < items.length; j++) {
      if (items[i]!.documentId === items[j]!.documentId) continue; // two passages of one document are not copies
      if (!isSame(items[i]!, items[j]!, threshold)) continue;
      const [a, b] = [root(i), root(j)];
      if (a === b) continue;
      if (earlier(a, b)) parent[b] = a;
      else parent[a] = b;
    }
  }
  return items.map((_, i) => (root(i) === i ? null : root(i)));
}

function isSame(a: DuplicateCandidate, b: DuplicateCandidate, threshold: number): boolean {
  if (a.contentKey === b.contentKey) return true;
  if (!a.vector || !b.vector || a.vector.length !== b.vector.length || a.model !== b.model) return false;
  let dot = 0;
  for (let k = 0; k < a.vector.length; k++) dot += a.vector[k]! * b.vector[k]!;
  return dot >= threshold;
}
