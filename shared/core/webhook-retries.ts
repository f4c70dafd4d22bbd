// When a failed webhook delivery is tried again: exponential backoff with a cap, then it gives up
// (the dashboard's replay button, or the API's replay route, sends it again by hand).

/** Attempts before a delivery is marked failed. */
export const MAX_WEBHOOK_ATTEMPTS = 8;

/**
 * Milliseconds to wait after the `attempt`-th failure (1-based): base, 6×, 36×… capped at 6 hours.
 * With the default base of 5 s: 5 s, 30 s, 3 min, 18 min, 1 h 48 min, then every 6 h.
 */
export function webhookRetryDelayMs(attempt: number, baseMs = 5_000): number {
  const capMs = 6 * 3600_000;
  return Math.min(baseMs * 6 ** Math.max(0, attempt - 1), capMs);
}

export const webhookGivesUp = (attempts: number) => attempts >= MAX_WEBHOOK_ATTEMPTS;

/** Subscribable events per account kind (owners hear about money in, consumers about money out). */
export const WEBHOOK_EVENTS = {
  contributor: ['earnings.settled', 'payout.claimed'],
  consumer: ['balance.low', 'answer.completed'],
} as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[keyof typeof WEBHOOK_EVENTS][number];
