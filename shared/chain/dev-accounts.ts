// anvil's public development accounts and chain id, as plain constants: importable anywhere
// (the edge Worker's bundle included), unlike anvil.ts, which starts the binary.
import type { Address, Hex } from 'viem';

/**
 * PUBLIC DEVELOPMENT KEYS — anvil's well-known accounts from the mnemonic
 * "test test test test test test test test test test test junk". Everyone knows these keys;
 * they hold money only on local dev chains. Never use them anywhere else.
 */
export const ANVIL_DEV_ACCOUNTS = [
  {
    address: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
    privateKey: '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  },
  {
    address: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    privateKey: '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  },
  {
    address: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
    privateKey: '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  },
  {
    address: '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
    privateKey: '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  },
] as const satisfies readonly { address: Address; privateKey: Hex }[];

/** anvil's default chain id (also with `--network optimism`). */
export const ANVIL_CHAIN_ID = 31337;
