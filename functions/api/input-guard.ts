import { createMiddleware } from 'hono/factory';
import { InvalidInput } from '../../shared/errors.ts';
import type { AppEnv } from './env.ts';

/** What every request is held to before any route does work (README "Limits"; the fuzzer checks them). */
export const LIMITS = {
  /** Any JSON body; document uploads get MAX_DOCUMENT_BYTES + 64 KiB instead. */
  jsonBodyBytes: 256 * 1024,
  /** Objects and arrays nested inside one another, counting the body itself. */
  jsonDepth: 32,
  /** One query parameter's value. */
  queryValueChars: 2048,
  /** All request headers together (the Node server; Lambda and the edge have their platform's). */
  headerBytes: 16 * 1024,
} as const;

const JSON_TYPE = /^application\/([a-z0-9.+-]+\+)?json\b/i;
// PostgreSQL text and jsonb cannot hold U+0000; a lone surrogate is not Unicode (jsonb refuses it,
// text would silently store U+FFFD). Either one, anywhere in a request, is the caller's to fix.
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `s` cannot be accepted as text, or null when it can. */
export function unstorableText(s: string): string | null {
  const m = UNSTORABLE.exec(s);
  if (!m) return null;
  return m[0] === '\u0000'
    ? 'must not contain U+0000 (NUL) characters'
    : 'must not contain unpaired UTF-16 surrogates (not valid Unicode)';
}

export function requireStorableText(s: string, field: string): void {
  const why = unstorableText(s);
  if (why) throw new InvalidInput(`${field}: ${why}`, field);
}

/** True when JSON text nests objects/arrays deeper than `max`; scans the text, so nothing deep is ever parsed. */
export function jsonTooDeep(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92 /* \ */) i++;
      else if (ch === 34 /* " */) inString = false;
    } else if (ch === 34) inString = true;
    else if (ch === 123 /* { */ || ch === 91 /* [ */) {
      if (++depth > max) return true;
    } else if (ch === 125 /* } */ || ch === 93 /* ] */) depth--;
  }
  return false;
}

/** Every key and string in a parsed JSON value must be storable; `path` names the field in the error. */
export function requireStorableJson(value: unknown, path: string): void {
  if (typeof value === 'string') requireStorableText(value, path || 'body');
  else if (Array.isArray(value)) value.forEach((v, i) => requireStorableJson(v, join(path, String(i))));
  else if (value && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) {
      requireStorableText(k, `${join(path, '(key)')}`);
      requireStorableJson(v, join(path, k));
    }
}

/** JSON text sent inside a field (a multipart `metadata`), held to the same rules as a JSON body; undefined if it does not parse. */
export function parseGuardedJson(text: string, field: string): unknown {
  if (jsonTooDeep(text, LIMITS.jsonDepth))
    throw new InvalidInput(`${field}: JSON nested deeper than ${LIMITS.jsonDepth} levels`, field);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  requireStorableJson(value, field);
  return value;
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

/**
 * Bad text and deep JSON become a 400 naming the field before validation or any route work:
 * the path, every query parameter and every string of a JSON body. (Multipart fields are checked
 * where the upload route reads them; document bytes where the service decodes them.)
 */
export const inputGuard = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    requireStorableText(c.req.path, 'path');
    for (const [name, values] of Object.entries(c.req.queries())) {
      requireStorableText(name, 'query parameter name');
      for (const value of values) {
        requireStorableText(value, `${name} (in query)`);
        if (value.length > LIMITS.queryValueChars)
          throw new InvalidInput(`${name} (in query): longer than ${LIMITS.queryValueChars} characters`, name);
      }
    }
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && JSON_TYPE.test(c.req.header('content-type') ?? '')) {
      const text = await c.req.text();
      if (jsonTooDeep(text, LIMITS.jsonDepth))
        throw new InvalidInput(`body: JSON nested deeper than ${LIMITS.jsonDepth} levels`);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined; // malformed: the route's validator answers 400 with its own message
      }
      requireStorableJson(body, '');
    }
    await next();
  });
