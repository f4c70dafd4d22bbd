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

/** Paging of every list route: the same `limit` and `after` everywhere (README "Limits"). */
export const PAGE = { defaultLimit: 50, maxLimit: 200 } as const;

export const pageQuery = (prefix: string) =>
  z.object({
    limit: z
      .string()
      .regex(/^[0-9]{1,4}$/, `must be a whole number from 1 to ${PAGE.maxLimit}`)
      .transform(Number)
      .pipe(z.number().int().min(1).max(PAGE.maxLimit))
      .optional()
      .openapi({
        type: 'integer',
        minimum: 1,
        maximum: PAGE.maxLimit,
        default: PAGE.defaultLimit,
        description: 'page size',
      }),
    after: z
      .string()
      .regex(new RegExp(`^${prefix}_[A-Za-z0-9]{1,64}$`), `must be a ${prefix}_… id: the previous page's next`)
      .optional()
      .openapi({ description: "cursor: the previous page's `next`" }),
  });

export const IdempotencyHeader = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .optional()
    .openapi({
      param: { name: 'idempotency-key', in: 'header' },
      description: 'retries with the same key return the first response and charge once',
    }),
});

export const security = [{ bearerAuth: [] }];

export const iso = (d: Date | null) => (d ? d.toISOString() : null);
