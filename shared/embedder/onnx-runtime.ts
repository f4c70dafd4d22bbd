import { availableParallelism } from 'node:os';
import type { InferenceSession } from 'onnxruntime-node';

// What the onnxruntime adapters share: session settings and length-bucketed batching.

export interface OnnxEmbedderOptions {
  /** intra-op threads for the one session of this process; 0 or undefined = one per core */
  threads?: number | undefined;
}

/**
 * One session per process, run op after op (the graphs are chains, so inter-op parallelism
 * buys nothing), intra-op threads = cores (the calling thread plus pool threads; on an idle
 * 2-core machine two threads embed batches ~1.7× faster than one, while a core busy with other
 * work makes them about even — EMBEDDER_THREADS=1 suits a shared box), and no spinning: a
 * spinning pool thread steals the core that the HTTP server and the database need between calls.
 */
export function sessionOptions(options: OnnxEmbedderOptions = {}): InferenceSession.SessionOptions {
  const threads = options.threads || availableParallelism();
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  };
}

export interface BucketLimits {
  /** most texts in one run */
  maxRows: number;
  /** most padded positions (rows × longest) in one run */
  maxTokens: number;
}

/**
 * Splits item indices into runs of similar length so that padding stays small: sorted by
 * length, a run is closed when one more item would pass either limit. Stable for equal lengths.
 */
export function bucketByLength(lengths: readonly number[], limits: BucketLimits): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a]! - lengths[b]! || a - b);
  const runs: number[][] = [];
  let run: number[] = [];
  for (const i of order) {
    const longest = Math.max(1, lengths[i]!);
    if (run.length && (run.length + 1 > limits.maxRows || (run.length + 1) * longest > limits.maxTokens)) {
      runs.push(run);
      run = [];
    }
    run.push(i);
  }
  if (run.length) runs.push(run);
  return runs;
}
