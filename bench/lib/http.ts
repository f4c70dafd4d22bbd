// JSON over real HTTP for the benchmarks, and the accounts every benchmark starts from.
export function jsonPoster(base: string) {
  return async (path: string, key: string, body: unknown): Promise<any> => {
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as any;
    if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
}

/** A contributor with a State of the Union datanet, and a consumer with plenty of credits. */
export async function benchAccounts(post: ReturnType<typeof jsonPoster>, adminKey: string) {
  const contributor = await post('/v1/admin/accounts', adminKey, {
    kind: 'contributor',
    name: 'bench',
    wallet: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  });
  const datanet = await post('/v1/datanets', contributor.apiKey.key, {
    name: 'State of the Union',
    pricePerSource: '10',
  });
  const consumer = await post('/v1/admin/accounts', adminKey, {
    kind: 'consumer',
    name: 'bench',
    credits: '1000000000000',
  });
  return {
    contributorKey: contributor.apiKey.key as string,
    datanetId: datanet.id as string,
    consumerKey: consumer.apiKey.key as string,
  };
}

/**
 * Benchmarks drive one key far past the default rate limits (600 requests a minute per key):
 * limits this high keep the limiter's work in every measured request without ever refusing one.
 */
export const BENCH_RATE_LIMITS = {
  RATE_LIMIT_KEY_REQUESTS: '1000000000',
  RATE_LIMIT_ACCOUNT_REQUESTS: '1000000000',
  RATE_LIMIT_KEY_ANSWERS: '0',
  RATE_LIMIT_ACCOUNT_ANSWERS: '0',
};
