import { Forbidden, NotFound } from '../errors.ts';

// The test-mode wall, in one place. Whatever acts — a REST call with an API key, a dashboard
// session, an MCP tool call, an x402-paid call — is an actor with a mode (`livemode`). An actor in
// test mode (a cp_test_ key, or the session it opened) reaches test things only: test keys,
// receipts, answers (and their query text), usage and earnings. Live things do not exist for it:
// reading or changing one answers 404, as another tenant's would. A live actor is the account's
// full credential and may also reach its test things (e.g. revoke a leaked cp_test_ key).
// Every service that hands out or changes a moded object calls `requireReachable` (or filters a
// list with `reachable`); actions that move live money on chain call `requireLive`.

/** Anything acting: a Principal (API key), a dashboard session, an agent's call. */
export interface ModeActor {
  livemode: boolean;
}

/** Anything with a side: a key, a receipt, an answer, a ledger line. */
export interface Moded {
  livemode: boolean;
}

/** True when the actor may see or change the thing: a live actor anything, a test actor test things only. */
export function reachable(actor: ModeActor, thing: Moded): boolean {
  return actor.livemode || !thing.livemode;
}

/** The things of a list the actor may see. */
export function reachableOnly<T extends Moded>(actor: ModeActor, things: readonly T[]): T[] {
  return things.filter((t) => reachable(actor, t));
}

/** Throws NotFound (as for another tenant's thing) when a test actor reaches for a live thing. */
export function requireReachable(actor: ModeActor, thing: Moded, resource: string, id: string): void {
  if (!reachable(actor, thing))
    throw new NotFound(`no ${resource} ${id} in test mode: a cp_test_ key sees test objects only`, resource, id);
}

/** Throws Forbidden for a test actor: `action` moves live money (settling, claiming on chain). */
export function requireLive(actor: ModeActor, action: string): void {
  if (!actor.livemode)
    throw new Forbidden(
      `test mode cannot ${action}: test earnings never go on chain; use a live key or a live session`,
    );
}
