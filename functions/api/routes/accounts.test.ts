import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../../shared/services/container.ts';
import { createTestServices } from '../../../test/services.ts';
import { createWorld, httpClient, type Client } from '../../../test/http.ts';

let services: Services;
let client: Client;
let world: Awaited<ReturnType<typeof createWorld>>;

beforeAll(async () => {
  services = await createTestServices();
  client = httpClient(services);
  world = await createWorld(services);
});
afterAll(() => services.db.close());

const createAccount = (json: unknown, key = world.admin) => client.call('POST', '/v1/admin/accounts', { key, json });

describe('accounts and keys', () => {
  it('creates a consumer with credits and a key that is shown once and stored hashed', async () => {
    const r = await createAccount({ kind: 'consumer', name: 'Globex', credits: '2500000' });
    expect(r.status).toBe(201);
    expect(r.body.apiKey.key).toMatch(/^cp_live_[A-Za-z0-9]{32}$/);
    expect(r.body.balance).toBe('2500000');
    const stored = await services.db.query<{ secret_hash: string; prefix: string }>(
      `SELECT secret_hash, prefix FROM api_keys WHERE id = $1`,
      [r.body.apiKey.id],
    );
    expect(stored.rows[0]!.secret_hash).not.toContain(r.body.apiKey.key.slice(8));
    expect(stored.rows[0]!.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    const read = await client.call('GET', `/v1/admin/accounts/${r.body.account.id}`, { key: world.admin });
    expect(read.body.balance).toBe('2500000');
    expect(JSON.stringify(read.body)).not.toContain(r.body.apiKey.key);
  });

  it('checksums contributor wallets and refuses bad ones and duplicates', async () => {
    const lower = await createAccount({
      kind: 'contributor',
      name: 'Carol',
      wallet: '0x90f79bf6eb2c4f870365e785982e1f101e93b906',
    });
    expect(lower.status).toBe(201);
    expect(lower.body.account.wallet).toBe('0x90F79bf6EB2c4f870365E785982E1f101E93b906');
    const dup = await createAccount({
      kind: 'contributor',
      name: 'Carol again',
      wallet: '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
    });
    expect(dup.status).toBe(409);
    const badChecksum = await createAccount({
      kind: 'contributor',
      name: 'Dan',
      wallet: '0x90F79bf6EB2c4f870365E785982E1f101E93B906',
    });
    expect(badChecksum.status).toBe(400);
    expect(badChecksum.body.error.message).toMatch(/checksum/);
    expect((await createAccount({ kind: 'contributor', name: 'Eve', wallet: '0x1234' })).body.error.message).toMatch(
      /not an EVM address/,
    );
    expect((await createAccount({ kind: 'contributor', name: 'Fay' })).body.error.message).toMatch(/wallet/);
    expect(
      (
        await createAccount({
          kind: 'contributor',
          name: 'Gus',
          wallet: '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc',
          credits: '5',
        })
      ).status,
    ).toBe(400);
  });

  it('validates credits and amounts as digit strings', async () => {
    expect((await createAccount({ kind: 'consumer', name: 'x', credits: 5 })).status).toBe(400);
    expect((await createAccount({ kind: 'consumer', name: 'x', credits: '-5' })).status).toBe(400);
    expect((await createAccount({ kind: 'consumer', name: 'x', credits: '1.5' })).status).toBe(400);
    const grant = await client.call('POST', `/v1/admin/accounts/${world.consumer.id}/credits`, {
      key: world.admin,
      json: { amount: '0' },
    });
    expect(grant.status).toBe(400);
    const toContributor = await client.call('POST', `/v1/admin/accounts/${world.ada.id}/credits`, {
      key: world.admin,
      json: { amount: '10' },
    });
    expect(toContributor.status).toBe(400);
  });

  it('keeps admin routes for admins', async () => {
    for (const key of [world.consumer.key, world.ada.key]) {
      const r = await createAccount({ kind: 'consumer', name: 'sneaky' }, key);
      expect(r.status).toBe(403);
      expect(r.body.error.code).toBe('FORBIDDEN');
    }
    expect((await createAccount({ kind: 'consumer', name: 'anon' }, '')).status).toBe(401);
    expect((await client.call('GET', `/v1/admin/accounts/${world.ada.id}`, { key: world.ada.key })).status).toBe(403);
  });

  it('lets a key holder list and revoke only their own keys', async () => {
    const mine = await client.call('GET', '/v1/keys', { key: world.ada.key });
    expect(mine.body.data).toHaveLength(1);
    expect(mine.body.data[0]).not.toHaveProperty('secretHash');
    const adasKey = mine.body.data[0].id;
    expect((await client.call('DELETE', `/v1/keys/${adasKey}`, { key: world.bob.key })).status).toBe(404);
    const extra = await client.call('POST', `/v1/admin/accounts/${world.ada.id}/keys`, {
      key: world.admin,
      json: { mode: 'test' },
    });
    expect(extra.body.key).toMatch(/^cp_test_/);
    const revoke = await client.call('DELETE', `/v1/keys/${extra.body.id}`, { key: world.admin });
    expect(revoke.body.revokedAt).not.toBeNull();
    expect((await client.call('GET', '/v1/keys', { key: extra.body.key })).status).toBe(401);
    expect((await client.call('GET', '/v1/keys', { key: world.ada.key })).status).toBe(200);
  });

  it('reads usage and earnings only for the caller (admins name the account)', async () => {
    expect((await client.call('GET', '/v1/usage', { key: world.ada.key })).status).toBe(403);
    expect((await client.call('GET', '/v1/earnings', { key: world.consumer.key })).status).toBe(403);
    expect((await client.call('GET', `/v1/earnings?accountId=${world.bob.id}`, { key: world.ada.key })).status).toBe(
      403,
    );
    expect((await client.call('GET', `/v1/earnings?accountId=${world.bob.id}`, { key: world.admin })).body.wallet).toBe(
      '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
    );
    expect((await client.call('GET', '/v1/usage', { key: world.admin })).status).toBe(400);
  });
});

describe('datanets', () => {
  it('lets contributors create their own, admins create for a contributor, and nobody else', async () => {
    const own = await client.call('POST', '/v1/datanets', {
      key: world.ada.key,
      json: { name: 'More notes', pricePerSource: '250' },
    });
    expect(own.status).toBe(201);
    expect(own.body).toMatchObject({
      ownerAccountId: world.ada.id,
      pricePerSource: '250',
      embedding: { model: 'use-lite-512', dimension: 512 },
    });
    const forBob = await client.call('POST', '/v1/datanets', {
      key: world.admin,
      json: { name: 'Bob 2', pricePerSource: '0', ownerAccountId: world.bob.id },
    });
    expect(forBob.body.ownerWallet).toBe('0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC');
    expect(
      (await client.call('POST', '/v1/datanets', { key: world.admin, json: { name: 'x', pricePerSource: '1' } }))
        .status,
    ).toBe(400);
    expect(
      (
        await client.call('POST', '/v1/datanets', {
          key: world.admin,
          json: { name: 'x', pricePerSource: '1', ownerAccountId: world.consumer.id },
        })
      ).status,
    ).toBe(400);
    expect(
      (
        await client.call('POST', '/v1/datanets', {
          key: world.ada.key,
          json: { name: 'x', pricePerSource: '1', ownerAccountId: world.bob.id },
        })
      ).status,
    ).toBe(403);
    expect(
      (await client.call('POST', '/v1/datanets', { key: world.consumer.key, json: { name: 'x', pricePerSource: '1' } }))
        .status,
    ).toBe(403);
    expect(
      (await client.call('POST', '/v1/datanets', { key: world.ada.key, json: { name: '', pricePerSource: '1' } }))
        .status,
    ).toBe(400);
    const all = await client.call('GET', '/v1/datanets', { key: world.consumer.key });
    expect(all.body.data.length).toBeGreaterThanOrEqual(4);
    const mine = await client.call('GET', '/v1/datanets?mine=true', { key: world.ada.key });
    expect(mine.body.data.every((d: { ownerAccountId: string }) => d.ownerAccountId === world.ada.id)).toBe(true);
    expect((await client.call('GET', '/v1/datanets/dn_missing', { key: world.consumer.key })).status).toBe(404);
  });
});
