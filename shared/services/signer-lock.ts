import type { Address } from 'viem';
import { ChainBusy, type SignerLock } from '../chain/serial-sender.ts';
import type { Db } from '../db/index.ts';
import { whileLocked } from '../db/lock.ts';

/**
 * The settler key's lock for the whole deployment: a PostgreSQL advisory lock named after the key,
 * held only while a nonce is read and the transaction handed to the node (not while it is mined),
 * so every process on the database sends through one queue. Released by the server if the holder
 * dies. A database that cannot be reached means nothing is sent: ChainBusy, with a Retry-After.
 */
export function createDbSignerLock(db: Db, address: Address): SignerLock {
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    let entered = false;
    try {
      return await whileLocked(db, `citepay:signer:${address.toLowerCase()}`, () => {
        entered = true;
        return fn();
      });
    } catch (err) {
      if (entered) throw err;
      throw new ChainBusy(
        `the signer's lock could not be taken (${(err as Error).message.split('\n')[0]}): nothing was sent`,
        5,
        { cause: err },
      );
    }
  };
}
