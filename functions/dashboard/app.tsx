import { Hono } from 'hono';
import { DomainError, type AnyDomainError } from '../../shared/errors.ts';
import { ERROR_STATUS, toHttpError } from '../api/errors.ts';
import { registerAssets } from './pages/assets.ts';
import { registerConsumerPages } from './pages/consumer.tsx';
import { registerOwnerPages } from './pages/owner.tsx';
import { csrfProtection, loadSession, securityHeaders, type DashEnv } from './security.ts';
import { home, sessionRoutes } from './session-routes.tsx';
import { Layout } from './views/layout.tsx';

// /dashboard: server-rendered pages for data owners (contributors) and consumers, on the same
// services as the API. Not part of the OpenAPI document. One module per page group under pages/
// (owner, consumer, assets; datanets.tsx and webhooks.tsx register with the owner's); this file
// holds the middleware, the sign-in routes and the one error page.

export function dashboardRoutes() {
  const app = new Hono<DashEnv>();
  app.use('/dashboard/*', securityHeaders, loadSession, csrfProtection);
  app.use('/dashboard', securityHeaders, loadSession);

  registerAssets(app);

  app.get('/dashboard', (c) => {
    const session = c.get('session');
    return c.redirect(session ? home(session.account) : '/dashboard/sign-in');
  });

  app.route('/', sessionRoutes());

  registerOwnerPages(app);
  registerConsumerPages(app);

  app.onError((err, c) => {
    if (!(err instanceof DomainError)) throw err;
    const http = toHttpError(err as AnyDomainError);
    if (
      c.req.path === '/dashboard/sign-in/siwe' ||
      c.req.path === '/dashboard/sign-in/nonce' ||
      c.req.header('accept')?.startsWith('application/json')
    )
      return c.json(
        { error: { code: http.code, message: http.message, requestId: c.get('requestId') } },
        ERROR_STATUS[http.code],
      );
    if (http.code === 'UNAUTHORIZED' && c.req.method === 'GET') return c.redirect('/dashboard/sign-in');
    c.header('content-security-policy', CSP_FALLBACK);
    return c.html(
      <Layout title="Something went wrong" csrf="" account={c.get('session')?.account ?? null}>
        <p class="flash error" role="alert">
          {http.message}
        </p>
        <p>
          <a href="/dashboard">Back to the dashboard</a>
        </p>
      </Layout>,
      ERROR_STATUS[http.code],
    );
  });
  return app;
}

const CSP_FALLBACK =
  "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
