import type { Account } from '../../../shared/store/accounts.ts';
import type { FunnelLevel, FunnelRow, FunnelSort, OwnerCall } from '../../../shared/store/dashboard.ts';
import type { ownerOverview, ownerReceipt } from '../../../shared/services/dashboard.ts';
import { Layout } from './layout.tsx';
import { Card, DayChart, Money, Pager, SortHeader, passageLabel, plural, short, usd, when } from './parts.tsx';

type Overview = Awaited<ReturnType<typeof ownerOverview>>;

export interface FunnelView {
  level: FunnelLevel;
  parent?: string;
  parentName?: string;
  datanet?: { id: string; name: string };
  sort: FunnelSort;
  page: number;
  pages: number;
  total: number;
  rows: FunnelRow[];
}

export interface OwnerPageProps {
  csrf: string;
  account: Account;
  testmode?: boolean;
  o: Overview;
  funnel: FunnelView;
  calls: { first: boolean; next: string | null; rows: OwnerCall[] };
  flash?: { text: string; error?: boolean };
}

const LEVEL_LABEL: Record<FunnelLevel, string> = { datanet: 'Datanet', document: 'Document', passage: 'Passage' };

function funnelHref(f: { level: FunnelLevel; parent?: string | undefined; sort?: string; page?: number }) {
  const q = new URLSearchParams({ level: f.level });
  if (f.parent) q.set('parent', f.parent);
  if (f.sort) q.set('sort', f.sort);
  if (f.page && f.page > 1) q.set('page', String(f.page));
  return `/dashboard/owner?${q}#funnel`;
}

export function OwnerPage(p: OwnerPageProps) {
  const { o, funnel: f } = p;
  const belowMin = o.status.unsettled > 0n && o.status.unsettled < o.minPayout;
  const child: FunnelLevel | null = f.level === 'datanet' ? 'document' : f.level === 'document' ? 'passage' : null;
  const sortHref = (sort: string) => funnelHref({ level: f.level, parent: f.parent, sort });
  return (
    <Layout title="Earnings" csrf={p.csrf} account={p.account} testmode={p.testmode} script>
      {p.flash ? (
        <p class={p.flash.error ? 'flash error' : 'flash'} role="status">
          {p.flash.text}
        </p>
      ) : null}
      <p class="note">
        Wallet <code>{o.wallet}</code>. Amounts are US dollars, exact to the micro-dollar (6 decimals; hover one for its
        micro-units, or download the CSV), and equal <code class="nowrap">GET /v1/earnings</code> and{' '}
        <code class="nowrap">GET /v1/payouts/{'{wallet}'}</code>.
      </p>

      <p class="actions">
        <a href="/dashboard/owner/datanets" class="button">
          Datanets and documents
        </a>
        <a href="/dashboard/webhooks" class="button">
          Webhooks
        </a>
        <span class="note">create a datanet, upload PDF, Word, Markdown, HTML or text files, delete documents</span>
      </p>
      <section aria-labelledby="status-h">
        <h2 id="status-h">By status</h2>
        <div class="cards">
          <Card
            label="Earned, not yet settled"
            note={
              belowMin
                ? `Below the minimum payout of ${usd(o.minPayout)}: it waits for the next epoch that reaches it.`
                : `Settles in the next epoch (minimum payout ${usd(o.minPayout)}).`
            }
          >
            <Money micros={o.status.unsettled} field="unsettled" />
          </Card>
          <Card
            label="Settled, not yet claimed"
            note={
              o.status.unclaimed === null
                ? 'The chain cannot be reached right now.'
                : 'In a published epoch; claim it below.'
            }
          >
            <Money micros={o.status.unclaimed} field="unclaimed" />
          </Card>
          <Card label="Claimed" note="Paid out to your wallet on chain.">
            <Money micros={o.status.claimed} field="claimed" />
          </Card>
          <Card label="Total earned" note="All three together.">
            <Money micros={o.earnings.total} field="total" />
          </Card>
        </div>
      </section>

      <section aria-labelledby="chart-h">
        <h2 id="chart-h">Earnings by day</h2>
        <DayChart id="owner-days" title="Earnings per day, last 30 days (UTC)" days={o.byDay} />
      </section>

      <section aria-labelledby="funnel-h" id="funnel">
        <h2 id="funnel-h">From retrieval to payment</h2>
        <p class="note">
          Retrieved counts each time one of your passages was shown to a paid call (one call can show several of your
          passages, so it can exceed the number of calls) → cited in an answer → cited and passing the support check →
          amount earned. Every row, sortable, no top-N cap.
        </p>
        <nav class="crumbs" aria-label="Drill-down">
          <a href={funnelHref({ level: 'datanet' })}>All datanets</a>
          {f.datanet ? (
            <>
              {' '}
              › <a href={funnelHref({ level: 'document', parent: f.datanet.id })}>{f.datanet.name}</a>
            </>
          ) : null}
          {f.level === 'passage' ? (
            <>
              {' '}
              › <span>{f.parentName}</span>
            </>
          ) : null}
        </nav>
        <div class="table-wrap" tabindex={0} role="region" aria-label="table (scrolls sideways on small screens)">
          <table class="stack">
            <caption class="muted">{plural(f.total, LEVEL_LABEL[f.level].toLowerCase())}</caption>
            <thead>
              <tr>
                <SortHeader label={LEVEL_LABEL[f.level]} sort="name" current={f.sort} href={sortHref} />
                <SortHeader label="Retrieved" sort="retrieved" current={f.sort} href={sortHref} num />
                <SortHeader label="Cited" sort="cited" current={f.sort} href={sortHref} num />
                <SortHeader label="Supported" sort="supported" current={f.sort} href={sortHref} num />
                <SortHeader label="Earned" sort="earned" current={f.sort} href={sortHref} num />
              </tr>
            </thead>
            <tbody>
              {f.rows.map((r) => (
                <tr data-id={r.id}>
                  <td data-label={LEVEL_LABEL[f.level]}>
                    {child ? (
                      <a href={funnelHref({ level: child, parent: r.id })}>{r.name}</a>
                    ) : (
                      <span title={r.id}>{passageLabel(r.name)}</span>
                    )}
                  </td>
                  <td class="num" data-label="Retrieved">
                    {r.retrieved}
                  </td>
                  <td class="num" data-label="Cited">
                    {r.cited}
                  </td>
                  <td class="num" data-label="Supported">
                    {r.supported}
                  </td>
                  <td class="num" data-label="Earned">
                    <Money micros={r.earned} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <Pager
          page={f.page}
          pages={f.pages}
          label="Funnel pages"
          href={(page) => funnelHref({ level: f.level, parent: f.parent, sort: f.sort, page })}
        />
      </section>

      <section aria-labelledby="calls-h" id="calls">
        <h2 id="calls-h">Recent paid calls</h2>
        <p class="note">
          One row per passage of yours that a call paid for (calls that paid you nothing are left out). Consumers' query
          text is not shown: receipts record sources, weights and amounts, never the query.
        </p>
        <div class="table-wrap" tabindex={0} role="region" aria-label="table (scrolls sideways on small screens)">
          <table class="stack">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Document</th>
                <th scope="col" class="hide-sm">
                  Kind
                </th>
                <th scope="col" class="num">
                  Weight
                </th>
                <th scope="col" class="num">
                  Amount
                </th>
                <th scope="col" class="hide-sm">
                  Formula
                </th>
                <th scope="col">Receipt</th>
              </tr>
            </thead>
            <tbody>
              {p.calls.rows.map((c) => (
                <tr>
                  <td data-label="When">{when(c.createdAt)}</td>
                  <td data-label="Document">{c.title}</td>
                  <td class="hide-sm" data-label="Kind">
                    {c.kind}
                  </td>
                  <td class="num" data-label="Weight">
                    {(c.weightPpm / 10_000).toFixed(2)}%
                  </td>
                  <td class="num" data-label="Amount">
                    <Money micros={c.amount} />
                  </td>
                  <td class="hide-sm" data-label="Formula">
                    <code
                      class="nowrap"
                      title={
                        c.formulaVersion.endsWith('-v1')
                          ? 'v1: every source shown was charged, the pool split by weight'
                          : 'per use: each source used earns its price less the protocol fee'
                      }
                    >
                      {c.formulaVersion}
                    </code>
                  </td>
                  <td data-label="Receipt">
                    <a href={`/dashboard/owner/receipts/${c.receiptId}`}>
                      <code>{c.receiptId}</code>
                    </a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {p.calls.rows.length === 0 ? <p class="empty">No paid calls yet.</p> : null}
        <nav class="pager" aria-label="Call pages">
          {p.calls.first ? null : <a href="/dashboard/owner#calls">← Newest</a>}
          {p.calls.next ? (
            <a href={`/dashboard/owner?after=${encodeURIComponent(p.calls.next)}#calls`}>Older →</a>
          ) : null}
        </nav>
      </section>

      <section aria-labelledby="settle-h" id="settlement">
        <h2 id="settle-h">Settlement and claims</h2>
        {o.payout.epoch === null ? (
          <p>No epoch has been settled yet.</p>
        ) : (
          <div class="panel">
            <p>
              Latest epoch <strong>{o.payout.epoch}</strong>: cumulative{' '}
              <Money micros={o.payout.cumulative} field="cumulative" />, claimed <Money micros={o.payout.claimed} />.
            </p>
            <dl>
              <dt>Payout root on chain</dt>
              <dd>
                <code id="chain-root">{o.chainRoot ?? 'unreachable'}</code>
              </dd>
              <dt>Proof ({plural(o.payout.proof.length, 'hash', 'hashes')})</dt>
              <dd>
                <code>{o.payout.proof.join(' ') || '(single leaf: the leaf is the root)'}</code>
              </dd>
            </dl>
            <button
              type="button"
              hidden
              data-verify
              data-kind="payout"
              data-wallet={o.wallet}
              data-cumulative={o.payout.cumulative.toString()}
              data-proof={JSON.stringify(o.payout.proof)}
              data-chain-root={o.chainRoot ?? ''}
              data-result="payout-result"
              class="secondary"
            >
              Verify my payout proof in the browser
            </button>
            <p id="payout-result" class="result" role="status" aria-live="polite"></p>
            <form method="post" action="/dashboard/owner/claim">
              <input type="hidden" name="_csrf" value={p.csrf} />
              <button type="submit" disabled={!o.status.unclaimed}>
                Claim <Money micros={o.status.unclaimed} />
              </button>
              <span class="note"> citepay relays the claim and pays the gas; the tokens go to your wallet.</span>
            </form>
          </div>
        )}
        <div class="table-wrap" tabindex={0} role="region" aria-label="table (scrolls sideways on small screens)">
          <table class="stack">
            <caption class="muted">Epochs that paid this wallet</caption>
            <thead>
              <tr>
                <th scope="col">Epoch</th>
                <th scope="col">Status</th>
                <th scope="col" class="num">
                  Paid
                </th>
                <th scope="col" class="num">
                  Cumulative
                </th>
                <th scope="col">Transaction</th>
                <th scope="col" class="hide-sm">
                  Payout root
                </th>
                <th scope="col" class="hide-sm">
                  Receipts root
                </th>
              </tr>
            </thead>
            <tbody>
              {o.epochs.map((e) => (
                <tr>
                  <td data-label="Epoch">{e.epoch}</td>
                  <td data-label="Status">{e.status}</td>
                  <td class="num" data-label="Paid">
                    <Money micros={e.amount} />
                  </td>
                  <td class="num" data-label="Cumulative">
                    <Money micros={e.cumulative} />
                  </td>
                  <td data-label="Transaction">
                    <code title={e.txHash ?? ''}>{short(e.txHash)}</code>
                  </td>
                  <td class="hide-sm" data-label="Payout root">
                    <code>{short(e.payoutRoot)}</code>
                  </td>
                  <td class="hide-sm" data-label="Receipts root">
                    <code>{short(e.receiptsRoot)}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section aria-labelledby="export-h">
        <h2 id="export-h">Statement</h2>
        <p>
          <a href="/dashboard/owner/statement.csv" download>
            Download statement (CSV)
          </a>{' '}
          — per document, as <code class="nowrap">GET /v1/earnings</code>, with the status totals and exact
          micro-amounts.
        </p>
      </section>
    </Layout>
  );
}

type ReceiptView = Awaited<ReturnType<typeof ownerReceipt>>;

export const ReceiptPage = (p: { csrf: string; account: Account; r: ReceiptView }) => {
  const s = p.r.settlement;
  return (
    <Layout title={`Receipt ${p.r.stored.id}`} csrf={p.csrf} account={p.account} script>
      <p>
        <a href="/dashboard/owner#calls">← Back to earnings</a>
      </p>
      <dl>
        <dt>Request</dt>
        <dd>
          <code>{p.r.stored.requestId}</code>
        </dd>
        <dt>Hash (keccak256 of the canonical JSON)</dt>
        <dd>
          <code>{p.r.stored.hash}</code>
        </dd>
        <dt>Epoch</dt>
        <dd>{s ? `${s.epoch} (${s.status})` : 'open: not settled yet'}</dd>
        {s ? (
          <>
            <dt>Transaction</dt>
            <dd>
              <code>{s.txHash ?? '—'}</code>
            </dd>
            <dt>Receipts root on chain</dt>
            <dd>
              <code>{p.r.chainRoot ?? '—'}</code>
            </dd>
          </>
        ) : null}
      </dl>
      <h2>Canonical receipt</h2>
      <pre id="canonical">{p.r.stored.canonical}</pre>
      {s?.proof && p.r.chainRoot ? (
        <>
          <button
            type="button"
            hidden
            data-verify
            data-kind="receipt"
            data-canonical="canonical"
            data-proof={JSON.stringify(s.proof)}
            data-chain-root={p.r.chainRoot}
            data-result="receipt-result"
            class="secondary"
          >
            Verify this receipt in the browser
          </button>
          <p id="receipt-result" class="result" role="status" aria-live="polite"></p>
        </>
      ) : (
        <p class="note">A proof is available once the receipt's epoch is confirmed on chain.</p>
      )}
    </Layout>
  );
};
