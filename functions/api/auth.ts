import type { Context } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { Decision } from '../../shared/core/rate-limit.ts';
import { Unauthorized, Forbidden } from '../../shared/errors.ts';
import { admitPresentedKey, type Admission } from '../../shared/services/rate-limits.ts';
import { requireLive } from '../../shared/services/test-mode.ts';
import type { Principal } from '../../shared/services/api-keys.ts';
import type { Role } from '../../shared/store/accounts.ts';
import type { AppEnv } from './env.ts';

/** `Authorization: Bearer cp_live_…` (or `x-api-key`), and one of `roles`. */
export const requireRole = (...roles: Role[]) =>
  createMiddleware<AppEnv>(async (c, next) => {
    const header = c.req.header('authorization');
    const presented = header?.match(/^Bearer\s+(\S+)$/i)?.[1] ?? c.req.header('x-api-key');
    // a verified x402 payment (functions/api/x402.ts) has set its payer wallet's account instead:
    // the payment is that call's admission (no key to count against a window)
    const paid = presented ? undefined : c.get('principal');
    if (!presented && !paid) throw new Unauthorized('missing API key: send "Authorization: Bearer cp_live_…"');
    let principal: Principal | undefined = paid;
    let admission: Admission | null = null;
    if (!principal) {
      // Key, rate-limit count and credits in one statement (a round trip saved is latency saved, most on the edge).
      const admitted = await admitPresentedKey(c.get('services'), presented!, roles);
      if (!admitted) throw new Unauthorized('invalid or revoked API key');
      ({ principal, admission } = admitted);
    }
    if (!roles.includes(principal.role))
      throw new Forbidden(`this route needs a ${roles.join(' or ')} key; this key is a ${principal.role} key`);
    c.set('principal', principal);
    if (admission) {
      setRateLimitHeaders(c, admission.decision); // on admitted and refused requests alike
      if (admission.refused) throw admission.refused;
    }
    await next();
  });

/** The IETF RateLimit-Policy and RateLimit fields. */
function setRateLimitHeaders(c: Context<AppEnv>, decision: Decision) {
  c.header('RateLimit-Policy', decision.policyHeader);
  c.header('RateLimit', decision.rateLimitHeader);
}

export const anyRole = () => requireRole('admin', 'consumer', 'contributor');

/** After requireRole: routes that move live money on chain refuse cp_test_ keys (test money never settles). */
export const requireLiveKey = () =>
  createMiddleware<AppEnv>(async (c, next) => {
    requireLive(c.get('principal'), 'settle or claim');
    await next();
  });
