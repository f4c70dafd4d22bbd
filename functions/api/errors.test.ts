import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import {
  Conflict,
  Forbidden,
  GenerationFailed,
  IdempotencyInProgress,
  IdempotencyMismatch,
  InsufficientCredits,
  InvalidInput,
  NotFound,
  PayloadTooLarge,
  Timeout,
  Unauthorized,
  Unavailable,
  UnsupportedMediaType,
} from '../../shared/errors.ts';
import type { AppEnv } from './env.ts';
import { onError } from './errors.ts';

// The one mapping from domain errors to HTTP, through the same onError the app installs.
async function render(err: Error) {
  const app = new Hono<AppEnv>();
  app.use('*', async (c, next) => {
    c.set('requestId', 'req_test');
    await next();
  });
  app.get('/', () => {
    throw err;
  });
  app.onError(onError);
  const r = await app.request('/');
  return {
    status: r.status,
    retryAfter: r.headers.get('retry-after'),
    body: (await r.json()) as { error: Record<string, unknown> },
  };
}

describe('domain errors → HTTP', () => {
  it.each([
    [new InvalidInput('title is required', 'title'), 400, 'BAD_REQUEST'],
    [new Unauthorized('invalid or revoked API key'), 401, 'UNAUTHORIZED'],
    [new Forbidden('contributors create datanets for themselves only'), 403, 'FORBIDDEN'],
    [new NotFound('no answer ans_x', 'answer', 'ans_x'), 404, 'NOT_FOUND'],
    [new Conflict('wallet 0xabc is already registered'), 409, 'CONFLICT'],
    [new PayloadTooLarge('request body exceeds 10 bytes'), 413, 'PAYLOAD_TOO_LARGE'],
    [new UnsupportedMediaType('unsupported content type image/png', 'image/png'), 415, 'UNSUPPORTED_MEDIA_TYPE'],
    [new IdempotencyMismatch('k1'), 422, 'UNPROCESSABLE'],
  ] as const)('%s → %i %s, no details, no Retry-After', async (err, status, code) => {
    const r = await render(err);
    expect(r.status).toBe(status);
    expect(r.body).toEqual({ error: { code, message: err.message, requestId: 'req_test', docs: '/docs' } });
    expect(r.retryAfter).toBeNull();
  });

  it('insufficient credits: 402 with the balance and what running answers hold of it, separately, and the price, as strings', async () => {
    const r = await render(new InsufficientCredits(1000n, 400n, 900n));
    expect(r.status).toBe(402);
    expect(r.body.error).toEqual({
      code: 'PAYMENT_REQUIRED',
      message:
        'this call costs 900 micro-USD but 600 is available (balance 1000, of which 400 is held by answers in progress): add prepaid credits to continue',
      requestId: 'req_test',
      docs: '/docs',
      details: { balance: '1000', held: '400', available: '600', required: '900', livemode: true },
    });
    expect((await render(new InsufficientCredits(0n, 0n, null))).body.error.details).toEqual({
      balance: '0',
      held: '0',
      available: '0',
      livemode: true,
    });
    const test = await render(new InsufficientCredits(50n, 0n, 900n, false));
    expect(test.body.error.details).toEqual({
      balance: '50',
      held: '0',
      available: '50',
      required: '900',
      livemode: false,
    });
    expect(test.body.error.message).toMatch(/add test credits/);
  });

  it('unavailable: 503 with Retry-After when known; the dependency stays out of the body', async () => {
    const r = await render(new Unavailable('the generation queue is unreachable; retry shortly', 'queue', 5));
    expect(r.status).toBe(503);
    expect(r.retryAfter).toBe('5');
    expect(r.body.error).toMatchObject({ code: 'SERVICE_UNAVAILABLE', details: { retryAfterSeconds: 5 } });
    const noRetry = await render(new Unavailable('the chain cannot be reached right now: try again shortly', 'chain'));
    expect(noRetry.retryAfter).toBeNull();
    expect(noRetry.body.error.details).toBeUndefined();
    const engine = await render(
      new Unavailable('generation failed: engine down; nothing was charged', 'engine', 5, 'ans_1'),
    );
    expect(engine.body.error.details).toEqual({ answerId: 'ans_1', retryAfterSeconds: 5 });
  });

  it('an Idempotency-Key still in progress: 409 with Retry-After', async () => {
    const r = await render(new IdempotencyInProgress('k1', 1));
    expect(r.status).toBe(409);
    expect(r.retryAfter).toBe('1');
    expect(r.body.error).toMatchObject({ code: 'CONFLICT', details: { retryAfterSeconds: 1 } });
  });

  it('timeouts and failed generations name the answer', async () => {
    expect((await render(new Timeout('the answer did not finish in time', 'ans_1'))).body.error).toMatchObject({
      code: 'GATEWAY_TIMEOUT',
      details: { answerId: 'ans_1' },
    });
    const rejected = await render(
      new GenerationFailed('generation failed: bad prompt; nothing was charged', 'ans_2', true),
    );
    expect([rejected.status, rejected.body.error.code]).toEqual([422, 'UNPROCESSABLE']);
    const failed = await render(new GenerationFailed('generation failed: boom; nothing was charged', 'ans_3', false));
    expect([failed.status, failed.body.error.code, failed.body.error.message]).toEqual([
      500,
      'INTERNAL',
      'generation failed: boom; nothing was charged',
    ]);
  });

  it('anything else is a 500 that does not echo the internal text', async () => {
    const r = await render(new Error('connection string postgres://secret@db'));
    expect(r.status).toBe(500);
    expect(r.body.error.message).not.toContain('secret');
    expect(r.body.error.code).toBe('INTERNAL');
  });
});
