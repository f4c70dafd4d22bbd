import { PERMIT2_ADDRESS } from '@x402/evm';
import { createPublicClient, createWalletClient, getAddress, http, maxUint256, toHex, type Hex } from 'viem';
import { mnemonicToAccount, privateKeyToAccount } from 'viem/accounts';
import { testUsdAbi } from '../../contracts/artifacts/TestUSD.ts';
import { ANVIL_CHAIN_ID, ANVIL_DEPLOYER_KEY } from '../../shared/chain/anvil.ts';
import type { Config } from '../../shared/config.ts';
import type { Logger } from '../../shared/logger.ts';
import { installX402UptoContracts } from '../../shared/chain/x402-contracts.ts';
import { installX402BatchContracts } from '../../shared/chain/x402-batch-contracts.ts';
import { createLocalFacilitator } from '../../shared/payments/local-facilitator.ts';
import { createSerialSender } from '../../shared/chain/serial-sender.ts';
import type { Db } from '../../shared/db/index.ts';
import { createDbSignerLock } from '../../shared/services/signer-lock.ts';
import { startFacilitatorServer } from './facilitator-server.ts';

// `npm start`'s x402 side: without X402_FACILITATOR_URL, a local facilitator (the x402 packages'
// own code) against the chain, and on the local anvil chain a demo agent wallet with test dollars.
// Both keys are anvil's PUBLIC development accounts 5 and 6 (the well-known test mnemonic); they
// hold money only on a local dev chain. Chain transactions here (the facilitator's settlements,
// the agent's top-up minted by the deployer) never use the settler's key.
const DEV_MNEMONIC = 'test test test test test test test test test test test junk';
const FACILITATOR_INDEX = 5;
const AGENT_INDEX = 6;
const AGENT_FUNDING = 100n * 1_000_000n; // $100 of test dollars
const devKey = (index: number): Hex =>
  toHex(mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index }).getHdKey().privateKey!);

export interface LocalPayments {
  config: Config;
  /** the demo agent wallet (local chain only) */
  agent: { address: `0x${string}`; privateKey: Hex } | null;
  stop(): Promise<void>;
}

export async function startLocalPayments(config: Config, db: Db, log: Logger): Promise<LocalPayments> {
  const rpcUrl = config.chain.rpcUrl;
  if (!rpcUrl || !config.chain.token) return { config, agent: null, stop: async () => {} };
  const chainId = config.x402.chainId ?? (await createPublicClient({ transport: http(rpcUrl) }).getChainId());
  const local = chainId === ANVIL_CHAIN_ID;
  let facilitatorUrl = config.x402.facilitatorUrl;
  let stop = async () => {};
  if (!facilitatorUrl && local) {
    // `upto` needs Permit2 and x402's upto proxy, which a fresh anvil lacks
    const { installed } = await installX402UptoContracts(rpcUrl);
    if (installed) log.info('x402: Permit2 and the upto proxy placed at their canonical addresses', {});
    // batch-settlement: x402's channel contract and its deposit collectors (after Permit2, which one of them calls)
    if ((await installX402BatchContracts(rpcUrl)).installed)
      log.info('x402: the batch-settlement channel contract and deposit collectors placed', {});
    const privateKey = devKey(FACILITATOR_INDEX);
    // every process on this database runs a facilitator with this key: one queue for its nonces
    const sender = createSerialSender(createDbSignerLock(db, privateKeyToAccount(privateKey).address));
    const server = await startFacilitatorServer(
      createLocalFacilitator({ rpcUrl, chainId, privateKey, sender }),
      config.x402.facilitatorPort,
    );
    facilitatorUrl = server.url;
    stop = server.stop;
    log.info('x402: local facilitator ready (upto with Permit2, batch-settlement, exact with EIP-3009)', {
      url: facilitatorUrl,
      network: `eip155:${chainId}`,
    });
  }
  const agent = local ? await fundAgent(rpcUrl, config.chain.token, log) : null;
  return { config: { ...config, x402: { ...config.x402, facilitatorUrl, chainId } }, agent, stop };
}

/** Tops the demo agent up to $100 of test dollars (minted by the TestUSD owner, the local deployer). */
async function fundAgent(rpcUrl: string, token: `0x${string}`, log: Logger): Promise<LocalPayments['agent']> {
  const privateKey = devKey(AGENT_INDEX);
  const address = getAddress(privateKeyToAccount(privateKey).address);
  const reader = createPublicClient({ transport: http(rpcUrl), pollingInterval: 100 });
  const balance = await reader.readContract({
    address: token,
    abi: testUsdAbi,
    functionName: 'balanceOf',
    args: [address],
  });
  if (balance < AGENT_FUNDING) {
    const deployer = createWalletClient({ account: privateKeyToAccount(ANVIL_DEPLOYER_KEY), transport: http(rpcUrl) });
    const hash = await deployer.writeContract({
      address: token,
      abi: testUsdAbi,
      functionName: 'mint',
      args: [address, AGENT_FUNDING - balance],
      chain: null,
    });
    await reader.waitForTransactionReceipt({ hash });
    log.info('x402: demo agent wallet funded', { address, balance: AGENT_FUNDING.toString() });
  }
  // `upto` pays through Permit2: a wallet approves it once (an on-chain transaction of its own)
  const allowance = await reader.readContract({
    address: token,
    abi: testUsdAbi,
    functionName: 'allowance',
    args: [address, PERMIT2_ADDRESS],
  });
  if (allowance < AGENT_FUNDING) {
    const agent = createWalletClient({ account: privateKeyToAccount(privateKey), transport: http(rpcUrl) });
    try {
      const hash = await agent.writeContract({
        address: token,
        abi: testUsdAbi,
        functionName: 'approve',
        args: [PERMIT2_ADDRESS, maxUint256],
        chain: null,
      });
      await reader.waitForTransactionReceipt({ hash });
    } catch (err) {
      // another process on this chain approving at the same moment (same key, same nonce): the
      // demo still pays with `exact`; a later start approves again
      log.warn('x402: the demo agent could not approve Permit2 (upto unavailable to it until then)', {
        error: err instanceof Error ? err.message.split('\n')[0] : String(err),
      });
    }
  }
  return { address, privateKey };
}
