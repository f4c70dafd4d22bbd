// Contracts for a test file on the shared anvil (started by test/global-setup.ts).
// Test files run in parallel processes against the same node, so each deployment uses its own
// random account (funded with anvil_setBalance) as deployer, admin and settler: no nonce races.
import {
  createPublicClient,
  createTestClient,
  createWalletClient,
  http,
  parseEther,
  type Address,
  type Hex,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { inject } from 'vitest';
import { deployLocalContracts } from '../shared/chain/deploy.ts';
import { createSettlementChain, type SettlementChain } from '../shared/chain/distributor.ts';

export interface TestChain {
  rpcUrl: string;
  chainId: number;
  /** The settlement port, signing as the settler. */
  chain: SettlementChain;
  token: Address;
  distributor: Address;
  /** Random key: deployer, distributor admin, TestUSD owner and settler (holds the treasury, approved). */
  settlerKey: Hex;
  settler: Address;
  publicClient: ReturnType<typeof testPublicClient>;
  testClient: ReturnType<typeof createTestClient>;
  /** Another random account with 1,000 ETH for gas (an outsider, a relayer…). */
  fundedAccount(): Promise<{ key: Hex; address: Address; wallet: ReturnType<typeof testWalletClient> }>;
}

const testPublicClient = (rpcUrl: string) => createPublicClient({ transport: http(rpcUrl), pollingInterval: 50 });
const testWalletClient = (rpcUrl: string, key: Hex) =>
  createWalletClient({ account: privateKeyToAccount(key), transport: http(rpcUrl) });

/** Fresh TestUSD + CitepayDistributor; the settler holds `treasuryFunding` tUSD (default 1e12 = $1M). */
export async function deployTestChain(opts: { treasuryFunding?: bigint } = {}): Promise<TestChain> {
  const rpcUrl = inject('chainRpcUrl');
  const testClient = createTestClient({ mode: 'anvil', transport: http(rpcUrl) });
  const fundedAccount = async () => {
    const key = generatePrivateKey();
    const address = privateKeyToAccount(key).address;
    await testClient.setBalance({ address, value: parseEther('1000') });
    return { key, address, wallet: testWalletClient(rpcUrl, key) };
  };
  const settler = await fundedAccount();
  const deployed = await deployLocalContracts({
    rpcUrl,
    deployerKey: settler.key,
    settlerKey: settler.key,
    treasuryFunding: opts.treasuryFunding ?? 10n ** 12n,
  });
  return {
    rpcUrl,
    chainId: deployed.chainId,
    chain: createSettlementChain({
      rpcUrl,
      settlerKey: settler.key,
      distributor: deployed.distributor,
      token: deployed.token,
      pollingInterval: 50,
    }),
    token: deployed.token,
    distributor: deployed.distributor,
    settlerKey: settler.key,
    settler: settler.address,
    publicClient: testPublicClient(rpcUrl),
    testClient,
    fundedAccount,
  };
}
