import type { Account } from '../../../shared/store/accounts.ts';
import type { DeliveryRow, WebhookEndpoint } from '../../../shared/store/webhooks.ts';
import { Layout } from './layout.tsx';
import { Money, when } from './parts.tsx';

// Webhook endpoints: add one (the signing secret shown once), each endpoint's delivery log with a
// replay button, delete.

export function WebhooksPage(p: {
  csrf: string;
  account: Account;
  testmode?: boolean;
  events: readonly string[];
  endpoints: { endpoint: WebhookEndpoint; deliveries: DeliveryRow[] }[];
  secret?: { id: string; secret: string } | undefined;
  flash?: { text: string } | undefined;
}) {
  const back = p.account.kind === 'contributor' ? '/dashboard/owner' : '/dashboard/consumer';
  return (
    <Layout title="Webhooks" csrf={p.csrf} account={p.account} testmode={p.testmode}>
      <p>
        <a href={back}>← Dashboard</a>
      </p>
      {p.flash ? (
        <p class="flash" role="status">
          {p.flash.text}
        </p>
      ) : null}
      {p.secret ? (
        <div class="flash" role="alert">
          <p>
            <strong>Signing secret of {p.secret.id} — copy it now, it is shown only once:</strong>
          </p>
          <code class="secret" id="new-secret">
            {p.secret.secret}
          </code>
          <p class="note">
            Verify each delivery's <code class="nowrap">webhook-signature</code> with it (Standard Webhooks; e.g. the{' '}
            <code class="nowrap">standardwebhooks</code> package).
          </p>
        </div>
      ) : null}
      <p class="note">
        Events are signed, sent in order per endpoint, and retried with backoff (5 s, 30 s, 3 min… up to 8 attempts)
        with the same <code class="nowrap">webhook-id</code>, so a receiver can drop repeats.
      </p>
      {p.endpoints.map(({ endpoint: e, deliveries }) => (
        <section aria-labelledby={`h-${e.id}`} data-endpoint={e.id}>
          <h2 id={`h-${e.id}`}>
            <code>{e.url}</code>
          </h2>
          <p>
            {e.events.join(', ')}
            {e.balanceLowThreshold !== null ? (
              <>
                {' '}
                · below <Money micros={e.balanceLowThreshold} />
              </>
            ) : null}{' '}
            · <code class="nowrap">{e.id}</code>
          </p>
          <div class="table-wrap">
            <table class="stack">
              <caption class="muted">Delivery log, newest first</caption>
              <thead>
                <tr>
                  <th scope="col">Event</th>
                  <th scope="col">Type</th>
                  <th scope="col">Status</th>
                  <th scope="col" class="num">
                    Attempts
                  </th>
                  <th scope="col">Last answer</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {deliveries.map((d) => (
                  <tr data-event={d.eventId}>
                    <td data-label="Event">
                      <span title={d.eventId}>{when(d.createdAt)}</span>
                    </td>
                    <td data-label="Type">
                      <code class="nowrap">{d.type}</code>
                    </td>
                    <td data-label="Status">
                      <span
                        class={
                          d.status === 'delivered'
                            ? 'status-indexed'
                            : d.status === 'failed'
                              ? 'status-failed'
                              : undefined
                        }
                      >
                        {d.status === 'pending' && d.attempts > 0 ? `retrying ${when(d.nextAttemptAt)}` : d.status}
                      </span>
                    </td>
                    <td class="num" data-label="Attempts">
                      {d.attempts}
                    </td>
                    <td data-label="Last answer">
                      <span>{d.lastError ?? (d.lastStatus ? `HTTP ${d.lastStatus}` : '—')}</span>
                    </td>
                    <td data-label="Actions">
                      <form method="post" action={`/dashboard/webhooks/${e.id}/deliveries/${d.eventId}/replay`}>
                        <input type="hidden" name="_csrf" value={p.csrf} />
                        <button type="submit" class="secondary" aria-label={`Replay ${d.type} of ${when(d.createdAt)}`}>
                          Replay
                        </button>
                      </form>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {deliveries.length === 0 ? <p class="empty">Nothing sent yet.</p> : null}
          <form method="post" action={`/dashboard/webhooks/${e.id}/delete`}>
            <input type="hidden" name="_csrf" value={p.csrf} />
            <button type="submit" class="secondary">
              Stop sending to this endpoint
            </button>
          </form>
        </section>
      ))}
      <section aria-labelledby="add-h">
        <h2 id="add-h">Add an endpoint</h2>
        <form method="post" action="/dashboard/webhooks" class="panel">
          <input type="hidden" name="_csrf" value={p.csrf} />
          <label for="wh-url">URL</label>
          <input
            type="text"
            id="wh-url"
            name="url"
            inputmode="url"
            required
            placeholder="https://example.com/citepay"
            maxlength={2000}
          />
          <fieldset>
            <legend>Events</legend>
            {p.events.map((ev) => (
              <label class="check">
                <input type="checkbox" name="events" value={ev} checked /> <code class="nowrap">{ev}</code>
              </label>
            ))}
          </fieldset>
          {p.events.includes('balance.low') ? (
            <>
              <label for="wh-threshold">balance.low when the balance falls below (US dollars)</label>
              <input
                type="text"
                id="wh-threshold"
                name="threshold"
                inputmode="decimal"
                pattern="\d{1,12}(\.\d{1,6})?"
                placeholder="5.00"
              />
            </>
          ) : null}
          <button type="submit">Add endpoint</button>
        </form>
      </section>
    </Layout>
  );
}
