import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ZodError } from 'zod';
import { DomainError, type AnyDomainError } from '../../shared/errors.ts';
import type { AppEnv } from './env.ts';

// HTTP lives here and nowhere else: the code clients see, its status, Retry-After, and the
// one error body. (As unkey keeps codeToStatus beside UnkeyApiError in pkg/errors/http.ts.)
export const ERROR_STATUS = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  PAYMENT_REQUIRED: 402,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  HEADERS_TOO_LARGE: 431,
  UNPROCESSABLE: 422,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  SERVICE_UNAVAILABLE: 503,
  GATEWAY_TIMEOUT: 504,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

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
  405: json('The path exists but not with this method; `Allow` lists the methods it takes'),
  409: json(
    'Conflicts with existing state (e.g. a wallet already registered), or a request with the same Idempotency-Key is still in progress (retry after Retry-After seconds)',
  ),
  413: json('Request body too large'),
  415: json('Unsupported content type'),
  422: json(
    'Idempotency-Key reused with a different request, or an uploaded file whose text cannot be read (`details.reason`: encrypted, no_text_layer, malformed)',
  ),
  429: json(
    'A rate limit of the key or the account is used up (RateLimit and Retry-After say when it resets); nothing was done',
  ),
  503: json('A dependency (queue, engine) is unavailable; retry after Retry-After seconds; nothing was charged'),
  500: json('Unexpected server error (details are logged, never returned)'),
} as const;

export const paymentResponses = {
  402: json(
    'Prepaid credits cannot cover this call: `details` has `balance`, `held` (by answers in progress), `available` (balance − held), `required` and `livemode`',
  ),
} as const;

/** How one domain error looks on the wire. */
export interface HttpError {
  code: ErrorCode;
  message: string;
  details?: Record<string, unknown>;
  retryAfterSeconds?: number;
}

const withAnswer = (answerId: string | undefined) => (answerId ? { answerId } : {});

/** The one mapping from domain errors to what a client sees. Exhaustive: a new kind fails to compile here. */
export function toHttpError(err: AnyDomainError): HttpError {
  const { message } = err;
  switch (err.kind) {
    case 'invalid_input':
      return { code: 'BAD_REQUEST', message };
    case 'unauthorized':
      return { code: 'UNAUTHORIZED', message };
    case 'forbidden':
      return { code: 'FORBIDDEN', message };
    case 'not_found':
      return { code: 'NOT_FOUND', message };
    case 'conflict':
      return { code: 'CONFLICT', message };
    case 'insufficient_credits':
      return {
        code: 'PAYMENT_REQUIRED',
        message,
        // The ledger balance and what running answers hold of it, separately; available = balance − held.
        details: {
          balance: err.balance.toString(),
          held: err.held.toString(),
          available: err.available.toString(),
          ...(err.required === null ? {} : { required: err.required.toString() }),
          livemode: err.livemode,
        },
      };
    case 'payload_too_large':
      return { code: 'PAYLOAD_TOO_LARGE', message };
    case 'unsupported_media_type':
      return { code: 'UNSUPPORTED_MEDIA_TYPE', message };
    case 'unreadable_document':
      return { code: 'UNPROCESSABLE', message, details: { reason: err.reason } };
    case 'idempotency_mismatch':
      return { code: 'UNPROCESSABLE', message };
    case 'idempotency_in_progress':
      return {
        code: 'CONFLICT',
        message,
        details: { retryAfterSeconds: err.retryAfterSeconds },
        retryAfterSeconds: err.retryAfterSeconds,
      };
    case 'unavailable': {
      const retry = err.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: err.retryAfterSeconds };
      const details = { ...withAnswer(err.answerId), ...retry };
      return { code: 'SERVICE_UNAVAILABLE', message, ...(Object.keys(details).length ? { details } : {}), ...retry };
    }
    case 'rate_limited':
      return {
        code: 'RATE_LIMITED',
        message,
        details: { policy: err.policy, retryAfterSeconds: err.retryAfterSeconds },
        retryAfterSeconds: err.retryAfterSeconds,
      };
    case 'timeout':
      return { code: 'GATEWAY_TIMEOUT', message, ...(err.answerId ? { details: withAnswer(err.answerId) } : {}) };
    case 'generation_failed':
      // A refused request is the caller's to fix; anything else is ours (the message says nothing was charged).
      return { code: err.rejected ? 'UNPROCESSABLE' : 'INTERNAL', message, details: withAnswer(err.answerId) };
    default: {
      // Unreachable while every kind is handled above (the assignment fails to compile otherwise).
      const unhandled: never = err;
      return { code: 'INTERNAL', message: `unmapped domain error ${(unhandled as DomainError).kind}` };
    }
  }
}

/** For bodies that carry an error inside a 200 (SSE streams): code and message, no status. */
export function errorPayload(err: AnyDomainError, requestId: string) {
  const http = toHttpError(err);
  return { error: { code: http.code, message: http.message, requestId } };
}

export function errorJson(c: Context<AppEnv>, code: ErrorCode, message: string, details?: Record<string, unknown>) {
  const requestId = c.get('requestId') ?? 'unknown';
  return c.json(
    { error: { code, message, requestId, docs: '/docs', ...(details ? { details } : {}) } },
    ERROR_STATUS[code],
  );
}

export function describeZodError(error: ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'body'}: ${i.message}`).join('; ');
}

/** zod-openapi hook: validation failures become the one 400 body. */
export function validationHook(result: { success: boolean; error?: ZodError; target?: string }, c: Context<AppEnv>) {
  if (!result.success && result.error) {
    const where = result.target && result.target !== 'json' ? ` (in ${result.target})` : '';
    return errorJson(c, 'BAD_REQUEST', `${describeZodError(result.error)}${where}`);
  }
  return undefined;
}

const STATUS_CODES = Object.fromEntries(Object.entries(ERROR_STATUS).map(([k, v]) => [v, k])) as Record<
  number,
  ErrorCode
>;

export function onError(err: Error, c: Context<AppEnv>) {
  if (err instanceof DomainError) {
    const http = toHttpError(err as AnyDomainError);
    if (http.retryAfterSeconds !== undefined) c.header('Retry-After', String(http.retryAfterSeconds));
    return errorJson(c, http.code, http.message, http.details);
  }
  if (err instanceof HTTPException) {
    const code = STATUS_CODES[err.status] ?? (err.status >= 500 ? 'INTERNAL' : 'BAD_REQUEST');
    return errorJson(c, code, err.message || code.toLowerCase().replaceAll('_', ' '));
  }
  // Internal text stays in the log; the caller gets the request id to quote.
  c.get('services')?.log.error('unhandled error', { requestId: c.get('requestId'), error: err.stack ?? String(err) });
  return errorJson(c, 'INTERNAL', 'internal error; quote the requestId when reporting it');
}
