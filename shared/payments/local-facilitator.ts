import { x402Facilitator } from '@x402/core/facilitator';
import { toFacilitatorEvmSigner } from '@x402/evm';
import { BatchSettlementEvmScheme } from '@x402/evm/batch-settlement/facilitator';
import { ExactEvmScheme } from '@x402/evm/exact/facilitator';
import { UptoEvmScheme } from '@x402/evm/upto/facilitator';
import { createPublicClient, createWalletClient, http, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createSerialSender, type SerialSender } from '../chain/serial-sender.ts';

// A facilitator for the local chain from the x402 packages' own code: @x402/core's
// x402Facilitator with @x402/evm's `exact` scheme (EIP-3009 transferWithAuthorization) and `upto`
// (Permit2 through x402's upto proxy, which `npm start` places on the local chain), signing
// with its own key (never the settler's: the two would race for nonces). `npm start` serves it
// over HTTP (functions/local/facilitator-server.ts); a deployment uses a hosted one by URL.

export interface LocalFacilitatorParameters {
  rpcUrl: string;
  chainId: number;
  /** pays the gas of each settlement */
  privateKey: Hex;
  /**
   * Serialises this key's transactions. Several `npm start` processes on one chain each run a
   * facilitator with the same key: give each the deployment's sender for that key (a database
   * lock, services/signer-lock.ts) so they never pick the same nonce. Default: this process only.
   */
  sender?: SerialSender;
}

export function createLocalFacilitator(params: LocalFacilitatorParameters): x402Facilitator {
  const account = privateKeyToAccount(params.privateKey);
  const sender = params.sender ?? createSerialSender();
  const chain = {
    id: params.chainId,
    name: 'local',
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [params.rpcUrl] } },
  };
  const wallet = createWalletClient({ account, chain, transport: http(params.rpcUrl) });
  const reader = createPublicClient({ chain, transport: http(params.rpcUrl), pollingInterval: 100 });
  // every transaction at a nonce read from the chain while holding the key's lock (a stale one is re-read)
  const serially = (send: (nonce: number) => Promise<Hex>) =>
    sender.send({
      address: account.address,
      pendingNonce: () => reader.getTransactionCount({ address: account.address, blockTag: 'pending' }),
      sendWithNonce: send,
    });
  const signer = toFacilitatorEvmSigner({
    address: account.address,
    // from the facilitator: `upto` simulates the proxy's settle, which only its facilitator may call
    readContract: (args) => reader.readContract({ ...(args as object), account: account.address } as never),
    verifyTypedData: (args) => reader.verifyTypedData(args as never),
    writeContract: (args) =>
      serially((nonce) => wallet.writeContract({ ...(args as object), account, chain, nonce } as never)),
    sendTransaction: (args) =>
      serially((nonce) => wallet.sendTransaction({ ...(args as object), account, chain, nonce } as never)),
    waitForTransactionReceipt: (args) => reader.waitForTransactionReceipt(args as never),
    getCode: (args) => reader.getCode(args),
  } as Parameters<typeof toFacilitatorEvmSigner>[0]);
  const network = `eip155:${params.chainId}` as const;
  // batch-settlement: deposits, claims and sweeps through x402's channel contract; the facilitator's
  // key is also the channels' receiverAuthorizer (it signs each claim batch it submits)
  return new x402Facilitator()
    .register(network, new ExactEvmScheme(signer))
    .register(network, new UptoEvmScheme(signer))
    .register(network, new BatchSettlementEvmScheme(signer, account));
}
