import type { Context, Hono } from 'hono';
import type { RateCardTerms } from '../../shared/core/rate-cards.ts';
import { Forbidden, InvalidInput, Unauthorized } from '../../shared/errors.ts';
import { sessionPrincipal } from '../../shared/services/owner-datanets.ts';
import { ownerRateCard, setRateCard } from '../../shared/services/rate-cards.ts';
import { toHttpError, ERROR_STATUS } from '../api/errors.ts';
import { parseUsd } from './datanets.tsx';
import type { DashEnv } from './security.ts';
import { RateCardPage, formOf, type RateCardForm } from './views/rate-card.tsx';

// /dashboard/owner/datanets/:id/rate-card: the owner sets the next version of a datanet's rate
// card through the service the API uses (setRateCard). A saved form redirects (Post/Redirect/Get);
// a refused one is shown again as it was typed, with the reason, and nothing is saved.

function owner(c: Context<DashEnv>) {
  const session = c.get('session');
  if (!session) throw new Unauthorized('sign in first');
  if (session.account.kind !== 'contributor') throw new Forbidden('this page is for contributor accounts');
  return { session, principal: sessionPrincipal(session.account, session.livemode) };
}

const LABELS: Record<string, string> = {
  retrieval: 'Retrieval use',
  answer: 'Answer use',
  minimum: 'Minimum per use',
  testRetrieval: 'Test retrieval use',
  testAnswer: 'Test answer use',
};

function usdField(form: RateCardForm, name: keyof typeof LABELS): bigint {
  try {
    return parseUsd(String(form[name as keyof RateCardForm] || '0'));
  } catch {
    throw new InvalidInput(`${LABELS[name]}: dollars with up to 6 decimals, e.g. 0.0015`, name);
  }
}

/** The typed form as terms; an InvalidInput names the field that is wrong. */
function termsOf(form: RateCardForm): RateCardTerms {
  const prices = { retrieval: usdField(form, 'retrieval'), answer: usdField(form, 'answer') };
  const minimumPerUse = usdField(form, 'minimum');
  if (form.test !== 'price') return { prices, minimumPerUse, test: { mode: form.test } };
  if (!form.testRetrieval.trim() || !form.testAnswer.trim())
    throw new InvalidInput('Test prices: give both test prices, or choose another test-mode option', 'test');
  return {
    prices,
    minimumPerUse,
    test: {
      mode: 'price',
      prices: { retrieval: usdField(form, 'testRetrieval'), answer: usdField(form, 'testAnswer') },
    },
  };
}

const text = (v: unknown) => (typeof v === 'string' ? v.trim().slice(0, 40) : '');

export function registerRateCardPages(app: Hono<DashEnv>) {
  const page = async (c: Context<DashEnv>, form?: RateCardForm, flash?: { text: string; error?: boolean }) => {
    const { session, principal } = owner(c);
    const services = c.get('services');
    const { datanet, history } = await ownerRateCard(services, principal, c.req.param('id')!);
    const origin = services.config.publicUrl ?? new URL(c.req.url).origin;
    return (
      <RateCardPage
        csrf={session.csrf}
        account={session.account}
        testmode={!session.livemode}
        datanet={datanet}
        history={history}
        form={form ?? formOf(history[0]!)}
        licenseUrl={`${origin.replace(/\/$/, '')}/v1/datanets/${datanet.id}/license.xml`}
        flash={flash}
      />
    );
  };

  app.get('/dashboard/owner/datanets/:id/rate-card', async (c) => {
    const saved = c.req.query('saved');
    const flash =
      saved === 'same'
        ? { text: 'Nothing changed: those are the prices in force.' }
        : saved && /^\d{1,9}$/.test(saved)
          ? { text: `Saved: version ${saved} is in force for every call priced from now on.` }
          : undefined;
    return c.html(await page(c, undefined, flash));
  });

  app.post('/dashboard/owner/datanets/:id/rate-card', async (c) => {
    const { principal } = owner(c);
    const body = await c.req.parseBody();
    const mode = text(body.test);
    const form: RateCardForm = {
      retrieval: text(body.retrieval),
      answer: text(body.answer),
      minimum: text(body.minimum),
      test: mode === 'excluded' || mode === 'price' ? mode : 'same',
      testRetrieval: text(body.testRetrieval),
      testAnswer: text(body.testAnswer),
    };
    const id = c.req.param('id');
    try {
      const { card, changed } = await setRateCard(c.get('services'), principal, id, termsOf(form));
      return c.redirect(`/dashboard/owner/datanets/${id}/rate-card?saved=${changed ? card.version : 'same'}`, 303);
    } catch (err) {
      // A form the owner can fix comes back as typed, with the reason; anything else is the error page.
      if (!(err instanceof InvalidInput || err instanceof Forbidden)) throw err;
      const http = toHttpError(err);
      return c.html(await page(c, form, { text: `Not saved. ${http.message}`, error: true }), ERROR_STATUS[http.code]);
    }
  });
}
