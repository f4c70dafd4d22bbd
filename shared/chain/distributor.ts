// The chain port of settlement: read the distributor, publish an epoch, relay claims.
// Every write is simulate → write (the hash comes back at once) → waitForReceipt when the caller
// wants it; contract reverts become DistributorRevertError named after the custom error.
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  erc20Abi,
  http,
  parseEventLogs,
  type Address,
  type Chain,
  type Hex,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { citepayDistributorAbi } from '../../contracts/artifacts/CitepayDistributor.ts';
import { testUsdAbi } from '../../contracts/artifacts/TestUSD.ts';
import type { ChainFinality } from '../config.ts';
import { ChainBusy, createSerialSender, type SerialSender } from './serial-sender.ts';

export interface ChainEpochState {
  /** the chain the distributor was read on (a settler refuses any other than the deployment's) */
  chainId: number;
  epoch: bigint;
  payoutRoot: Hex;
  totalCumulative: bigint;
}

export interface TxOutcome {
  status: 'success' | 'reverted';
  gasUsed: bigint;
  blockNumber: bigint;
  /** what this transaction's Claimed events paid (0 for a publish, or a claim with nothing due) */
  paid: bigint;
}

export interface PublishParameters {
  epoch: bigint;
  payoutRoot: Hex;
  receiptsRoot: Hex;
  /** Sum of every wallet's cumulative amount in the tree; the contract pulls the growth from the settler. */
  totalCumulative: bigint;
}

export interface ClaimParameters {
  account: Address;
  cumulative: bigint;
  proof: Hex[];
}

export interface SettlementChain {
  readonly settler: Address;
  readonly distributor: Address;
  readonly token: Address;
  /** Epoch, payout root and total, read at one block: the latest, or `blockNumber` (e.g. the final one). */
  readState(blockNumber?: bigint): Promise<ChainEpochState>;
  /** The newest block at the configured finality (N confirmations below the head, or the safe/finalized tag). */
  finalBlockNumber(): Promise<bigint>;
  receiptsRootOf(epoch: bigint): Promise<Hex>;
  /** simulate then write; returns the tx hash without waiting */
  publish(p: PublishParameters): Promise<Hex>;
  waitForReceipt(hash: Hex, timeoutMs?: number): Promise<TxOutcome>;
  claimed(account: Address): Promise<bigint>;
  /** relayer claim (settler key pays gas): simulate → write; returns hash */
  claim(p: ClaimParameters): Promise<Hex>;
  tokenBalance(account: Address): Promise<bigint>;
  /** Every epoch the distributor published (its EpochPublished events): roots, total and what it pulled in. */
  publishedEpochs(): Promise<PublishedEpoch[]>;
}

export interface PublishedEpoch {
  epoch: bigint;
  payoutRoot: Hex;
  receiptsRoot: Hex;
  totalCumulative: bigint;
  /** tokens the publish pulled from the settler: the growth of the total */
  funded: bigint;
  blockNumber: bigint;
}

export interface CreateSettlementChainParameters {
  rpcUrl: string;
  /** Secret: holds SETTLER_ROLE and the treasury allowance. Never logged. */
  settlerKey: Hex;
  distributor: Address;
  token: Address;
  /** viem chain (OP-Stack chains bring their formatters); without it the chain id is read from the node. */
  chain?: Chain;
  /** Receipt polling interval in ms (viem's default otherwise). */
  pollingInterval?: number;
  /** Serialises this key's transactions (default: within this process only). */
  sender?: SerialSender;
  /** When a block counts as final (default: 1 confirmation, i.e. mined). */
  finality?: ChainFinality;
  /**
   * A local dev chain's durability: called, still holding the signer's lock, once each transaction
   * is mined (e.g. dumpAnvilState), so the saved state never misses a write this key made. Must not throw.
   */
  persist?: () => Promise<void>;
}

/** A contract call reverted; `errorName` is the custom error (e.g. `EpochNotIncreasing`). */
export class DistributorRevertError extends Error {
  override readonly name = 'DistributorRevertError';
  constructor(
    readonly functionName: string,
    readonly errorName: string,
    readonly args: readonly unknown[],
    options?: { cause?: unknown },
  ) {
    super(`CitepayDistributor.${functionName} reverted: ${errorName}(${args.map(String).join(', ')})`, options);
  }
}

const tokenErrors = testUsdAbi.filter(
  (x): x is Extract<(typeof testUsdAbi)[number], { type: 'error' }> => x.type === 'error',
);
/** The distributor's ABI plus OpenZeppelin ERC-20 errors, so a failed token transfer inside it decodes too. */
const abi = [...citepayDistributorAbi, ...tokenErrors];

export function createSettlementChain(params: CreateSettlementChainParameters): SettlementChain {
  const { distributor, token, chain } = params;
  const account = privateKeyToAccount(params.settlerKey);
  const transport = http(params.rpcUrl);
  const publicClient = createPublicClient({ chain, transport, pollingInterval: params.pollingInterval });
  const walletClient = createWalletClient({ account, chain, transport, pollingInterval: params.pollingInterval });

  const sender = params.sender ?? createSerialSender();
  const finality = params.finality ?? { kind: 'confirmations', confirmations: 1 };
  /** simulate first (outside the signer's lock: a revert never holds it), then send at a nonce read under the lock */
  const send = (request: Parameters<typeof walletClient.writeContract>[0]) =>
    sender
      .send({
        address: account.address,
        pendingNonce: () => publicClient.getTransactionCount({ address: account.address, blockTag: 'pending' }),
        sendWithNonce: async (nonce) => {
          const hash = await walletClient.writeContract({ ...request, nonce } as typeof request);
          if (params.persist) {
            await publicClient.waitForTransactionReceipt({ hash, timeout: 30_000 }).catch(() => null);
            await params.persist();
          }
          return hash;
        },
      })
      .catch((err: unknown) =>
        Promise.reject(err instanceof ChainBusy ? err : toRevertError(String(request.functionName), err)),
      );

  const read = <T>(functionName: string, call: () => Promise<T>) =>
    call().catch((err: unknown) => Promise.reject(toRevertError(functionName, err)));

  return {
    settler: account.address,
    distributor,
    token,

    async readState(atBlock) {
      const blockNumber = atBlock ?? (await publicClient.getBlockNumber({ cacheTime: 0 })); // viem caches it otherwise
      const at = { address: distributor, abi, blockNumber } as const;
      const [chainId, epoch, payoutRoot, totalCumulative] = await Promise.all([
        publicClient.getChainId(),
        publicClient.readContract({ ...at, functionName: 'currentEpoch' }),
        publicClient.readContract({ ...at, functionName: 'payoutRoot' }),
        publicClient.readContract({ ...at, functionName: 'totalCumulative' }),
      ]);
      return { chainId, epoch, payoutRoot, totalCumulative };
    },

    async finalBlockNumber() {
      if (finality.kind === 'tag') return (await publicClient.getBlock({ blockTag: finality.tag })).number;
      const head = await publicClient.getBlockNumber({ cacheTime: 0 });
      const final = head - BigInt(finality.confirmations - 1);
      return final < 0n ? 0n : final;
    },

    receiptsRootOf: (epoch) =>
      read('receiptsRootOf', () =>
        publicClient.readContract({ address: distributor, abi, functionName: 'receiptsRootOf', args: [epoch] }),
      ),

    async publish({ epoch, payoutRoot, receiptsRoot, totalCumulative }) {
      const { request } = await read('publish', () =>
        publicClient.simulateContract({
          account,
          address: distributor,
          abi,
          functionName: 'publish',
          args: [epoch, payoutRoot, receiptsRoot, totalCumulative],
        }),
      );
      return send(request);
    },

    async waitForReceipt(hash, timeoutMs = 60_000) {
      const receipt = await publicClient.waitForTransactionReceipt({ hash, timeout: timeoutMs });
      const claims = parseEventLogs({ abi: citepayDistributorAbi, logs: receipt.logs, eventName: 'Claimed' });
      const paid = claims
        .filter((l) => l.address.toLowerCase() === distributor.toLowerCase())
        .reduce((sum, l) => sum + l.args.paid, 0n);
      return { status: receipt.status, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber, paid };
    },

    claimed: (who) => publicClient.readContract({ address: distributor, abi, functionName: 'claimed', args: [who] }),

    async publishedEpochs() {
      // From block 0: a local chain or a check run by an operator (a hosted RPC may cap the range).
      const logs = await publicClient.getContractEvents({
        address: distributor,
        abi: citepayDistributorAbi,
        eventName: 'EpochPublished',
        fromBlock: 0n,
      });
      return logs.map((l) => ({
        epoch: l.args.epoch!,
        payoutRoot: l.args.payoutRoot!,
        receiptsRoot: l.args.receiptsRoot!,
        totalCumulative: l.args.totalCumulative!,
        funded: l.args.funded!,
        blockNumber: l.blockNumber,
      }));
    },

    async claim({ account: wallet, cumulative, proof }) {
      const { request } = await read('claim', () =>
        publicClient.simulateContract({
          account,
          address: distributor,
          abi,
          functionName: 'claim',
          args: [wallet, cumulative, proof],
        }),
      );
      return send(request);
    },

    tokenBalance: (who) =>
      publicClient.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [who] }),
  };
}

/** A viem error whose root is a contract revert becomes a DistributorRevertError; anything else passes through. */
export function toRevertError(functionName: string, err: unknown): unknown {
  if (!(err instanceof BaseError)) return err;
  const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
  if (!(revert instanceof ContractFunctionRevertedError)) return err;
  const errorName = revert.data?.errorName ?? (revert.reason ? `Error("${revert.reason}")` : 'unknown revert');
  return new DistributorRevertError(functionName, errorName, revert.data?.args ?? [], { cause: err });
}
