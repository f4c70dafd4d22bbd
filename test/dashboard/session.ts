import type { App } from '../../functions/api/app.ts';

/** A browser-like client for in-process tests: keeps cookies, reads the CSRF token from pages. */
export function browserSession(app: App, origin = 'http://localhost') {
  const jar = new Map<string, string>();
  const request = async (
    method: string,
    path: string,
    init: {
      form?: Record<string, string>;
      json?: unknown;
      multipart?: FormData;
      headers?: Record<string, string>;
    } = {},
  ) => {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    if (jar.size) headers.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    let body: string | FormData | undefined;
    if (init.multipart) {
      body = init.multipart; // the runtime sets the multipart boundary
    } else if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    } else if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    }
    const res = await app.request(`${origin}${path}`, { method, headers, body, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [k, v] = pair!.split('=') as [string, string];
      if (/max-age=0/i.test(c) || v === '') jar.delete(k);
      else jar.set(k, v);
    }
    return { status: res.status, location: res.headers.get('location'), headers: res.headers, text: await res.text() };
  };
  const csrfOf = (html: string) => html.match(/<meta name="csrf-token" content="([^"]*)"/)?.[1] ?? '';
  return {
    jar,
    request,
    get: (path: string) => request('GET', path),
    csrfOf,
    /** GET the page, then POST the form with its CSRF token. */
    async submit(pagePath: string, action: string, form: Record<string, string>) {
      const page = await request('GET', pagePath);
      return request('POST', action, { form: { _csrf: csrfOf(page.text), ...form } });
    },
    async signInWithKey(key: string) {
      const r = await this.submit('/dashboard/sign-in', '/dashboard/sign-in/key', { key });
      if (r.status !== 303 || r.location === null || r.location.includes('error'))
        throw new Error(`sign-in failed: ${r.status} ${r.location}`);
      return r;
    },
  };
}

/** The micro-unit value of the element marked data-field="name". */
export function field(html: string, name: string): string | undefined {
  return (
    html.match(new RegExp(`data-field="${name}"[^>]*data-micros="([^"]*)"`))?.[1] ??
    html.match(new RegExp(`data-field="${name}"[^>]*>([^<]*)<`))?.[1]
  );
}
