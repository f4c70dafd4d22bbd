import type { Context } from 'hono';
import { validator } from 'hono/validator';
import type { z } from 'zod';
import { Forbidden, InvalidInput, Unauthorized } from '../../../shared/errors.ts';
import type { Account } from '../../../shared/store/accounts.ts';
import { describeZodError } from '../../api/errors.ts';
import type { DashEnv } from '../security.ts';

// What every dashboard page module shares: who may see it, how long a page is, and query parsing.

export const PAGE_SIZE = 25;

export function signedIn(c: Context<DashEnv>, kind?: Account['kind']) {
  const session = c.get('session');
  if (!session) throw new Unauthorized('sign in first');
  if (kind && session.account.kind !== kind) throw new Forbidden(`this page is for ${kind} accounts`);
  return session;
}

/**
 * A page's query parameters, parsed by a zod schema as the API parses its own: a bad one is a
 * domain InvalidInput, which the dashboard's error handler renders as its 400 page (JSON for fetch).
 */
export const validQuery = <T extends z.ZodType>(schema: T) =>
  validator('query', (value): z.output<T> => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new InvalidInput(`${describeZodError(parsed.error)} (in query)`);
    return parsed.data;
  });
