// Rate-limit arithmetic and its IETF headers (draft-ietf-httpapi-ratelimit-headers: the
// `RateLimit-Policy` and `RateLimit` structured fields), kept pure so the Node API, Lambda and
// the edge Worker decide and answer alike.

export interface Limits {
  /** requests per window for the whole account; 0 = no limit */
  accountRequests: number;
  /** requests per window for one key; 0 = no limit */
  keyRequests: number;
  /** answers queued or running at once for the account / for one key; 0 = no limit */
  accountAnswers: number;
  keyAnswers: number;
}

export interface WindowCount {
  policy: 'key' | 'account';
  limit: number;
  /** requests counted in the current window, this one included */
  count: number;
}

export interface Decision {
  allowed: boolean;
  /** seconds until the window resets (Retry-After when refused) */
  resetSeconds: number;
  policyHeader: string;
  rateLimitHeader: string;
}

/** Fixed windows: refused once any limited policy's count passes its limit. */
export function decide(counts: readonly WindowCount[], windowSeconds: number, secondsIntoWindow: number): Decision {
  const limited = counts.filter((c) => c.limit > 0);
  const resetSeconds = Math.max(1, Math.ceil(windowSeconds - secondsIntoWindow));
  return {
    allowed: limited.every((c) => c.count <= c.limit),
    resetSeconds,
    policyHeader: limited.map((c) => `"${c.policy}";q=${c.limit};w=${windowSeconds}`).join(', '),
    rateLimitHeader: limited
      .map((c) => `"${c.policy}";r=${Math.max(0, c.limit - c.count)};t=${resetSeconds}`)
      .join(', '),
  };
}

/** Overrides win over defaults field by field; null/undefined keeps the default. */
export function effectiveLimits(
  defaults: Limits,
  overrides: Partial<Record<keyof Limits, number | null>> | null,
): Limits {
  const pick = (k: keyof Limits) => overrides?.[k] ?? defaults[k];
  return {
    accountRequests: pick('accountRequests'),
    keyRequests: pick('keyRequests'),
    accountAnswers: pick('accountAnswers'),
    keyAnswers: pick('keyAnswers'),
  };
}
