// One signer per key: every transaction the settler key sends (epoch publishes, relayed claims)
// goes through here. Sends are serialised — in this process by a promise chain, across processes
// by `lock` (a database advisory lock named after the key, see shared/services/signer-lock.ts) —
// and each takes its nonce from the chain's pending count while holding them, so two senders never
// pick the same nonce. A nonce the node refuses anyway (another wallet on the same key, a node that
// restarted and forgot its pool) is re-read from the chain and the send retried; a nonce error is
// never surfaced: after the retries the caller gets ChainBusy, which carries a Retry-After.
import { BaseError, NonceTooHighError, NonceTooLowError, type Address, type Hex } from 'viem';

/** Runs `fn` while holding the deployment-wide lock of one signing key. */
export type SignerLock = <T>(fn: () => Promise<T>) => Promise<T>;

export interface SerialSenderParameters {
  address: Address;
  /** the chain's transaction count of `address`, including pending transactions */
  pendingNonce: () => Promise<number>;
  /** send with exactly this nonce; returns the hash */
  sendWithNonce: (nonce: number) => Promise<Hex>;
}

/** The chain (or the lock) would not take the transaction now; nothing was sent. */
export class ChainBusy extends Error {
  override readonly name = 'ChainBusy';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const ATTEMPTS = 5;

export interface SerialSender {
  send(p: SerialSenderParameters): Promise<Hex>;
}

/** `lock` defaults to this process only (tests with one process, a single Lambda). */
export function createSerialSender(lock: SignerLock = (fn) => fn()): SerialSender {
  let tail: Promise<unknown> = Promise.resolve();
  // In-process queue first: one database connection per process waits for the cross-process lock, not one per claim.
  const local = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = tail.then(fn, fn);
    tail = run.catch(() => {});
    return run;
  };
  return {
    send: (p) =>
      local(() =>
        lock(async () => {
          let last: unknown;
          for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
            const nonce = await p.pendingNonce(); // always from the chain: nothing cached to go stale
            try {
              return await p.sendWithNonce(nonce);
            } catch (err) {
              if (!isNonceError(err)) throw err;
              last = err;
            }
          }
          throw new ChainBusy(`the chain refused ${ATTEMPTS} nonces in a row for ${p.address}: try again shortly`, 2, {
            cause: last,
          });
        }),
      ),
  };
}

/** viem's typed nonce errors, and the texts nodes use for the same thing (anvil, geth, op-geth). */
export function isNonceError(err: unknown): boolean {
  if (err instanceof BaseError && err.walk((e) => e instanceof NonceTooLowError || e instanceof NonceTooHighError))
    return true;
  const text = err instanceof Error ? `${err.message} ${(err as BaseError).details ?? ''}` : String(err);
  return /nonce (too low|too high|is too low|provided for the transaction)|replacement transaction underpriced|already known|nonce has already been used/i.test(
    text,
  );
}
