import type { Account } from '../store/accounts.ts';
import { earningsSummary, refreshRollups } from '../store/dashboard.ts';
import { listDatanets } from '../store/datanets.ts';
import { countLiveDocuments, listDocuments } from '../store/documents.ts';
import type { Principal } from './api-keys.ts';
import type { Services } from './container.ts';
import { requireManagedDatanet } from './documents.ts';

// The owner dashboard's datanet pages, on the services the API uses (documents.ts, datanets.ts):
// a session acts as its contributor account, with the same checks as that account's API key.

/** A dashboard session as the principal the document services check. */
export const sessionPrincipal = (account: Account, livemode: boolean): Principal => ({
  accountId: account.id,
  keyId: '',
  role: 'contributor',
  livemode,
});

export async function ownerDatanetList(services: Services, account: Account, livemode: boolean) {
  const upto = await refreshRollups(services.db);
  const [datanets, earnings] = await Promise.all([
    listDatanets(services.db, account.id),
    earningsSummary(services.db, upto, account.id, livemode),
  ]);
  const counts = await countLiveDocuments(
    services.db,
    datanets.map((d) => d.id),
  );
  const earned = new Map(earnings.byDatanet.map((d) => [d.datanetId, d.earned]));
  return datanets.map((d) => ({ datanet: d, documents: counts.get(d.id) ?? 0, earned: earned.get(d.id) ?? 0n }));
}

export const DOCUMENTS_PAGE = 100;

/** One datanet's live documents (paged by id), each with what it earned in this mode. */
export async function ownerDatanetDocuments(
  services: Services,
  account: Account,
  livemode: boolean,
  datanetId: string,
  after?: string,
) {
  const datanet = await requireManagedDatanet(services, sessionPrincipal(account, livemode), datanetId);
  const upto = await refreshRollups(services.db);
  const [docs, earnings] = await Promise.all([
    listDocuments(services.db, datanetId, DOCUMENTS_PAGE + 1, after),
    earningsSummary(services.db, upto, account.id, livemode),
  ]);
  const earned = new Map(earnings.byDocument.map((d) => [d.documentId, d]));
  return {
    datanet,
    documents: docs
      .slice(0, DOCUMENTS_PAGE)
      .map((d) => ({ document: d, earned: earned.get(d.id)?.earned ?? 0n, calls: earned.get(d.id)?.calls ?? 0 })),
    next: docs.length > DOCUMENTS_PAGE ? docs[DOCUMENTS_PAGE - 1]!.id : null,
  };
}
