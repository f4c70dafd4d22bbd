// x402's `batch-settlement` scheme on a local dev chain: the channel contract (x402BatchSettlement)
// and its deposit collectors at the addresses @x402/evm 2.27 calls (canonical CREATE2 addresses on
// public chains, absent from a fresh anvil). As for `upto` (x402-contracts.ts), our solc-js build
// cannot reproduce the canonical initcode, so each initcode is run in an eth_call and the runtime
// it returns is put at the canonical address with anvil_setCode. No patch is needed: OpenZeppelin's
// EIP712 recomputes its domain separator when `address(this)` differs from the one it cached, and
// the collectors' immutables are constructor arguments (the canonical addresses). The result is
// checked by comparing the contract's getChannelId with @x402/evm's own computeChannelId.
// The facilitator reads channel state through Multicall3 (`tryAggregate`), also placed at its
// canonical address unless a chain already has it (every public one does).
import { BATCH_SETTLEMENT_ADDRESS, ERC3009_DEPOSIT_COLLECTOR_ADDRESS, PERMIT2_ADDRESS } from '@x402/evm';
import { computeChannelId } from '@x402/evm/batch-settlement/client';
import { createPublicClient, encodeDeployData, http, type Address, type Hex, type PublicClient } from 'viem';
import {
  erc3009DepositCollectorAbi,
  erc3009DepositCollectorBytecode,
} from '../../contracts/artifacts/ERC3009DepositCollector.ts';
import {
  permit2DepositCollectorAbi,
  permit2DepositCollectorBytecode,
} from '../../contracts/artifacts/Permit2DepositCollector.ts';
import { multicall3Bytecode } from '../../contracts/artifacts/Multicall3.ts';
import { x402BatchSettlementAbi, x402BatchSettlementBytecode } from '../../contracts/artifacts/x402BatchSettlement.ts';

/** @x402/evm's Permit2 deposit collector address (constants in its bundle; not exported by name). */
export const PERMIT2_DEPOSIT_COLLECTOR_ADDRESS = '0x4020425FAf3B746C082C2f942b4E5159887B0005' as const;

/** Multicall3's canonical address (@x402/evm reads through it; not exported by name). */
export const MULTICALL3_ADDRESS = '0xcA11bde05977b3631167028862bE2a173976CA11' as const;

export const X402_BATCH_CONTRACTS = {
  multicall3: MULTICALL3_ADDRESS,
  batchSettlement: BATCH_SETTLEMENT_ADDRESS,
  erc3009Collector: ERC3009_DEPOSIT_COLLECTOR_ADDRESS,
  permit2Collector: PERMIT2_DEPOSIT_COLLECTOR_ADDRESS,
} as const;

export interface InstallX402BatchContractsReturnType {
  /** false: all were already there (another process on this chain, or an earlier start) */
  installed: boolean;
}

/** Idempotent: places Multicall3, x402BatchSettlement and both deposit collectors on a dev chain (anvil). Needs Permit2 there. */
export async function installX402BatchContracts(rpcUrl: string): Promise<InstallX402BatchContractsReturnType> {
  const client = createPublicClient({ transport: http(rpcUrl) });
  const codes = await Promise.all(Object.values(X402_BATCH_CONTRACTS).map((address) => client.getCode({ address })));
  if (codes.every((code) => code && code !== '0x')) return { installed: false };

  const multicall = await client.getCode({ address: MULTICALL3_ADDRESS });
  if (!multicall || multicall === '0x')
    await setCode(client, MULTICALL3_ADDRESS, await runtimeOf(client, multicall3Bytecode));
  await setCode(client, BATCH_SETTLEMENT_ADDRESS, await runtimeOf(client, x402BatchSettlementBytecode));
  await setCode(
    client,
    PERMIT2_DEPOSIT_COLLECTOR_ADDRESS,
    await runtimeOf(
      client,
      encodeDeployData({
        abi: permit2DepositCollectorAbi,
        bytecode: permit2DepositCollectorBytecode,
        args: [BATCH_SETTLEMENT_ADDRESS, PERMIT2_ADDRESS],
      }),
    ),
  );
  await setCode(
    client,
    ERC3009_DEPOSIT_COLLECTOR_ADDRESS,
    await runtimeOf(
      client,
      encodeDeployData({
        abi: erc3009DepositCollectorAbi,
        bytecode: erc3009DepositCollectorBytecode,
        args: [BATCH_SETTLEMENT_ADDRESS],
      }),
    ),
  );
  await checkChannelIds(client);
  return { installed: true };
}

/** The contract's channel id for a sample config equals @x402/evm's: the EIP-712 domain is the canonical one. */
async function checkChannelIds(client: PublicClient): Promise<void> {
  const config = {
    payer: '0x0000000000000000000000000000000000000001',
    payerAuthorizer: '0x0000000000000000000000000000000000000002',
    receiver: '0x0000000000000000000000000000000000000003',
    receiverAuthorizer: '0x0000000000000000000000000000000000000004',
    token: '0x0000000000000000000000000000000000000005',
    withdrawDelay: 900,
    salt: `0x${'00'.repeat(31)}01`,
  } as const;
  const onChain = await client.readContract({
    address: BATCH_SETTLEMENT_ADDRESS,
    abi: x402BatchSettlementAbi,
    functionName: 'getChannelId',
    args: [config],
  });
  const expected = computeChannelId(config, await client.getChainId());
  if (onChain.toLowerCase() !== expected.toLowerCase())
    throw new Error('x402BatchSettlement on the local chain: getChannelId differs from @x402/evm’s computeChannelId');
}

/** The code a contract creation would leave: the initcode run in an eth_call returns it. */
async function runtimeOf(client: PublicClient, initcode: Hex): Promise<Hex> {
  const { data } = await client.call({ data: initcode });
  if (!data || data === '0x') throw new Error('local x402 batch contracts: the initcode returned no runtime code');
  return data;
}

const setCode = (client: PublicClient, address: Address, code: Hex) =>
  client.request({ method: 'anvil_setCode' as never, params: [address, code] as never });
