import * as ort from 'onnxruntime-node';
import type { Embedder } from './index.ts';
import { normalize } from './index.ts';
import { cachedFile, defaultCacheDirs } from './model-cache.ts';
import { bucketByLength, sessionOptions, type OnnxEmbedderOptions } from './onnx-runtime.ts';
import { SentencePieceTokenizer } from './sentencepiece.ts';
import {
  USE_LITE_DIMENSION,
  USE_LITE_MAX_TOKENS,
  USE_LITE_MODEL_ID,
  readUseLiteSource,
  readUseLiteVocabulary,
} from './use-lite-model.ts';

// Universal Sentence Encoder Lite on onnxruntime: the shipped TF.js graph converted to ONNX
// once (cached on disk by source hash), the SentencePiece tokenizer in JavaScript, and texts
// run in length buckets. Same model id as the TF.js engine: the vectors agree (cosine ≥ 0.999).

export interface UseLiteOnnxOptions extends OnnxEmbedderOptions {
  /** where the converted model is kept; default node_modules/.cache/citepay, else the OS temp dir */
  cacheDir?: string | undefined;
}

/**
 * Padded positions per run: enough to keep the matrix kernels busy, few enough to stay in cache and
 * to keep one run to tens of milliseconds — onnxruntime-node computes on the calling (event-loop)
 * thread, and the loop gets a turn between runs.
 */
const LIMITS = { maxRows: 64, maxTokens: 1024 };

/** The converted model on disk, built from the package files when missing or when they changed. */
export async function ensureUseLiteOnnx(cacheDir?: string) {
  const source = await readUseLiteSource();
  // the converter is a build-time tool: loaded only when the cache has no build for this source
  const file = await cachedFile(
    cacheDir ? [cacheDir] : defaultCacheDirs(),
    `${USE_LITE_MODEL_ID}.${source.hash.slice(0, 16)}.onnx`,
    `${USE_LITE_MODEL_ID}.`,
    async () => {
      const { convertUseLite } = await import('../model-build/use-lite.ts');
      return convertUseLite(source);
    },
  );
  return { ...file, sourceHash: source.hash };
}

export async function createUseLiteOnnxEmbedder(options: UseLiteOnnxOptions = {}): Promise<Embedder> {
  const [model, vocabulary] = await Promise.all([ensureUseLiteOnnx(options.cacheDir), readUseLiteVocabulary()]);
  const session = await ort.InferenceSession.create(model.path, sessionOptions(options));
  const tokenizer = new SentencePieceTokenizer(vocabulary);
  const output = session.outputNames[0]!;
  return {
    modelId: USE_LITE_MODEL_ID,
    dimension: USE_LITE_DIMENSION,
    countTokens: (texts) => texts.map((t) => Math.min(tokenizer.encode(t || ' ').length, USE_LITE_MAX_TOKENS)),
    async embed(texts) {
      // an empty text goes in as one space, as the TF.js engine has always sent it
      const tokens = texts.map((t) => tokenizer.encode(t || ' ').slice(0, USE_LITE_MAX_TOKENS));
      const vectors = new Array<Float32Array>(texts.length);
      for (const run of bucketByLength(
        tokens.map((t) => t.length),
        LIMITS,
      )) {
        const result = await session.run(sparseInputs(run.map((i) => tokens[i]!)));
        const data = result[output]!.data as Float32Array;
        run.forEach(
          (i, row) => (vectors[i] = normalize(data.slice(row * USE_LITE_DIMENSION, (row + 1) * USE_LITE_DIMENSION))),
        );
      }
      return vectors;
    },
  };
}

/** The graph's inputs: (row, position) pairs and token ids of a ragged batch. */
function sparseInputs(rows: readonly number[][]) {
  let count = 0;
  for (const r of rows) count += r.length;
  const indices = new BigInt64Array(count * 2);
  const values = new BigInt64Array(count);
  let k = 0;
  rows.forEach((ids, row) => {
    const r = BigInt(row);
    ids.forEach((id, position) => {
      indices[2 * k] = r;
      indices[2 * k + 1] = BigInt(position);
      values[k++] = BigInt(id);
    });
  });
  return { indices: new ort.Tensor('int64', indices, [count, 2]), values: new ort.Tensor('int64', values, [count]) };
}
