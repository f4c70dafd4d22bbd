import { z } from '@hono/zod-openapi';

// Money travels as a decimal string of micro-USD so no JSON parser rounds it.
export const Micros = z
  .string()
  .regex(/^\d{1,18}$/, 'must be a whole number of micro-USD, as a string of digits')
  .openapi({ example: '1000', description: 'micro-USD (1e-6 USD), as a string' });

export const Metadata = z
  .record(z.string(), z.unknown())
  .openapi({ example: { source: 'handbook', lang: 'en' }, description: 'arbitrary JSON object' });

export const idParam = (prefix: string) =>
  z.object({
    id: z
      .string()
      .regex(new RegExp(`^${prefix}_[A-Za-z0-9]{1,64}$`), `must be a ${prefix}_… id`)
      .openapi({ param: { name: 'id', in: 'path' }, example: `${prefix}_8f3kq0x2Lm` }),
  });

export const IdempotencyHeader = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .optional()
    .openapi({ param: { name: 'idempotency-key', in: 'header' }, description: 'retries with the same key return the first response and charge once' }),
});

export const security = [{ bearerAuth: [] }];

export const iso = (d: Date | null) => (d ? d.toISOString() : null);
