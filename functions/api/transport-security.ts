import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from './env.ts';

// HSTS for every response (API, docs, dashboard) once citepay is served over HTTPS: the configured
// PUBLIC_URL is https, or the request arrived over TLS (directly, or through a proxy that says so).
// Browsers ignore the header over plain HTTP, so sending it on a spoofed x-forwarded-proto is harmless.
const HSTS = 'max-age=31536000; includeSubDomains';

export const overHttps = (c: Context, publicUrl: string | undefined): boolean =>
  Boolean(publicUrl?.startsWith('https:')) ||
  new URL(c.req.url).protocol === 'https:' ||
  c.req.header('x-forwarded-proto') === 'https';

export const transportSecurity = createMiddleware<AppEnv>(async (c, next) => {
  await next();
  if (overHttps(c, c.get('services').config.publicUrl)) c.header('strict-transport-security', HSTS);
});
