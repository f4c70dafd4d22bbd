import type { Embedder } from '../embedder/index.ts';
import { InvalidInput } from '../errors.ts';

// The embedding models this process can use, by id. Each datanet records the model its
// vectors were made with; ingestion and queries embed with that model, so an index never
// mixes models and a datanet can move to another model in the background (services/reembed.ts).
export interface EmbedderRegistry {
  /** the model new datanets start with */
  readonly defaultModel: string;
  ids(): string[];
  /** the embedder for a model id; opened on first use and kept */
  get(modelId: string): Promise<Embedder>;
}

export function createEmbedderRegistry(
  defaultEmbedder: Embedder,
  others: Record<string, () => Promise<Embedder>> = {},
): EmbedderRegistry {
  const opened = new Map<string, Promise<Embedder>>([[defaultEmbedder.modelId, Promise.resolve(defaultEmbedder)]]);
  const factories = new Map(Object.entries(others));
  return {
    defaultModel: defaultEmbedder.modelId,
    ids: () => [...new Set([defaultEmbedder.modelId, ...factories.keys()])],
    get(modelId) {
      let embedder = opened.get(modelId);
      if (!embedder) {
        const factory = factories.get(modelId);
        if (!factory)
          throw new InvalidInput(
            `unknown embedding model ${modelId}: this server has ${[...opened.keys(), ...factories.keys()].join(', ')}`,
            'embeddingModel',
          );
        embedder = factory();
        embedder.catch(() => opened.delete(modelId)); // a failed open is retried next time
        opened.set(modelId, embedder);
      }
      return embedder;
    },
  };
}
