import { serve } from '@hono/node-server';
import type { x402Facilitator } from '@x402/core/facilitator';
import { Hono } from 'hono';

// The local facilitator over HTTP, in the shape @x402/core's HTTPFacilitatorClient calls:
// POST /verify and /settle with { x402Version, paymentPayload, paymentRequirements }, GET /supported.
export function facilitatorApp(facilitator: x402Facilitator) {
  return new Hono()
    .get('/supported', (c) => c.json(facilitator.getSupported()))
    .post('/verify', async (c) => {
      const { paymentPayload, paymentRequirements } = await c.req.json();
      return c.json(await facilitator.verify(paymentPayload, paymentRequirements));
    })
    .post('/settle', async (c) => {
      const { paymentPayload, paymentRequirements } = await c.req.json();
      return c.json(await facilitator.settle(paymentPayload, paymentRequirements));
    })
    .onError((err, c) => c.json({ error: err.message }, 500));
}

/** Serves it on 127.0.0.1:`port` (0: any free port); resolves with its URL and a stop function. */
export function startFacilitatorServer(
  facilitator: x402Facilitator,
  port: number,
): Promise<{ url: string; stop(): Promise<void> }> {
  return new Promise((resolve) => {
    const server = serve({ fetch: facilitatorApp(facilitator).fetch, port, hostname: '127.0.0.1' }, (info) =>
      resolve({
        url: `http://127.0.0.1:${info.port}`,
        stop: () => new Promise<void>((done) => server.close(() => done())),
      }),
    );
  });
}
