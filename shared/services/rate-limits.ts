import { decide, effectiveLimits, type Decision, type Limits } from '../core/rate-limit.ts';
import type { Queryable } from '../db/index.ts';
import { RateLimited } from '../errors.ts';
import { countRequest, dropOldWindows, limitOverrides, openAnswerCounts } from '../store/rate-limits.ts';
import type { Principal } from './api-keys.ts';
import type { Services } from './container.ts';

// Rate limits live in the database every API process, Lambda and the edge Worker share, so a
// limit holds across all of them (an in-memory counter would multiply it by the number of
// processes). Admin keys are not limited: operators must never lock themselves out.

async function limitsFor(services: Pick<Services, 'config'>, db: Queryable, accountId: string): Promise<Limits> {
  return effectiveLimits(services.config.rateLimits.defaults, await limitOverrides(db, accountId));
}

/** What the RateLimit headers say about a counted request, and the 429 when it is over a limit. */
export interface Admission {
  decision: Decision;
  refused: RateLimited | null;
}

/** Counts this request against its key's and account's windows; null when nothing limits this caller. */
export async function admitRequest(services: Pick<Services, 'config' | 'db'>, principal: Principal): Promise<Admission | null> {
  if (principal.role === 'admin') return null;
  const { db } = services;
  const { windowSeconds } = services.config.rateLimits;
  const limits = await limitsFor(services, db, principal.accountId);
  const policies = [
    { policy: 'key' as const, scope: `key:${principal.keyId}`, limit: limits.keyRequests },
    { policy: 'account' as const, scope: `account:${principal.accountId}`, limit: limits.accountRequests },
  ].filter((p) => p.limit > 0);
  if (policies.length === 0) return null;
  const { counts, secondsIntoWindow } = await countRequest(db, policies.map((p) => p.scope), windowSeconds);
  // Housekeeping on about one request in a hundred: old windows are never read again.
  if (Math.random() < 0.01) void dropOldWindows(db, windowSeconds).catch(() => {});
  const decision = decide(policies.map((p) => ({ policy: p.policy, limit: p.limit, count: counts.get(p.scope) ?? 1 })), windowSeconds, secondsIntoWindow);
  const over = policies.find((p) => (counts.get(p.scope) ?? 0) > p.limit);
  const refused = over
    ? new RateLimited(`rate limit of the ${over.policy} reached: ${over.limit} requests per ${windowSeconds} s; retry after ${decision.resetSeconds} s`, over.policy, decision.resetSeconds)
    : null;
  return { decision, refused };
}

/** Inside the transaction that creates an answer, under the account lock, so the count is exact. */
export async function assertAnswerSlot(services: Pick<Services, 'config'>, tx: Queryable, principal: Principal): Promise<void> {
  if (principal.role === 'admin') return;
  const limits = await limitsFor(services, tx, principal.accountId);
  const open = await openAnswerCounts(tx, principal.accountId, principal.keyId);
  if (limits.keyAnswers > 0 && open.key >= limits.keyAnswers)
    throw new RateLimited(`this key already has ${open.key} answers queued or running (limit ${limits.keyAnswers}); retry when one finishes`, 'key_answers', 1);
  if (limits.accountAnswers > 0 && open.account >= limits.accountAnswers)
    throw new RateLimited(`this account already has ${open.account} answers queued or running (limit ${limits.accountAnswers}); retry when one finishes`, 'account_answers', 1);
}
