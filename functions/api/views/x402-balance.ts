// The balance a paid call's response shows, for x402 `upto`: the call is charged against the
// credit of the whole signed maximum, so the body the route built shows the balance with the
// unused part still in it; the payment middleware then releases that part (only the call's cost
// moves on chain). This re-renders the body with the balance after the release — what the
// account holds once the call is paid for — in the place each paid route shows it.

type Usage = { balance?: unknown };
type PaidBody = { usage?: Usage; citepay?: { usage?: Usage } };

/** `body` with its shown balance lowered by `released` micro-USD; null when it shows none. */
export function withReleasedBalance(body: unknown, released: bigint): unknown | null {
  if (!body || typeof body !== 'object') return null;
  const b = body as PaidBody;
  const usage = typeof b.usage?.balance === 'string' ? b.usage : b.citepay?.usage;
  if (!usage || typeof usage.balance !== 'string' || !/^-?\d+$/.test(usage.balance)) return null;
  usage.balance = (BigInt(usage.balance) - released).toString();
  return body;
}
