import type { Embedder } from './index.ts';
import { createUseLiteOnnxEmbedder, type UseLiteOnnxOptions } from './use-lite-onnx.ts';

// Universal Sentence Encoder Lite, the default embedder. It runs on onnxruntime (use-lite-onnx.ts);
// the TF.js engine it replaced stays in use-lite-tfjs.ts as the reference.
export { USE_LITE_MODEL_ID } from './use-lite-model.ts';

const opened = new Map<string, Promise<Embedder>>();

/** One session per process and settings: callers that ask again share the first one. */
export function createUseLiteEmbedder(options: UseLiteOnnxOptions = {}): Promise<Embedder> {
  const key = JSON.stringify([options.cacheDir ?? null, options.threads || 0]);
  let embedder = opened.get(key);
  if (!embedder) {
    embedder = createUseLiteOnnxEmbedder(options);
    embedder.catch(() => opened.delete(key)); // a failed open is tried again next time
    opened.set(key, embedder);
  }
  return embedder;
}
