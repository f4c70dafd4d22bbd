import { BATCH_SETTLEMENT_ADDRESS } from '@x402/evm';
import { createPublicClient, http, type Hex } from 'viem';
import { x402BatchSettlementAbi } from '../../contracts/artifacts/x402BatchSettlement.ts';

// Reads x402 batch-settlement channels on chain, for check:ledger (services/channel-check.ts).

export interface ChannelReader {
  /** the channel's escrow and what has been claimed from it on chain */
  channel(channelId: Hex): Promise<{ balance: bigint; totalClaimed: bigint }>;
}

export function createChannelReader(rpcUrl: string): ChannelReader {
  const client = createPublicClient({ transport: http(rpcUrl) });
  return {
    async channel(channelId) {
      const [balance, totalClaimed] = await client.readContract({
        address: BATCH_SETTLEMENT_ADDRESS,
        abi: x402BatchSettlementAbi,
        functionName: 'channels',
        args: [channelId],
      });
      return { balance, totalClaimed };
    },
  };
}
