import { Forbidden, InvalidInput } from '../errors.ts';
import type { Account } from '../store/accounts.ts';
import { insertDatanet, type Datanet } from '../store/datanets.ts';
import { requireAccount } from './accounts.ts';
import type { Principal } from './api-keys.ts';
import type { Services } from './container.ts';

export interface NewDatanet {
  name: string;
  description?: string | null | undefined;
  pricePerSource: bigint;
  /** admins only: the contributor who owns it */
  ownerAccountId?: string | undefined;
  embeddingModel?: string | undefined;
}

/** Creates a datanet for the caller (or, for an admin, for the named contributor): POST /v1/datanets and the dashboard. */
export async function createDatanet(
  services: Services,
  principal: Principal,
  input: NewDatanet,
): Promise<{ datanet: Datanet; owner: Account }> {
  let ownerId = principal.accountId;
  if (principal.role === 'admin') {
    if (!input.ownerAccountId) throw new InvalidInput('ownerAccountId: required when an admin creates a datanet');
    ownerId = input.ownerAccountId;
  } else if (input.ownerAccountId && input.ownerAccountId !== principal.accountId) {
    throw new Forbidden('contributors create datanets for themselves only');
  }
  const name = input.name.trim();
  if (!name || name.length > 200) throw new InvalidInput('name: 1 to 200 characters', 'name');
  if (input.pricePerSource < 0n) throw new InvalidInput('pricePerSource: must not be negative', 'pricePerSource');
  const owner = await requireAccount(services.db, ownerId, 'contributor');
  const embedder = await services.embedders.get(input.embeddingModel ?? services.embedders.defaultModel);
  const datanet = await insertDatanet(services.db, {
    ownerAccountId: owner.id,
    name,
    description: input.description ?? null,
    pricePerSource: input.pricePerSource,
    embeddingModel: embedder.modelId,
    embeddingDim: embedder.dimension,
  });
  return { datanet, owner };
}

// Plain reads and writes that routes need as they are: routes reach the store only through services.
export { findDatanet, listDatanets } from '../store/datanets.ts';
