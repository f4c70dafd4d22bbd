import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPublicClient, createTestClient, http } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { ANVIL_DEV_ACCOUNTS, startAnvil } from './anvil.ts';

describe('startAnvil', () => {
  it('starts the npm-shipped anvil on a free port with the chain id asked for', async () => {
    const anvil = await startAnvil({ port: 0, chainId: 901, silent: true });
    try {
      const client = createPublicClient({ transport: http(anvil.rpcUrl) });
      expect(await client.getChainId()).toBe(901);
      // The exported development accounts are the node's funded ones.
      for (const { address, privateKey } of ANVIL_DEV_ACCOUNTS) {
        expect(privateKeyToAccount(privateKey).address).toBe(address);
        expect(await client.getBalance({ address })).toBeGreaterThan(0n);
      }
    } finally {
      await anvil.stop();
    }
  });

  it('keeps its chain across a restart when given a state file', async () => {
    const statePath = join(mkdtempSync(join(tmpdir(), 'citepay-anvil-')), 'state.json');
    const first = await startAnvil({ statePath, silent: true });
    await createTestClient({ mode: 'anvil', transport: http(first.rpcUrl) }).mine({ blocks: 7 });
    await first.stop();
    const second = await startAnvil({ statePath, silent: true });
    try {
      expect(await createPublicClient({ transport: http(second.rpcUrl) }).getBlockNumber()).toBe(7n);
    } finally {
      await second.stop();
    }
  });

  it('fails with anvil’s own error when it cannot start', async () => {
    const running = await startAnvil({ silent: true });
    try {
      const port = Number(new URL(running.rpcUrl).port);
      await expect(startAnvil({ port, silent: true })).rejects.toThrow(/anvil did not start[\s\S]*(in use|Address)/i);
    } finally {
      await running.stop();
    }
  });
});
