import { createApp } from '../functions/api/app.ts';
import { bootstrapOnce } from '../shared/services/bootstrap.ts';
import type { Services } from '../shared/services/container.ts';

export interface Reply<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** In-process HTTP against the real app (hono's app.request), JSON in and out. */
export function httpClient(services: Services) {
  const app = createApp(services);
  const call = async (
    method: string,
    path: string,
    opts: { key?: string; json?: unknown; body?: RequestInit['body']; headers?: Record<string, string> } = {},
  ): Promise<Reply> => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.key) headers.authorization = `Bearer ${opts.key}`;
    let body = opts.body;
    if (opts.json !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = JSON.stringify(opts.json);
    }
    const res = await app.request(path, { method, headers, body });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON: keep the text */
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };
  return { app, call };
}

export type Client = ReturnType<typeof httpClient>;

export const WALLETS = {
  ada: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  bob: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
} as const;

/** Admin, a consumer with credits, two contributors each with a datanet. */
export async function createWorld(services: Services, opts: { credits?: string; price?: string } = {}) {
  const keys = (await bootstrapOnce(services))!;
  const { call } = httpClient(services);
  const admin = keys.adminKey;
  const mk = async (json: unknown) => {
    const r = await call('POST', '/v1/admin/accounts', { key: admin, json });
    if (r.status !== 201) throw new Error(`account: ${JSON.stringify(r.body)}`);
    return r.body as { account: { id: string }; apiKey: { id: string; key: string } };
  };
  const consumer = await mk({ kind: 'consumer', name: 'Acme', credits: opts.credits ?? '1000000' });
  const ada = await mk({ kind: 'contributor', name: 'Ada', wallet: WALLETS.ada });
  const bob = await mk({ kind: 'contributor', name: 'Bob', wallet: WALLETS.bob });
  const dn = async (key: string, name: string) => {
    const r = await call('POST', '/v1/datanets', { key, json: { name, pricePerSource: opts.price ?? '1000' } });
    if (r.status !== 201) throw new Error(`datanet: ${JSON.stringify(r.body)}`);
    return r.body.id as string;
  };
  return {
    admin,
    consumer: { id: consumer.account.id, key: consumer.apiKey.key, keyId: consumer.apiKey.id },
    ada: { id: ada.account.id, key: ada.apiKey.key, datanet: await dn(ada.apiKey.key, 'Ada notes') },
    bob: { id: bob.account.id, key: bob.apiKey.key, datanet: await dn(bob.apiKey.key, 'Bob notes') },
  };
}
