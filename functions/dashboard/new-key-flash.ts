import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';

// Post/Redirect/Get for secrets shown once (a new API key, a webhook signing secret): the POST
// creates it and redirects; the secret rides to the next GET in a short-lived cookie that only that
// page's path receives (HttpOnly, SameSite=Strict, never in a URL or the database) and that the
// GET deletes as it shows it. A reload of the result page creates nothing and shows it no more.

const opts = (c: Context, path: string) => ({
  path,
  httpOnly: true,
  secure: new URL(c.req.url).protocol === 'https:',
  sameSite: 'Strict' as const,
});

export function holdOnce(c: Context, name: string, path: string, id: string, value: string) {
  setCookie(c, name, `${id}.${value}`, { ...opts(c, path), maxAge: 300 });
}

/** What the previous POST held, once; null when there is none. The caller checks the id is the session's. */
export function takeOnce(c: Context, name: string, path: string): { id: string; value: string } | null {
  const raw = getCookie(c, name);
  if (raw === undefined) return null;
  deleteCookie(c, name, opts(c, path));
  const dot = raw.indexOf('.');
  return dot > 0 ? { id: raw.slice(0, dot), value: raw.slice(dot + 1) } : null;
}

const KEY = ['cp_new_key', '/dashboard/consumer'] as const;

export const holdNewKey = (c: Context, key: { id: string; key: string }) => holdOnce(c, ...KEY, key.id, key.key);

/** The key created by the previous POST, once; null when there is none (or it is not one of `ownKeyIds`). */
export function takeNewKey(c: Context, ownKeyIds: ReadonlySet<string>): { id: string; key: string } | null {
  const held = takeOnce(c, ...KEY);
  return held && ownKeyIds.has(held.id) && /^cp_(live|test)_[A-Za-z0-9]+$/.test(held.value)
    ? { id: held.id, key: held.value }
    : null;
}
