import { createTokenInflows, type TokenInflows } from '../chain/token-inflows.ts';
import type { Services } from './container.ts';

const readers = new WeakMap<object, TokenInflows | null>();

/** The process's reader of stablecoin inflows, or null where no chain RPC or token is configured. */
export function tokenInflowsOf(services: Pick<Services, 'config'>): TokenInflows | null {
  if (readers.has(services)) return readers.get(services)!;
  const { rpcUrl, token } = services.config.chain;
  const reader = rpcUrl && token ? createTokenInflows({ rpcUrl, token }) : null;
  readers.set(services, reader);
  return reader;
}
