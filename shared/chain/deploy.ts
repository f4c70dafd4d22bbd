// Local deployment: TestUSD + CitepayDistributor on a dev chain, the settler funded and approved.
import { createPublicClient, createWalletClient, http, maxUint256, type Address, type Chain, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { citepayDistributorAbi, citepayDistributorBytecode } from '../../contracts/artifacts/CitepayDistributor.ts';
import { testUsdAbi, testUsdBytecode } from '../../contracts/artifacts/TestUSD.ts';

export interface DeployLocalContractsParameters {
  rpcUrl: string;
  /** Deploys both contracts; becomes TestUSD owner and distributor admin. */
  deployerKey: Hex;
  /** Gets SETTLER_ROLE, `treasuryFunding` tUSD and approves the distributor for max uint256. May equal deployerKey. */
  settlerKey: Hex;
  /** tUSD (micro-USD) minted to the settler. */
  treasuryFunding: bigint;
  chain?: Chain;
}

export interface DeployLocalContractsReturnType {
  token: Address;
  distributor: Address;
  chainId: number;
  deployer: Address;
  settler: Address;
}

export async function deployLocalContracts(
  params: DeployLocalContractsParameters,
): Promise<DeployLocalContractsReturnType> {
  const transport = http(params.rpcUrl);
  const publicClient = createPublicClient({ chain: params.chain, transport, pollingInterval: 100 });
  const deployer = createWalletClient({
    account: privateKeyToAccount(params.deployerKey),
    chain: params.chain,
    transport,
  });
  const settler = createWalletClient({
    account: privateKeyToAccount(params.settlerKey),
    chain: params.chain,
    transport,
  });

  // Sequential, each mined before the next: a shared key's nonces stay in order.
  const mined = async (what: string, hash: Hex) => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') throw new Error(`local deployment: ${what} reverted (tx ${hash})`);
    return receipt;
  };
  const tokenReceipt = await mined(
    'TestUSD deployment',
    await deployer.deployContract({
      chain: params.chain,
      abi: testUsdAbi,
      bytecode: testUsdBytecode,
      args: [deployer.account.address],
    }),
  );
  const token = tokenReceipt.contractAddress!;
  const distributorReceipt = await mined(
    'CitepayDistributor deployment',
    await deployer.deployContract({
      chain: params.chain,
      abi: citepayDistributorAbi,
      bytecode: citepayDistributorBytecode,
      args: [token, deployer.account.address, settler.account.address],
    }),
  );
  const distributor = distributorReceipt.contractAddress!;
  if (params.treasuryFunding > 0n) {
    await mined(
      'mint',
      await deployer.writeContract({
        chain: params.chain,
        address: token,
        abi: testUsdAbi,
        functionName: 'mint',
        args: [settler.account.address, params.treasuryFunding],
      }),
    );
  }
  await mined(
    'approve',
    await settler.writeContract({
      chain: params.chain,
      address: token,
      abi: testUsdAbi,
      functionName: 'approve',
      args: [distributor, maxUint256],
    }),
  );

  return {
    token,
    distributor,
    chainId: await publicClient.getChainId(),
    deployer: deployer.account.address,
    settler: settler.account.address,
  };
}
