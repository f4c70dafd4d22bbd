import type { Channel, ChannelStorage, ChannelUpdateResult } from '@x402/evm/batch-settlement/server';
import type { Db, Queryable } from '../db/index.ts';
import { newId } from '../ids.ts';
import { postTransaction } from './ledger.ts';

// x402 `batch-settlement` channels (migration 0135): @x402/evm's server ChannelStorage on the
// database, so every process on it shares one state and a restart loses nothing. The shipped ones
// are in-memory, file and Redis; this one does each update in a transaction that holds the
// channel's lock, which is the atomicity the interface asks of a multi-instance backend.

export const X402_VOUCHERS_ACCOUNT_ID = 'acct_x402_vouchers';
export const X402_CHANNEL_CLAIMS_ACCOUNT_ID = 'acct_x402_channel_claims';

const COLUMNS = `channel_id, channel_config, charged_cumulative::text, signed_max_claimable::text, signature,
  balance::text, total_claimed::text, withdraw_requested_at::text, refund_nonce::text, onchain_synced_at::text,
  last_request_at::text, pending_request`;

interface ChannelRow {
  channel_id: string;
  channel_config: Channel['channelConfig'];
  charged_cumulative: string;
  signed_max_claimable: string;
  signature: string;
  balance: string;
  total_claimed: string;
  withdraw_requested_at: string;
  refund_nonce: string;
  onchain_synced_at: string | null;
  last_request_at: string;
  pending_request: Channel['pendingRequest'] | null;
}

const channelOf = (r: ChannelRow): Channel => ({
  channelId: r.channel_id,
  channelConfig: r.channel_config,
  chargedCumulativeAmount: r.charged_cumulative,
  signedMaxClaimable: r.signed_max_claimable,
  signature: r.signature,
  balance: r.balance,
  totalClaimed: r.total_claimed,
  withdrawRequestedAt: Number(r.withdraw_requested_at),
  refundNonce: Number(r.refund_nonce),
  ...(r.onchain_synced_at === null ? {} : { onchainSyncedAt: Number(r.onchain_synced_at) }),
  lastRequestTimestamp: Number(r.last_request_at),
  ...(r.pending_request ? { pendingRequest: r.pending_request } : {}),
});

const key = (channelId: string) => channelId.toLowerCase();

export async function findChannel(db: Queryable, channelId: string): Promise<Channel | undefined> {
  const r = await db.query<ChannelRow>(`SELECT ${COLUMNS} FROM x402_channels WHERE channel_id = $1`, [key(channelId)]);
  return r.rows[0] ? channelOf(r.rows[0]) : undefined;
}

/** @x402/evm's ChannelStorage on the database (see the file comment). */
export class DbChannelStorage implements ChannelStorage {
  constructor(private readonly db: Db) {}

  get(channelId: string) {
    return findChannel(this.db, channelId);
  }

  async list(): Promise<Channel[]> {
    const r = await this.db.query<ChannelRow>(`SELECT ${COLUMNS} FROM x402_channels ORDER BY channel_id`);
    return r.rows.map(channelOf);
  }

  updateChannel(
    channelId: string,
    update: (current: Channel | undefined) => Channel | undefined,
  ): Promise<ChannelUpdateResult> {
    const id = key(channelId);
    return this.db.transaction(async (tx) => {
      await tx.query(`SELECT pg_advisory_xact_lock(hashtext($1))`, [`x402-channel:${id}`]);
      const current = await findChannel(tx, id);
      const next = update(current);
      if (next === undefined) {
        if (current === undefined) return { channel: undefined, status: 'unchanged' };
        // a cooperative refund closes a channel; citepay does not offer refunds (its charges name the channel)
        throw new Error('x402 channel storage: deleting a channel (refund) is not supported');
      }
      if (next === current) return { channel: current, status: 'unchanged' };
      await upsertChannel(tx, id, next);
      const claimedBefore = BigInt(current?.totalClaimed ?? '0');
      const claimedNow = BigInt(next.totalClaimed);
      if (claimedNow > claimedBefore) await recordClaim(tx, id, claimedNow - claimedBefore, claimedNow);
      return { channel: next, status: 'updated' };
    });
  }
}

async function upsertChannel(tx: Queryable, id: string, c: Channel): Promise<void> {
  await tx.query(
    `INSERT INTO x402_channels (channel_id, payer, channel_config, charged_cumulative, signed_max_claimable, signature,
                                balance, total_claimed, withdraw_requested_at, refund_nonce, onchain_synced_at,
                                last_request_at, pending_request)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     ON CONFLICT (channel_id) DO UPDATE SET
       channel_config = EXCLUDED.channel_config, charged_cumulative = EXCLUDED.charged_cumulative,
       signed_max_claimable = EXCLUDED.signed_max_claimable, signature = EXCLUDED.signature,
       balance = EXCLUDED.balance, total_claimed = EXCLUDED.total_claimed,
       withdraw_requested_at = EXCLUDED.withdraw_requested_at, refund_nonce = EXCLUDED.refund_nonce,
       onchain_synced_at = EXCLUDED.onchain_synced_at, last_request_at = EXCLUDED.last_request_at,
       pending_request = EXCLUDED.pending_request, updated_at = now()`,
    [
      id,
      c.channelConfig.payer.toLowerCase(),
      JSON.stringify(c.channelConfig),
      c.chargedCumulativeAmount,
      c.signedMaxClaimable,
      c.signature,
      c.balance,
      c.totalClaimed,
      c.withdrawRequestedAt,
      c.refundNonce,
      c.onchainSyncedAt ?? null,
      c.lastRequestTimestamp,
      c.pendingRequest ? JSON.stringify(c.pendingRequest) : null,
    ],
  );
}

/**
 * The chain now shows `amount` more claimed on this channel: the vouchers' receivable is paid off
 * by the chain, in the same transaction as the channel row (so the ledger and the row never differ).
 */
async function recordClaim(tx: Queryable, channelId: string, amount: bigint, totalClaimed: bigint): Promise<void> {
  const transactionId = newId('transaction');
  await postTransaction(tx, {
    id: transactionId,
    kind: 'x402_claim',
    requestId: null,
    keyId: null,
    livemode: true,
    entries: [
      { accountId: X402_CHANNEL_CLAIMS_ACCOUNT_ID, amount: -amount },
      { accountId: X402_VOUCHERS_ACCOUNT_ID, amount },
    ],
  });
  await tx.query(
    `INSERT INTO x402_channel_claims (id, channel_id, amount, total_claimed, transaction_id) VALUES ($1, $2, $3, $4, $5)`,
    [newId('channelClaim'), channelId, amount.toString(), totalClaimed.toString(), transactionId],
  );
}

export interface NewChannelCharge {
  id: string;
  channelId: string;
  payer: string;
  cumulative: bigint;
  amount: bigint;
  route: string;
  requestId: string;
  creditTransactionId: string;
}

/** false: this channel's voucher at this cumulative amount already paid for a call (a replay). */
export async function insertChannelCharge(db: Queryable, c: NewChannelCharge): Promise<boolean> {
  const r = await db.query(
    `INSERT INTO x402_channel_charges (id, channel_id, payer, cumulative, amount, route, request_id, status, credit_transaction_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) ON CONFLICT (channel_id, cumulative) WHERE status <> 'refused' DO NOTHING`,
    [
      c.id,
      key(c.channelId),
      c.payer,
      c.cumulative.toString(),
      c.amount.toString(),
      c.route,
      c.requestId,
      c.creditTransactionId,
    ],
  );
  return (r.affectedRows ?? 0) > 0;
}

export async function finishChannelCharge(
  db: Queryable,
  id: string,
  outcome: { status: 'charged' } | { status: 'refused'; refundTransactionId: string; error: string },
): Promise<void> {
  await db.query(
    `UPDATE x402_channel_charges SET status = $2, refund_transaction_id = $3, error = $4, finished_at = now()
      WHERE id = $1 AND status = 'pending'`,
    [
      id,
      outcome.status,
      outcome.status === 'refused' ? outcome.refundTransactionId : null,
      outcome.status === 'refused' ? outcome.error : null,
    ],
  );
}

export interface ChannelTotals {
  channelId: string;
  payer: string;
  config: Channel['channelConfig'];
  chargedCumulative: bigint;
  totalClaimed: bigint;
  /** Σ claim rows for the channel (each with its ledger transaction) */
  claimedInLedger: bigint;
}

/** Every channel's charged and claimed totals, for check:ledger. */
export async function channelTotals(db: Queryable): Promise<ChannelTotals[]> {
  const r = await db.query<{
    channel_id: string;
    payer: string;
    channel_config: Channel['channelConfig'];
    charged: string;
    claimed: string;
    in_ledger: string;
  }>(
    `SELECT c.channel_id, c.payer, c.channel_config, c.charged_cumulative::text AS charged, c.total_claimed::text AS claimed,
            coalesce((SELECT sum(amount) FROM x402_channel_claims k WHERE k.channel_id = c.channel_id), 0)::text AS in_ledger
       FROM x402_channels c ORDER BY c.channel_id`,
  );
  return r.rows.map((x) => ({
    channelId: x.channel_id,
    payer: x.payer,
    config: x.channel_config,
    chargedCumulative: BigInt(x.charged),
    totalClaimed: BigInt(x.claimed),
    claimedInLedger: BigInt(x.in_ledger),
  }));
}

/** Σ live vouchers credited to payers (charges not refused): what the ledger took in by voucher. */
export async function creditedByVoucher(db: Queryable): Promise<bigint> {
  const r = await db.query<{ s: string }>(
    `SELECT coalesce(sum(amount), 0)::text AS s FROM x402_channel_charges WHERE status <> 'refused'`,
  );
  return BigInt(r.rows[0]!.s);
}
