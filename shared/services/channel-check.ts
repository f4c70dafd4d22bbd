import type { Hex } from 'viem';
import type { ChannelReader } from '../chain/x402-channel-reader.ts';
import type { Queryable } from '../db/index.ts';
import { balanceOf } from '../store/ledger.ts';
import {
  X402_CHANNEL_CLAIMS_ACCOUNT_ID,
  X402_VOUCHERS_ACCOUNT_ID,
  channelTotals,
  creditedByVoucher,
} from '../store/x402-channels.ts';
import type { LedgerCheck } from './ledger-check.ts';

// check:ledger for x402 batch-settlement channels (issue 20). In the database: what the ledger
// received on chain by claims equals the channels' claimed totals, and the vouchers' receivable
// equals what vouchers credited less what was claimed. Against the chain: each channel's claimed
// total is what the channel contract shows, and never more than was charged by voucher.

const LIMIT = 5;

export async function checkChannelLedger(db: Queryable): Promise<LedgerCheck> {
  const channels = await channelTotals(db);
  const claimed = channels.reduce((s, c) => s + c.totalClaimed, 0n);
  const claimedRows = channels.reduce((s, c) => s + c.claimedInLedger, 0n);
  const inflow = -(await balanceOf(db, X402_CHANNEL_CLAIMS_ACCOUNT_ID, true));
  const receivable = -(await balanceOf(db, X402_VOUCHERS_ACCOUNT_ID, true));
  const credited = await creditedByVoucher(db);
  const offenders = [
    ...(inflow === claimed && claimedRows === claimed
      ? []
      : [`claims in the ledger ${inflow}, claim rows ${claimedRows}, channels' claimed totals ${claimed}`]),
    ...(receivable === credited - claimed
      ? []
      : [`vouchers receivable ${receivable} ≠ credited by voucher ${credited} − claimed ${claimed}`]),
    ...channels
      .filter((c) => c.totalClaimed > c.chargedCumulative)
      .map((c) => `channel=${c.channelId}: claimed ${c.totalClaimed} > charged ${c.chargedCumulative}`),
  ];
  return {
    name: 'x402 channels: claims and the vouchers receivable match the ledger',
    ok: offenders.length === 0,
    checked: `${channels.length} channels, ${credited} credited by voucher, ${claimed} claimed, ${receivable} receivable`,
    offenders: offenders.slice(0, LIMIT),
  };
}

export async function checkChannelClaims(db: Queryable, reader: ChannelReader): Promise<LedgerCheck> {
  const channels = await channelTotals(db);
  const offenders: string[] = [];
  let onChain = 0n;
  for (const c of channels) {
    const chain = await reader.channel(c.channelId as Hex);
    onChain += chain.totalClaimed;
    if (chain.totalClaimed !== c.totalClaimed)
      offenders.push(`channel=${c.channelId}: claimed ${c.totalClaimed} in the ledger, ${chain.totalClaimed} on chain`);
  }
  const recorded = channels.reduce((s, c) => s + c.totalClaimed, 0n);
  return {
    name: 'chain: every x402 channel’s claimed total is the ledger’s',
    ok: offenders.length === 0,
    checked: `${channels.length} channels, ${recorded} claimed in the ledger, ${onChain} on chain`,
    offenders: offenders.slice(0, LIMIT),
  };
}
