import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { createMiddleware } from 'hono/factory';
import { Forbidden } from '../../shared/errors.ts';
import { SESSION_TTL_MS, sessionFor, type DashboardSession } from '../../shared/services/dashboard-auth.ts';
import type { AppEnv } from '../api/env.ts';
import { overHttps } from '../api/transport-security.ts';

// Browser-facing protections for the dashboard: headers (a strict CSP: scripts and styles from
// this origin only, no inline code), session and sign-in cookies, and CSRF checks on every POST.

export type DashEnv = { Variables: AppEnv['Variables'] & { session: DashboardSession | null } };

export const SESSION_COOKIE = 'cp_session';
/** Before sign-in: a double-submit token binding the sign-in form (and the SIWE POST) to this browser. */
export const LOGIN_COOKIE = 'cp_login';

export const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

/** Served over HTTPS: the configured public URL says so, or this request came over it (directly or through a proxy). */
const isHttps = (c: Context<DashEnv>) => overHttps(c, c.get('services').config.publicUrl);

export const securityHeaders = createMiddleware<DashEnv>(async (c, next) => {
  await next();
  c.header('content-security-policy', CSP);
  c.header('x-content-type-options', 'nosniff');
  c.header('referrer-policy', 'same-origin');
  c.header('x-frame-options', 'DENY');
  if (!c.res.headers.get('cache-control')) c.header('cache-control', 'no-store');
});

export function setSessionCookie(c: Context<DashEnv>, token: string) {
  setCookie(c, SESSION_COOKIE, token, {
    path: '/dashboard',
    httpOnly: true,
    secure: isHttps(c),
    sameSite: 'Lax',
    maxAge: SESSION_TTL_MS / 1000,
  });
  deleteCookie(c, LOGIN_COOKIE, { path: '/dashboard' });
}

export function clearSessionCookie(c: Context<DashEnv>) {
  deleteCookie(c, SESSION_COOKIE, { path: '/dashboard', httpOnly: true, secure: isHttps(c), sameSite: 'Lax' });
}

/** The sign-in page's token: reuses the browser's cookie or sets a new one. */
export function loginToken(c: Context<DashEnv>): string {
  const existing = getCookie(c, LOGIN_COOKIE);
  if (existing && /^[A-Za-z0-9_-]{32}$/.test(existing)) return existing;
  const token = randomBytes(24).toString('base64url');
  setCookie(c, LOGIN_COOKIE, token, {
    path: '/dashboard',
    httpOnly: true,
    secure: isHttps(c),
    sameSite: 'Strict',
    maxAge: 3600,
  });
  return token;
}

/** Loads the session (if any) for every dashboard request. */
export const loadSession = createMiddleware<DashEnv>(async (c, next) => {
  c.set('session', await sessionFor(c.get('services').db, getCookie(c, SESSION_COOKIE)));
  await next();
});

const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * Every POST: the Origin (when the browser sends one) is the configured public URL — never derived
 * from the request's Host, which a proxy or an attacker controls — and the request carries the
 * CSRF token — the session's once signed in, the sign-in cookie's before — as `_csrf` or `x-csrf-token`.
 */
export const csrfProtection = createMiddleware<DashEnv>(async (c, next) => {
  if (c.req.method !== 'POST') return next();
  const origin = c.req.header('origin');
  const expected = c.get('services').config.publicUrl;
  if (origin && !expected) throw new Forbidden('form posts need PUBLIC_URL (the origin browsers use) to be configured');
  if (origin && origin !== expected) throw new Forbidden('cross-origin form post refused');
  let presented = c.req.header('x-csrf-token');
  if (
    !presented &&
    (c.req.header('content-type') ?? '').match(/^(application\/x-www-form-urlencoded|multipart\/form-data)/)
  ) {
    const field = (await c.req.parseBody())._csrf;
    presented = typeof field === 'string' ? field : undefined;
  }
  const signingIn = c.req.path.startsWith('/dashboard/sign-in/');
  const token = signingIn ? getCookie(c, LOGIN_COOKIE) : c.get('session')?.csrf;
  if (!presented || !token || !same(presented, token))
    throw new Forbidden('missing or wrong CSRF token: reload the page and try again');
  await next();
});
