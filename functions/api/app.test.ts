import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../../shared/services/container.ts';
import { createTestServices } from '../../test/services.ts';
import { httpClient, type Client } from '../../test/http.ts';

let services: Services;
let client: Client;

beforeAll(async () => {
  services = await createTestServices();
  client = httpClient(services);
});
afterAll(() => services.db.close());

describe('operational routes', () => {
  it('serves /healthz without a key', async () => {
    const r = await client.call('GET', '/healthz');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      status: 'ok',
      checks: { database: `ok (${services.db.kind})`, vectorIndex: 'pgvector' },
    });
  });

  it('publishes an OpenAPI 3.1 document generated from the validating schemas', async () => {
    const r = await client.call('GET', '/openapi.json');
    expect(r.status).toBe(200);
    expect(r.body.openapi).toBe('3.1.0');
    for (const path of [
      '/v1/retrieve',
      '/v1/datanets',
      '/v1/datanets/{id}/documents',
      '/v1/documents/{id}',
      '/v1/usage',
      '/v1/earnings',
      '/v1/admin/accounts',
      '/v1/receipts/{id}',
      '/v1/payouts/{wallet}',
      '/v1/payouts/{wallet}/claim',
      '/v1/admin/settlements',
      '/v1/datanets/{id}/reembed',
    ])
      expect(r.body.paths).toHaveProperty([path]);
    const retrieve = r.body.paths['/v1/retrieve'].post;
    expect(retrieve.responses).toHaveProperty('402');
    expect(r.body.components.schemas.RetrieveRequest.properties.topK).toMatchObject({ minimum: 1, maximum: 50 });
    expect(r.body.components.securitySchemes.bearerAuth.scheme).toBe('bearer');
  });

  it('serves the reference page and its assets locally', async () => {
    const page = await client.call('GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.body).toContain('/docs/assets/docs.js');
    expect(await (await client.app.request('/docs/assets/docs.js')).text()).toContain('/openapi.json');
    const js = await client.app.request('/docs/assets/swagger-ui-bundle.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('javascript');
    expect((await client.call('GET', '/docs/assets/../../package.json')).status).toBe(404);
  });

  it('answers unknown routes with the one error shape and a request id', async () => {
    const r = await client.call('GET', '/v1/nothing-here');
    expect(r.status).toBe(404);
    expect(r.body.error).toMatchObject({ code: 'NOT_FOUND' });
    expect(r.body.error.requestId).toBe(r.headers.get('x-request-id'));
  });

  it('refuses bodies over the JSON limit before parsing them', async () => {
    const r = await client.call('POST', '/v1/retrieve', { json: { query: 'x'.repeat(300 * 1024) } });
    expect(r.status).toBe(413);
    expect(r.body.error.code).toBe('PAYLOAD_TOO_LARGE');
  });
});
