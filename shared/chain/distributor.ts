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
  type Address,
  type Chain,
  type Hex,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { citepayDistributorAbi } from '../../contracts/artifacts/CitepayDistributor.ts';
import { testUsdAbi } from '../../contracts/artifacts/TestUSD.ts';

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
  /** Current epoch, payout root and total, read at one block. */
  readState(): Promise<ChainEpochState>;
  receiptsRootOf(epoch: bigint): Promise<Hex>;
  /** simulate then write; returns the tx hash without waiting */
  publish(p: PublishParameters): Promise<Hex>;
  waitForReceipt(hash: Hex, timeoutMs?: number): Promise<TxOutcome>;
  claimed(account: Address): Promise<bigint>;
  /** relayer claim (settler key pays gas): simulate → write; returns hash */
  claim(p: ClaimParameters): Promise<Hex>;
  tokenBalance(account: Address): Promise<bigint>;
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

const tokenErrors = testUsdAbi.filter((x): x is Extract<(typeof testUsdAbi)[number], { type: 'error' }> => x.type === 'error');
/** The distributor's ABI plus OpenZeppelin ERC-20 errors, so a failed token transfer inside it decodes too. */
const abi = [...citepayDistributorAbi, ...tokenErrors];

export function createSettlementChain(params: CreateSettlementChainParameters): SettlementChain {
  const { distributor, token, chain } = params;
  const account = privateKeyToAccount(params.settlerKey);
  const transport = http(params.rpcUrl);
  const publicClient = createPublicClient({ chain, transport, pollingInterval: params.pollingInterval });
  const walletClient = createWalletClient({ account, chain, transport, pollingInterval: params.pollingInterval });

  const read = <T>(functionName: string, call: () => Promise<T>) => call().catch((err: unknown) => Promise.reject(toRevertError(functionName, err)));

  return {
    settler: account.address,
    distributor,
    token,

    async readState() {
      const blockNumber = await publicClient.getBlockNumber({ cacheTime: 0 }); // viem caches it otherwise
      const at = { address: distributor, abi, blockNumber } as const;
      const [chainId, epoch, payoutRoot, totalCumulative] = await Promise.all([
        publicClient.getChainId(),
        publicClient.readContract({ ...at, functionName: 'currentEpoch' }),
        publicClient.readContract({ ...at, functionName: 'payoutRoot' }),
        publicClient.readContract({ ...at, functionName: 'totalCumulative' }),
      ]);
      return { chainId, epoch, payoutRoot, totalCumulative };
    },

    receiptsRootOf: (epoch) => read('receiptsRootOf', () => publicClient.readContract({ address: distributor, abi, functionName: 'receiptsRootOf', args: [epoch] })),

    async publish({ epoch, payoutRoot, receiptsRoot, totalCumulative }) {
      const { request } = await read('publish', () =>
        publicClient.simulateContract({ account, address: distributor, abi, functionName: 'publish', args: [epoch, payoutRoot, receiptsRoot, totalCumulative] }),
      );
      return walletClient.writeContract(request);
    },

    async waitForReceipt(hash, timeoutMs = 60_000) {
      const receipt = await publicClient.waitForTransactionReceipt({ hash, timeout: timeoutMs });
      return { status: receipt.status, gasUsed: receipt.gasUsed, blockNumber: receipt.blockNumber };
    },

    claimed: (who) => publicClient.readContract({ address: distributor, abi, functionName: 'claimed', args: [who] }),

    async claim({ account: wallet, cumulative, proof }) {
      const { request } = await read('claim', () =>
        publicClient.simulateContract({ account, address: distributor, abi, functionName: 'claim', args: [wallet, cumulative, proof] }),
      );
      return walletClient.writeContract(request);
    },

    tokenBalance: (who) => publicClient.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [who] }),
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
