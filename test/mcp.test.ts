import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../shared/db/index.ts';
import { openPg } from '../shared/db/pg.ts';
import { checkLedger } from '../shared/services/ledger-check.ts';
import { http, startApiProcess, type ApiProcess } from './api-process.ts';
import { DOCS } from './fixtures.ts';
import { WALLETS } from './http.ts';
import { postgresInstalled } from './postgres-server.ts';
import { testDatabaseUrl } from './services.ts';

// The official MCP SDK client over Streamable HTTP against a real `npm start` process (the whole
// pipeline: queue, GPU worker process, results consumer), on PostgreSQL so the ledger can be
// checked while it runs.
const ADMIN = 'cp_live_mcpstartadminkey00000000000001';

describe.skipIf(!postgresInstalled())('MCP against npm start', () => {
  let api: ApiProcess;
  let db: Db;
  let consumerKey: string;
  const clients: Client[] = [];

  const connect = async (key: string) => {
    const client = new Client({ name: 'citepay-test', version: '1.0.0' });
    await client.connect(
      new StreamableHTTPClientTransport(new URL(`${api.url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${key}` } },
      }),
    );
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    const url = await testDatabaseUrl();
    db = openPg(url, { max: 2 });
    api = await startApiProcess({ DATABASE_URL: url, CITEPAY_ADMIN_KEY: ADMIN });
    const ada = await http(api.url, 'POST', '/v1/admin/accounts', {
      key: ADMIN,
      json: { kind: 'contributor', name: 'Ada', wallet: WALLETS.ada },
    });
    const dn = await http(api.url, 'POST', '/v1/datanets', {
      key: ada.body.apiKey.key,
      json: { name: 'Git', pricePerSource: '2000' },
    });
    await http(api.url, 'POST', `/v1/datanets/${dn.body.id}/documents`, {
      key: ada.body.apiKey.key,
      json: { title: 'Undo', content: 'To undo the last commit but keep your changes, run git reset --soft HEAD~1.' },
    });
    await http(api.url, 'POST', `/v1/datanets/${dn.body.id}/documents`, { key: ada.body.apiKey.key, json: DOCS.bikes });
    const consumer = await http(api.url, 'POST', '/v1/admin/accounts', {
      key: ADMIN,
      json: { kind: 'consumer', name: 'Agent', credits: '100000' },
    });
    consumerKey = consumer.body.apiKey.key;
  });
  afterAll(async () => {
    for (const c of clients) await c.close();
    await api?.stop();
    await db?.close();
  });

  it('lists the tools, answers with citations and progress, and bills the answer once', async () => {
    const client = await connect(consumerKey);
    expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual([
      'answer',
      'get_receipt',
      'list_datanets',
      'search',
    ]);
    const progress: string[] = [];
    const r = await client.callTool(
      { name: 'answer', arguments: { query: 'how do I undo my last commit?' } },
      undefined,
      {
        onprogress: (p) => progress.push(p.message ?? ''),
      },
    );
    expect(r.isError).toBeFalsy();
    const answer = r.structuredContent as any;
    expect(answer.status).toBe('succeeded');
    expect(answer.text).toContain('git reset --soft HEAD~1.[1]');
    expect(answer.citations[0].sources[0]).toMatchObject({
      number: 1,
      title: 'Undo',
      contributor: { wallet: WALLETS.ada },
    });
    // the deltas arrived as progress notifications and add up to the answer's text
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.join('')).toBe(answer.text);
    const charged = BigInt(answer.usage.charged);
    expect(charged).toBeGreaterThan(0n);
    const usage = await http(api.url, 'GET', '/v1/usage', { key: consumerKey });
    expect(BigInt(usage.body.balance)).toBe(100000n - charged);
    const txs = await db.query<{ id: string }>(`SELECT id FROM ledger_transactions WHERE request_id = $1`, [
      answer.requestId,
    ]);
    expect(txs.rows).toHaveLength(1);

    const receipt = await client.callTool({ name: 'get_receipt', arguments: { id: answer.attribution.receiptId } });
    expect(receipt.structuredContent).toMatchObject({ object: 'receipt', requestId: answer.requestId });
  });

  it('search over real HTTP is billed once and keeps the ledger balanced; bad arguments are tool errors', async () => {
    const client = await connect(consumerKey);
    const before = BigInt((await http(api.url, 'GET', '/v1/usage', { key: consumerKey })).body.balance);
    const r = await client.callTool({ name: 'search', arguments: { query: 'fix a flat bicycle tyre', topK: 1 } });
    const body = r.structuredContent as any;
    expect(body.sources[0].title).toBe(DOCS.bikes.title);
    expect(body.usage.charged).toBe('2000');
    expect(BigInt((await http(api.url, 'GET', '/v1/usage', { key: consumerKey })).body.balance)).toBe(before - 2000n);
    const bad = await client.callTool({ name: 'search', arguments: { query: 'x', topK: 0 } });
    expect(bad.isError).toBe(true);
    expect((bad.content as { text: string }[])[0]!.text).toMatch(/^BAD_REQUEST: topK/);
    expect((await checkLedger(db)).filter((c) => !c.ok)).toEqual([]);
  });
});
