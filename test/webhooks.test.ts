import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Services } from '../shared/services/container.ts';
import {
  createWebhookEndpoint,
  deliverDueWebhooks,
  replayWebhook,
  webhookDeliveries,
} from '../shared/services/webhooks.ts';
import { findAccount } from '../shared/store/accounts.ts';
import { emitWebhookEvent } from '../shared/store/webhooks.ts';
import { DOCS } from './fixtures.ts';
import { createWorld, httpClient, type Client } from './http.ts';
import { createTestServices } from './services.ts';

// Signed webhooks against a real local receiver that fails, times out, then recovers: every event
// arrives at least once, in order per endpoint, with the same webhook-id on each retry, signed.
let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;
let receiver: Server;
let url: string;
type Behaviour = 'fail' | 'hang' | 'ok';
const script: Behaviour[] = [];
const received: { id: string; timestamp: string; body: string; verified: boolean; answered: Behaviour }[] = [];
const hanging: ServerResponse[] = [];
let secret = '';

beforeAll(async () => {
  services = await createTestServices();
  client = httpClient(services);
  world = await createWorld(services, { credits: '20000', price: '3000' });
  await client.call('POST', `/v1/datanets/${world.ada.datanet}/documents`, { key: world.ada.key, json: DOCS.bread });
  receiver = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const headers = {
        'webhook-id': String(req.headers['webhook-id']),
        'webhook-timestamp': String(req.headers['webhook-timestamp']),
        'webhook-signature': String(req.headers['webhook-signature']),
      };
      let verified = false;
      try {
        new Webhook(secret).verify(body, headers);
        verified = true;
      } catch {}
      const answered = script.shift() ?? 'ok';
      received.push({ id: headers['webhook-id'], timestamp: headers['webhook-timestamp'], body, verified, answered });
      if (answered === 'hang')
        hanging.push(res); // never answers: the sender's timeout ends it
      else res.writeHead(answered === 'ok' ? 204 : 503).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
});
afterAll(async () => {
  for (const res of hanging) res.destroy();
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
  await services.db.close();
});

// A short timeout ends the hanging request; generous enough that a loaded machine's 503 still arrives.
const FAST = { timeoutMs: 3000, retryBaseMs: 20, leaseMs: 10_000 };

describe('webhooks', () => {
  it('refuses events of the other account kind, and balance.low without a threshold', async () => {
    const consumer = { account: (await findAccount(services.db, world.consumer.id))!, livemode: true };
    await expect(createWebhookEndpoint(services, consumer, { url, events: ['earnings.settled'] })).rejects.toThrow(
      /not an event for consumer/,
    );
    await expect(createWebhookEndpoint(services, consumer, { url, events: ['balance.low'] })).rejects.toThrow(
      /balanceLowThreshold/,
    );
    await expect(
      createWebhookEndpoint(services, consumer, { url: 'ftp://x', events: ['answer.completed'] }),
    ).rejects.toThrow(/http/);
  });

  it('delivers in order per endpoint through failures and timeouts, at least once, with the same id on retry', async () => {
    const consumer = { account: (await findAccount(services.db, world.consumer.id))!, livemode: true };
    const endpoint = await createWebhookEndpoint(services, consumer, {
      url,
      events: ['balance.low', 'answer.completed'],
      balanceLowThreshold: 12_000n,
    });
    secret = endpoint.secret;
    // balance.low comes from a real charge crossing the threshold: once, however many charges follow.
    const balances: bigint[] = [];
    for (const query of ['bread dough rise', 'sourdough starter', 'bake bread']) {
      const r = await client.call('POST', '/v1/retrieve', {
        key: world.consumer.key,
        json: { query, topK: 2, datanets: [world.ada.datanet] },
      });
      expect(r.status).toBe(200);
      balances.push(BigInt(r.body.usage.balance));
    }
    expect(balances[0]).toBeGreaterThanOrEqual(12_000n);
    expect(balances.at(-1)).toBeLessThan(12_000n);
    // Three more events, raised through the outbox function services use.
    for (const n of [1, 2, 3])
      await emitWebhookEvent(services.db, world.consumer.id, true, 'answer.completed', {
        answerId: `ans_${n}`,
        status: 'succeeded',
      });
    const { deliveries } = await webhookDeliveries(services, consumer, endpoint.id);
    expect(deliveries.map((d) => d.type)).toEqual([
      'answer.completed',
      'answer.completed',
      'answer.completed',
      'balance.low',
    ]);
    const order = deliveries.map((d) => d.eventId).reverse();
    // balance.low reads the running balance (account_balances, migration 0110), never a sum over the ledger
    const trigger = await services.db.query<{ src: string }>(
      `SELECT prosrc AS src FROM pg_proc WHERE proname = 'webhook_balance_low'`,
    );
    expect(trigger.rows[0]!.src).toMatch(/account_balances/);
    expect(trigger.rows[0]!.src).not.toMatch(/FROM\s+ledger_entries/i);

    script.push('fail', 'hang', 'ok', 'fail', 'ok', 'ok', 'fail', 'fail', 'ok');
    await vi.waitFor(
      async () => {
        await deliverDueWebhooks(services, FAST);
        const now = (await webhookDeliveries(services, consumer, endpoint.id)).deliveries;
        expect(now.every((d) => d.status === 'delivered')).toBe(true);
      },
      { timeout: 60_000, interval: 30 },
    );

    expect(received.every((r) => r.verified)).toBe(true);
    // In order: each event is first accepted only after every earlier one was.
    const firstOk = order.map((id) => received.findIndex((r) => r.id === id && r.answered === 'ok'));
    expect(firstOk.every((i) => i >= 0)).toBe(true);
    expect([...firstOk].sort((a, b) => a - b)).toEqual(firstOk);
    // Retries carry the same id; no event was sent before the previous one was accepted.
    const ids = received.map((r) => r.id);
    expect(ids.slice(0, 3)).toEqual([order[0], order[0], order[0]]);
    for (let i = 1; i < received.length; i++)
      expect(order.indexOf(ids[i]!)).toBeGreaterThanOrEqual(order.indexOf(ids[i - 1]!));
    const low = JSON.parse(received.find((r) => r.id === order[0])!.body);
    expect(low).toMatchObject({
      type: 'balance.low',
      data: { balance: balances.find((b) => b < 12_000n)!.toString(), currency: 'USD' },
    });
    const log = (await webhookDeliveries(services, consumer, endpoint.id)).deliveries;
    expect(log.find((d) => d.eventId === order[0])).toMatchObject({ attempts: 3, lastStatus: 204 });
    const attempts = await services.db.query<{ status_code: number | null; error: string | null }>(
      `SELECT status_code, error FROM webhook_attempts WHERE event_id = $1 ORDER BY id`,
      [order[0]],
    );
    expect(attempts.rows.map((a) => a.status_code)).toEqual([503, null, 204]);
    expect(attempts.rows[0]!.error).toBe('HTTP 503');
    expect(attempts.rows[1]!.error).toMatch(/no answer within/);
  });

  it('replays a delivered event with the same id, and keeps other tenants out', async () => {
    const consumer = { account: (await findAccount(services.db, world.consumer.id))!, livemode: true };
    const endpoint = (
      await services.db.query<{ id: string }>(`SELECT id FROM webhook_endpoints WHERE account_id = $1`, [
        world.consumer.id,
      ])
    ).rows[0]!.id;
    const { deliveries } = await webhookDeliveries(services, consumer, endpoint);
    const target = deliveries[0]!.eventId;
    const before = received.length;
    await replayWebhook(services, consumer, endpoint, target);
    await vi.waitFor(
      async () => {
        await deliverDueWebhooks(services, FAST);
        expect(received.length).toBe(before + 1);
      },
      { timeout: 30_000, interval: 30 },
    );
    expect(received.at(-1)).toMatchObject({ id: target, verified: true });
    const bob = { account: (await findAccount(services.db, world.bob.id))!, livemode: true };
    await expect(replayWebhook(services, bob, endpoint, target)).rejects.toThrow(/no webhook endpoint/);
    await expect(webhookDeliveries(services, bob, endpoint)).rejects.toThrow(/no webhook endpoint/);
  });

  it('manages endpoints over the API: secret once, the owner only, delivery log and replay', async () => {
    const create = await client.call('POST', '/v1/webhooks', {
      key: world.ada.key,
      json: { url: 'https://owner.example/hooks', events: ['earnings.settled', 'payout.claimed'] },
    });
    expect(create.status).toBe(201);
    expect(create.body.secret).toMatch(/^whsec_/);
    const id = create.body.id;
    const list = await client.call('GET', '/v1/webhooks', { key: world.ada.key });
    expect(list.body.data.map((e: { id: string }) => e.id)).toEqual([id]);
    expect(JSON.stringify(list.body)).not.toContain('whsec_');
    const wrong = await client.call('POST', '/v1/webhooks', {
      key: world.ada.key,
      json: { url: 'https://owner.example/h', events: ['balance.low'], balanceLowThreshold: '5' },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.message).toMatch(/not an event for contributor/);
    expect((await client.call('GET', `/v1/webhooks/${id}/deliveries`, { key: world.bob.key })).status).toBe(404);
    expect((await client.call('DELETE', `/v1/webhooks/${id}`, { key: world.bob.key })).status).toBe(404);
    expect((await client.call('GET', `/v1/webhooks/${id}/deliveries`, { key: world.ada.key })).body).toEqual({
      data: [],
    });
    // The consumer's endpoint from above: its log and a replay through the API.
    const mine = (await client.call('GET', '/v1/webhooks', { key: world.consumer.key })).body.data[0].id;
    const log = (await client.call('GET', `/v1/webhooks/${mine}/deliveries`, { key: world.consumer.key })).body.data;
    expect(log.length).toBe(4);
    expect(log.every((d: { status: string }) => d.status === 'delivered')).toBe(true);
    const replay = await client.call('POST', `/v1/webhooks/${mine}/deliveries/${log[1].eventId}/replay`, {
      key: world.consumer.key,
    });
    expect(replay.status).toBe(202);
    expect(
      (await client.call('GET', `/v1/webhooks/${mine}/deliveries`, { key: world.consumer.key })).body.data[1],
    ).toMatchObject({ status: 'pending', attempts: 0 });
    expect((await client.call('DELETE', `/v1/webhooks/${id}`, { key: world.ada.key })).status).toBe(204);
    expect((await client.call('GET', '/v1/webhooks', { key: world.ada.key })).body.data).toEqual([]);
  });
});
