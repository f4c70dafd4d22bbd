// Domain errors: what went wrong, with the data a caller needs, and no HTTP in sight.
// functions/api/errors.ts alone turns them into statuses, codes and the one JSON body.

/** Base of every expected failure. `kind` discriminates; subclasses carry data. */
export abstract class DomainError extends Error {
  abstract readonly kind: string;
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A value the caller sent is wrong in a way they can fix. */
export class InvalidInput extends DomainError {
  readonly kind = 'invalid_input';
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** No credentials, or credentials that match no live key. */
export class Unauthorized extends DomainError {
  readonly kind = 'unauthorized';
}

/** Known caller, not allowed to do this. */
export class Forbidden extends DomainError {
  readonly kind = 'forbidden';
}

/** No such thing, or it belongs to someone else (indistinguishable on purpose). */
export class NotFound extends DomainError {
  readonly kind = 'not_found';
  constructor(
    message: string,
    readonly resource: string,
    readonly id: string,
  ) {
    super(message);
  }
}

/** The request contradicts existing state (a wallet already registered, a job already running). */
export class Conflict extends DomainError {
  readonly kind = 'conflict';
}

/**
 * Prepaid credits cannot cover the call. `balance` is the ledger balance, `held` what
 * answers in flight have reserved; `required` is null when the account is simply empty.
 * `livemode` false: the test balance of a cp_test_ key (test credits, never live money).
 */
export class InsufficientCredits extends DomainError {
  readonly kind = 'insufficient_credits';
  constructor(
    readonly balance: bigint,
    readonly held: bigint,
    readonly required: bigint | null,
    readonly livemode = true,
  ) {
    const available = balance - held;
    const credits = livemode ? 'prepaid credits' : 'test credits';
    const state = `balance ${balance}, of which ${held} is held by answers in progress`;
    super(
      required === null
        ? `${credits} are exhausted (${state}): add credits to continue`
        : `this call costs ${required} micro-USD but ${available} is available (${state}): add ${credits} to continue`,
    );
  }
  get available(): bigint {
    return this.balance - this.held;
  }
}

export class PayloadTooLarge extends DomainError {
  readonly kind = 'payload_too_large';
}

export class UnsupportedMediaType extends DomainError {
  readonly kind = 'unsupported_media_type';
  constructor(
    message: string,
    readonly contentType: string | null,
  ) {
    super(message);
  }
}

/** An uploaded file of a supported type whose text cannot be read; nothing was stored. */
export class UnreadableDocument extends DomainError {
  readonly kind = 'unreadable_document';
  constructor(
    message: string,
    readonly reason: 'encrypted' | 'no_text_layer' | 'malformed',
  ) {
    super(message);
  }
}

/** An Idempotency-Key already used for a different request. */
export class IdempotencyMismatch extends DomainError {
  readonly kind = 'idempotency_mismatch';
  constructor(readonly key: string) {
    super('this Idempotency-Key was already used with a different request');
  }
}

/** Another request with this Idempotency-Key is still running; its result will be replayed once done. */
export class IdempotencyInProgress extends DomainError {
  readonly kind = 'idempotency_in_progress';
  constructor(
    readonly key: string,
    readonly retryAfterSeconds: number,
  ) {
    super('a request with this Idempotency-Key is still in progress: retry after Retry-After seconds');
  }
}

/** A dependency (queue, engine, chain, database) cannot be reached; nothing was charged. */
export class Unavailable extends DomainError {
  readonly kind = 'unavailable';
  constructor(
    message: string,
    readonly dependency: string,
    readonly retryAfterSeconds?: number,
    readonly answerId?: string,
  ) {
    super(message);
  }
}

/** A rate limit (requests per window, or answers at once) is used up; nothing was done. */
export class RateLimited extends DomainError {
  readonly kind = 'rate_limited';
  constructor(
    message: string,
    readonly policy: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/** The work did not finish in time; nothing was charged. */
export class Timeout extends DomainError {
  readonly kind = 'timeout';
  constructor(
    message: string,
    readonly answerId?: string,
  ) {
    super(message);
  }
}

/** Generation closed without an answer: the engine refused the request, or failed. */
export class GenerationFailed extends DomainError {
  readonly kind = 'generation_failed';
  constructor(
    message: string,
    readonly answerId: string,
    readonly rejected: boolean,
  ) {
    super(message);
  }
}

export type AnyDomainError =
  | InvalidInput
  | Unauthorized
  | Forbidden
  | NotFound
  | Conflict
  | InsufficientCredits
  | PayloadTooLarge
  | UnsupportedMediaType
  | UnreadableDocument
  | IdempotencyMismatch
  | IdempotencyInProgress
  | Unavailable
  | Timeout
  | GenerationFailed
  | RateLimited;
