import type { Queryable } from '../db/index.ts';
import type { SpendSplit } from './dashboard.ts';

/**
 * Where a consumer's receipted spend went (GET /v1/usage `split`): every retrieval and answer
 * receipt of the account in one mode, summed from the receipt index. An answer's model tokens
 * are its own usage.tokenCharge less the adapter's share (migration 0071), so the four parts
 * sum to `charged` exactly. The dashboard reads the same rows through its rollup.
 */
export async function usageSplitOf(db: Queryable, accountId: string, livemode: boolean): Promise<SpendSplit> {
  const r = await db.query<{
    calls: bigint;
    charged: bigint;
    data: bigint;
    tokens: bigint;
    adapter: bigint;
    protocol: bigint;
  }>(
    `SELECT count(*)::bigint AS calls, coalesce(sum(charged), 0)::bigint AS charged, coalesce(sum(data_fees), 0)::bigint AS data,
            coalesce(sum(model_tokens), 0)::bigint AS tokens, coalesce(sum(adapter_fee), 0)::bigint AS adapter, coalesce(sum(protocol_fee), 0)::bigint AS protocol
       FROM receipt_calls WHERE payer = $1 AND livemode = $2`,
    [accountId, livemode],
  );
  const x = r.rows[0]!;
  return {
    calls: Number(x.calls),
    charged: x.charged,
    dataFees: x.data,
    modelTokens: x.tokens,
    adapterFees: x.adapter,
    protocolFee: x.protocol,
  };
}
