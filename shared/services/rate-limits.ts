import { decide, type Decision } from '../core/rate-limit.ts';
import { RateLimited } from '../errors.ts';
import { dropOldWindows } from '../store/rate-limits.ts';
import { presentedKeyHash, principalOf, type Principal } from './api-keys.ts';
import { admitKey } from '../store/admission.ts';
import type { Role } from '../store/accounts.ts';
import type { Services } from './container.ts';

// Rate limits live in the database every API process, Lambda and the edge Worker share, so a
// limit holds across all of them (an in-memory counter would multiply it by the number of
// processes). Admin keys are not limited: operators must never lock themselves out.

/** What the RateLimit headers say about a counted request, and the 429 when it is over a limit. */
export interface Admission {
  decision: Decision;
  refused: RateLimited | null;
}

/**
 * Authenticates a presented key and, for a key of one of `roles`, counts the request and reads its
 * credits: one statement (store/admission.ts). Null: not a valid, unrevoked key. A key of another
 * role comes back uncounted, for the caller's 403.
 */
export async function admitPresentedKey(
  services: Pick<Services, 'config' | 'db'>,
  presented: string,
  roles: readonly Role[],
): Promise<{ principal: Principal; admission: Admission | null } | null> {
  const hash = presentedKeyHash(presented);
  if (!hash) return null;
  const { windowSeconds, defaults } = services.config.rateLimits;
  const admitted = await admitKey(services.db, { secretHash: hash, roles, windowSeconds, defaults });
  const principal = principalOf(admitted?.key ?? null, hash);
  if (!principal || !admitted) return null;
  principal.credits = admitted.credits;
  if (admitted.windows.length === 0) return { principal, admission: null };
  if (Math.random() < 0.01) void dropOldWindows(services.db, windowSeconds).catch(() => {});
  const decision = decide(admitted.windows, windowSeconds, admitted.secondsIntoWindow);
  const over = admitted.windows.find((w) => w.count > w.limit);
  const refused = over
    ? new RateLimited(
        `rate limit of the ${over.policy} reached: ${over.limit} requests per ${windowSeconds} s; retry after ${decision.resetSeconds} s`,
        over.policy,
        decision.resetSeconds,
      )
    : null;
  return { principal, admission: { decision, refused } };
}

/** The answer-slot limits hold_answer checks under the account lock; null for admins (never limited). */
export function answerSlotDefaults(
  services: Pick<Services, 'config'>,
  principal: Principal,
): { keyAnswers: number; accountAnswers: number } | null {
  if (principal.role === 'admin') return null;
  const { keyAnswers, accountAnswers } = services.config.rateLimits.defaults;
  return { keyAnswers, accountAnswers };
}

/** The 429 for an answer refused because its key or account has too many queued or running. */
export function answerSlotRefusal(
  policy: 'key_answers' | 'account_answers',
  open: { account: number; key: number },
  limits: { key: number; account: number },
): RateLimited {
  return policy === 'key_answers'
    ? new RateLimited(
        `this key already has ${open.key} answers queued or running (limit ${limits.key}); retry when one finishes`,
        'key_answers',
        1,
      )
    : new RateLimited(
        `this account already has ${open.account} answers queued or running (limit ${limits.account}); retry when one finishes`,
        'account_answers',
        1,
      );
}

// Plain reads and writes that routes need as they are: routes reach the store only through services.
export { limitOverrides, setLimitOverrides } from '../store/rate-limits.ts';
