import { InvalidInput } from '../errors.ts';
import { newId } from '../ids.ts';
import { PROTOCOL_ACCOUNT_ID } from '../store/accounts.ts';
import { lockAccount, postTransaction } from '../store/ledger.ts';
import { assertCovered } from './billing.ts';
import type { Principal } from './api-keys.ts';
import type { Services } from './container.ts';

// POST /v1/embeddings: citepay's own embedders as an OpenAI-compatible endpoint (what an edge
// deployment, which cannot run a model, calls for query vectors). Billed per input token to the
// caller's key; no data was used, so the whole charge is the protocol's.
export interface EmbeddingsResult {
  model: string;
  vectors: Float32Array[];
  tokens: number;
  charged: bigint;
  /** false: charged to test credits (a cp_test_ key) */
  livemode: boolean;
}

export async function createEmbeddings(
  services: Services,
  principal: Principal,
  requestId: string,
  input: { model: string; texts: readonly string[]; dimensions?: number | undefined },
): Promise<EmbeddingsResult> {
  if (!services.embedders.ids().includes(input.model))
    throw new InvalidInput(
      `unknown embedding model ${input.model}: this server has ${services.embedders.ids().join(', ')}`,
      'model',
    );
  const embedder = await services.embedders.get(input.model);
  if (input.dimensions !== undefined && input.dimensions !== embedder.dimension)
    throw new InvalidInput(
      `${input.model} makes ${embedder.dimension}-dimensional vectors; dimensions ${input.dimensions} is not available`,
      'dimensions',
    );
  // Engines without a tokenizer at hand bill about four characters a token.
  const tokens = (
    embedder.countTokens?.(input.texts) ?? input.texts.map((t) => Math.max(1, Math.ceil(t.length / 4)))
  ).reduce((a, n) => a + n, 0);
  const charged = (BigInt(tokens) * services.config.embeddingPricePerMillion + 999_999n) / 1_000_000n; // rounded up
  await assertCovered(services.db, principal, charged === 0n ? null : charged);
  const vectors = await embedder.embed(input.texts);
  if (charged > 0n)
    await services.db.transaction(async (tx) => {
      await lockAccount(tx, principal.accountId);
      await assertCovered(tx, principal, charged);
      await postTransaction(tx, {
        id: newId('transaction'),
        kind: 'embedding',
        requestId,
        keyId: principal.keyId,
        livemode: principal.livemode,
        entries: [
          { accountId: principal.accountId, amount: -charged },
          { accountId: PROTOCOL_ACCOUNT_ID, amount: charged },
        ],
      });
    });
  return { model: embedder.modelId, vectors, tokens, charged, livemode: principal.livemode };
}
