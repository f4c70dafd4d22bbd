// Embedder port: text in, unit-length vectors out. Kept narrow on purpose so that
// swapping the engine (TF.js today, onnxruntime later) stays local to an adapter.
export interface Embedder {
  /** Stable id recorded with every vector, e.g. "use-lite-512". */
  readonly modelId: string;
  readonly dimension: number;
  embed(texts: readonly string[]): Promise<Float32Array[]>;
  /** Tokens each text is embedded from (after truncation), for usage and per-token billing. */
  countTokens?(texts: readonly string[]): number[];
}

export function normalize(v: Float32Array): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > 0) for (let i = 0; i < v.length; i++) v[i]! /= norm;
  return v;
}
