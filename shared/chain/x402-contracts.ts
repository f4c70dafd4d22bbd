// x402's `upto` scheme on a local dev chain: Uniswap's Permit2 and x402's upto proxy at the
// addresses @x402/evm expects them (PERMIT2_ADDRESS, x402UptoPermit2ProxyAddress: canonical
// CREATE2 addresses on public chains, absent from a fresh anvil). Our solc-js build of the vendored
// sources (contracts/vendor/) cannot reproduce the canonical initcode, so the runtime code is put
// there with anvil_setCode. The runtime comes from running the initcode in an eth_call (no
// transaction, no deployer nonce used). Permit2 caches its EIP-712 domain separator, which embeds
// its own address, as an immutable: the value computed for the eth_call's address is replaced by
// the canonical address's, and the result is checked by reading DOMAIN_SEPARATOR() back.
import { PERMIT2_ADDRESS, x402UptoPermit2ProxyAddress } from '@x402/evm';
import {
  createPublicClient,
  domainSeparator,
  encodeDeployData,
  http,
  type Address,
  type Hex,
  type PublicClient,
} from 'viem';
import { permit2Abi, permit2Bytecode } from '../../contracts/artifacts/Permit2.ts';
import {
  x402UptoPermit2ProxyAbi,
  x402UptoPermit2ProxyBytecode,
} from '../../contracts/artifacts/x402UptoPermit2Proxy.ts';

export const X402_UPTO_CONTRACTS = { permit2: PERMIT2_ADDRESS, uptoProxy: x402UptoPermit2ProxyAddress } as const;

export interface InstallX402ContractsReturnType {
  /** false: both were already there (another process on this chain, or an earlier start) */
  installed: boolean;
}

/** Idempotent: places Permit2 and the upto proxy on a dev chain (anvil) unless code is already there. */
export async function installX402UptoContracts(rpcUrl: string): Promise<InstallX402ContractsReturnType> {
  const client = createPublicClient({ transport: http(rpcUrl) });
  const [permit2Code, proxyCode] = await Promise.all([
    client.getCode({ address: PERMIT2_ADDRESS }),
    client.getCode({ address: x402UptoPermit2ProxyAddress }),
  ]);
  if (permit2Code && permit2Code !== '0x' && proxyCode && proxyCode !== '0x') return { installed: false };

  const chainId = await client.getChainId();
  const permit2Runtime = await runtimeOf(client, permit2Bytecode);
  await setCode(client, PERMIT2_ADDRESS, permit2Runtime);
  const cached = await readDomainSeparator(client);
  const canonical = domainSeparator({ domain: { name: 'Permit2', chainId, verifyingContract: PERMIT2_ADDRESS } });
  await setCode(client, PERMIT2_ADDRESS, replaceWord(permit2Runtime, cached, canonical));
  if ((await readDomainSeparator(client)) !== canonical)
    throw new Error('Permit2 on the local chain: DOMAIN_SEPARATOR() is not the canonical address’s');

  const proxyRuntime = await runtimeOf(
    client,
    encodeDeployData({ abi: x402UptoPermit2ProxyAbi, bytecode: x402UptoPermit2ProxyBytecode, args: [PERMIT2_ADDRESS] }),
  );
  await setCode(client, x402UptoPermit2ProxyAddress, proxyRuntime);
  const permit2 = await client.readContract({
    address: x402UptoPermit2ProxyAddress,
    abi: x402UptoPermit2ProxyAbi,
    functionName: 'PERMIT2',
  });
  if (permit2.toLowerCase() !== PERMIT2_ADDRESS.toLowerCase())
    throw new Error('x402 upto proxy on the local chain: PERMIT2() is not the canonical Permit2');
  return { installed: true };
}

/** The code a contract creation would leave: the initcode run in an eth_call returns it. */
async function runtimeOf(client: PublicClient, initcode: Hex): Promise<Hex> {
  const { data } = await client.call({ data: initcode });
  if (!data || data === '0x') throw new Error('local x402 contracts: the initcode returned no runtime code');
  return data;
}

const setCode = (client: PublicClient, address: Address, code: Hex) =>
  client.request({ method: 'anvil_setCode' as never, params: [address, code] as never });

const readDomainSeparator = (client: PublicClient) =>
  client.readContract({ address: PERMIT2_ADDRESS, abi: permit2Abi, functionName: 'DOMAIN_SEPARATOR' });

/** Replaces every byte-aligned occurrence of the 32-byte `from` in `code` (at least one must exist). */
export function replaceWord(code: Hex, from: Hex, to: Hex): Hex {
  const hex = code.slice(2).toLowerCase();
  const needle = from.slice(2).toLowerCase();
  const value = to.slice(2).toLowerCase();
  let out = '';
  let found = 0;
  for (let i = 0; i < hex.length; ) {
    if (i % 2 === 0 && hex.startsWith(needle, i)) {
      out += value;
      i += needle.length;
      found++;
    } else {
      out += hex[i];
      i++;
    }
  }
  if (found === 0) throw new Error('replaceWord: the value is not in the code');
  return `0x${out}`;
}
