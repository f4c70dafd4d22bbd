import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createPublicClient, getAddress, http, type Address } from 'viem';
import type { Config } from '../../shared/config.ts';
import { ANVIL_DEPLOYER_KEY, ANVIL_SETTLER_KEY, startAnvil } from '../../shared/chain/anvil.ts';
import { deployLocalContracts } from '../../shared/chain/deploy.ts';
import type { Logger } from '../../shared/logger.ts';

// `npm start` without CHAIN_RPC_URL: a local OP-Stack-mode anvil whose state lives in the data
// folder, with TestUSD and the distributor deployed once and a treasury of test dollars.
const TREASURY_FUNDING = 1_000_000n * 1_000_000n; // $1M of 6-decimal test dollars

interface Deployment {
  chainId: number;
  token: Address;
  distributor: Address;
}

/** `dir`: the chain's state folder (default: the data folder's `chain/`; a process taking over a shared chain reuses its folder). */
export async function startLocalChain(config: Config, log: Logger, dir = join(config.dataDir, 'chain')): Promise<{ config: Config; dir: string; stop(): Promise<void> }> {
  await mkdir(dir, { recursive: true });
  const anvil = await startAnvil({ port: config.chain.localPort, statePath: join(dir, 'state.json'), stateIntervalSeconds: 5, silent: true });
  const settlerKey = config.chain.settlerKey ?? ANVIL_SETTLER_KEY;
  if (!config.chain.settlerKey) log.info('local chain: settling with anvil\'s PUBLIC development key (set SETTLER_PRIVATE_KEY to use another)');
  try {
    const deployment = await existingDeployment(anvil.rpcUrl, join(dir, 'contracts.json')) ?? (await deploy(anvil.rpcUrl, settlerKey, join(dir, 'contracts.json'), log));
    log.info('local chain ready', { rpcUrl: anvil.rpcUrl, chainId: deployment.chainId, distributor: deployment.distributor, token: deployment.token });
    return {
      config: { ...config, chain: { ...config.chain, rpcUrl: anvil.rpcUrl, settlerKey, distributor: deployment.distributor, token: deployment.token } },
      dir,
      stop: anvil.stop,
    };
  } catch (err) {
    await anvil.stop();
    throw err;
  }
}

/** The recorded deployment, if the chain (restored from its state file) still has its code. */
async function existingDeployment(rpcUrl: string, file: string): Promise<Deployment | null> {
  let recorded: Deployment;
  try {
    recorded = JSON.parse(await readFile(file, 'utf8')) as Deployment;
  } catch {
    return null;
  }
  const client = createPublicClient({ transport: http(rpcUrl) });
  const code = await client.getCode({ address: recorded.distributor });
  return code && code !== '0x' ? recorded : null;
}

async function deploy(rpcUrl: string, settlerKey: `0x${string}`, file: string, log: Logger): Promise<Deployment> {
  const d = await deployLocalContracts({ rpcUrl, deployerKey: ANVIL_DEPLOYER_KEY, settlerKey, treasuryFunding: TREASURY_FUNDING });
  const deployment: Deployment = { chainId: d.chainId, token: getAddress(d.token), distributor: getAddress(d.distributor) };
  await writeFile(file, `${JSON.stringify(deployment, null, 2)}\n`);
  log.info('local chain: deployed TestUSD and the distributor; the settler holds the treasury', { ...deployment, treasury: TREASURY_FUNDING.toString() });
  return deployment;
}
