import type { RateCard } from '../../../shared/core/rate-cards.ts';
import { microsToUsd } from '../../../shared/core/rsl-license.ts';
import type { Account } from '../../../shared/store/accounts.ts';
import type { Datanet } from '../../../shared/store/datanets.ts';
import { Layout } from './layout.tsx';
import { Money, when } from './parts.tsx';

// A datanet's rate card: the form that sets the next version (prices per use type, a minimum per
// use, test-mode terms), the license to point robots.txt at, and the price history receipts are
// checked against.

/** The form's fields as typed (dollars as text), so a refused form comes back as it was sent. */
export interface RateCardForm {
  retrieval: string;
  answer: string;
  minimum: string;
  test: 'same' | 'excluded' | 'price';
  testRetrieval: string;
  testAnswer: string;
}

export const formOf = (card: RateCard): RateCardForm => ({
  retrieval: microsToUsd(card.prices.retrieval),
  answer: microsToUsd(card.prices.answer),
  minimum: microsToUsd(card.minimumPerUse),
  test: card.test.mode,
  testRetrieval: card.test.mode === 'price' ? microsToUsd(card.test.prices.retrieval) : '',
  testAnswer: card.test.mode === 'price' ? microsToUsd(card.test.prices.answer) : '',
});

const TEST_LABEL = { same: 'live prices', excluded: 'not charged', price: 'own prices' } as const;

const Price = (p: { id: string; name: string; label: string; value: string; hint: string }) => (
  <div>
    <label for={p.id}>{p.label}</label>
    <input
      type="text"
      inputmode="decimal"
      id={p.id}
      name={p.name}
      value={p.value}
      aria-describedby={`${p.id}-hint`}
      autocomplete="off"
      class="price"
    />
    <p class="note" id={`${p.id}-hint`}>
      {p.hint}
    </p>
  </div>
);

export function RateCardPage(p: {
  csrf: string;
  account: Account;
  testmode?: boolean;
  datanet: Datanet;
  history: RateCard[];
  form: RateCardForm;
  licenseUrl: string;
  flash?: { text: string; error?: boolean } | undefined;
}) {
  const current = p.history[0]!;
  const f = p.form;
  return (
    <Layout title={`Rate card: ${p.datanet.name}`} csrf={p.csrf} account={p.account} testmode={p.testmode}>
      <p>
        <a href={`/dashboard/owner/datanets/${p.datanet.id}`}>← {p.datanet.name}</a>
      </p>
      {p.flash ? (
        <p class={p.flash.error ? 'flash error' : 'flash'} role={p.flash.error ? 'alert' : 'status'} id="form-status">
          {p.flash.text}
        </p>
      ) : null}
      <p class="note">
        One <strong>use</strong> is a source returned by a retrieval, or a source an answer cited and that supports its
        sentence. Each use costs the consumer its price and earns you that price less the protocol fee. A change applies
        to every call priced after you save it; each receipt names the version it was charged under.
      </p>
      {p.testmode ? (
        <p class="flash error" role="status">
          This is a test-mode session: prices can be changed from a live session only (live calls are charged by them).
        </p>
      ) : null}
      <form
        method="post"
        action={`/dashboard/owner/datanets/${p.datanet.id}/rate-card`}
        class="panel"
        id="rate-card-form"
      >
        <input type="hidden" name="_csrf" value={p.csrf} />
        <h2 class="panel-title">
          Version {current.version + 1} (in force: version {current.version})
        </h2>
        <div class="price-grid">
          <Price
            id="rc-retrieval"
            name="retrieval"
            label="Retrieval use (USD)"
            value={f.retrieval}
            hint="per source returned by /v1/retrieve"
          />
          <Price
            id="rc-answer"
            name="answer"
            label="Answer use (USD)"
            value={f.answer}
            hint="per source cited and supported in an answer"
          />
          <Price
            id="rc-minimum"
            name="minimum"
            label="Minimum per use (USD)"
            value={f.minimum}
            hint="no use costs less (0 for none)"
          />
        </div>
        <fieldset>
          <legend>Test mode (cp_test_ keys)</legend>
          <label class="check">
            <input type="radio" name="test" value="same" checked={f.test === 'same'} /> Charge the live prices
          </label>
          <label class="check">
            <input type="radio" name="test" value="excluded" checked={f.test === 'excluded'} /> Exclude: test uses are
            free and earn nothing
          </label>
          <label class="check">
            <input type="radio" name="test" value="price" checked={f.test === 'price'} /> Charge these test prices:
          </label>
          <div class="price-grid">
            <Price
              id="rc-test-retrieval"
              name="testRetrieval"
              label="Test retrieval use (USD)"
              value={f.testRetrieval}
              hint="used when “test prices” is chosen"
            />
            <Price
              id="rc-test-answer"
              name="testAnswer"
              label="Test answer use (USD)"
              value={f.testAnswer}
              hint="used when “test prices” is chosen"
            />
          </div>
        </fieldset>
        <button type="submit">Save as version {current.version + 1}</button>
      </form>

      <section aria-labelledby="license-h">
        <h2 id="license-h">License (RSL 1.0)</h2>
        <p>
          Your terms as a Really Simple Licensing document, generated from the card in force:{' '}
          <a href={p.licenseUrl} class="break">
            {p.licenseUrl}
          </a>
          . Point your site at it with this line in <code>robots.txt</code>:
        </p>
        <pre class="break">
          <code>License: {p.licenseUrl}</code>
        </pre>
      </section>

      <section aria-labelledby="history-h">
        <h2 id="history-h">Price history</h2>
        <div class="table-wrap">
          <table class="stack">
            <caption class="muted">Every version, newest first</caption>
            <thead>
              <tr>
                <th scope="col" class="num">
                  Version
                </th>
                <th scope="col">In force from</th>
                <th scope="col" class="num">
                  Retrieval
                </th>
                <th scope="col" class="num">
                  Answer
                </th>
                <th scope="col" class="num">
                  Minimum
                </th>
                <th scope="col">Test mode</th>
              </tr>
            </thead>
            <tbody>
              {p.history.map((v) => (
                <tr data-version={v.version}>
                  <td class="num" data-label="Version">
                    {v.version}
                  </td>
                  <td data-label="In force from">{when(v.effectiveAt)}</td>
                  <td class="num" data-label="Retrieval">
                    <Money micros={v.prices.retrieval} />
                  </td>
                  <td class="num" data-label="Answer">
                    <Money micros={v.prices.answer} />
                  </td>
                  <td class="num" data-label="Minimum">
                    <Money micros={v.minimumPerUse} />
                  </td>
                  <td data-label="Test mode">
                    <span>
                      {TEST_LABEL[v.test.mode]}
                      {v.test.mode === 'price' ? (
                        <>
                          {' '}
                          (<Money micros={v.test.prices.retrieval} /> / <Money micros={v.test.prices.answer} />)
                        </>
                      ) : null}
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </Layout>
  );
}
