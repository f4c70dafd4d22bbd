import type { Queryable } from '../db/index.ts';
import type { ApiKeyRecord, Role } from './accounts.ts';

// A request's admission in ONE statement (issue 18: every statement is a round trip, and the edge
// Worker's database is a network hop away): the key by its hash, the account's rate-limit
// overrides, this request counted in its key's and account's windows, and the payer's running
// balance. Only a live key of one of `roles` (not an admin: never limited) is counted.

export interface AdmitKeyParameters {
  secretHash: string;
  roles: readonly Role[];
  windowSeconds: number;
  /** requests per window when the account has no override; 0 = not limited */
  defaults: { keyRequests: number; accountRequests: number };
}

export interface AdmitKeyReturnType {
  key: ApiKeyRecord & { accountDisabled: boolean };
  credits: { balance: bigint; held: bigint };
  /** the limited windows this request was counted in, key first; empty when none */
  windows: { policy: 'key' | 'account'; limit: number; count: number }[];
  secondsIntoWindow: number;
}

type Row = {
  id: string;
  account_id: string;
  role: Role;
  name: string | null;
  prefix: string;
  secret_hash: string;
  livemode: boolean;
  created_at: Date;
  revoked_at: Date | null;
  account_disabled: boolean;
  balance: bigint | null;
  held: bigint | null;
  windows: { policy: 'key' | 'account'; limit: number; count: number; into: number }[] | null;
};

export async function admitKey(db: Queryable, p: AdmitKeyParameters): Promise<AdmitKeyReturnType | null> {
  const r = await db.query<Row>(
    `WITH k AS (
       SELECT k.*, l.requests_per_minute AS account_override, l.key_requests_per_minute AS key_override,
              a.disabled_at IS NOT NULL AS account_disabled
         FROM api_keys k JOIN accounts a ON a.id = k.account_id LEFT JOIN account_limits l ON l.account_id = k.account_id
        WHERE k.secret_hash = $1),
     w AS (SELECT to_timestamp(floor(extract(epoch FROM now()) / $3) * $3) AS start),
     s AS (
       SELECT 1 AS ord, 'key' AS policy, 'key:' || k.id AS scope, coalesce(k.key_override, $4) AS lim FROM k
        WHERE k.revoked_at IS NULL AND NOT k.account_disabled AND k.role = ANY($2::text[]) AND k.role <> 'admin'
       UNION ALL
       SELECT 2, 'account', 'account:' || k.account_id, coalesce(k.account_override, $5) FROM k
        WHERE k.revoked_at IS NULL AND NOT k.account_disabled AND k.role = ANY($2::text[]) AND k.role <> 'admin'),
     c AS (
       INSERT INTO rate_limit_windows (scope, window_start, count)
       SELECT s.scope, w.start, 1 FROM s, w WHERE s.lim > 0
       ON CONFLICT (scope, window_start) DO UPDATE SET count = rate_limit_windows.count + 1
       RETURNING scope, count, extract(epoch FROM now() - window_start)::float8 AS into)
     SELECT k.id, k.account_id, k.role, k.name, k.prefix, k.secret_hash, k.livemode, k.created_at, k.revoked_at, k.account_disabled, b.balance, b.held,
            (SELECT json_agg(json_build_object('policy', s.policy, 'limit', s.lim, 'count', c.count, 'into', c.into) ORDER BY s.ord)
               FROM s JOIN c ON c.scope = s.scope) AS windows
       FROM k LEFT JOIN account_balances b ON b.account_id = k.account_id AND b.livemode = k.livemode`,
    [p.secretHash, p.roles, p.windowSeconds, p.defaults.keyRequests, p.defaults.accountRequests],
  );
  const row = r.rows[0];
  if (!row) return null;
  const windows = row.windows ?? [];
  return {
    key: {
      id: row.id,
      accountId: row.account_id,
      role: row.role,
      name: row.name,
      prefix: row.prefix,
      secretHash: row.secret_hash,
      livemode: row.livemode,
      createdAt: row.created_at,
      revokedAt: row.revoked_at,
      accountDisabled: row.account_disabled,
    },
    credits: { balance: row.balance ?? 0n, held: row.held ?? 0n },
    windows: windows.map((x) => ({ policy: x.policy, limit: x.limit, count: x.count })),
    secondsIntoWindow: windows[0]?.into ?? 0,
  };
}
