import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ZodError } from 'zod';
import { ApiError, ERROR_STATUS, type ErrorCode } from '../../shared/errors.ts';
import type { AppEnv } from './env.ts';

export const ErrorBody = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      requestId: z.string(),
      docs: z.string().optional(),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .openapi('Error');

const json = (description: string) => ({ description, content: { 'application/json': { schema: ErrorBody } } });

/** Spread into every route's `responses`, so the error shape is documented everywhere. */
export const errorResponses = {
  400: json('Bad input: malformed JSON, wrong types or values out of range'),
  401: json('Missing, malformed, unknown or revoked API key'),
  403: json('The key is valid but its role may not call this route'),
  404: json('No such resource (or it belongs to another tenant)'),
  409: json('Conflicts with existing state (e.g. a wallet already registered)'),
  413: json('Request body too large'),
  415: json('Unsupported content type'),
  422: json('Idempotency-Key reused with a different request'),
  503: json('A dependency (queue, engine) is unavailable; retry after Retry-After seconds; nothing was charged'),
  500: json('Unexpected server error (details are logged, never returned)'),
} as const;

export const paymentResponses = { 402: json('Prepaid credits cannot cover this call') } as const;

const STATUS_CODES = Object.fromEntries(Object.entries(ERROR_STATUS).map(([k, v]) => [v, k])) as Record<number, ErrorCode>;

export function errorJson(c: Context<AppEnv>, code: ErrorCode, message: string, details?: Record<string, unknown>) {
  const requestId = c.get('requestId') ?? 'unknown';
  return c.json(
    { error: { code, message, requestId, docs: '/docs', ...(details ? { details } : {}) } },
    ERROR_STATUS[code],
  );
}

export function describeZodError(error: ZodError): string {
  return error.issues
    .map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`)
    .join('; ');
}

/** zod-openapi hook: validation failures become the one 400 body. */
export function validationHook(result: { success: boolean; error?: ZodError; target?: string }, c: Context<AppEnv>) {
  if (!result.success && result.error) {
    const where = result.target && result.target !== 'json' ? ` (in ${result.target})` : '';
    return errorJson(c, 'BAD_REQUEST', `${describeZodError(result.error)}${where}`);
  }
  return undefined;
}

export function onError(err: Error, c: Context<AppEnv>) {
  if (err instanceof ApiError) {
    const retryAfter = err.details?.retryAfterSeconds;
    if (typeof retryAfter === 'number') c.header('Retry-After', String(retryAfter));
    return errorJson(c, err.code, err.message, err.details);
  }
  if (err instanceof HTTPException) {
    const code = STATUS_CODES[err.status] ?? (err.status >= 500 ? 'INTERNAL' : 'BAD_REQUEST');
    return errorJson(c, code, err.message || code.toLowerCase().replaceAll('_', ' '));
  }
  // Internal text stays in the log; the caller gets the request id to quote.
  c.get('services')?.log.error('unhandled error', { requestId: c.get('requestId'), error: err.stack ?? String(err) });
  return errorJson(c, 'INTERNAL', 'internal error; quote the requestId when reporting it');
}
