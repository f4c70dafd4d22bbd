import type { Account } from '../../../shared/store/accounts.ts';
import type { consumerOverview } from '../../../shared/services/dashboard.ts';
import { Layout } from './layout.tsx';
import { Card, DayChart, Money, plural, when } from './parts.tsx';
import type { KeyRow } from '../../../shared/store/dashboard.ts';

type Overview = Awaited<ReturnType<typeof consumerOverview>>;

const ENDPOINTS: Record<string, string> = {
  retrieve: 'POST /v1/retrieve',
  answer: 'POST /v1/answers, /v1/chat/completions',
  embedding: 'POST /v1/embeddings',
};

export interface ConsumerPageProps {
  csrf: string;
  account: Account;
  testmode?: boolean;
  o: Overview;
  newKey?: { id: string; key: string; name: string | null };
  flash?: { text: string; error?: boolean };
}

/** A key as people know it: its name, and the prefix that tells keys apart. */
export const keyLabel = (k: Pick<KeyRow, 'name' | 'prefix'>) =>
  k.name ? `“${k.name}” (${k.prefix}…)` : `${k.prefix}…`;

export function ConsumerPage(p: ConsumerPageProps) {
  const { usage: u, split, keys } = p.o;
  const keyName = new Map(keys.map((k) => [k.id, k.name ? `${k.name} (${k.prefix}…)` : `${k.prefix}…`]));
  return (
    <Layout title="Usage and keys" csrf={p.csrf} account={p.account} testmode={p.testmode}>
      {p.flash ? (
        <p class={p.flash.error ? 'flash error' : 'flash'} role="status">
          {p.flash.text}
        </p>
      ) : null}
      {p.newKey ? (
        <div class="flash" role="alert">
          <p>
            <strong>New key {p.newKey.name ? `“${p.newKey.name}”` : ''} — copy it now, it is shown only once:</strong>
          </p>
          <code class="secret" id="new-key">
            {p.newKey.key}
          </code>
        </div>
      ) : null}
      <section aria-labelledby="bal-h">
        <h2 id="bal-h">Balance</h2>
        <div class="cards">
          <Card label="Balance">
            <Money micros={u.balance} field="balance" />
          </Card>
          <Card label="Credits bought">
            <Money micros={u.credited} field="credited" />
          </Card>
          <Card label="Calls" note="Paid API calls: retrievals, answers, embeddings.">
            <span data-field="calls">{u.calls}</span>
          </Card>
          <Card label="Spend">
            <Money micros={u.spend} field="spend" />
          </Card>
        </div>
        <p class="actions">
          <a href="/dashboard/webhooks" class="button">
            Webhooks
          </a>
          <span class="note">balance.low and answer.completed, signed</span>
        </p>
        <p class="note">
          The same figures as <code class="nowrap">GET /v1/usage</code>. Amounts are US dollars, exact to the
          micro-dollar; hover one for its micro-units.
        </p>
      </section>

      {p.o.selfServe ? <TopUpSection s={p.o.selfServe} /> : null}

      <section aria-labelledby="day-h">
        <h2 id="day-h">Spend by day</h2>
        <DayChart id="spend-days" title="Spend per day, last 30 days (UTC)" days={p.o.byDay} />
      </section>

      <section aria-labelledby="split-h">
        <h2 id="split-h">Where the money went</h2>
        <p class="note">
          Retrievals and answers, as their own usage adds up (the <code class="nowrap">split</code> of{' '}
          <code class="nowrap">GET /v1/usage</code>); embeddings are token charges outside it.
        </p>
        <div class="table-wrap" tabindex={0} role="region" aria-label="table (scrolls sideways on small screens)">
          <table>
            <thead>
              <tr>
                <th scope="col">Part</th>
                <th scope="col" class="num">
                  Amount
                </th>
              </tr>
            </thead>
            <tbody>
              <tr>
                <td>Data fees (to contributors)</td>
                <td class="num">
                  <Money micros={split.dataFees} field="split-data" />
                </td>
              </tr>
              <tr>
                <td>Model tokens</td>
                <td class="num">
                  <Money micros={split.modelTokens} field="split-tokens" />
                </td>
              </tr>
              <tr>
                <td>Adapter fees</td>
                <td class="num">
                  <Money micros={split.adapterFees} field="split-adapter" />
                </td>
              </tr>
              <tr>
                <td>Protocol fee</td>
                <td class="num">
                  <Money micros={split.protocolFee} field="split-protocol" />
                </td>
              </tr>
              <tr>
                <th scope="row">Total ({plural(split.calls, 'call')} with receipts)</th>
                <td class="num">
                  <Money micros={split.charged} field="split-total" />
                </td>
              </tr>
            </tbody>
          </table>
        </div>
      </section>

      <div class="panels">
        <section aria-labelledby="ep-h">
          <h2 id="ep-h">By endpoint</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">Endpoint</th>
                <th scope="col" class="num">
                  Calls
                </th>
                <th scope="col" class="num">
                  Spend
                </th>
              </tr>
            </thead>
            <tbody>
              {u.byKind.map((k) => (
                <tr data-kind={k.kind}>
                  <td>{ENDPOINTS[k.kind] ?? k.kind}</td>
                  <td class="num">{k.calls}</td>
                  <td class="num">
                    <Money micros={k.spend} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section aria-labelledby="bykey-h">
          <h2 id="bykey-h">By key</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col" class="num">
                  Calls
                </th>
                <th scope="col" class="num">
                  Spend
                </th>
              </tr>
            </thead>
            <tbody>
              {u.byKey.map((k) => (
                <tr data-key-id={k.keyId ?? ''}>
                  <td>
                    <span class="key-name">{k.keyId ? (keyName.get(k.keyId) ?? k.keyId) : '(no key)'}</span>
                  </td>
                  <td class="num">{k.calls}</td>
                  <td class="num">
                    <Money micros={k.spend} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section aria-labelledby="dn-h">
          <h2 id="dn-h">By datanet</h2>
          <table>
            <thead>
              <tr>
                <th scope="col">Datanet</th>
                <th scope="col" class="num">
                  Calls
                </th>
                <th scope="col" class="num">
                  Data fees
                </th>
              </tr>
            </thead>
            <tbody>
              {p.o.byDatanet.map((d) => (
                <tr>
                  <td>{d.name}</td>
                  <td class="num">{d.calls}</td>
                  <td class="num">
                    <Money micros={d.dataFees} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>

      <section aria-labelledby="keys-h" id="keys">
        <h2 id="keys-h">API keys</h2>
        <div class="table-wrap" tabindex={0} role="region" aria-label="table (scrolls sideways on small screens)">
          <table class="stack">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col" class="hide-sm">
                  Created
                </th>
                <th scope="col">Last used</th>
                <th scope="col">Status</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {keys.map((k) => (
                <tr data-key-row={k.id}>
                  <td data-label="Name">{k.name ?? '—'}</td>
                  <td data-label="Key">
                    <code class="nowrap">{k.prefix}…</code>
                  </td>
                  <td class="hide-sm" data-label="Created">
                    {when(k.createdAt)}
                  </td>
                  <td data-label="Last used">{when(k.lastUsedAt)}</td>
                  <td data-label="Status">{k.revokedAt ? `revoked ${when(k.revokedAt)}` : 'active'}</td>
                  <td data-label="Actions">
                    {k.revokedAt ? null : (
                      <div class="row-actions">
                        <form method="post" action={`/dashboard/consumer/keys/${k.id}/rename`} class="row-actions">
                          <input type="hidden" name="_csrf" value={p.csrf} />
                          <label for={`name-${k.id}`} class="sr-label">
                            Rename
                          </label>
                          <input
                            type="text"
                            id={`name-${k.id}`}
                            name="name"
                            value={k.name ?? ''}
                            maxlength={100}
                            required
                          />
                          <button type="submit" class="secondary">
                            Rename
                          </button>
                        </form>
                        <a
                          href={`/dashboard/consumer/keys/${k.id}/revoke`}
                          class="button danger-link"
                          aria-label={`Revoke key ${keyLabel(k)}…`}
                        >
                          Revoke…
                        </a>
                      </div>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <form method="post" action="/dashboard/consumer/keys" class="panel">
          <input type="hidden" name="_csrf" value={p.csrf} />
          <label for="new-key-name">New key name</label>
          <input type="text" id="new-key-name" name="name" maxlength={100} required placeholder="e.g. production" />
          {p.testmode ? null : (
            <>
              <label for="new-key-mode">Mode</label>
              <select id="new-key-mode" name="mode">
                <option value="live">Live (cp_live_): spends the balance</option>
                <option value="test">Test (cp_test_): spends test credits, moves no money</option>
              </select>
            </>
          )}
          <button type="submit">Create key</button>
        </form>
      </section>
    </Layout>
  );
}

/** Revoking asks first, naming the key; the POST comes from this page's form. */
export function RevokeKeyPage(p: { csrf: string; account: Account; testmode?: boolean; k: KeyRow }) {
  return (
    <Layout title="Revoke an API key" csrf={p.csrf} account={p.account} testmode={p.testmode}>
      <p>
        Revoke the key <strong>{keyLabel(p.k)}</strong>? Every call made with it is refused from then on; this cannot be
        undone.
      </p>
      <p class="note">
        Last used {when(p.k.lastUsedAt)}; created {when(p.k.createdAt)}.
      </p>
      <form method="post" action={`/dashboard/consumer/keys/${p.k.id}/revoke`} class="actions">
        <input type="hidden" name="_csrf" value={p.csrf} />
        <button type="submit" class="danger">
          Revoke {p.k.name ? `“${p.k.name}”` : 'this key'}
        </button>
        <a href="/dashboard/consumer#keys">Cancel</a>
      </form>
    </Layout>
  );
}

type SelfServe = NonNullable<Overview['selfServe']>;

/** A wallet account's test credits, where to send stablecoin, and its top-ups as the watcher saw them. */
function TopUpSection({ s }: { s: SelfServe }) {
  return (
    <section aria-labelledby="topup-h" id="top-up">
      <h2 id="topup-h">Top up</h2>
      <div class="cards">
        <Card label="Test credits" note="Spent by cp_test_ keys only; they move no money.">
          <Money micros={s.testBalance} field="test-balance" />
        </Card>
      </div>
      {s.treasury && s.wallet ? (
        <p>
          Send the stablecoin (<code class="hash">{s.token}</code>) from your wallet{' '}
          <code class="hash">{s.wallet}</code> to the treasury <code class="hash">{s.treasury}</code>: an ordinary
          ERC-20 transfer. It is credited to your balance once after {plural(s.confirmations, 'confirmation')}, 1 token
          unit = 1 micro-dollar.
        </p>
      ) : s.treasury ? null : (
        <p class="note">Top-ups need a chain: this deployment has none configured.</p>
      )}
      <p class="note">
        Or pay with x402 from any wallet: <code class="nowrap">POST /v1/credits/top-up</code> with a live key and the
        amount (see the README); it is credited once the transfer is on chain.
      </p>
      {s.topUps.length === 0 ? (
        <p class="note">No top-ups yet.</p>
      ) : (
        <div class="table-wrap">
          <table class="stack">
            <caption class="sr-label">Top-ups, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Seen</th>
                <th scope="col">Amount</th>
                <th scope="col">Status</th>
                <th scope="col">Paid by</th>
                <th scope="col">Transaction</th>
              </tr>
            </thead>
            <tbody>
              {s.topUps.map((t) => (
                <tr data-top-up-status={t.status} data-top-up-via={t.via}>
                  <td data-label="Seen">{when(t.seenAt)}</td>
                  <td data-label="Amount">
                    <Money micros={t.amount} />
                  </td>
                  <td data-label="Status">
                    {t.status === 'credited' ? 'Credited' : `Pending (${plural(s.confirmations, 'confirmation')})`}
                  </td>
                  <td data-label="Paid by">{t.via === 'x402' ? 'x402 payment' : 'ERC-20 transfer'}</td>
                  <td data-label="Transaction">
                    <code class="hash">{t.txHash}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
