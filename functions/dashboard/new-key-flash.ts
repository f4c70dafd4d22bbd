import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';

// Post/Redirect/Get for "Create key": the POST creates the key and redirects; the key itself rides
// to the next GET in a short-lived cookie that only /dashboard/consumer receives (HttpOnly,
// SameSite=Strict, never in a URL or the database) and that the GET deletes as it shows the key.
// A reload of the result page creates nothing and shows the key no more.

const COOKIE = 'cp_new_key';
const PATH = '/dashboard/consumer';
const opts = (c: Context) => ({ path: PATH, httpOnly: true, secure: new URL(c.req.url).protocol === 'https:', sameSite: 'Strict' as const });

export function holdNewKey(c: Context, key: { id: string; key: string }) {
  setCookie(c, COOKIE, `${key.id}.${key.key}`, { ...opts(c), maxAge: 300 });
}

/** The key created by the previous POST, once; null when there is none (or it is not one of `ownKeyIds`). */
export function takeNewKey(c: Context, ownKeyIds: ReadonlySet<string>): { id: string; key: string } | null {
  const raw = getCookie(c, COOKIE);
  if (raw === undefined) return null;
  deleteCookie(c, COOKIE, opts(c));
  const dot = raw.indexOf('.');
  const id = raw.slice(0, dot);
  const key = raw.slice(dot + 1);
  return dot > 0 && ownKeyIds.has(id) && /^cp_(live|test)_[A-Za-z0-9]+$/.test(key) ? { id, key } : null;
}
