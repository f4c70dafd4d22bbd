// Reading stablecoin inflows to the treasury from the chain (issue 20): the Transfer logs a
// transaction made, the Transfers into the treasury over a block range (the top-up watcher), and
// whether an EIP-3009 authorization was used (and by which transaction) before an x402 payment is
// settled again. Reads only: nothing here signs.
import { createPublicClient, getAddress, http, parseAbiItem, parseEventLogs, type Address, type Hex } from 'viem';
import { testUsdAbi } from '../../contracts/artifacts/TestUSD.ts';

export interface TokenTransfer {
  from: Address;
  to: Address;
  value: bigint;
  txHash: Hex;
  logIndex: number;
  blockNumber: bigint;
}

export interface TokenInflows {
  readonly token: Address;
  /** the chain's head block */
  head(): Promise<bigint>;
  /** the token's Transfer logs of one transaction (empty: not mined, or it moved no tokens) */
  transfersIn(txHash: Hex): Promise<TokenTransfer[]>;
  /** Transfers of the token into `to` in [fromBlock, toBlock] */
  transfersTo(to: Address, fromBlock: bigint, toBlock: bigint): Promise<TokenTransfer[]>;
  /** Who sent a transaction (a wallet's own transfer, not one a facilitator relayed); null: unknown */
  senderOf(txHash: Hex): Promise<Address | null>;
  /** The transaction that used an EIP-3009 authorization, or null while it is unused. */
  authorizationUsedBy(authorizer: Address, nonce: Hex): Promise<Hex | null>;
}

export interface CreateTokenInflowsParameters {
  rpcUrl: string;
  token: Address;
  pollingInterval?: number;
}

// EIP-3009's event (TestUSD emits it; so do USDC and its kin)
const authorizationUsed = parseAbiItem('event AuthorizationUsed(address indexed authorizer, bytes32 indexed nonce)');
const transferEvent = parseAbiItem('event Transfer(address indexed from, address indexed to, uint256 value)');

export function createTokenInflows(p: CreateTokenInflowsParameters): TokenInflows {
  const client = createPublicClient({ transport: http(p.rpcUrl), pollingInterval: p.pollingInterval ?? 250 });
  const token = getAddress(p.token);
  const toTransfer = (l: {
    args: { from?: Address; to?: Address; value?: bigint };
    transactionHash: Hex | null;
    logIndex: number | null;
    blockNumber: bigint | null;
  }): TokenTransfer => ({
    from: getAddress(l.args.from!),
    to: getAddress(l.args.to!),
    value: l.args.value!,
    txHash: l.transactionHash!,
    logIndex: l.logIndex!,
    blockNumber: l.blockNumber!,
  });
  return {
    token,
    head: () => client.getBlockNumber({ cacheTime: 0 }),
    async transfersIn(txHash) {
      const receipt = await client.getTransactionReceipt({ hash: txHash }).catch(() => null);
      if (receipt?.status !== 'success') return [];
      return parseEventLogs({ abi: [transferEvent], logs: receipt.logs, eventName: 'Transfer' })
        .filter((l) => getAddress(l.address) === token)
        .map(toTransfer);
    },
    async transfersTo(to, fromBlock, toBlock) {
      if (toBlock < fromBlock) return [];
      const logs = await client.getLogs({
        address: token,
        event: transferEvent,
        args: { to },
        fromBlock,
        toBlock,
      });
      return logs.map((l) => toTransfer(l));
    },
    async senderOf(txHash) {
      const tx = await client.getTransaction({ hash: txHash }).catch(() => null);
      return tx ? getAddress(tx.from) : null;
    },
    async authorizationUsedBy(authorizer, nonce) {
      const used = await client.readContract({
        address: token,
        abi: testUsdAbi,
        functionName: 'authorizationState',
        args: [authorizer, nonce],
      });
      if (!used) return null;
      const logs = await client.getLogs({
        address: token,
        event: authorizationUsed,
        args: { authorizer, nonce },
        fromBlock: 0n,
        toBlock: 'latest',
      });
      return (logs[0]?.transactionHash as Hex | undefined) ?? null;
    },
  };
}
