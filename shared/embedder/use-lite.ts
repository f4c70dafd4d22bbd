import type { Embedder } from './index.ts';
import { createUseLiteOnnxEmbedder, type UseLiteOnnxOptions } from './use-lite-onnx.ts';

// Universal Sentence Encoder Lite, the default embedder. It runs on onnxruntime (use-lite-onnx.ts);
// the TF.js engine it replaced stays in use-lite-tfjs.ts as the reference.
export { USE_LITE_MODEL_ID } from './use-lite-model.ts';

export function createUseLiteEmbedder(options: UseLiteOnnxOptions = {}): Promise<Embedder> {
  return createUseLiteOnnxEmbedder(options);
}
