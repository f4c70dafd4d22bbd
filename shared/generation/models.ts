import { z } from 'zod';

// The catalogue of generation models the API offers. "extractive" is always there;
// engine models (served by an OpenAI-compatible engine on the GPU fleet) come from config.
export interface ModelSpec {
  id: string;
  backend: 'extractive' | 'engine';
  contextTokens: number;
  maxOutputTokens: number;
  /** micro-USD per million tokens */
  inputPricePerMillion: bigint;
  outputPricePerMillion: bigint;
  supportsAdapters: boolean;
}

export const EXTRACTIVE_MODEL: ModelSpec = {
  id: 'extractive',
  backend: 'extractive',
  contextTokens: 16_384,
  maxOutputTokens: 1024,
  inputPricePerMillion: 50_000n, // 0.05 USD / M tokens: CPU time to embed and rank sentences
  outputPricePerMillion: 100_000n,
  supportsAdapters: false,
};

export const EngineModelsSchema = z.array(
  z.object({
    id: z.string().min(1),
    contextTokens: z.number().int().positive().default(8192),
    maxOutputTokens: z.number().int().positive().default(1024),
    inputPricePerMillion: z.string().regex(/^\d+$/).default('200000'),
    outputPricePerMillion: z.string().regex(/^\d+$/).default('600000'),
  }),
);

export function buildCatalogue(engineModels: z.infer<typeof EngineModelsSchema>): Map<string, ModelSpec> {
  const catalogue = new Map<string, ModelSpec>([[EXTRACTIVE_MODEL.id, EXTRACTIVE_MODEL]]);
  for (const m of engineModels)
    catalogue.set(m.id, {
      id: m.id,
      backend: 'engine',
      contextTokens: m.contextTokens,
      maxOutputTokens: m.maxOutputTokens,
      inputPricePerMillion: BigInt(m.inputPricePerMillion),
      outputPricePerMillion: BigInt(m.outputPricePerMillion),
      supportsAdapters: true,
    });
  return catalogue;
}

// The token charge is pricing maths; it lives in core with the rest of it.
export { tokenCost } from '../core/retrieval-charge.ts';
