import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../../shared/services/container.ts';
import { checkLedger } from '../../../shared/services/ledger-check.ts';
import { DOCS } from '../../../test/fixtures.ts';
import { createWorld, httpClient, type Client as HttpClient } from '../../../test/http.ts';
import { createTestServices } from '../../../test/services.ts';

// The official SDK client over Streamable HTTP, in process (its fetch is the app's): the same
// tools npm start and the Worker serve (test/mcp.test.ts, test/edge/mcp.test.ts run them there).
let services: Services;
let http: HttpClient;
let world: Awaited<ReturnType<typeof createWorld>>;
const open: Client[] = [];

async function connect(key?: string): Promise<Client> {
  const client = new Client({ name: 'citepay-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL('http://citepay.test/mcp'), {
    fetch: async (url, init) => http.app.request(String(url), init as RequestInit),
    requestInit: key ? { headers: { authorization: `Bearer ${key}` } } : {},
  });
  await client.connect(transport);
  open.push(client);
  return client;
}

beforeAll(async () => {
  services = await createTestServices();
  http = httpClient(services);
  world = await createWorld(services, { credits: '10000', price: '1000' });
  await http.call('POST', `/v1/datanets/${world.bob.datanet}/documents`, { key: world.bob.key, json: DOCS.bikes });
  await http.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: DOCS.bread });
});
afterAll(async () => {
  for (const c of open) await c.close();
  await services.db.close();
});

const ledgerTxs = async (requestId: string) =>
  (await services.db.query<{ id: string }>(`SELECT id FROM ledger_transactions WHERE request_id = $1`, [requestId]))
    .rows.length;

describe('MCP at /mcp', () => {
  it('lists the four tools with input and output schemas', async () => {
    const client = await connect(world.consumer.key);
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name).sort()).toEqual(['answer', 'get_receipt', 'list_datanets', 'search']);
    for (const t of tools) expect(t.outputSchema?.type).toBe('object');
    expect(tools.find((t) => t.name === 'search')!.inputSchema.required).toEqual(['query']);
  });

  it('search is a paid retrieval: passages with spans and owners, the receipt, billed once', async () => {
    const client = await connect(world.consumer.key);
    const r = await client.callTool({
      name: 'search',
      arguments: { query: 'how do I fix a flat bike tyre?', topK: 1, idempotencyKey: 'mcp-search-1' },
    });
    expect(r.isError).toBeFalsy();
    const body = r.structuredContent as any;
    const top = body.sources[0];
    expect(top.contributor.wallet).toBe('0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC');
    expect(DOCS.bikes.content.slice(top.span.start, top.span.end)).toBe(top.text);
    expect(body.attribution.receiptId).toMatch(/^rcpt_/);
    expect(body.usage.charged).toBe('1000');
    const text = (r.content as { type: string; text: string }[])[0]!.text;
    expect(text).toContain(`[1] ${DOCS.bikes.title}`);
    expect(text).toContain(body.attribution.receiptId);
    expect(await ledgerTxs(body.requestId)).toBe(1);

    // the same idempotency key: the first result again, no second charge
    const again = await client.callTool({
      name: 'search',
      arguments: { query: 'how do I fix a flat bike tyre?', topK: 1, idempotencyKey: 'mcp-search-1' },
    });
    expect((again.structuredContent as any).requestId).toBe(body.requestId);
    const usage = await http.call('GET', '/v1/usage', { key: world.consumer.key });
    expect(usage.body.balance).toBe('9000');
    expect((await checkLedger(services.db)).filter((c) => !c.ok)).toEqual([]);

    const receipt = await client.callTool({ name: 'get_receipt', arguments: { id: body.attribution.receiptId } });
    expect(receipt.isError).toBeFalsy();
    expect(receipt.structuredContent).toMatchObject({
      object: 'receipt',
      id: body.attribution.receiptId,
      requestId: body.requestId,
    });
  });

  it('list_datanets names the datanets, owners and prices', async () => {
    const client = await connect(world.consumer.key);
    const r = await client.callTool({ name: 'list_datanets', arguments: {} });
    const ids = (r.structuredContent as any).data.map((d: { id: string }) => d.id);
    expect(ids).toEqual(expect.arrayContaining([world.ada.datanet, world.bob.datanet]));
    expect((r.content as { text: string }[])[0]!.text).toContain('1000 micro-USD per source');
  });

  it('bad arguments are tool errors with the REST code and message, never a 5xx', async () => {
    const client = await connect(world.consumer.key);
    const wrongType = await client.callTool({ name: 'search', arguments: { query: 42 } });
    expect(wrongType.isError).toBe(true);
    const empty = await client.callTool({ name: 'search', arguments: { query: '  ', topK: 99 } });
    expect(empty.isError).toBe(true);
    const rest = await http.call('POST', '/v1/retrieve', { key: world.consumer.key, json: { query: '  ', topK: 99 } });
    expect((empty.content as { text: string }[])[0]!.text).toContain(`BAD_REQUEST: ${rest.body.error.message}`);
    const receipt = await client.callTool({ name: 'get_receipt', arguments: { id: '../admin/accounts' } });
    expect(receipt.isError).toBe(true);
    expect((receipt.content as { text: string }[])[0]!.text).toMatch(/^BAD_REQUEST: id: must be a rcpt_… or req_… id/);
    const unknownTool = await client.callTool({ name: 'nope', arguments: {} });
    expect(unknownTool.isError).toBe(true);
  });

  it('no key, a bad key, and empty credits answer as REST does; 402 says how to pay', async () => {
    const anonymous = await connect();
    const noKey = await anonymous.callTool({ name: 'search', arguments: { query: 'bread' } });
    expect(noKey.isError).toBe(true);
    expect((noKey.content as { text: string }[])[0]!.text).toMatch(/^(UNAUTHORIZED|PAYMENT_REQUIRED): /);
    const bad = await connect('cp_live_notakey');
    const badKey = await bad.callTool({ name: 'list_datanets', arguments: {} });
    expect((badKey.content as { text: string }[])[0]!.text).toMatch(/^UNAUTHORIZED: invalid or revoked API key/);

    const poor = await http.call('POST', '/v1/admin/accounts', {
      key: world.admin,
      json: { kind: 'consumer', name: 'Poor', credits: '0' },
    });
    const broke = await connect(poor.body.apiKey.key);
    const r = await broke.callTool({ name: 'search', arguments: { query: 'bread' } });
    expect(r.isError).toBe(true);
    const text = (r.content as { text: string }[])[0]!.text;
    expect(text).toMatch(/^PAYMENT_REQUIRED: /);
    expect(text).toContain('To pay:');
    expect(
      (await services.db.query(`SELECT 1 FROM ledger_entries WHERE account_id = $1`, [poor.body.account.id])).rows,
    ).toHaveLength(0);
  });

  it('rate limits and test keys apply as for REST', async () => {
    const limited = await http.call('POST', '/v1/admin/accounts', {
      key: world.admin,
      json: { kind: 'consumer', name: 'Limited', credits: '10000' },
    });
    await http.call('PUT', `/v1/admin/accounts/${limited.body.account.id}/limits`, {
      key: world.admin,
      json: { keyRequestsPerMinute: 1 },
    });
    const client = await connect(limited.body.apiKey.key);
    expect((await client.callTool({ name: 'search', arguments: { query: 'bread', topK: 1 } })).isError).toBeFalsy();
    const refused = await client.callTool({ name: 'search', arguments: { query: 'bread', topK: 1 } });
    expect(refused.isError).toBe(true);
    expect((refused.content as { text: string }[])[0]!.text).toMatch(/^RATE_LIMITED: /);

    const trial = await http.call('POST', '/v1/admin/accounts', {
      key: world.admin,
      json: { kind: 'consumer', name: 'Trial', credits: '5000', keyMode: 'test' },
    });
    const r = await (await connect(trial.body.apiKey.key)).callTool({
      name: 'search',
      arguments: { query: 'bread', topK: 1 },
    });
    expect(r.structuredContent).toMatchObject({ livemode: false });
  });

  it('GET and DELETE are 405 (stateless: no session stream), and a non-JSON body a JSON-RPC parse error', async () => {
    expect((await http.app.request('/mcp')).status).toBe(405);
    const res = await http.app.request('/mcp', {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: '{',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.code).toBe(-32700);
  });
});
