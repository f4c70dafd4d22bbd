import { basename, join } from 'node:path';
import type { Config } from '../config.ts';
import type { ObjectStore } from '../object-store/index.ts';
import type { Embedder } from './index.ts';
import { defaultCacheDirs } from './model-cache.ts';

// Config → embedder. Each engine's module is loaded only when chosen (TF.js is heavy).
export async function openConfiguredEmbedder(config: Config['embedder'], objectStore?: ObjectStore): Promise<Embedder> {
  const { engine, cacheDir, threads } = config;
  if (engine === 'remote') {
    const { createRemoteEmbedder } = await import('./openai-compatible.ts');
    return createRemoteEmbedder(config.remote!);
  }
  if (engine === 'use-lite-tfjs') {
    const { createUseLiteTfjsEmbedder } = await import('./use-lite-tfjs.ts');
    return createUseLiteTfjsEmbedder();
  }
  if (engine === 'st') {
    const { createSentenceTransformerEmbedder, downloadModelDir } = await import('./sentence-transformers.ts');
    let dir = config.modelDir;
    if (!dir) {
      const key = config.modelKey;
      if (!key || !objectStore)
        throw new Error('EMBEDDER=st: set EMBEDDER_MODEL_DIR, or EMBEDDER_MODEL_KEY with an object store');
      dir = await downloadModelDir(
        objectStore,
        key,
        join(cacheDir ?? defaultCacheDirs().at(-1)!, 'models', basename(key)),
      );
    }
    return createSentenceTransformerEmbedder(dir, { threads });
  }
  const { createUseLiteEmbedder } = await import('./use-lite.ts');
  return createUseLiteEmbedder({ cacheDir, threads });
}
