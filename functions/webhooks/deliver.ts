import { openWebhookDelivery } from '../../shared/services/create.ts';
import { loadConfig } from '../../shared/config.ts';
import { deliverDueWebhooks } from '../../shared/services/webhooks.ts';

// Scheduled Lambda (e.g. every minute): sends every due webhook delivery, then passes again while
// there is work and time, so a backlog drains in one invocation. Deliveries are leased in the
// database, so overlapping invocations never send one twice at once.
// The database and a logger only: no embedder is opened, so the function ships without onnxruntime (stacks/lambda-settings.ts).
let services: ReturnType<typeof openWebhookDelivery> | undefined;

export async function handler(
  _event: unknown,
  context?: { getRemainingTimeInMillis?: () => number },
): Promise<{ attempted: number }> {
  services ??= openWebhookDelivery(loadConfig());
  const s = await services;
  let attempted = 0;
  for (;;) {
    const n = await deliverDueWebhooks(s, { timeoutMs: 10_000 });
    attempted += n;
    if (n === 0 || (context?.getRemainingTimeInMillis?.() ?? 0) < 20_000) return { attempted };
  }
}
