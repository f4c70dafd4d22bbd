import type { Queryable } from '../db/index.ts';
import { InvalidInput, NotFound } from '../errors.ts';
import {
  pricedUse,
  rateCardProblem,
  sameTerms,
  type PricedUse,
  type RateCard,
  type RateCardTerms,
  type UseType,
} from '../core/rate-cards.ts';
import { findDatanet, type Datanet } from '../store/datanets.ts';
import { appendRateCard, currentRateCards, rateCardHistory } from '../store/rate-cards.ts';
import type { Principal } from './api-keys.ts';
import type { Services } from './container.ts';
import { requireManagedDatanet } from './documents.ts';
import { requireLive } from './test-mode.ts';

// Rate cards for the API, the dashboard and the license document, and the one place a call's
// sources get their price: `priceUses` reads the cards in force when the call prices its sources,
// so a change applies to every call that prices after it commits, and each source carries the
// version it was priced under into its receipt.

/** The card in force and every earlier version (newest first), for anyone who can see the datanet. */
export async function rateCardOf(
  services: Services,
  datanetId: string,
): Promise<{ datanet: Datanet; current: RateCard; history: RateCard[] }> {
  const datanet = await findDatanet(services.db, datanetId);
  if (!datanet) throw new NotFound(`no datanet ${datanetId}`, 'datanet', datanetId);
  const history = await rateCardHistory(services.db, datanetId);
  return { datanet, current: history[0]!, history };
}

/**
 * The owner (or an admin) sets new terms: a new version, in force for calls priced after this
 * commits. Live actors only: live calls are charged by it. Terms equal to the current card add no
 * version (a form saved twice, a PUT retried).
 */
export async function setRateCard(
  services: Services,
  principal: Principal,
  datanetId: string,
  terms: RateCardTerms,
): Promise<{ card: RateCard; changed: boolean }> {
  await requireManagedDatanet(services, principal, datanetId);
  requireLive(principal, 'change a rate card (live calls are charged by it)');
  const problem = rateCardProblem(terms);
  if (problem) throw new InvalidInput(`${problem.field}: ${problem.reason}`, problem.field);
  return services.db.transaction(async (tx) => {
    const current = (await currentRateCards(tx, [datanetId])).get(datanetId)!;
    if (sameTerms(current, terms)) return { card: current, changed: false };
    const card = await appendRateCard(tx, datanetId, terms, principal.accountId);
    if (!card) throw new NotFound(`no datanet ${datanetId}`, 'datanet', datanetId);
    return { card, changed: true };
  });
}

/**
 * Sources priced for one use of `type` in `livemode`: `pricePerSource` becomes the effective price
 * of the card in force, and `rateCard` records its version and that price for the receipt.
 */
export async function priceUses<S extends { datanetId: string; pricePerSource: bigint }>(
  db: Queryable,
  sources: readonly S[],
  type: UseType,
  livemode: boolean,
): Promise<(S & { rateCard: PricedUse })[]> {
  const cards = await currentRateCards(db, [...new Set(sources.map((s) => s.datanetId))]);
  return sources.map((s) => {
    const card = cards.get(s.datanetId);
    // Every datanet gets version 1 when it is inserted (migration 0111), so a card is always there.
    if (!card) throw new Error(`datanet ${s.datanetId} has no rate card`);
    const rateCard = pricedUse(card, type, livemode);
    return { ...s, pricePerSource: BigInt(rateCard.price), rateCard };
  });
}

/** The owner's view (dashboard): the datanet, checked as theirs, and every version newest first. */
export async function ownerRateCard(
  services: Services,
  principal: Principal,
  datanetId: string,
): Promise<{ datanet: Datanet; history: RateCard[] }> {
  const datanet = await requireManagedDatanet(services, principal, datanetId);
  return { datanet, history: await rateCardHistory(services.db, datanetId) };
}
