import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';

// `npm start` as a user runs it: a real process, a real port, a data folder on disk.
interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
}

const running: ChildProcess[] = [];

function start(env: Record<string, string>): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'functions/local/start.ts'], {
    env: {
      ...process.env,
      PORT: '0',
      CHAIN_PORT: '0',
      SETTLEMENT_INTERVAL_SECONDS: '0',
      LOG_REQUESTS: 'false',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const match = out.match(/"msg":"citepay listening","url":"([^"]+)"/);
      // The key banner follows the listening line; a test that reads it waits for it (bannerOf).
      if (match) resolve({ child, url: match[1]!, output: () => out });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) => reject(new Error(`exited with ${code}:\n${out}`)));
  });
}

/** The first start's key banner, once written (it may arrive in a later chunk than the listening line). */
async function bannerOf(s: Started): Promise<string> {
  await vi.waitFor(() => expect(s.output()).toMatch(/Try: curl/), { timeout: 60_000, interval: 20 });
  return s.output();
}

async function stop(s: Started): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => s.child.once('exit', resolve));
  s.child.kill('SIGTERM');
  return exited;
}

afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('npm start', () => {
  it('initialises once, prints the keys once, and keeps data across restarts', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'citepay-start-'));
    const first = await start({ CITEPAY_DATA_DIR: dataDir });
    const banner = await bannerOf(first);
    const adminKey = banner.match(/admin key\s+(cp_live_\w+)/)?.[1];
    const demoKey = banner.match(/demo consumer key\s+(cp_live_\w+)/)?.[1];
    expect(adminKey).toBeDefined();
    expect(demoKey).toBeDefined();
    const health = await fetch(`${first.url}/healthz`);
    expect(health.status).toBe(200);
    const created = await fetch(`${first.url}/v1/admin/accounts`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'contributor', name: 'Ada', wallet: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' }),
    });
    expect(created.status).toBe(201);
    // The whole pipeline npm start runs: local queues, the worker process, the results consumer.
    const contributorKey = ((await created.json()) as { apiKey: { key: string } }).apiKey.key;
    const post = async (path: string, key: string, body: unknown) =>
      (
        await fetch(`${first.url}${path}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
      ).json() as Promise<any>;
    const datanet = await post('/v1/datanets', contributorKey, { name: 'Git', pricePerSource: '2000' });
    await post(`/v1/datanets/${datanet.id}/documents`, contributorKey, {
      title: 'Undo',
      content: 'To undo the last commit but keep your changes, run git reset --soft HEAD~1.',
    });
    const answer = await post('/v1/answers', demoKey!, { query: 'how do I undo my last commit?' });
    expect(answer.status).toBe('succeeded');
    expect(answer.text).toContain('git reset --soft HEAD~1.[1]');
    // The local chain: settle on demand, and the wallet's payout is provable.
    const settled = await post('/v1/admin/settlements', adminKey!, {});
    expect(settled).toMatchObject({ status: 'confirmed', epoch: { epoch: 1, status: 'confirmed', payees: 1 } });
    const earned = answer.attribution.sources[0].amount;
    const payout = (await (
      await fetch(`${first.url}/v1/payouts/0x70997970C51812dc3A010C7d01b50e0d17dc79C8`)
    ).json()) as any;
    expect(payout).toMatchObject({ epoch: 1, cumulative: earned, claimed: '0' });
    // Wallet sign-in is bound to the origin npm start listens on and to its own anvil, whose public
    // development wallets the sign-in page offers (it runs its own chain with anvil's settler key).
    const nonce = (await (await fetch(`${first.url}/dashboard/sign-in/nonce`)).json()) as any;
    expect(nonce).toMatchObject({ domain: new URL(first.url).host, uri: first.url, chainId: 31337 });
    expect(await (await fetch(`${first.url}/dashboard/sign-in`)).text()).toContain('id="dev-wallet"');
    expect(await stop(first)).toBe(0);

    // Restarted with a schedule: the chain state came back with the data folder, and a new call settles by itself.
    const second = await start({ CITEPAY_DATA_DIR: dataDir, LOG_REQUESTS: 'true', SETTLEMENT_INTERVAL_SECONDS: '1' });
    const claim = (await (
      await fetch(`${second.url}/v1/payouts/0x70997970C51812dc3A010C7d01b50e0d17dc79C8/claim`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminKey}` },
      })
    ).json()) as any;
    expect(claim).toMatchObject({ paid: earned, payout: { claimed: earned, claimable: '0' } });
    await (
      await fetch(`${second.url}/v1/retrieve`, {
        method: 'POST',
        headers: { authorization: `Bearer ${demoKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ query: 'undo a commit' }),
      })
    ).json();
    await vi.waitFor(
      async () => {
        const { epochs } = (await (
          await fetch(`${second.url}/v1/admin/settlements`, { headers: { authorization: `Bearer ${adminKey}` } })
        ).json()) as { epochs: { epoch: number; status: string }[] };
        expect(epochs).toContainEqual(expect.objectContaining({ epoch: 2, status: 'confirmed' }));
      },
      { timeout: 100_000, interval: 250 },
    );
    const usage = await fetch(`${second.url}/v1/usage`, { headers: { authorization: `Bearer ${demoKey}` } });
    expect(usage.status).toBe(200);
    expect(BigInt(((await usage.json()) as { balance: string }).balance)).toBeLessThan(
      10_000_000n - BigInt(answer.usage.charged),
    ); // the answer and the retrieve
    expect(second.output()).not.toContain('shown ONCE');
    expect(second.output()).not.toContain(adminKey!);
    expect(second.output()).not.toContain(demoKey!);
    await stop(second);
  }, 600_000); // two first starts of a real npm start: minutes on a loaded machine

  it('uses an admin key supplied through the environment on first start', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'citepay-start-'));
    const adminKey = 'cp_live_SuppliedByAutomation0123456789';
    const s = await start({ CITEPAY_DATA_DIR: dataDir, CITEPAY_ADMIN_KEY: adminKey });
    expect(await bannerOf(s)).toContain('(from CITEPAY_ADMIN_KEY)');
    expect(s.output()).not.toContain(adminKey);
    const r = await fetch(`${s.url}/v1/keys`, { headers: { authorization: `Bearer ${adminKey}` } });
    expect(r.status).toBe(200);
    await stop(s);
  }, 600_000);

  it('fails fast with a message naming a bad variable', async () => {
    await expect(
      start({ CITEPAY_ADMIN_KEY: 'hunter2', CITEPAY_DATA_DIR: mkdtempSync(join(tmpdir(), 'citepay-start-')) }),
    ).rejects.toThrow(/CITEPAY_ADMIN_KEY: must look like/);
  });
});
